//! `layak run`: an NDJSON file of households through the rules, in
//! parallel and in constant memory; summary lines (the bytes `layak eval
//! --format summary` writes) in input order, malformed lines in an error
//! file, and a report on stderr at the end (with the fields the schema does
//! not name, once).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use layak_dsl::record::UnknownFields;
use layak_host::engine::Engine;
use layak_host::load::load_program;
use layak_host::output::{self, AtomicFile};
use layak_host::pipeline::{self, Evaluator, Source};
use layak_host::stats::Stats;

use crate::cli::RunArgs;

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let program = Arc::new(load_program(&args.rules)?);
    let ctx = layak_host::context::context(&program, &args.as_of, &args.params)?;
    let engine = Engine::new(args.engine.kind(), Arc::clone(&program))
        .map_err(|e| anyhow::anyhow!("loading the compiled rules: {e}"))?;
    let (input, len) = output::open_input(&args.input)?;
    let errors_path = args.errors.clone().unwrap_or_else(|| {
        let mut name = args.output.clone().into_os_string();
        name.push(".errors.ndjson");
        PathBuf::from(name)
    });
    let mut out = AtomicFile::create(&args.output)?;
    let mut errors = AtomicFile::create(&errors_path)?;
    let bar = super::progress(len);
    let mut stats = Stats::default();
    let mut unknown = UnknownFields::default();
    let ask = args.what_if.then(|| output::WhatIfAsk {
        program: &program,
        ctx: &ctx,
        options: args.what_if_bounds.options(),
    });
    let evaluator = Evaluator {
        engine: &engine,
        ctx: &ctx,
    };
    let mut sink = |done: Result<output::Written>, seen| {
        let done = done?;
        out.write_all(&done.out)?;
        errors.write_all(&done.errors)?;
        stats.merge(done.stats);
        unknown.merge(seen);
        Ok(())
    };
    if args.explain || ask.is_some() {
        pipeline::run_counting(
            &evaluator,
            Source::Reader(input),
            &pipeline::Options::new(args.threads),
            &|read| bar.inc(read.bytes),
            |lines, outcomes| output::write_slice(lines, outcomes, args.explain, ask.as_ref()),
            sink,
        )?;
    } else {
        // Summary lines only: the decide path, which builds no explanation.
        pipeline::run_summaries_counting(
            &evaluator,
            Source::Reader(input),
            &pipeline::Options::new(args.threads),
            &|read| bar.inc(read.bytes),
            output::write_summary_slice,
            &mut sink,
        )?;
    }
    bar.finish_and_clear();
    out.commit()?;
    errors.commit()?;
    eprint!("{}", stats.render(started.elapsed()));
    if !unknown.is_empty() {
        eprintln!("{unknown}");
    }
    if stats.error_count() > 0 {
        eprintln!(
            "{} households could not be evaluated; see `{}`",
            stats.error_count(),
            errors_path.display()
        );
    }
    if stats.malformed > 0 || stats.error_count() > 0 {
        eprintln!(
            "{} malformed lines were skipped; see `{}`",
            stats.malformed,
            errors_path.display()
        );
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}
