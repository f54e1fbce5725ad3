//! The Layak host: everything between the language (`layak-dsl`) and the
//! programs people run. It loads rule directories, runs compiled rules in a
//! sandbox, and evaluates households through the one [`pipeline`]; it also
//! runs rule tests, compares rule versions ([`impact`]) and writes the
//! readable reports. It knows files and threads, but not terminals (the
//! `layak` binary) nor HTTP and SQL (`layak-service`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use layak_host::engine::{Engine, EngineKind};
//! use layak_host::pipeline::{Evaluator, Line};
//!
//! let program = Arc::new(layak_host::load::load_program("rules".as_ref())?);
//! let engine = Engine::new(EngineKind::Wasm, Arc::clone(&program))?;
//! let ctx = layak_host::context::context(&program, "2025-10-01", &["PKH_ELDERLY_MIN_AGE=60"])?;
//! let line = Line { no: 1, text: Ok(std::fs::read_to_string("h1.json")?) };
//! let outcomes = Evaluator { engine: &engine, ctx: &ctx }.evaluate_lines(&[line]);
//! # let _ = outcomes;
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod context;
pub mod engine;
pub mod hex;
pub mod impact;
pub mod load;
pub mod output;
pub mod pipeline;
pub mod report;
pub mod ruletest;
pub mod sandbox;
pub mod stats;
