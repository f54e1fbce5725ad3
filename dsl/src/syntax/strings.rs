//! String literals: escapes, and the `{expr}` holes of message templates.

use pest::iterators::Pair;

use super::parser::{Builder, Rule, parse_expr};
use crate::ast::{Template, TemplatePart};
use crate::diagnostic::Diagnostic;
use crate::limits::MAX_STRING_BYTES;
use crate::source::Span;

impl Builder {
    /// The text of a string literal with its escapes resolved.
    pub(super) fn string(&self, p: Pair<'_, Rule>) -> String {
        let mut out = String::new();
        for part in self.string_parts(p, false) {
            if let RawPart::Text(t) = part {
                out.push_str(&t);
            }
        }
        out
    }

    /// A message string: text with `{expr}` holes; `\{` and `\}` are literal
    /// braces.
    pub(super) fn template(&self, p: Pair<'_, Rule>) -> Template {
        let span = self.span(&p);
        let mut parts: Vec<TemplatePart> = Vec::new();
        for part in self.string_parts(p, true) {
            match part {
                RawPart::Text(t) => match parts.last_mut() {
                    Some(TemplatePart::Text(prev)) => prev.push_str(&t),
                    _ => parts.push(TemplatePart::Text(t)),
                },
                RawPart::Hole { source, offset } => {
                    let (expr, diags) = parse_expr(self.file, &source, offset);
                    match expr {
                        Some(expr) => parts.push(TemplatePart::Hole { expr, source }),
                        // Too deep: that diagnostic says it better.
                        None if diags.iter().any(|d| d.code == "E0901") => {
                            for d in diags {
                                self.error(d);
                            }
                        }
                        None => self.error(
                            Diagnostic::new(
                                "E0004",
                                Span::new(self.file, offset, offset + source.len()),
                                format!("`{source}` is not an expression"),
                            )
                            .with_help(diags.first().map_or_else(
                                || "write an expression between the braces".to_string(),
                                |d| d.message.clone(),
                            )),
                        ),
                    }
                }
            }
        }
        Template { parts, span }
    }

    /// Splits a string literal into text (escapes resolved) and, when
    /// `holes` is set, `{expr}` holes with their source offsets.
    fn string_parts(&self, p: Pair<'_, Rule>, holes: bool) -> Vec<RawPart> {
        let span = self.span(&p);
        let raw = p.into_inner().next().map_or("", |i| i.as_str());
        let base = span.start as usize + 1;
        let mut parts = Vec::new();
        if raw.len() > MAX_STRING_BYTES {
            self.error(
                Diagnostic::new(
                    "E0905",
                    Span::new(self.file, span.start as usize, span.start as usize + 1),
                    format!("string literal longer than {MAX_STRING_BYTES} bytes"),
                )
                .with_help("long texts belong in a reference table (`table NAME = \"file.txt\"`)"),
            );
            return parts;
        }
        let mut text = String::new();
        let mut chars = raw.char_indices().peekable();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '\\' => match chars.next() {
                    Some((_, 'n')) => text.push('\n'),
                    Some((_, 't')) => text.push('\t'),
                    Some((_, c @ ('"' | '\\' | '{' | '}'))) => text.push(c),
                    Some((j, other)) => {
                        self.error(
                            Diagnostic::new(
                                "E0005",
                                Span::new(self.file, base + i, base + j + other.len_utf8()),
                                format!("unknown escape `\\{other}`"),
                            )
                            .with_help(
                                "the escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\{` and `\\}`",
                            ),
                        );
                    }
                    None => {}
                },
                '{' if holes => {
                    let rest = raw.get(i + 1..).unwrap_or("");
                    let Some(close) = rest.find('}') else {
                        self.error(
                            Diagnostic::new(
                                "E0004",
                                Span::new(self.file, base + i, base + i + 1),
                                "this `{` is never closed",
                            )
                            .with_help(
                                "close the hole with `}`, or write `\\{` for a literal brace",
                            ),
                        );
                        text.push_str(rest);
                        break;
                    };
                    if !text.is_empty() {
                        parts.push(RawPart::Text(std::mem::take(&mut text)));
                    }
                    let source = rest.get(..close).unwrap_or("").to_string();
                    let skip = source.chars().count() + 1;
                    parts.push(RawPart::Hole {
                        source,
                        offset: base + i + 1,
                    });
                    for _ in 0..skip {
                        chars.next();
                    }
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(RawPart::Text(text));
        }
        parts
    }
}

enum RawPart {
    Text(String),
    Hole { source: String, offset: usize },
}
