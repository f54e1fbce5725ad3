//! `layak impact`: what a rule or parameter change does to a population.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::batch::impact::{Impact, Side, compare_batch};
use crate::batch::impact_report::{self, Header};
use crate::batch::{self, pipeline};
use crate::cli::{ImpactArgs, ImpactFormat, Lang};
use crate::load::load_program;

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
    let before_ctx = batch::context(&before_program, &args.as_of, &base)?;
    let after_ctx = batch::context(after_program, &args.as_of, &changed)?;
    let before_engine = batch::engine(args.engine, &before_program)?;
    let after_engine = batch::engine(args.engine, after_program)?;
    let before = Side {
        program: before_program.as_ref(),
        engine: before_engine.as_ref(),
        ctx: &before_ctx,
    };
    let after = Side {
        program: after_program.as_ref(),
        engine: after_engine.as_ref(),
        ctx: &after_ctx,
    };

    let (input, len) = batch::open_input(&args.input)?;
    let bar = batch::progress(len);
    let mut impact = Impact::default();
    pipeline::stream(
        input,
        &pipeline::Config::new(args.threads),
        &|bytes| bar.inc(bytes),
        |lines| compare_batch(&before, &after, lines, args.examples),
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
        ImpactFormat::Table => {
            let lang = match args.lang {
                Lang::Id => layak_dsl::eval::Lang::Id,
                Lang::En => layak_dsl::eval::Lang::En,
            };
            print!("{}", impact_report::table(&header, &impact, lang, args.top));
        }
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
