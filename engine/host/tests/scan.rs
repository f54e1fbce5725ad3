//! The compiled engine's input path (`pipeline::Evaluator` with the wasm
//! engine: lines scanned straight into batches, `BatchBuilder::push_json`)
//! against the decoder: generated households give the same batch bytes as
//! decoded and encoded, the pipeline's outcomes are the interpreter's
//! (decisions as JSON, malformed lines with the same errors, unknown
//! fields counted alike), and every input of the decoder's fuzz corpus
//! gets the same errors through either path.

use std::sync::Arc;

use layak_dsl::eval::EvalContext;
use layak_dsl::ir::Program;
use layak_dsl::record::{UnknownFields, decode_line};
use layak_dsl::wasm::{BatchBuilder, encode_batch};
use layak_host::engine::Engine;
use layak_host::pipeline::{Evaluator, Line, Outcome};
use layak_host::sandbox::Limits;

use super::wasm_engine::{root, runtime, shipped};

fn generated_lines(seed: u64, n: u64) -> Vec<String> {
    let mut ndjson = Vec::new();
    let opts = layak_gen::Options {
        households: n,
        seed,
        reference: layak_gen::Ymd::parse("2025-10-01").unwrap(),
    };
    layak_gen::generate(&opts, &mut ndjson, |_| {}).unwrap();
    String::from_utf8(ndjson)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn lines_of(texts: &[String]) -> Vec<Line> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Line {
            no: i as u64 + 1,
            text: Ok(t.clone()),
        })
        .collect()
}

/// An outcome as `layak run` would write it: the decision's JSON, or the
/// error's code and message.
fn written(outcome: &Outcome) -> String {
    match outcome {
        Ok(decision) => serde_json::to_string(decision).unwrap(),
        Err(e) => format!("{}: {e}", e.code()),
    }
}

#[test]
fn generated_households_scan_to_the_encoders_bytes() {
    let program = shipped();
    let ctx = EvalContext::new(layak_dsl::date::Date::parse("2025-10-01").unwrap());
    let mut scanned = 0;
    let mut decoded = 0;
    for chunk in generated_lines(7, 20_000).chunks(128) {
        let mut builder = BatchBuilder::new(&program);
        let mut values = Vec::new();
        for line in chunk {
            let value = decode_line(&program.schema, line);
            if builder.push_json(line) {
                scanned += 1;
                values.push(value.unwrap());
            } else if let Ok(value) = value {
                builder.push_value(&value);
                values.push(value);
            }
        }
        decoded += values.len();
        assert!(builder.finish(&ctx) == encode_batch(&program, &values, &ctx));
    }
    // The generator's malformed defects are the only lines left to the
    // decoder (about 1%).
    assert!(scanned as f64 >= 0.97 * 20_000.0, "{scanned} scanned");
    assert!(decoded >= scanned);
}

fn both_engines(program: &Arc<Program>) -> (Engine, Engine) {
    let wasm = Engine::wasm(&runtime(Limits::default()), Arc::clone(program)).unwrap();
    (wasm, Engine::interpreter(Arc::clone(program)))
}

/// Both evaluators over `lines`: the same outcome for every line, and the
/// same unknown fields.
fn same_outcomes(program: &Arc<Program>, lines: &[Line], what: &str) {
    let (wasm, interp) = both_engines(program);
    let ctx = EvalContext::new(layak_dsl::date::Date::parse("2025-10-01").unwrap());
    let mut unknown = (UnknownFields::default(), UnknownFields::default());
    let fast = Evaluator {
        engine: &wasm,
        ctx: &ctx,
    }
    .evaluate_lines_counting(lines, &mut unknown.0);
    let oracle = Evaluator {
        engine: &interp,
        ctx: &ctx,
    }
    .evaluate_lines_counting(lines, &mut unknown.1);
    assert_eq!(fast.len(), lines.len());
    for ((line, f), o) in lines.iter().zip(&fast).zip(&oracle) {
        assert_eq!(written(f), written(o), "{what}, line {}", line.no);
    }
    assert_eq!(unknown.0, unknown.1, "{what}: unknown fields");
}

#[test]
fn generated_lines_decide_as_the_interpreter_decides() {
    let program = shipped();
    let mut texts = generated_lines(11, 600);
    // Lines the scanner leaves to the decoder, among the others: an unknown
    // field (counted), a misspelt one (an error), numbers with a zero
    // fraction, an escape, a null list element, keys out of order.
    let samples = std::fs::read_to_string(root().join("rules/tests/samples.ndjson")).unwrap();
    for sample in samples.lines().filter(|l| !l.trim().is_empty()) {
        texts.push(sample.to_string());
        texts.push(sample.replacen('{', r#"{"hobby": "kites", "#, 1));
        texts.push(sample.replacen(r#""families""#, r#""familes""#, 1));
        texts.push(sample.replace(r#""desil": 2"#, r#""desil": 2.0"#));
        texts.push(sample.replacen(r#""record_id": "H"#, r#""record_id": "\u0048"#, 1));
        texts.push(sample.replacen(r#""members": ["#, r#""members": [null, "#, 1));
        texts.push(sample.replacen(r#"{"record_id""#, r#"{"families": [], "record_id""#, 1));
    }
    let lines = lines_of(&texts);
    same_outcomes(&program, &lines, "generated");
}

#[test]
fn the_decoders_fuzz_corpus_gives_the_same_errors() {
    let program = shipped();
    let dir = root().join("fuzz/corpus/decode_household");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    let texts: Vec<String> = files
        .iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
        .collect();
    same_outcomes(&program, &lines_of(&texts), "fuzz corpus");
    // A line that is not UTF-8 is an error at `$` on both paths.
    let bad = vec![Line {
        no: 1,
        text: Err("the line is not UTF-8: invalid utf-8 sequence".to_string()),
    }];
    same_outcomes(&program, &bad, "not UTF-8");
}
