//! `layak bench`: the shipped rules over a generated population, measured
//! stage by stage in one run so that the ratios compare like with like.
//!
//! - (a) the rules hand-written in plain Rust ([`native`]) over typed structs;
//! - (b) the reference interpreter over decoded households;
//! - (c) the wasm module over already-encoded batches (the calls only, its
//!   `decide` export: what `layak run` calls for summary lines);
//! - (d) end to end, NDJSON in to summary NDJSON out, as `layak run` does;
//! - (e) only parsing the NDJSON into typed structs (the floor for d);
//! - the explain path: (d) with the explanation tree on every line
//!   (`layak run --explain`);
//! - the PKH rule alone (`schema.lyk`, `common.lyk`, `pkh.lyk`) end to end
//!   on one thread (`layak run --threads 1`), the figure other engines are
//!   compared on;
//! - `layak run` itself over `run_households` generated households, in a
//!   process of its own with its peak memory, projected to the national
//!   register ([`projection`](crate::projection)).
//!
//! (a), (b) and (c) run on one thread, over the same households, prepared
//! chunk by chunk outside the timed sections (so memory stays bounded);
//! (d), (e) and the explain path run on every core through the same
//! streaming pipeline. Each stage runs `runs` times; the report gives the
//! median. The table ends with every target of issue 14, met or missed.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use layak_dsl::date::Date;
use layak_dsl::eval::EvalContext;
use layak_dsl::ir::Program;
use layak_dsl::record::decode_line;
use layak_dsl::wasm::{compile_module, encode_batch};

use layak_host::engine::Engine;
use layak_host::load::load_rules;
use layak_host::pipeline::{self, Evaluator, Line, SLICE, Source};
use layak_host::sandbox::{Export, Runtime, RuntimeConfig};
use layak_host::stats::group;

use crate::native;
use crate::projection::{self, Projection};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Options {
    pub households: u64,
    pub seed: u64,
    pub runs: usize,
    /// Threads of the (d) and (e) stages.
    pub threads: usize,
    /// How many households the (slow) interpreter stage takes.
    pub interp_households: u64,
    pub as_of: Date,
    /// The rules directory (for the PKH rule alone and `layak run`).
    pub rules: PathBuf,
    /// Households of the `layak run` projection; 0 skips it.
    pub run_households: u64,
    /// The `layak` binary that runs the projection (none skips it).
    pub layak: Option<PathBuf>,
}

/// One measured stage: `runs` durations over `households`.
#[derive(Debug, Clone)]
pub struct Stage {
    pub label: &'static str,
    pub threads: usize,
    pub households: u64,
    pub times: Vec<Duration>,
}

impl Stage {
    pub fn median(&self) -> Duration {
        median(&self.times)
    }

    /// Households per second at the median.
    pub fn rate(&self) -> f64 {
        let secs = self.median().as_secs_f64();
        if secs > 0.0 {
            self.households as f64 / secs
        } else {
            0.0
        }
    }
}

