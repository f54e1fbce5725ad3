//! `layak eval`: NDJSON households on stdin, one decision line each on
//! stdout. Malformed lines are reported on stderr with their line number and
//! JSON path; the other lines still run. Fields the schema does not name
//! that are not errors are reported once, at the end.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use layak_dsl::date::Date;
use layak_dsl::decision::HouseholdDecision;
use layak_dsl::eval::{EvalContext, parse_override};
use layak_dsl::record::{UnknownFields, decode_line_with};

use crate::batch;
use crate::cli::{Engine, EvalFormat, Lang};
use crate::load::load_program;
use crate::report;

pub struct Options {
    pub rules: PathBuf,
    pub as_of: String,
    pub params: Vec<String>,
    pub explain: bool,
    pub format: EvalFormat,
    pub lang: Lang,
    pub engine: Engine,
}

pub fn run(opts: &Options) -> Result<ExitCode> {
    let Some(as_of) = Date::parse(&opts.as_of) else {
        bail!(
            "`--as-of {}` is not a date; write it as YYYY-MM-DD",
            opts.as_of
        );
    };
    let program = Arc::new(load_program(&opts.rules)?);
    let mut ctx = EvalContext {
        as_of,
        overrides: Default::default(),
    };
    for spec in &opts.params {
        let (name, value) =
            parse_override(&program, spec).map_err(|e| anyhow::anyhow!("`--param {spec}`: {e}"))?;
        ctx.overrides.insert(name, value);
    }
    let engine = batch::engine(opts.engine, &program)?;

    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::new(stdout);
    let mut err = std::io::stderr().lock();
    let mut malformed = 0usize;
    let mut failed = 0usize;
    let mut unknown = UnknownFields::default();
    for (index, line) in stdin.lines().enumerate() {
        let line_no = index + 1;
        let line = line.with_context(|| format!("reading line {line_no} of the input"))?;
        if line.trim().is_empty() {
            continue;
        }
        let household = match decode_line_with(&program.schema, &line, &mut unknown) {
            Ok(h) => h,
            Err(errors) => {
                malformed += 1;
                for e in errors {
                    writeln!(err, "line {line_no}: {e}")?;
                }
                continue;
            }
        };
        let result = engine
            .evaluate(std::slice::from_ref(&household), &ctx)
            .pop();
        let decision = match result {
            Some(Ok(decision)) => decision,
            Some(Err(e)) => {
                failed += 1;
                writeln!(err, "line {line_no}: {e}")?;
                continue;
            }
            None => bail!("the engine gave no decision for line {line_no}"),
        };
        if write_decision(&mut out, &decision, opts).is_err() {
            // The reader went away (`| head`): stop quietly.
            return Ok(ExitCode::SUCCESS);
        }
    }
    if out.flush().is_err() {
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

fn write_decision(
    out: &mut impl Write,
    decision: &HouseholdDecision,
    opts: &Options,
) -> Result<()> {
    match opts.format {
        EvalFormat::Summary => crate::batch::write_summary(out, decision, opts.explain)?,
        EvalFormat::Full => {
            serde_json::to_writer(&mut *out, decision)?;
            writeln!(out)?;
        }
        EvalFormat::Text => {
            let lang = match opts.lang {
                Lang::Id => layak_dsl::eval::Lang::Id,
                Lang::En => layak_dsl::eval::Lang::En,
            };
            write!(out, "{}", report::render(decision, lang))?;
        }
    }
    Ok(())
}
