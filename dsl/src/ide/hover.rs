//! Hover: what a name is. For a parameter, its dated values with their
//! sources and the value on the chosen date; for a definition, its
//! signature and the comment above it; for a field, its type, and the
//! official codes of an enum field.

use serde::Serialize;

use crate::ast::{self, Item};
use crate::check::index::{Decl, DeclKind};
use crate::date::Date;
use crate::source::{FileId, Span};

use super::Analysis;

/// What to show over a name: Markdown, for the name at `span`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hover {
    pub span: Span,
    pub markdown: String,
}

/// The built-in functions, as `docs/language.md` describes them.
const BUILTINS: &[(&str, &str, &str)] = &[
    (
        "present",
        "present(e): bool",
        "`e` has a value (is not undetermined); never undetermined itself",
    ),
    ("len", "len(t: text): int", "number of characters of a text"),
    (
        "is_digits",
        "is_digits(t: text): bool",
        "`t` is not empty and all ASCII digits",
    ),
    (
        "slice",
        "slice(t: text, from: int, to: int): text",
        "characters `from` to `to`, counted from 1, both included; positions outside the text are dropped",
    ),
    (
        "to_int",
        "to_int(t: text): int",
        "the number a text of digits (with an optional `-`) spells; undetermined otherwise",
    ),
    (
        "starts_with",
        "starts_with(t: text, prefix: text): bool",
        "`t` begins with `prefix`",
    ),
    ("year", "year(d: date): int", "the year of a date"),
    (
        "month",
        "month(d: date): int",
        "the month of a date, 1 to 12",
    ),
    ("day", "day(d: date): int", "the day of the month of a date"),
    (
        "is_date",
        "is_date(y: int, m: int, d: int): bool",
        "the calendar has that day",
    ),
    (
        "date",
        "date(y: int, m: int, d: int): date",
        "that day; undetermined unless `is_date(y, m, d)`",
    ),
    (
        "years_between",
        "years_between(from: date, to: date): int",
        "completed years from `from` to `to` (negative if `to` is earlier)",
    ),
    (
        "max",
        "max(a, b, ...)",
        "the largest of two or more values of one type (`int` or `money`)",
    ),
    (
        "min",
        "min(a, b, ...)",
        "the smallest of two or more values of one type (`int` or `money`)",
    ),
];

/// The signature and meaning of a built-in function.
pub(super) fn builtin(name: &str) -> Option<(&'static str, &'static str)> {
    BUILTINS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, sig, doc)| (*sig, *doc))
}

impl Analysis {
    /// What the name at `offset` is. `as_of` picks the value shown for a
    /// parameter (none: every dated value, no "on" line).
    pub fn hover(&self, file: FileId, offset: usize, as_of: Option<Date>) -> Option<Hover> {
        if let Some((span, decl)) = self.symbol_at(file, offset) {
            let markdown = self.describe(decl, as_of);
            return Some(Hover { span, markdown });
        }
        let at =
            |s: &Span| s.file == file && s.start as usize <= offset && offset <= s.end as usize;
        let span = *self.index.builtins.iter().find(|s| at(s))?;
        let (sig, doc) = builtin(self.sources.snippet(span))?;
        Some(Hover {
            span,
            markdown: format!("```layak\n{sig}\n```\nbuilt-in function: {doc}"),
        })
    }

