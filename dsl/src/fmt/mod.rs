//! The formatter: a parsed file back to text in its one canonical layout,
//! every comment kept.
//!
//! ```
//! use layak_dsl::{fmt, FileId};
//! let messy = "enum Sex{M=\"M\",F=\"F\"}   // as on the KTP\ndef  f(x:int):bool=x>=1_0000";
//! let tidy = fmt::format_source(FileId(0), messy).unwrap();
//! assert_eq!(tidy, "enum Sex { M = \"M\", F = \"F\" } // as on the KTP\ndef f(x: int): bool = x >= 10_000\n");
//! ```
//!
//! The layout, in short (docs/language.md has the reasons):
//! - two spaces per level; lines of at most 100 columns where a break is
//!   possible;
//! - declarations and ruleset clauses keep at most one blank line of the
//!   author's between them, and always get one around anything that takes
//!   several lines; inside criteria, records, enums and parameters only the
//!   author's blank lines (at most one) remain;
//! - a record lists one field per line; an enum (and a `match`) stays on
//!   one line when it was written on one line and still fits, else it lists
//!   one variant (arm) per line, each followed by a comma;
//! - an `and`/`or` chain too long for its line puts one operand per line,
//!   the operator leading (so do `??` and arithmetic chains; a comparison
//!   never breaks); a definition or `let` whose value does not fit
//!   after `=` moves it to the next line; an `if` with an `else if` puts
//!   each branch on its own line; calls, lists, aggregates, matches and
//!   parenthesised chains that do not fit open up one element per line;
//! - parentheses exactly as written (the tree keeps them), amounts as
//!   `Rp 3_000_000`, integers of five digits or more with `_` every three
//!   digits, dates as `YYYY-MM-DD`, message holes exactly as written.
//!
//! Formatting is idempotent, and parsing the result gives the tree that was
//! formatted (`dsl/tests/fmt.rs` checks both over every rule file).

mod comments;
mod doc;
mod expr;
mod items;

use crate::ast;
use crate::diagnostic::{self, Diagnostic};
use crate::limits::MAX_FILE_BYTES;
use crate::source::{FileId, Span};

use self::comments::Comments;
use self::doc::Doc;

/// The column a line should not pass when it can be broken.
const WIDTH: usize = 100;
/// Spaces per level of nesting.
const INDENT: usize = 2;

/// Formats a parsed file. `source` is the text it was parsed from: the
/// comments and blank lines are taken from it.
pub fn format(file: &ast::File, source: &str) -> String {
    let mut p = Printer::new(source);
    p.file(file)
}

/// Parses and formats one file; a file with syntax errors is left alone and
/// its diagnostics are returned instead. So is one whose formatted text
/// would pass the file size limit (E0902), which could not be read back.
pub fn format_source(file: FileId, source: &str) -> Result<String, Vec<Diagnostic>> {
    let (ast, diagnostics) = crate::syntax::parse_file(file, source);
    if diagnostic::has_errors(&diagnostics) {
        return Err(diagnostics);
    }
    let formatted = format(&ast, source);
    if formatted.len() > MAX_FILE_BYTES {
        return Err(vec![
            Diagnostic::new(
                "E0902",
                Span::new(file, 0, 0),
                format!(
                    "the formatted file would be larger than {MAX_FILE_BYTES} bytes ({})",
                    formatted.len()
                ),
            )
            .with_help("split the rules into several files that import each other"),
        ]);
    }
    Ok(formatted)
}

/// Formats one expression on its own, starting at column 0 (no comments:
/// the expression has no source).
pub fn format_expr(expr: &ast::Expr) -> String {
    let mut p = Printer::new("");
    let doc = p.expr(expr);
    doc::render(&doc, 0, WIDTH)
}

/// The state of one formatting run.
struct Printer<'s> {
    source: &'s str,
    comments: Comments,
    /// Where the declaration or clause being printed ends: a comment before
    /// this point that ends a line inside it must break the line there.
    entry_end: usize,
}

impl<'s> Printer<'s> {
    fn new(source: &'s str) -> Printer<'s> {
        Printer {
            source,
            comments: Comments::new(source),
            entry_end: 0,
        }
    }

    /// Where the code of `span` ends. The parser's spans of some nodes
    /// (those ending in an expression) run on over the blank lines and
    /// comments after them; those belong to whatever comes next.
    fn code_end(&self, span: Span) -> usize {
        let start = span.start as usize;
        let mut end = span.end as usize;
        loop {
            let Some(text) = self.source.get(start..end) else {
                return end;
            };
            end = start + text.trim_end().len();
            match self.comments.ending_at(start, end) {
                Some(c) => end = c.start,
                None => return end,
            }
        }
    }

    /// Comments on their own lines before `pos`, each followed by a line
    /// break.
    fn leading(&mut self, pos: usize) -> Vec<Doc> {
        self.comments
            .take_before(pos)
            .into_iter()
            .flat_map(|c| [Doc::text(c.text), Doc::HardLine])
            .collect()
    }

    /// Comments on their own lines before the closing bracket at `close`,
    /// each after a line break: they stay inside the brackets.
    fn dangling(&mut self, close: usize) -> Vec<Doc> {
        self.comments
            .take_before(close)
            .into_iter()
            .flat_map(|c| [Doc::HardLine, Doc::text(c.text)])
            .collect()
    }

    /// An end-of-line comment right after `end` (only spaces and commas
    /// between) inside the entry being printed: it stays at the end of that
    /// line, so the line must break there.
    fn trailing(&mut self, end: usize) -> Vec<Doc> {
        let inside = self
            .comments
            .peek()
            .is_some_and(|c| c.start < self.entry_end);
        if !inside {
            return Vec::new();
        }
        match self.comments.take_on_line(self.source, end, &[',']) {
            Some(c) => vec![Doc::LineSuffix(format!(" {}", c.text)), Doc::BreakParent],
            None => Vec::new(),
        }
    }
}

// ---- literals ------------------------------------------------------------------

/// `1234567` as `1_234_567` (with `sep` `_`, as amounts are written) or
/// `1,234,567`.
pub(crate) fn group_digits(n: i64, sep: char) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    let len = digits.len();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

/// An integer as written: plainly below 10 000, grouped from there on.
fn int(n: i64) -> String {
    if n.unsigned_abs() >= 10_000 {
        group_digits(n, '_')
    } else {
        n.to_string()
    }
}

/// A string literal with its escapes; `braces` also escapes `{` and `}`
/// (message templates, where they open holes).
fn quote(text: &str, braces: bool) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    out.push_str(&escape(text, braces));
    out.push('"');
    out
}

fn escape(text: &str, braces: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '{' if braces => out.push_str("\\{"),
            '}' if braces => out.push_str("\\}"),
            c => out.push(c),
        }
    }
    out
}

fn template(t: &ast::Template) -> String {
    let mut out = String::from("\"");
    for part in &t.parts {
        match part {
            ast::TemplatePart::Text(s) => out.push_str(&escape(s, true)),
            ast::TemplatePart::Hole { source, .. } => {
                out.push('{');
                out.push_str(source);
                out.push('}');
            }
        }
    }
    out.push('"');
    out
}

fn type_expr(t: &ast::TypeExpr) -> String {
    match &t.kind {
        ast::TypeExprKind::Named(name) => name.name.clone(),
        ast::TypeExprKind::List(inner) => format!("list<{}>", type_expr(inner)),
        ast::TypeExprKind::IntRange(lo, hi) => format!("int({lo}..{hi})"),
    }
}
