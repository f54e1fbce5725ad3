//! `layak eval`: NDJSON households on stdin, one decision line each on
//! stdout. Malformed lines are reported on stderr with their line number and
//! JSON path; the other lines still run. Fields the schema does not name
//! that are not errors are reported once, at the end.

use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use layak_dsl::decision::HouseholdDecision;
use layak_dsl::record::UnknownFields;
use layak_dsl::whatif::WhatIf;
use layak_host::engine::Engine;
use layak_host::load::load_program;
use layak_host::output::WhatIfAsk;
use layak_host::pipeline::{self, Evaluator, LineError, Source};
use layak_host::report;

use crate::cli::{Engine as EngineArg, EvalFormat, Lang, WhatIfArgs};

pub struct Options {
    pub rules: PathBuf,
    pub as_of: String,
    pub params: Vec<String>,
    pub explain: bool,
    pub format: EvalFormat,
    pub lang: Lang,
    pub engine: EngineArg,
    pub what_if: WhatIfArgs,
}

impl Options {
    /// Counterfactuals come with an explanation (`--explain`, `--format
    /// text|full`) unless `--no-what-if`.
    fn wants_what_if(&self) -> bool {
        !self.what_if.no_what_if && (self.explain || self.format != EvalFormat::Summary)
    }
}

pub fn run(opts: &Options) -> Result<ExitCode> {
    let program = Arc::new(load_program(&opts.rules)?);
    let ctx = layak_host::context::context(&program, &opts.as_of, &opts.params)?;
    let engine = Engine::new(opts.engine.kind(), Arc::clone(&program))
        .map_err(|e| anyhow::anyhow!("loading the compiled rules: {e}"))?;
    let evaluator = Evaluator {
        engine: &engine,
        ctx: &ctx,
    };

    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::new(stdout);
    let mut err = std::io::stderr().lock();
    let (mut malformed, mut failed) = (0usize, 0usize);
    // One line at a time: a household typed or piped in is answered at
    // once, not when a batch fills.
    let stream = pipeline::Options {
        threads: 1,
        batch_lines: 1,
    };
    let mut reader_gone = false;
    let mut unknown = UnknownFields::default();
    let ask = opts.wants_what_if().then(|| WhatIfAsk {
        program: &program,
        ctx: &ctx,
        options: opts.what_if.bounds.options(),
    });
    pipeline::run_counting(
        &evaluator,
        Source::Reader(Box::new(BufReader::new(std::io::stdin()))),
        &stream,
        &|_| {},
        |lines, outcomes| {
            lines
                .iter()
                .zip(outcomes)
                .map(|(line, outcome)| {
                    let found = match (&ask, &outcome) {
                        (Some(ask), Ok(decision)) => ask.for_line(line, decision),
                        _ => None,
                    };
                    (line.no, outcome, found)
                })
                .collect::<Vec<_>>()
        },
        |slice, seen| {
            unknown.merge(seen);
            for (no, outcome, found) in slice {
                match outcome {
                    Ok(decision) => {
                        if !reader_gone
                            && write_decision(&mut out, &decision, found.as_ref(), opts).is_err()
                        {
                            // The reader went away (`| head`): stop quietly.
                            reader_gone = true;
                        }
                    }
                    Err(LineError::Malformed(errors)) => {
                        malformed += 1;
                        for e in errors {
                            writeln!(err, "line {no}: {e}")?;
                        }
                    }
                    Err(LineError::Sandbox(e)) => {
                        failed += 1;
                        writeln!(err, "line {no}: {e}")?;
                    }
                }
            }
            if reader_gone {
                anyhow::bail!(ReaderGone);
            }
            Ok(())
        },
    )
    .or_else(|e| if e.is::<ReaderGone>() { Ok(()) } else { Err(e) })?;
    if reader_gone || out.flush().is_err() {
        return Ok(ExitCode::SUCCESS);
    }
    if !unknown.is_empty() {
        writeln!(err, "{unknown}")?;
    }
    if failed > 0 {
        writeln!(err, "{failed} households could not be evaluated")?;
    }
    if malformed > 0 {
        writeln!(err, "{malformed} malformed input lines were skipped")?;
    }
    if malformed > 0 || failed > 0 {
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

/// The sink's way to stop the stream when stdout is closed.
#[derive(Debug)]
struct ReaderGone;

impl std::fmt::Display for ReaderGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the output was closed")
    }
}

impl std::error::Error for ReaderGone {}

fn write_decision(
    out: &mut impl Write,
    decision: &HouseholdDecision,
    what_if: Option<&WhatIf>,
    opts: &Options,
) -> Result<()> {
    match opts.format {
        EvalFormat::Summary => {
            layak_host::output::write_summary_with(out, decision, opts.explain, what_if)?;
        }
        EvalFormat::Full => {
            let mut json = serde_json::to_value(decision)?;
            if let (Some(w), Some(map)) = (what_if, json.as_object_mut()) {
                map.insert("what_if".to_string(), serde_json::to_value(w)?);
            }
            serde_json::to_writer(&mut *out, &json)?;
            writeln!(out)?;
        }
        EvalFormat::Text => write!(
            out,
            "{}",
            report::render_with(decision, what_if, opts.lang.into())
        )?,
    }
    Ok(())
}