/// Everything one `layak bench` run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub options: Options,
    pub generated: Duration,
    pub ndjson_bytes: u64,
    pub compile_cold: Vec<Duration>,
    pub cache_load: Vec<Duration>,
    pub native: Stage,
    pub interp: Stage,
    pub wasm: Stage,
    pub end_to_end: Stage,
    pub parse: Stage,
    /// (d) with the explanation tree on every line.
    pub explain: Stage,
    /// The PKH rule alone, end to end on one thread.
    pub pkh_alone: Stage,
    pub projection: Option<Projection>,
    /// Households of the population that decode (the generator makes a few
    /// malformed lines on purpose); the stages all take these.
    pub decodable: u64,
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// Runs every stage. `note` is told what is happening (for a progress
/// line on a terminal).
pub fn run(program: &Arc<Program>, opts: &Options, note: &dyn Fn(&str)) -> Result<Report> {
    let runs = opts.runs.max(1);
    note("generating households");
    let started = Instant::now();
    let mut ndjson = Vec::new();
    let gen_opts = layak_gen::Options {
        households: opts.households,
        seed: opts.seed,
        reference: layak_gen::Ymd::parse(&opts.as_of.to_string()).context("the evaluation date")?,
    };
    layak_gen::generate(&gen_opts, &mut ndjson, |_| {})?;
    let generated = started.elapsed();
    let text = std::str::from_utf8(&ndjson).map_err(|e| anyhow!("generated text: {e}"))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();

    note("compiling the rules");
    let (compile_cold, cache_load) = compile_times(program, runs)?;

    let ctx = EvalContext::new(opts.as_of);
    let tables = native::Tables::from_program(program)
        .context("the rules name no VILLAGES and DISTRICTS tables")?;
    let native_ctx = native::Context::new(opts.as_of, &tables);
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })?;
    let wasm = Engine::wasm(&runtime, Arc::clone(program))?;
    let mut session = wasm
        .module()
        .ok_or_else(|| anyhow!("the compiled engine has no module"))?
        .session();
    let interp = Engine::interpreter(Arc::clone(program));

    let mut native_times = vec![Duration::ZERO; runs];
    let mut wasm_times = vec![Duration::ZERO; runs];
    let mut interp_times = vec![Duration::ZERO; runs];
    let (mut decodable, mut interpreted) = (0u64, 0u64);
    const CHUNK: usize = 4096;
    for (k, chunk) in lines.chunks(CHUNK).enumerate() {
        note(&format!(
            "(a) native, (b) interpreter, (c) wasm: {} of {} households",
            k * CHUNK,
            lines.len()
        ));
        // Prepared outside the clock: typed structs, decoded values, batches.
        let mut typed = Vec::with_capacity(chunk.len());
        let mut values = Vec::with_capacity(chunk.len());
        for line in chunk {
            if let (Ok(t), Ok(v)) = (native::parse(line), decode_line(&program.schema, line)) {
                typed.push(t);
                values.push(v);
            }
        }
        decodable += values.len() as u64;
        let batches: Vec<Vec<u8>> = values
            .chunks(SLICE)
            .map(|slice| encode_batch(program, slice, &ctx))
            .collect();
        let take = usize::try_from(opts.interp_households.saturating_sub(interpreted))
            .unwrap_or(usize::MAX)
            .min(values.len());
        let for_interp = values.get(..take).unwrap_or_default();
        interpreted += take as u64;
        for r in 0..runs {
            let t = Instant::now();
            for h in &typed {
                black_box(native::evaluate(black_box(h), &native_ctx));
            }
            add(&mut native_times, r, t.elapsed());

            let t = Instant::now();
            for batch in &batches {
                let len = session
                    .call_export_with(Export::Decide, batch, |result| result.len())
                    .map_err(|e| anyhow!("the wasm stage failed: {e}"))?;
                black_box(len);
            }
            add(&mut wasm_times, r, t.elapsed());

            let t = Instant::now();
            for slice in for_interp.chunks(SLICE) {
                black_box(interp.evaluate(slice, &ctx));
            }
            add(&mut interp_times, r, t.elapsed());
        }
    }

    let threads = opts.threads.max(1);
    let config = pipeline::Options {
        threads,
        batch_lines: 1024,
    };
    let evaluator = Evaluator {
        engine: &wasm,
        ctx: &ctx,
    };
    let pkh = pkh_alone(&opts.rules)?;
    let pkh = Engine::wasm(&runtime, Arc::new(pkh))?;
    let pkh = Evaluator {
        engine: &pkh,
        ctx: &ctx,
    };
    let one_thread = pipeline::Options {
        threads: 1,
        batch_lines: 1024,
    };
    let mut parse_times = Vec::with_capacity(runs);
    let mut e2e_times = Vec::with_capacity(runs);
    let mut explain_times = Vec::with_capacity(runs);
    let mut pkh_times = Vec::with_capacity(runs);
    for r in 0..runs {
        note(&format!("(e) parse only, run {} of {runs}", r + 1));
        let t = Instant::now();
        pipeline::run_with(
            Source::Reader(Box::new(Cursor::new(&ndjson[..]))),
            &config,
            &|_| {},
            |lines: &[Line]| {
                lines
                    .iter()
                    .filter(|l| {
                        l.text
                            .as_deref()
                            .is_ok_and(|text| black_box(native::parse(text)).is_ok())
                    })
                    .count()
            },
            |n| {
                black_box(n);
                Ok(())
            },
        )?;
        parse_times.push(t.elapsed());

        note(&format!("(d) end to end, run {} of {runs}", r + 1));
        e2e_times.push(end_to_end(&evaluator, &ndjson, &config, false)?);

        note(&format!("explain path, run {} of {runs}", r + 1));
        explain_times.push(end_to_end(&evaluator, &ndjson, &config, true)?);
        note(&format!(
            "PKH rule alone, one thread, run {} of {runs}",
            r + 1
        ));
        pkh_times.push(end_to_end(&pkh, &ndjson, &one_thread, false)?);
    }

    let projection = match &opts.layak {
        Some(layak) if opts.run_households > 0 => {
            note(&format!(
                "`layak run` over {} households",
                group(opts.run_households.into())
            ));
            let as_of = opts.as_of.to_string();
            Some(projection::measure(&projection::Ask {
                layak,
                rules: &opts.rules,
                households: opts.run_households,
                seed: opts.seed,
                threads,
                as_of: &as_of,
            })?)
        }
        _ => None,
    };

    let all = lines.len() as u64;
    Ok(Report {
        options: opts.clone(),
        generated,
        ndjson_bytes: ndjson.len() as u64,
        compile_cold,
        cache_load,
        native: Stage {
            label: "(a) native Rust, hand-written rules",
            threads: 1,
            households: decodable,
            times: native_times,
        },
        interp: Stage {
            label: "(b) interpreter",
            threads: 1,
            households: interpreted,
            times: interp_times,
        },
        wasm: Stage {
            label: "(c) wasm over encoded batches",
            threads: 1,
            households: decodable,
            times: wasm_times,
        },
        end_to_end: Stage {
            label: "(d) end to end: NDJSON -> summary NDJSON",
            threads,
            households: all,
            times: e2e_times,
        },
        parse: Stage {
            label: "(e) NDJSON -> typed structs (serde_json)",
            threads,
            households: all,
            times: parse_times,
        },
        explain: Stage {
            label: "explain path: (d) with --explain",
            threads,
            households: all,
            times: explain_times,
        },
        pkh_alone: Stage {
            label: "PKH rule alone, end to end",
            threads: 1,
            households: all,
            times: pkh_times,
        },
        projection,
        decodable,
    })
}

