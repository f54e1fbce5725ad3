//! Benchmark support: baselines the benchmarks compare the engine with.

pub mod native;
