//! The native baseline of the benchmarks (`layak_bench::native`)
//! decides exactly what the interpreter decides: the summary JSON of every
//! household, byte for byte, on the sample households and on generated
//! populations, and at dates where some parameters have no entry in force.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::path::{Path, PathBuf};

use layak_bench::native::{self, Context, Tables};
use layak_dsl::date::Date;
use layak_dsl::eval::{EvalContext, evaluate};
use layak_dsl::ir::Program;
use layak_dsl::record::decode_line;
use layak_gen::{Options, Ymd, generate};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn program() -> Program {
    layak_host::load::load_program(&root().join("rules")).expect("the shipped rules compile")
}

fn date(s: &str) -> Date {
    Date::parse(s).expect("a date")
}

fn population(households: u64, seed: u64) -> String {
    let opts = Options {
        households,
        seed,
        reference: Ymd::parse("2025-10-01").expect("a date"),
    };
    let mut out = Vec::new();
    generate(&opts, &mut out, |_| {}).expect("the generator writes");
    String::from_utf8(out).expect("the generator writes UTF-8")
}

#[derive(Debug, Default)]
struct Tally {
    compared: usize,
    verified: usize,
    /// Lines the interpreter's decoder rejects (the native parser must too).
    malformed: usize,
    /// Decisions left undetermined (missing parameters).
    undetermined: usize,
}

/// Compares every line's summary through the interpreter and the native
/// baseline, panicking at the first difference with both sides.
fn compare(program: &Program, tables: &Tables, as_of: &str, ndjson: &str, what: &str) -> Tally {
    let as_of = date(as_of);
    let ctx = EvalContext::new(as_of);
    let native_ctx = Context::new(as_of, tables);
    let mut tally = Tally::default();
    for (n, line) in ndjson.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = native::parse(line);
        let value = match decode_line(&program.schema, line) {
            Ok(value) => value,
            Err(errors) => {
                assert!(
                    parsed.is_err(),
                    "{what} line {}: the interpreter rejects it ({:?}) but the native parser accepts it",
                    n + 1,
                    errors
                );
                tally.malformed += 1;
                continue;
            }
        };
        let household = match parsed {
            Ok(h) => h,
            Err(e) => panic!(
                "{what} line {}: the interpreter accepts it but the native parser says: {e}",
                n + 1
            ),
        };
        let expected = serde_json::to_string(&evaluate(program, &value, &ctx).summary())
            .expect("the summary serialises");
        let summary = native::evaluate(&household, &native_ctx);
        let got = serde_json::to_string(&summary).expect("the native summary serialises");
        if expected != got {
            let pretty = |s: &str| {
                serde_json::from_str::<serde_json::Value>(s)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or_else(|_| s.to_string())
            };
            let (expected, got) = (pretty(&expected), pretty(&got));
            let diff = similar::TextDiff::from_lines(&expected, &got)
                .unified_diff()
                .header("interpreter", "native")
                .to_string();
            panic!(
                "{what} line {} (record {}), as_of {as_of}: the native summary differs from the interpreter's\n{diff}",
                n + 1,
                summary.record_id
            );
        }
        tally.compared += 1;
        tally.verified += usize::from(summary.verified());
        tally.undetermined += summary
            .entries
            .iter()
            .filter(|e| e.eligible.is_none())
            .count();
    }
    tally
}

#[test]
fn the_sample_households_agree() {
    let program = program();
    let tables = Tables::from_program(&program).expect("the rules declare VILLAGES and DISTRICTS");
    let samples = std::fs::read_to_string(root().join("rules/tests/samples.ndjson"))
        .expect("the sample households");
    let tally = compare(&program, &tables, "2025-10-01", &samples, "samples.ndjson");
    println!("samples: {tally:?}");
    assert_eq!(tally.malformed, 0);
    assert!(tally.compared >= 7, "{tally:?}");
}

#[test]
fn generated_households_agree() {
    let program = program();
    let tables = Tables::from_program(&program).expect("the rules declare VILLAGES and DISTRICTS");
    let mut total = 0;
    for seed in [1, 7] {
        let ndjson = population(10_000, seed);
        let tally = compare(
            &program,
            &tables,
            "2025-10-01",
            &ndjson,
            &format!("seed {seed}"),
        );
        println!("seed {seed}: {tally:?}");
        assert_eq!(tally.compared, 10_000, "{tally:?}");
        // The population exercises both outcomes.
        assert!(
            tally.verified > 1_000 && tally.verified < 9_900,
            "{tally:?}"
        );
        total += tally.compared;
    }
    assert_eq!(total, 20_000);
}

