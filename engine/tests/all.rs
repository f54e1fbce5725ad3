//! Every end-to-end test of the `layak` binary (the CLI and the service
//! over HTTP) in one test binary: each of these files links the whole
//! engine (wasmtime, sqlx, axum), and one link instead of eight is minutes
//! of CI on two cores. `autotests = false` in
//! Cargo.toml; [`every_test_file_is_listed`] keeps a new file from being
//! silently left out.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

#[path = "batch.rs"]
mod batch;
#[path = "cli.rs"]
mod cli;
#[path = "hostile_rules.rs"]
mod hostile_rules;
#[path = "lsp.rs"]
mod lsp;
#[path = "serve_access.rs"]
mod serve_access;
mod serve_common;
#[path = "serve_crash.rs"]
mod serve_crash;
#[path = "serve_demo.rs"]
mod serve_demo;
#[path = "serve_evaluate.rs"]
mod serve_evaluate;
#[path = "serve_generated.rs"]
mod serve_generated;
#[path = "serve_hostile.rs"]
mod serve_hostile;
#[path = "serve_malformed.rs"]
mod serve_malformed;
#[path = "serve_pipeline.rs"]
mod serve_pipeline;
#[path = "serve_replicas.rs"]
mod serve_replicas;
#[path = "serve_rules_push.rs"]
mod serve_rules_push;

#[test]
fn every_test_file_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let this = std::fs::read_to_string(dir.join("all.rs")).unwrap_or_default();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") && name != "all.rs" {
            assert!(
                this.contains(&format!("#[path = \"{name}\"]")),
                "engine/tests/{name} is not listed in engine/tests/all.rs, so it would never run"
            );
        }
    }
}
