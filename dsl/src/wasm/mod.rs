//! Compiling a checked [`Program`](crate::ir::Program) to one WebAssembly
//! module, and the host side of its ABI (docs/abi.md): encoding a batch of
//! households into the module's memory layout and decoding the result block
//! back into the interpreter's [`HouseholdDecision`](crate::decision::HouseholdDecision).
//!
//! The module computes every outcome, amount, hole value and missing set;
//! the host only formats them (paths, rendering, sorting), with the
//! interpreter's own renderers, so both paths give byte-identical JSON.

mod aggregates;
mod codegen;
mod decode;
mod encode;
mod expr;
mod func;
pub mod layout;
mod runtime;
mod simplify;
mod summary;
mod trace;

pub use codegen::{compile_module, compile_module_checked, compile_module_within};
pub use decode::{AbiError, decode_results};
pub use encode::{BatchBuilder, Names, encode_batch, households_of_batch, names_of_batch};
pub use layout::ABI_VERSION;
pub use summary::decode_summaries;
