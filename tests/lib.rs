//! Workspace-level tests (see `tests/*.rs`). The shared pieces are the fuzz
//! bodies: the fuzz targets in `fuzz/`, the property tests and the corpus
//! replay (`tests/fuzz_corpus.rs`) all call them, so the tests run exactly
//! what the fuzzer runs.

use std::path::Path;
use std::sync::OnceLock;

use layak_dsl::ir::Program;

/// Parses, checks and formats arbitrary text as a rule file; when it
/// compiles, generates its module (which must validate). Formatting must
/// be idempotent. Must never panic.
pub fn parse_check_format(text: &str) {
    let mut sources = layak_dsl::Sources::new();
    let id = sources.add("fuzz.lyk", text);
    let (_file, _diags) = layak_dsl::syntax::parse_file(id, text);
    let (program, diags) = layak_dsl::compile(&sources);
    if let Some(program) = program {
        let module = layak_dsl::wasm::compile_module_checked(&program);
        assert!(
            module.is_ok(),
            "a program that checks does not compile: {:?}",
            module.err()
        );
    } else {
        assert!(
            layak_dsl::diagnostic::has_errors(&diags),
            "no program and no error"
        );
    }
    if let Ok(formatted) = layak_dsl::fmt::format_source(id, text) {
        let again = layak_dsl::fmt::format_source(id, &formatted);
        assert_eq!(
            again.as_ref(),
            Ok(&formatted),
            "formatting is not idempotent"
        );
    }
}

/// [`parse_check_format`] on bytes: those that are not UTF-8 must give
/// E0006 (the path `layak check` takes for a file).
pub fn parse_check_format_bytes(bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_check_format(text),
        Err(_) => {
            let mut sources = layak_dsl::Sources::new();
            sources.add_bytes("fuzz.lyk", bytes);
            let (program, diags) = layak_dsl::compile(&sources);
            assert!(program.is_none());
            assert!(diags.iter().any(|d| d.code == "E0006"), "{diags:?}");
        }
    }
}

/// The shipped rules, compiled once.
pub fn shipped_program() -> &'static Program {
    static PROGRAM: OnceLock<Program> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let mut sources = layak_dsl::Sources::new();
        for (name, text) in shipped_rules() {
            sources.add(name.trim_start_matches("rules/"), text);
        }
        let tables = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/tables");
        if let Ok(entries) = std::fs::read_dir(&tables) {
            for entry in entries.flatten() {
                if entry.path().extension().is_none_or(|e| e != "txt") {
                    continue;
                }
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    sources.add(
                        format!("tables/{}", entry.file_name().to_string_lossy()),
                        text,
                    );
                }
            }
        }
        let (program, diags) = layak_dsl::compile(&sources);
        assert!(
            program.is_some(),
            "the shipped rules do not compile: {diags:?}"
        );
        program.unwrap_or_default()
    })
}

/// Decodes arbitrary bytes as one NDJSON household line against the
/// shipped schema: a record, or errors each at a JSON path (`$...`). A
/// record is also evaluated. Must never panic.
pub fn decode_household(bytes: &[u8]) {
    let program = shipped_program();
    let line = String::from_utf8_lossy(bytes);
    match layak_dsl::record::decode_line(&program.schema, &line) {
        Ok(household) => {
            let ctx = layak_dsl::eval::EvalContext::new(layak_dsl::date::Date::UNIX_EPOCH);
            let _ = layak_dsl::eval::evaluate(program, &household, &ctx);
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "an error without a location");
            for e in &errors {
                assert!(e.path.starts_with('$'), "{e}");
            }
        }
    }
}

/// The shipped rule files as (name, text), for mutation-based tests.
pub fn shipped_rules() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "lyk")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                out.push((
                    format!("rules/{}", entry.file_name().to_string_lossy()),
                    text,
                ));
            }
        }
    }
    out.sort();
    out
}
