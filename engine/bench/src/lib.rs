//! Benchmark support: the native baseline the benchmarks compare the engine
//! with, and the harness behind `layak bench`. Nothing on a decision path
//! uses this module.

pub mod harness;
pub mod native;
pub mod projection;
