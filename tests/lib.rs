//! Workspace-level tests (see `tests/*.rs`). The shared pieces are the fuzz
//! bodies: the fuzz targets in `fuzz/`, the property tests and the corpus
//! replay (`tests/fuzz_corpus.rs`) all call them, so the tests run exactly
//! what the fuzzer runs.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use layak_dsl::ir::Program;
use layak_host::engine::Engine;
use layak_host::sandbox::{ErrorCode, Runtime, RuntimeConfig};

// The random-program generator of `dsl/tests/wasm_programs.rs`, shared
// rather than written twice: its choice stream, schema and program writer.
#[allow(
    dead_code,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "the generator is test code, shared with dsl/tests/wasm_programs.rs"
)]
#[path = "../dsl/tests/wasm_programs/choices.rs"]
mod choices;
#[allow(
    dead_code,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "the generator is test code, shared with dsl/tests/wasm_programs.rs"
)]
#[path = "../dsl/tests/wasm_programs/generator.rs"]
mod generator;
#[allow(
    dead_code,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "the generator is test code, shared with dsl/tests/wasm_programs.rs"
)]
#[path = "../dsl/tests/wasm_programs/schema.rs"]
mod schema;

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

/// The sandbox of [`compile_run_wasm`]: the CLI's limits, no disk cache.
fn fuzz_runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: None,
            max_instances: 4,
            ..RuntimeConfig::default()
        });
        assert!(
            runtime.is_ok(),
            "the sandbox does not start: {:?}",
            runtime.err()
        );
        runtime.unwrap_or_else(|_| std::process::abort())
    })
}

/// Choices per part of a [`compile_run_wasm`] input: the context (`as_of`
/// and overrides), then the households, then the program.
const CONTEXT_CHOICES: usize = 8;
const HOUSEHOLD_CHOICES: usize = 256;

/// Bytes as the choice stream of `dsl/tests/wasm_programs/` (two bytes a
/// choice, little-endian), cut into context, households and program, so a
/// mutation of the program's bytes keeps the households: a well-typed
/// program and one to five households for its schema. The program is
/// compiled to wasm and run in wasmtime, in the sandbox the CLI and the
/// service use, and by the reference interpreter; their decisions must be
/// byte-identical (the JSON of `--format full`, explanations included),
/// unless the sandbox stopped a household at a limit (fuel, memory,
/// stack). Must never panic.
pub fn compile_run_wasm(bytes: &[u8]) {
    use layak_dsl::eval::{EvalContext, evaluate, parse_override};

    let stream: Vec<u32> = bytes
        .chunks(2)
        .map(|pair| pair.iter().rev().fold(0, |acc, &b| acc << 8 | u32::from(b)))
        .collect();
    let (context, rest) = stream.split_at(stream.len().min(CONTEXT_CHOICES));
    let (households, program) = rest.split_at(rest.len().min(HOUSEHOLD_CHOICES));

    let source = generator::program_source(program);
    let mut sources = layak_dsl::Sources::new();
    sources.add("main.lyk", source.clone());
    sources.add("tables/codes.txt", schema::TABLE);
    sources.add("tables/none.txt", "# no codes\n");
    sources.add("tables/digits.txt", schema::DIGIT_TABLE);
    let (checked, diags) = layak_dsl::compile(&sources);
    assert!(
        checked.is_some() && !layak_dsl::diagnostic::has_errors(&diags),
        "the generator wrote a program that does not check:\n{}\n{source}",
        layak_dsl::diagnostic::render_terminal(&sources, &diags, false)
    );
    let program = Arc::new(checked.unwrap_or_default());

    let mut c = choices::Choices::new(households);
    let mut values = Vec::new();
    for _ in 0..1 + c.below(5) {
        let mut doc = schema::json_record(&mut c, schema::HOUSEHOLD);
        let id = *c.pick(&["H1", "H2", "", "é"]);
        if let Some(fields) = doc.as_object_mut() {
            fields.insert("record_id".into(), id.into());
        }
        let value = layak_dsl::record::decode_json(&program.schema, &doc);
        assert!(value.is_ok(), "{doc}: {:?}\n{source}", value.err());
        values.extend(value.ok());
    }

    let mut c = choices::Choices::new(context);
    let as_of = *c.pick(schema::AS_OF);
    let date = layak_dsl::date::Date::parse(as_of);
    assert!(date.is_some(), "{as_of}");
    let mut ctx = EvalContext::new(date.unwrap_or(layak_dsl::date::Date::UNIX_EPOCH));
    for _ in 0..c.below(3) {
        let spec = *c.pick(schema::OVERRIDES);
        let parsed = parse_override(&program, spec);
        assert!(parsed.is_ok(), "{spec}: {:?}", parsed.err());
        if let Ok((name, literal)) = parsed {
            ctx.overrides.insert(name, literal);
        }
    }

    let runtime = fuzz_runtime();
    let engine = Engine::wasm(runtime, Arc::clone(&program));
    assert!(
        engine.is_ok(),
        "a program that checks does not load: {:?}\n{source}",
        engine.err()
    );
    let Ok(engine) = engine else { return };
    let got = engine.evaluate(&values, &ctx);
    assert_eq!(got.len(), values.len());
    for (value, wasm) in values.iter().zip(&got) {
        let expected = serde_json::to_string(&evaluate(&program, value, &ctx)).unwrap_or_default();
        match wasm {
            Ok(decision) => {
                let actual = serde_json::to_string(decision).unwrap_or_default();
                assert!(
                    expected == actual,
                    "wasmtime and the interpreter disagree\n--- interpreter\n{expected}\n--- wasmtime\n{actual}\n--- program\n{source}\n--- as_of {as_of}, overrides {:?}",
                    ctx.overrides
                );
            }
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    ErrorCode::Timeout | ErrorCode::Memory | ErrorCode::Stack
                ),
                "the wasm engine failed: {e}\n--- program\n{source}"
            ),
        }
    }
    // Each input is a new module: forget it, so a long run's memory stays
    // flat.
    drop(engine);
    runtime.clear_memory_cache();
}
