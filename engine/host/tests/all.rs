//! The host's integration tests in one binary (each file links wasmtime):
//! hostile modules against the sandbox, and the compiled engine against the
//! interpreter. `autotests = false` in Cargo.toml;
//! [`every_test_file_is_listed`] keeps a new file from being silently left
//! out.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

#[path = "hostile.rs"]
mod hostile;
#[path = "scan.rs"]
mod scan;
#[path = "wasm_engine.rs"]
mod wasm_engine;

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
                "engine/host/tests/{name} is not listed in engine/host/tests/all.rs, so it would never run"
            );
        }
    }
}
