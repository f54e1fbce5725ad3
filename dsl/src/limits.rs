//! Every limit the language puts on rule text, in one place.
//!
//! Rule text comes from people (uploaded to the service, typed into the
//! playground), so every pass must finish, within a bounded stack, on any
//! text inside these limits, and give a diagnostic with the limit's code
//! for any text past one. The playground runs the passes on wasm32, whose
//! stack is 1 MiB: `dsl/tests/limits.rs` runs text at each limit through
//! every pass in a thread with a 1 MiB stack.
//!
//! README.md's "Limits" table lists these with the host's own limits.

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceFile, Span};

/// How deeply expressions may nest: parentheses, calls, lists, `if`,
/// `match`, aggregates, prefix operators, field accesses and chains of
/// binary operators all count one level per level of the tree, so a chain
/// of 300 `+` is 300 levels deep. An `else if` ladder counts one level
/// however many arms it has.
pub const MAX_NESTING: usize = 128;

/// The largest rule file, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// The most rule files (`.lyk`) in one compilation.
pub const MAX_FILES: usize = 256;

/// The most criteria in one compilation, all rulesets together.
pub const MAX_CRITERIA: usize = 5_000;

/// The longest string literal, in bytes after escapes are resolved.
pub const MAX_STRING_BYTES: usize = 64 * 1024;

/// The largest compiled WebAssembly module, in bytes.
pub const MAX_MODULE_BYTES: usize = 64 * 1024 * 1024;

/// E0903 for the first rule file past [`MAX_FILES`], E0904 for the first
/// criterion past [`MAX_CRITERIA`].
pub(crate) fn check_counts(files: &[(FileId, ast::File)]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    if let Some((id, _)) = files.get(MAX_FILES) {
        diags.push(
            Diagnostic::new(
                "E0903",
                Span::new(*id, 0, 0),
                format!("more than {MAX_FILES} rule files in one compilation"),
            )
            .with_help("merge small rule files, or compile the programmes separately"),
        );
    }
    let criteria = files
        .iter()
        .flat_map(|(_, f)| &f.items)
        .filter_map(|item| match item {
            ast::Item::Ruleset(r) => Some(&r.clauses),
            _ => None,
        })
        .flatten()
        .filter_map(|clause| match clause {
            ast::RulesetClause::Criterion(c) => Some(c),
            _ => None,
        });
    if let Some(c) = criteria.clone().nth(MAX_CRITERIA) {
        diags.push(
            Diagnostic::new(
                "E0904",
                c.code.span,
                format!("more than {MAX_CRITERIA} criteria in one compilation"),
            )
            .with_help("split the rules into separate rulesets compiled on their own"),
        );
    }
    diags
}

/// E0006 for a rule file whose bytes are not UTF-8
/// ([`Sources::add_bytes`](crate::Sources::add_bytes)).
pub fn not_utf8(id: FileId, file: &SourceFile) -> Option<Diagnostic> {
    let at = file.not_utf8_at?;
    Some(
        Diagnostic::new(
            "E0006",
            Span::new(id, at, at),
            format!("the file is not UTF-8 text (byte {at} is not)"),
        )
        .with_help("save the file as UTF-8"),
    )
}

/// One limit: its name, value, the diagnostic code given past it and what
/// it bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub value: usize,
    pub code: &'static str,
    pub bounds: &'static str,
}

/// Every language limit (README.md's "Limits" table repeats it; a test
/// checks that they agree).
pub const LIMITS: &[Limit] = &[
    Limit {
        name: "nesting depth",
        value: MAX_NESTING,
        code: "E0901",
        bounds: "levels of nesting of one expression (an `else if` ladder is one level)",
    },
    Limit {
        name: "rule file size",
        value: MAX_FILE_BYTES,
        code: "E0902",
        bounds: "bytes of one `.lyk` file",
    },
    Limit {
        name: "rule files",
        value: MAX_FILES,
        code: "E0903",
        bounds: "`.lyk` files in one compilation",
    },
    Limit {
        name: "criteria",
        value: MAX_CRITERIA,
        code: "E0904",
        bounds: "criteria in one compilation, all rulesets together",
    },
    Limit {
        name: "string literal size",
        value: MAX_STRING_BYTES,
        code: "E0905",
        bounds: "bytes of one string literal",
    },
    Limit {
        name: "module size",
        value: MAX_MODULE_BYTES,
        code: "E0906",
        bounds: "bytes of the compiled WebAssembly module",
    },
];