/// One pass of `layak run`'s work over `ndjson` in memory, on the same path
/// (the decide path unless `explain`): NDJSON in, summary lines and error lines out.
fn end_to_end(
    evaluator: &Evaluator<'_>,
    ndjson: &[u8],
    config: &pipeline::Options,
    explain: bool,
) -> Result<Duration> {
    let t = Instant::now();
    let mut bytes = 0usize;
    let mut sink = |done: Result<layak_host::output::Written>, _| {
        let done = done?;
        bytes += done.out.len() + done.errors.len();
        Ok(())
    };
    let source = Source::Reader(Box::new(Cursor::new(ndjson)));
    if explain {
        pipeline::run_counting(
            evaluator,
            source,
            config,
            &|_| {},
            |lines, outcomes| layak_host::output::write_slice(lines, outcomes, true, None),
            &mut sink,
        )?;
    } else {
        // What `layak run` does without `--explain`: the decide path.
        pipeline::run_summaries_counting(
            evaluator,
            source,
            config,
            &|_| {},
            layak_host::output::write_summary_slice,
            &mut sink,
        )?;
    }
    black_box(bytes);
    Ok(t.elapsed())
}

/// The PKH rule alone: `schema.lyk`, `common.lyk` and `pkh.lyk` of the
/// rules directory, with its tables.
fn pkh_alone(rules: &Path) -> Result<Program> {
    let mut paths: Vec<PathBuf> = ["schema.lyk", "common.lyk", "pkh.lyk"]
        .iter()
        .map(|f| rules.join(f))
        .collect();
    let tables = rules.join("tables");
    if tables.is_dir() {
        paths.push(tables);
    }
    let (_, program, diagnostics) = load_rules(&paths)?;
    program.ok_or_else(|| {
        anyhow!(
            "the PKH rule alone does not compile: {} diagnostics",
            diagnostics.len()
        )
    })
}

