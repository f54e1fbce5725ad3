//! Pass 1: source text to [`ast::File`](crate::ast::File).
//!
//! Parsing never fails: it returns the items it could read and a diagnostic
//! for each stretch it could not. pest stays inside this module.

mod errors;
pub mod nesting;
mod parser;
mod recover;
mod strings;

pub use parser::{parse_expr, parse_file};
