//! The wasm engine against the reference interpreter on generated
//! populations, and the sandbox stopping a pathological rule.
//!
//! `generated_households_agree` compares 100,000 households by default,
//! through both exports of the module (`evaluate`, the whole decision, and
//! `decide`, the summary, from values and from an encoded batch)
//! (`LAYAK_DIFF_HOUSEHOLDS` changes it; the longer run is
//! `LAYAK_DIFF_HOUSEHOLDS=1000000 cargo test --release -p layak-host
//! --test all wasm_engine::`). Every decision is compared as the JSON the CLI
//! writes with `--format full`: statuses, codes, amounts and the whole
//! explanation tree.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use layak_dsl::date::Date;
use layak_dsl::eval::EvalContext;
use layak_dsl::ir::Program;
use layak_dsl::record::decode_line;
use layak_dsl::value::Value;
use layak_host::engine::Engine;
use layak_host::pipeline::SLICE;
use layak_host::sandbox::{ErrorCode, Limits, Runtime, RuntimeConfig};

pub(crate) fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub(crate) fn shipped() -> Arc<Program> {
    Arc::new(layak_host::load::load_program(&root().join("rules")).unwrap())
}

pub(crate) fn runtime(limits: Limits) -> Runtime {
    Runtime::new(RuntimeConfig {
        limits,
        cache_dir: None,
        ..RuntimeConfig::default()
    })
    .unwrap()
}

/// `n` generated households from `seed`, decoded; lines the schema rejects
/// (the generator's malformed defects) are left out.
fn generated(program: &Program, seed: u64, n: u64) -> Vec<Value> {
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
        .filter_map(|l| decode_line(&program.schema, l).ok())
        .collect()
}

/// Compares both engines on `households`; returns how many agreed.
fn compare(
    program: &Arc<Program>,
    wasm: &Engine,
    households: &[Value],
    ctx: &EvalContext,
    what: &str,
) -> u64 {
    let interp = Engine::interpreter(Arc::clone(program));
    let mut agreed = 0;
    for slice in households.chunks(SLICE) {
        let expected = interp.evaluate(slice, ctx);
        let actual = wasm.evaluate(slice, ctx);
        let decided = wasm.decide(slice, ctx);
        // As `layak run` decides: an encoded batch, its records named from its bytes.
        let batch = layak_dsl::wasm::encode_batch(program, slice, ctx);
        let from_batch = wasm.decide_batch(&batch, slice.len(), ctx);
        assert_eq!(expected.len(), actual.len());
        assert_eq!(expected.len(), decided.len());
        assert_eq!(expected.len(), from_batch.len());
        for (((e, a), d), b) in expected.iter().zip(&actual).zip(&decided).zip(&from_batch) {
            let e = e.as_ref().unwrap();
            // The decide path: the summary line's bytes.
            let summary = serde_json::to_string(&e.summary()).unwrap();
            for (how, d) in [("values", d), ("batch", b)] {
                let d = match d {
                    Ok(d) => serde_json::to_string(d).unwrap(),
                    Err(err) => {
                        panic!("{what}: the wasm engine's decide path ({how}) failed: {err}")
                    }
                };
                if summary != d {
                    let diff = first_difference(&summary, &d);
                    panic!("{what}: the decide path's summary ({how}) disagrees\n{diff}");
                }
            }
            let e = serde_json::to_string(e).unwrap();
            let a = match a {
                Ok(a) => serde_json::to_string(a).unwrap(),
                Err(err) => panic!("{what}: the wasm engine failed: {err}"),
            };
            if e != a {
                let diff = first_difference(&e, &a);
                panic!("{what}: the engines disagree\n{diff}");
            }
            agreed += 1;
        }
    }
    agreed
}

/// The first differing bytes of two JSON lines, with some context.
fn first_difference(e: &str, a: &str) -> String {
    let at = e
        .bytes()
        .zip(a.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let from = at.saturating_sub(200);
    format!(
        "interpreter: ...{}\nwasm:        ...{}",
        e.get(from..(at + 200).min(e.len())).unwrap_or(e),
        a.get(from..(at + 200).min(a.len())).unwrap_or(a)
    )
}

#[test]
fn generated_households_agree() {
    let total: u64 = std::env::var("LAYAK_DIFF_HOUSEHOLDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let program = shipped();
    let runtime = runtime(Limits::default());
    let wasm = Engine::wasm(&runtime, Arc::clone(&program)).unwrap();
    // Two evaluation dates and a what-if, so parameters and ages vary too.
    let contexts = {
        let mut whatif = EvalContext::new(Date::parse("2025-10-01").unwrap());
        let (name, value) =
            layak_dsl::eval::parse_override(&program, "PKH_ELDERLY_MIN_AGE=60").unwrap();
        whatif.overrides.insert(name, value);
        [
            EvalContext::new(Date::parse("2025-10-01").unwrap()),
            EvalContext::new(Date::parse("2024-07-15").unwrap()),
            whatif,
        ]
    };
    // Chunks of 5,000 households from consecutive seeds, shared by the
    // cores; each chunk is evaluated under one of the contexts in turn.
    const CHUNK: u64 = 5_000;
    let chunks = total.div_ceil(CHUNK);
    let next = AtomicU64::new(0);
    let agreed = AtomicU64::new(0);
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= chunks {
                        break;
                    }
                    let n = CHUNK.min(total - k * CHUNK);
                    let seed = 1000 + k;
                    let households = generated(&program, seed, n);
                    let ctx = &contexts[(k % 3) as usize];
                    let what = format!("seed {seed}, as_of {}", ctx.as_of);
                    let done = compare(&program, &wasm, &households, ctx, &what);
                    agreed.fetch_add(done, Ordering::Relaxed);
                }
            });
        }
    });
    let agreed = agreed.into_inner();
    println!(
        "{agreed} generated households: identical decisions and explanations, and identical summaries from the decide path"
    );
    // The generator makes about 1% malformed lines; all the rest compared.
    assert!(
        agreed >= total * 95 / 100,
        "only {agreed} of {total} compared"
    );
}