fn add(times: &mut [Duration], run: usize, d: Duration) {
    if let Some(t) = times.get_mut(run) {
        *t += d;
    }
}

/// Compiling every shipped rule from source to a loaded module with an
/// empty cache, and loading it from the disk cache in a fresh runtime.
fn compile_times(program: &Program, runs: usize) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let dir = std::env::temp_dir().join(format!("layak-bench-cache-{}", std::process::id()));
    let mut cold = Vec::with_capacity(runs);
    let mut cached = Vec::with_capacity(runs);
    for _ in 0..runs {
        let _ = std::fs::remove_dir_all(&dir);
        let config = RuntimeConfig {
            cache_dir: Some(dir.clone()),
            ..RuntimeConfig::default()
        };
        let runtime = Runtime::new(config.clone())?;
        let t = Instant::now();
        let wasm = compile_module(program);
        runtime.load(&wasm)?;
        cold.push(t.elapsed());

        let runtime = Runtime::new(config)?;
        let t = Instant::now();
        runtime.load(&wasm)?;
        cached.push(t.elapsed());
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok((cold, cached))
}

/// The report as a table, with the targets of issue 3 checked.
pub fn table(r: &Report) -> String {
    let mut s = String::new();
    let o = &r.options;
    let _ = writeln!(
        s,
        "layak bench: {} generated households (seed {}, {} decodable, {} MB of NDJSON, generated in {:.1} s), as_of {}, median of {} runs",
        group(o.households.into()),
        o.seed,
        group(r.decodable.into()),
        r.ndjson_bytes / 1_000_000,
        r.generated.as_secs_f64(),
        o.as_of,
        o.runs.max(1),
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<44} {:>7} {:>11} {:>10} {:>14} {:>10}",
        "stage", "threads", "households", "median s", "households/s", "µs/hh/thr"
    );
    let stages = [
        &r.native,
        &r.interp,
        &r.wasm,
        &r.end_to_end,
        &r.parse,
        &r.explain,
        &r.pkh_alone,
    ];
    for st in stages {
        let per = if st.households > 0 {
            st.median().as_secs_f64() * 1e6 * st.threads as f64 / st.households as f64
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "{:<44} {:>7} {:>11} {:>10.3} {:>14} {:>10.2}",
            st.label,
            st.threads,
            group(st.households.into()),
            st.median().as_secs_f64(),
            group(st.rate().round() as i128),
            per,
        );
    }
    let cold = median(&r.compile_cold);
    let cached = median(&r.cache_load);
    let _ = writeln!(
        s,
        "{:<44} {:>7} {:>11} {:>10.3}",
        "compile all shipped rules, cold",
        1,
        "",
        cold.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "{:<44} {:>7} {:>11} {:>10.4}",
        "load the module from the disk cache",
        1,
        "",
        cached.as_secs_f64()
    );
    if let Some(p) = &r.projection {
        let _ = writeln!(
            s,
            "{:<44} {:>7} {:>11} {:>10.3} {:>14} {:>10.2}",
            "`layak run` (its own process)",
            p.threads,
            group(p.households.into()),
            p.elapsed.as_secs_f64(),
            group((p.households as f64 / p.elapsed.as_secs_f64().max(1e-9)).round() as i128),
            p.elapsed.as_secs_f64() * 1e6 * p.threads as f64 / p.households.max(1) as f64,
        );
        let _ = writeln!(
            s,
            "  projected to {} households: {:.2} h on {} threads; peak RSS {:.0} MiB",
            group(projection::NATIONAL.into()),
            p.national().as_secs_f64() / 3600.0,
            p.threads,
            p.peak_rss as f64 / MIB,
        );
    }
    let _ = writeln!(s);
    s.push_str(&targets(r));
    s
}

