//! The Layak policy language: parser, checker, IR, reference interpreter,
//! formatter and diagnostics. No I/O: callers hand in [`Sources`].
//!
//! ```
//! use layak_dsl::{compile, Sources};
//! let mut sources = Sources::new();
//! sources.add("rules.lyk", r#"
//!     record Household key record_id { record_id: text, size: int? }
//!     subject household: Household
//!     ruleset size {
//!       stage verification
//!       for each household
//!       criterion NOT_EMPTY blocking {
//!         require household.size ?? 0 > 0
//!         message id "rumah tangga kosong"
//!         message en "the household is empty"
//!       }
//!     }
//! "#);
//! let (program, diagnostics) = compile(&sources);
//! assert!(diagnostics.is_empty(), "{diagnostics:?}");
//! assert!(program.is_some());
//! ```

pub mod ast;
pub mod check;
pub mod context;
pub mod date;
pub mod decision;
pub mod diagnostic;
pub(crate) mod ev;
pub mod eval;
pub mod explain;
pub mod fmt;
pub mod ide;
pub mod ir;
pub mod limits;
pub mod record;
pub mod source;
pub mod syntax;
pub mod value;
pub mod wasm;
pub mod whatif;

pub use diagnostic::Diagnostic;
pub use source::{FileId, Sources};

/// Parses every `.lyk` file in `sources` and checks them together. Returns
/// the program when there are no errors, and every diagnostic either way.
pub fn compile(sources: &Sources) -> (Option<ir::Program>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diagnostics = Vec::new();
    for (id, file) in sources.iter() {
        if file.name.ends_with(".lyk") {
            if let Some(d) = limits::not_utf8(id, file) {
                diagnostics.push(d);
                continue;
            }
            let (ast, diags) = syntax::parse_file(id, &file.text);
            diagnostics.extend(diags);
            files.push((id, ast));
        }
    }
    let (program, diags, _) = check_parsed(sources, &files);
    diagnostics.extend(diags);
    let program = program.filter(|_| !diagnostic::has_errors(&diagnostics));
    (program, diagnostics)
}

/// Checks parsed files together, after the count limits: the program
/// (`None` past a limit), the diagnostics of the check, and the editor's
/// index. [`compile`] and [`ide::Analysis`] both go through here.
pub(crate) fn check_parsed(
    sources: &Sources,
    files: &[(FileId, ast::File)],
) -> (Option<ir::Program>, Vec<Diagnostic>, check::index::Index) {
    // Past a count limit, checking would be the unbounded work the limit
    // is there to prevent.
    let past_limits = limits::check_counts(files);
    if !past_limits.is_empty() {
        return (None, past_limits, check::index::Index::default());
    }
    let (program, diags, index) = check::check_indexed(sources, files);
    (Some(program), diags, index)
}
