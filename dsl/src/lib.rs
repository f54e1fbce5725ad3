//! The Layak policy language.
pub mod ast;
pub mod date;
pub mod diagnostic;
pub mod source;
pub mod syntax;