    /// The Markdown for one declaration.
    pub(super) fn describe(&self, decl: &Decl, as_of: Option<Date>) -> String {
        let code = |s: &str| format!("```layak\n{s}\n```");
        match decl.kind {
            DeclKind::Parameter => self.describe_param(decl, as_of),
            DeclKind::Definition => {
                let Some(Item::Def(d)) = self.item(decl.span) else {
                    return code(&format!("def {}", decl.name));
                };
                let signature = self.sources.snippet(Span {
                    end: d.ret.span.end,
                    ..d.span
                });
                let mut md = code(&one_line(signature));
                if let Some(doc) = self.doc_comment(d.span) {
                    md.push_str(&format!("\n{doc}"));
                }
                md
            }
            DeclKind::Field => {
                let ty = decl.ty.as_deref().unwrap_or("?");
                let record = decl.container.as_deref().unwrap_or("?");
                let mut md = code(&format!("{}: {ty}", decl.name));
                md.push_str(&format!("\nfield of record `{record}`"));
                if let Some(doc) = self.doc_comment(decl.span) {
                    md.push_str(&format!("\n\n{doc}"));
                }
                let enum_name = ty.trim_end_matches('?');
                if let Some(codes) = self.enum_codes(enum_name) {
                    md.push_str(&format!("\n\nofficial codes of `{enum_name}`:\n{codes}"));
                }
                md
            }
            DeclKind::Variant => {
                let enum_name = decl.container.as_deref().unwrap_or("?");
                let code_text = decl.ty.as_deref().unwrap_or("");
                format!(
                    "{}\nvariant of enum `{enum_name}`, official code {code_text}",
                    code(&format!("{enum_name}.{}", decl.name))
                )
            }
            DeclKind::Enum => {
                let mut md = code(&format!("enum {}", decl.name));
                if let Some(codes) = self.enum_codes(&decl.name) {
                    md.push_str(&format!("\nofficial codes:\n{codes}"));
                }
                md
            }
            DeclKind::Record => {
                let fields = self
                    .index
                    .decls
                    .iter()
                    .filter(|d| {
                        d.kind == DeclKind::Field && d.container.as_deref() == Some(&decl.name)
                    })
                    .count();
                let mut md = code(&format!("record {}", decl.name));
                md.push_str(&format!("\n{fields} fields"));
                if let Some(doc) = self.doc_comment(decl.span) {
                    md.push_str(&format!("\n\n{doc}"));
                }
                md
            }
            DeclKind::Subject => match self.item(decl.span) {
                Some(Item::Subject(s)) => code(&one_line(self.sources.snippet(s.span))),
                _ => code(&format!("subject {}", decl.name)),
            },
            DeclKind::Table => match self.item(decl.span) {
                Some(Item::Table(t)) => {
                    let codes = self
                        .program
                        .as_ref()
                        .and_then(|p| p.tables.iter().find(|x| x.name == t.name.name))
                        .map(|x| format!("\n{} codes", group(x.codes.len() as i64)))
                        .unwrap_or_default();
                    format!("{}{codes}", code(&one_line(self.sources.snippet(t.span))))
                }
                _ => code(&format!("table {}", decl.name)),
            },
            DeclKind::Ruleset => {
                let mut md = code(&format!("ruleset {}", decl.name));
                if let Some(Item::Ruleset(r)) = self.item(decl.span) {
                    let criteria = r
                        .clauses
                        .iter()
                        .filter(|c| matches!(c, ast::RulesetClause::Criterion(_)))
                        .count();
                    md.push_str(&format!("\n{criteria} criteria"));
                }
                md
            }
            DeclKind::Local => code(&format!(
                "{}: {}",
                decl.name,
                decl.ty.as_deref().unwrap_or("?")
            )),
        }
    }

    fn describe_param(&self, decl: &Decl, as_of: Option<Date>) -> String {
        let ty = decl.ty.as_deref().unwrap_or("?");
        let mut md = format!("```layak\nparam {}: {ty}\n```\n", decl.name);
        let Some(Item::Param(p)) = self.item(decl.span) else {
            return md;
        };
        if let Some(doc) = self.doc_comment(p.span) {
            md.push_str(&format!("{doc}\n\n"));
        }
        let value = |e: &ast::ParamEntry| self.sources.snippet(e.value.span).to_string();
        if let Some(day) = as_of {
            let current = p
                .entries
                .iter()
                .filter(|e| e.from <= day)
                .max_by_key(|e| e.from);
            match current {
                Some(e) => md.push_str(&format!(
                    "**{}** on {day} (from {}, source: {})\n\n",
                    value(e),
                    e.from,
                    e.source
                )),
                None => md.push_str(&format!("no value on {day}\n\n")),
            }
        }
        md.push_str("| value | from | source |\n|---|---|---|\n");
        for e in &p.entries {
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                value(e),
                e.from,
                e.source.replace('|', "\\|")
            ));
        }
        md
    }

    /// The top-level item whose name is at `span`.
    pub(super) fn item(&self, span: Span) -> Option<&Item> {
        self.ast(span.file)?.items.iter().find(|item| {
            let name = match item {
                Item::Import(_) => return false,
                Item::Enum(d) => &d.name,
                Item::Record(d) => &d.name,
                Item::Subject(d) => &d.name,
                Item::Def(d) => &d.name,
                Item::Param(d) => &d.name,
                Item::Table(d) => &d.name,
                Item::Ruleset(d) => &d.name,
            };
            name.span.same_place(span)
        })
    }

    /// The `//` comment lines right above the line of `span`.
    fn doc_comment(&self, span: Span) -> Option<String> {
        let text = self.text(span.file);
        let line_start = text
            .get(..span.start as usize)
            .and_then(|b| b.rfind('\n'))
            .map_or(0, |i| i + 1);
        let before = text.get(..line_start)?;
        let mut lines: Vec<&str> = before
            .lines()
            .rev()
            .take_while(|l| l.trim_start().starts_with("//"))
            .map(|l| l.trim_start().trim_start_matches('/').trim())
            .collect();
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }

    /// A list of an enum's variants with their codes.
    fn enum_codes(&self, name: &str) -> Option<String> {
        if !self
            .index
            .decls
            .iter()
            .any(|d| d.kind == DeclKind::Enum && d.name == name)
        {
            return None;
        }
        let lines: Vec<String> = self
            .index
            .decls
            .iter()
            .filter(|d| d.kind == DeclKind::Variant && d.container.as_deref() == Some(name))
            .map(|d| format!("- `{}` = {}", d.name, d.ty.as_deref().unwrap_or("")))
            .collect();
        Some(lines.join("\n"))
    }
}

/// A declaration's text on one line: runs of white space made one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `83,000`.
fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}