#[test]
fn the_samples_agree() {
    let program = shipped();
    let runtime = runtime(Limits::default());
    let wasm = Engine::wasm(&runtime, Arc::clone(&program)).unwrap();
    let samples = std::fs::read_to_string(root().join("rules/tests/samples.ndjson")).unwrap();
    let households: Vec<Value> = samples
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| decode_line(&program.schema, l).unwrap())
        .collect();
    let ctx = EvalContext::new(Date::parse("2025-10-01").unwrap());
    assert_eq!(
        compare(&program, &wasm, &households, &ctx, "samples"),
        households.len() as u64
    );
}

/// The shipped `DUPLICATE_NIK_IN_RECORD` compares every living member with
/// every other: quadratic, fine for a real household and hopeless for one
/// with 20,000 members. The fuel limit stops that household alone with
/// `E_TIMEOUT`; the rest of its batch is decided, and the evaluator keeps
/// serving.
#[test]
fn a_huge_aggregate_is_stopped_by_the_fuel_limit() {
    let program = shipped();
    let runtime = runtime(Limits {
        fuel: 200_000_000,
        ..Limits::default()
    });
    let wasm = Engine::wasm(&runtime, Arc::clone(&program)).unwrap();
    let ctx = EvalContext::new(Date::parse("2025-10-01").unwrap());
    let samples = std::fs::read_to_string(root().join("rules/tests/samples.ndjson")).unwrap();
    let lines: Vec<&str> = samples.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut huge: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let members = huge["families"][0]["members"].as_array().unwrap().clone();
    let many: Vec<serde_json::Value> = members.iter().cycle().take(20_000).cloned().collect();
    huge["families"][0]["members"] = serde_json::Value::Array(many);
    huge["record_id"] = "HUGE".into();
    let batch = vec![
        decode_line(&program.schema, lines[0]).unwrap(),
        layak_dsl::record::decode_json(&program.schema, &huge).unwrap(),
        decode_line(&program.schema, lines[1]).unwrap(),
    ];
    let started = std::time::Instant::now();
    let results = wasm.evaluate(&batch, &ctx);
    println!(
        "batch with a 20,000-member household: {:?}",
        started.elapsed()
    );
    assert!(results[0].is_ok(), "{:?}", results[0].as_ref().err());
    let err = results[1]
        .as_ref()
        .expect_err("the huge household must be stopped");
    println!("limit fired: {err}");
    assert_eq!(err.kind(), ErrorCode::Timeout);
    assert!(results[2].is_ok(), "{:?}", results[2].as_ref().err());
    // The neighbours got the interpreter's decisions, and the evaluator
    // still serves.
    let interp = Engine::interpreter(Arc::clone(&program));
    let expected = interp.evaluate(&batch[2..], &ctx);
    assert_eq!(
        serde_json::to_string(results[2].as_ref().unwrap()).unwrap(),
        serde_json::to_string(expected[0].as_ref().unwrap()).unwrap()
    );
    assert!(wasm.evaluate(&batch[..1], &ctx)[0].is_ok());

    // The decide path over an encoded batch, as `layak run` takes it: the
    // failed call is retried household by household from the whole
    // households, not the names of their records the summaries need.
    let encoded = layak_dsl::wasm::encode_batch(&program, &batch, &ctx);
    let decided = wasm.decide_batch(&encoded, batch.len(), &ctx);
    assert_eq!(decided.len(), 3);
    let err = decided[1]
        .as_ref()
        .expect_err("the huge household must be stopped");
    assert_eq!(err.kind(), ErrorCode::Timeout);
    for i in [0, 2] {
        let summary = interp.evaluate(&batch[i..=i], &ctx)[0]
            .as_ref()
            .unwrap()
            .summary();
        assert_eq!(
            serde_json::to_string(decided[i].as_ref().unwrap()).unwrap(),
            serde_json::to_string(&summary).unwrap()
        );
    }
}
