//! The Layak host: loading rule directories, the `layak` commands, batch
//! evaluation and rule tests. Everything about the language itself lives in
//! `layak-dsl`; this crate adds files, processes and terminals.
//!
//! ```no_run
//! let (sources, program, _diagnostics) = layak_engine::load::load_rules(&["rules".into()]).unwrap();
//! assert!(program.is_some());
//! # let _ = sources;
//! ```

pub mod batch;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod r#gen;
pub mod hex;
pub mod load;
pub mod report;
pub mod ruletest;
pub mod runtime;
pub mod serve;
pub mod store;
