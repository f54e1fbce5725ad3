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

/// How deeply expressions may nest: parentheses, calls, lists, `if`,
/// `match`, aggregates, prefix operators, field accesses and chains of
/// binary operators all count one level per level of the tree, so a chain
/// of 300 `+` is 300 levels deep. An `else if` ladder counts one level
/// however many arms it has.
pub const MAX_NESTING: usize = 256;

/// The largest rule file, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// The most rule files (`.lyk`) in one compilation.
pub const MAX_FILES: usize = 256;

/// The most criteria in one compilation, all rulesets together.
pub const MAX_CRITERIA: usize = 10_000;

/// The longest string literal, in bytes after escapes are resolved.
pub const MAX_STRING_BYTES: usize = 64 * 1024;

/// The largest compiled WebAssembly module, in bytes.
pub const MAX_MODULE_BYTES: usize = 64 * 1024 * 1024;

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
