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
use layak_dsl::eval::EvalContext;
use layak_dsl::ir::Program;
use layak_dsl::record::{DecodeError, UnknownFields, decode_line_with};

use crate::batch::pipeline::{self, Line};
use crate::batch::stats::Stats;
use crate::batch::{self, AtomicFile, Evaluate};
use crate::cli::RunArgs;
use crate::load::load_program;

/// What one batch of lines gives: output bytes, error-file bytes, counts.
pub struct Done {
    pub out: Vec<u8>,
    pub errors: Vec<u8>,
    pub stats: Stats,
    pub unknown: UnknownFields,
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let program = Arc::new(load_program(&args.rules)?);
    let params: Vec<&String> = args.params.iter().collect();
    let ctx = batch::context(&program, &args.as_of, &params)?;
    let engine = batch::engine(args.engine, &program)?;
    let (input, len) = batch::open_input(&args.input)?;
    let errors_path = args.errors.clone().unwrap_or_else(|| {
        let mut name = args.output.clone().into_os_string();
        name.push(".errors.ndjson");
        PathBuf::from(name)
    });
    let mut out = AtomicFile::create(&args.output)?;
    let mut errors = AtomicFile::create(&errors_path)?;
    let bar = batch::progress(len);
    let config = pipeline::Config::new(args.threads);
    let mut stats = Stats::default();
    let mut unknown = UnknownFields::default();
    pipeline::stream(
        input,
        &config,
        &|bytes| bar.inc(bytes),
        |lines| evaluate_batch(&program, engine.as_ref(), &ctx, args.explain, lines),
        |done: Result<Done>| {
            let done = done?;
            out.write_all(&done.out)?;
            errors.write_all(&done.errors)?;
            stats.merge(done.stats);
            unknown.merge(done.unknown);
            Ok(())
        },
    )?;
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

/// One batch of input lines to summary lines, error lines and counts: the
/// work of `layak run` (and of `layak bench`'s end-to-end stage).
pub fn evaluate_batch(
    program: &Program,
    engine: &dyn Evaluate,
    ctx: &EvalContext,
    explain: bool,
    lines: &[Line],
) -> Result<Done> {
    let mut done = Done {
        out: Vec::with_capacity(lines.len() * 256),
        errors: Vec::new(),
        stats: Stats::default(),
        unknown: UnknownFields::default(),
    };
    let mut households = Vec::with_capacity(lines.len());
    let mut decoded_lines = Vec::with_capacity(lines.len());
    for line in lines {
        let decoded = match &line.text {
            Ok(text) => decode_line_with(&program.schema, text, &mut done.unknown),
            Err(message) => Err(vec![DecodeError {
                path: "$".to_string(),
                message: message.clone(),
            }]),
        };
        match decoded {
            Ok(h) => {
                households.push(h);
                decoded_lines.push(line);
            }
            Err(errs) => {
                done.stats.malformed += 1;
                let text = line.text.as_deref().ok();
                serde_json::to_writer(&mut done.errors, &batch::error_line(line.no, text, &errs))?;
                done.errors.push(b'\n');
            }
        }
    }
    // Decisions carry their whole explanation tree: evaluate a batch in
    // slices so that only a slice's worth of them is alive at once.
    let slices = households
        .chunks(batch::EVAL_SLICE)
        .zip(decoded_lines.chunks(batch::EVAL_SLICE));
    for (slice, lines) in slices {
        let results = engine.evaluate(slice, ctx);
        for (result, line) in results.iter().zip(lines) {
            match result {
                Ok(decision) => {
                    done.stats.add(decision);
                    batch::write_summary(&mut done.out, decision, explain)?;
                }
                Err(e) => {
                    done.stats.add_error(e.code());
                    let text = line.text.as_deref().unwrap_or_default();
                    let line = batch::engine_error_line(line.no, text, e);
                    serde_json::to_writer(&mut done.errors, &line)?;
                    done.errors.push(b'\n');
                }
            }
        }
    }
    Ok(done)
}
