//! Replays every input the fuzzers kept (`fuzz/corpus/<target>/`) through
//! the same bodies the fuzz targets run, so that CI checks, without a
//! fuzzer, that none of them fails today.
#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let name = file.display().to_string();
        if std::panic::catch_unwind(|| body(&bytes)).is_err() {
            panic!("the fuzz body fails on {name}");
        }
    }
}

#[test]
fn parse_check_format_corpus() {
    replay("parse_check_format", layak_tests::parse_check_format_bytes);
}

#[test]
fn decode_household_corpus() {
    replay("decode_household", layak_tests::decode_household);
}

#[test]
fn compile_run_wasm_corpus() {
    replay("compile_run_wasm", layak_tests::compile_run_wasm);
}
