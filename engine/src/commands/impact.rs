//! `layak impact`: what a rule or parameter change does to a population.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use layak_host::engine::Engine;
use layak_host::impact::report::{self as impact_report, Header};
use layak_host::impact::{Impact, compare_lines};
use layak_host::load::load_program;
use layak_host::pipeline::{self, Evaluator, Source};

use crate::cli::{ImpactArgs, ImpactFormat};

pub fn run(args: &ImpactArgs) -> Result<ExitCode> {
    if args.against.is_none() && args.against_params.is_empty() {
        bail!("nothing to compare: give `--against DIR` or `--against-param NAME=VALUE`");
    }
    let before_program = Arc::new(load_program(&args.rules)?);
    let against_program = match &args.against {
        Some(dir) => Some(Arc::new(load_program(dir)?)),
        None => None,
    };
    let after_program = against_program.as_ref().unwrap_or(&before_program);
    let base: Vec<&String> = args.params.iter().collect();
    let changed: Vec<&String> = args.params.iter().chain(&args.against_params).collect();
    let before_ctx = layak_host::context::context(&before_program, &args.as_of, &base)?;
    let after_ctx = layak_host::context::context(after_program, &args.as_of, &changed)?;
    let load = |program: &Arc<layak_dsl::ir::Program>| {
        Engine::new(args.engine.kind(), Arc::clone(program))
            .map_err(|e| anyhow::anyhow!("loading the compiled rules: {e}"))
    };
    let before_engine = load(&before_program)?;
    let after_engine = load(after_program)?;
    let before = Evaluator {
        engine: &before_engine,
        ctx: &before_ctx,
    };
    let after = Evaluator {
        engine: &after_engine,
        ctx: &after_ctx,
    };

    let (input, len) = layak_host::output::open_input(&args.input)?;
    let bar = super::progress(len);
    let mut impact = Impact::default();
    pipeline::run_with(
        Source::Reader(input),
        &pipeline::Options::new(args.threads),
        &|read| bar.inc(read.bytes),
        |lines| compare_lines(&before, &after, lines, args.examples),
        |part| {
            impact.merge(part, args.examples);
            Ok(())
        },
    )?;
    bar.finish_and_clear();

    let describe = |dir: &std::path::Path, params: &[&String]| {
        let mut s = format!("rules `{}`", dir.display());
        if !params.is_empty() {
            let list: Vec<&str> = params.iter().map(|p| p.as_str()).collect();
            s.push_str(&format!(" with {}", list.join(", ")));
        }
        s
    };
    let header = Header {
        as_of: args.as_of.clone(),
        before: describe(&args.rules, &base),
        after: describe(args.against.as_deref().unwrap_or(&args.rules), &changed),
    };
    match args.format {
        ImpactFormat::Json => println!("{}", impact_report::json(&header, &impact)?),
        ImpactFormat::Table => print!(
            "{}",
            impact_report::table(&header, &impact, args.lang.into(), args.top)
        ),
    }
    if impact.malformed > 0 {
        eprintln!(
            "{} malformed lines were skipped (`layak run` lists them)",
            impact.malformed
        );
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}