const MIB: f64 = 1024.0 * 1024.0;

/// The explain path's rate before issue 14, at most: issue 14's (d)
/// without explanations at 186811a (5,884 households/s, 2 threads; the
/// explain path does strictly more work). Its target is five times that,
/// so the check is, if anything, stricter than the issue's.
pub const EXPLAIN_BEFORE: f64 = 5_884.0;

/// Every target of issue 14, met or missed, with the figure behind it.
fn targets(r: &Report) -> String {
    let mut s = String::new();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::INFINITY };
    let c_vs_a = ratio(r.native.rate(), r.wasm.rate());
    let c_vs_b = ratio(r.wasm.rate(), r.interp.rate());
    let d_vs_e = ratio(r.end_to_end.rate(), r.parse.rate());
    let explain = ratio(r.explain.rate(), EXPLAIN_BEFORE);
    let pkh = if r.pkh_alone.households > 0 {
        r.pkh_alone.median().as_secs_f64() * 1e6 / r.pkh_alone.households as f64
    } else {
        f64::INFINITY
    };
    let cold = median(&r.compile_cold);
    let cached = median(&r.cache_load);
    let check = |ok: bool| if ok { "met" } else { "MISSED" };
    let _ = writeln!(s, "targets (issue 14):");
    let _ = writeln!(
        s,
        "  (c) within 2x of (a) (reach 1.5x):   (a)/(c) = {c_vs_a:.2}x   {}",
        check(c_vs_a <= 2.0)
    );
    let _ = writeln!(
        s,
        "  (c) >= 50x faster than (b):          (c)/(b) = {c_vs_b:.1}x   {}",
        check(c_vs_b >= 50.0)
    );
    let _ = writeln!(
        s,
        "  (d) >= 0.5x of (e):                  (d)/(e) = {d_vs_e:.3}   {}",
        check(d_vs_e >= 0.5)
    );
    let _ = writeln!(
        s,
        "  explain >= 5x its rate before ({:.0}/s): {explain:.2}x   {}",
        EXPLAIN_BEFORE,
        check(explain >= 5.0)
    );
    let _ = writeln!(
        s,
        "  cold compile < 150 ms:               {:.0} ms   {}",
        cold.as_secs_f64() * 1e3,
        check(cold < Duration::from_millis(150))
    );
    let _ = writeln!(
        s,
        "  cache load < 2 ms:                   {:.2} ms   {}",
        cached.as_secs_f64() * 1e3,
        check(cached < Duration::from_millis(2))
    );
    let _ = writeln!(
        s,
        "  PKH alone, 1 thread, <= 10 µs/hh:    {pkh:.2} µs   {}",
        check(pkh <= 10.0)
    );
    match &r.projection {
        Some(p) => {
            let _ = writeln!(
                s,
                "  `layak run` {} households, peak RSS < 200 MiB: {:.0} MiB   {}",
                group(p.households.into()),
                p.peak_rss as f64 / MIB,
                check(p.peak_rss < 200 * 1024 * 1024)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "  `layak run` peak RSS < 200 MiB:      not measured (--run-households 0)"
            );
        }
    }
    let _ = writeln!(
        s,
        "  (output identical to the interpreter's: the differential tests, not timed here)"
    );
    s
}
