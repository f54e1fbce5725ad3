//! `cargo bench -p layak-bench`: the five stages of `layak bench` (see
//! `engine/bench/src/harness.rs`) on 512 generated households, per
//! household, with criterion's statistics. `layak bench` runs the same
//! stages over 1,000,000 households and prints the table with the targets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on a broken fixture"
)]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use layak_bench::native;
use layak_dsl::date::Date;
use layak_dsl::eval::EvalContext;
use layak_dsl::record::decode_line;
use layak_dsl::wasm::encode_batch;
use layak_host::engine::Engine;
use layak_host::pipeline::{Evaluator, Line, SLICE};
use layak_host::sandbox::{Runtime, RuntimeConfig};

const HOUSEHOLDS: u64 = 512;

fn stages(c: &mut Criterion) {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let program = Arc::new(layak_host::load::load_program(&rules).unwrap());
    let as_of = Date::parse("2025-10-01").unwrap();
    let ctx = EvalContext::new(as_of);
    let mut ndjson = Vec::new();
    let opts = layak_gen::Options {
        households: HOUSEHOLDS,
        seed: 1,
        reference: layak_gen::Ymd::parse("2025-10-01").unwrap(),
    };
    layak_gen::generate(&opts, &mut ndjson, |_| {}).unwrap();
    let text = String::from_utf8(ndjson).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut typed = Vec::new();
    let mut values = Vec::new();
    for line in &lines {
        if let (Ok(t), Ok(v)) = (native::parse(line), decode_line(&program.schema, line)) {
            typed.push(t);
            values.push(v);
        }
    }
    let batches: Vec<Vec<u8>> = values
        .chunks(SLICE)
        .map(|slice| encode_batch(&program, slice, &ctx))
        .collect();
    let input: Vec<Line> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| Line {
            no: i as u64 + 1,
            text: Ok(l.to_string()),
        })
        .collect();
    let tables = native::Tables::from_program(&program).unwrap();
    let native_ctx = native::Context::new(as_of, &tables);
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let wasm = Engine::wasm(&runtime, Arc::clone(&program)).unwrap();
    let mut session = wasm.module().unwrap().session();
    let interp = Engine::interpreter(Arc::clone(&program));
    let evaluator = Evaluator {
        engine: &wasm,
        ctx: &ctx,
    };

    let mut group = c.benchmark_group("shipped_rules");
    group.sample_size(10);
    group.throughput(Throughput::Elements(typed.len() as u64));
    group.bench_function("a_native", |b| {
        b.iter(|| {
            for h in &typed {
                black_box(native::evaluate(black_box(h), &native_ctx));
            }
        })
    });
    group.bench_function("b_interpreter", |b| {
        b.iter(|| {
            for slice in values.chunks(SLICE) {
                black_box(interp.evaluate(slice, &ctx));
            }
        })
    });
    group.bench_function("c_wasm_encoded", |b| {
        b.iter(|| {
            for batch in &batches {
                black_box(session.call_with(batch, |r| r.len()).unwrap());
            }
        })
    });
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("d_end_to_end", |b| {
        b.iter(|| {
            for slice in input.chunks(SLICE) {
                let outcomes = evaluator.evaluate_lines(slice);
                black_box(layak_host::output::write_slice(slice, outcomes, false, None).unwrap());
            }
        })
    });
    group.bench_function("e_parse_typed", |b| {
        b.iter(|| {
            for line in &lines {
                let _ = black_box(native::parse(black_box(line)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