/// Before 2025-01-01 most amounts have no entry in force, and before
/// 2021/2019 the PKH thresholds neither: decisions are undetermined, naming
/// `params.NAME`, exactly as the interpreter says.
#[test]
fn dates_with_missing_parameters_agree() {
    let program = program();
    let tables = Tables::from_program(&program).expect("the rules declare VILLAGES and DISTRICTS");
    let samples = std::fs::read_to_string(root().join("rules/tests/samples.ndjson"))
        .expect("the sample households");
    let ndjson = population(1_000, 3);
    for as_of in [
        "2026-01-01",
        "2024-12-31",
        "2024-06-01",
        "2020-06-01",
        "2018-06-01",
    ] {
        compare(&program, &tables, as_of, &samples, "samples.ndjson");
        let tally = compare(&program, &tables, as_of, &ndjson, "seed 3");
        println!("as_of {as_of}: {tally:?}");
        if as_of < "2025" {
            assert!(tally.undetermined > 0, "{as_of}: {tally:?}");
        }
    }
}

/// The native tables hold every code the compiled rules loaded, and look
/// them up exactly.
#[test]
fn tables_match_the_program() {
    let program = program();
    let tables = Tables::from_program(&program).expect("the rules declare both tables");
    let codes = |name: &str| {
        program
            .tables
            .iter()
            .find(|t| t.name == name)
            .map_or(0, |t| t.codes.len())
    };
    assert_eq!(tables.villages.len(), codes("VILLAGES"));
    assert_eq!(tables.districts.len(), codes("DISTRICTS"));
    assert!(tables.villages.contains("3310012001"));
    assert!(!tables.villages.contains("331001200"));
    assert!(tables.districts.contains("331001"));
    assert!(!tables.districts.contains("990000"));
}

/// Lines the decoder rejects or accepts, the native parser rejects or
/// accepts too: wrong types, ranges, enum codes, nulls, integral floats.
#[test]
fn malformed_lines_are_rejected_alike() {
    let program = program();
    let tables = Tables::from_program(&program).expect("the rules declare both tables");
    let samples = std::fs::read_to_string(root().join("rules/tests/samples.ndjson"))
        .expect("the sample households");
    let h1 = samples.lines().next().expect("H1");
    let edits: &[(&str, &str)] = &[
        ("\"desil\": 2", "\"desil\": 11"),
        ("\"desil\": 2", "\"desil\": 2.0"),
        ("\"desil\": 2", "\"desil\": 2.5"),
        ("\"desil\": 2", "\"desil\": \"2\""),
        ("\"desil\": 2", "\"desil\": 2e0"),
        ("\"desil\": 2", "\"desil\": null"),
        ("\"desil\": 2", "\"desil\": 99999999999999999999"),
        ("\"jkn\": 0", "\"jkn\": 3"),
        ("\"jkn\": 0", "\"jkn\": 99"),
        ("\"sex\": \"M\"", "\"sex\": \"X\""),
        ("\"sex\": \"M\"", "\"sex\": {\"M\": null}"),
        ("\"dukcapil\": \"matched\"", "\"dukcapil\": \"MATCHED\""),
        (
            "\"birth_date\": \"1985-07-14\"",
            "\"birth_date\": \"1985-02-30\"",
        ),
        (
            "\"birth_date\": \"1985-07-14\"",
            "\"birth_date\": \"1985-7-14\"",
        ),
        ("\"record_id\": \"H1\"", "\"record_id\": null"),
        ("\"record_id\": \"H1\"", "\"record_id\": 1"),
        ("\"record_id\": \"H1\"", "\"record_id\": \"H\\u0031\""),
        ("\"source\": \"DTSEN\"", "\"source\": \"BPS\""),
        (
            "\"programmes_received\": []",
            "\"programmes_received\": [\"PKH\", 3]",
        ),
        (
            "\"programmes_received\": []",
            "\"programmes_received\": [null]",
        ),
        (
            "\"external_flags\": []",
            "\"external_flags\": [\"asn\", null]",
        ),
        ("\"external_flags\": []", "\"external_flags\": \"asn\""),
        ("\"pregnant\": false", "\"pregnant\": 0"),
        ("\"floor_area_m2\": 36", "\"floor_area_m2\": 36.5"),
        ("\"difficulty\": {}", "\"difficulty\": {\"seeing\": 0}"),
        ("\"difficulty\": {}", "\"difficulty\": {\"seeing\": null}"),
        ("\"difficulty\": {}", "\"difficulty\": []"),
        ("\"assets\": {}", "\"assets\": {\"car\": 1.5}"),
        ("\"pmt_score\": null", "\"pmt_score\": \"high\""),
        ("\"members\": [", "\"members\": [null, "),
        ("\"families\": [", "\"families\": [{\"members\": []}, "),
        ("\"desa_code\": \"3310012001\"", "\"desa_code\": 3310012001"),
        ("\"verval\": {", "\"verval\": null, \"v\": {"),
        ("\"address\": \"RT 001", "\"address\": \"\\\"RT 001"),
    ];
    let mut lines = String::new();
    for (from, to) in edits {
        assert!(h1.contains(from), "H1 has `{from}`");
        lines.push_str(&h1.replacen(from, to, 1));
        lines.push('\n');
    }
    lines.push_str("{}\n[]\n\"H1\"\n{\"record_id\": \"X\"}\n");
    let tally = compare(&program, &tables, "2025-10-01", &lines, "edited H1");
    println!("edited lines: {tally:?}");
    assert!(tally.malformed > 20 && tally.compared > 5, "{tally:?}");
}
