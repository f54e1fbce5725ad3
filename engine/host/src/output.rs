//! What the batch commands write: summary lines, error lines, and files
//! that appear whole or not at all.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use layak_dsl::date::Date;
use layak_dsl::decision::{HouseholdDecision, ParamUsed, RulesetOutcome, SubjectDecision, Summary};
use layak_dsl::eval::EvalContext;
use layak_dsl::ir::Program;
use layak_dsl::record::decode_line;
use layak_dsl::whatif::{self, WhatIf};
use serde::Serialize;

use crate::pipeline::{Line, LineError, Outcome, SummaryOutcome};
use crate::stats::Stats;

/// One `--format summary` line: the stable summary, with the explanation
/// tree when asked. `layak eval`, `layak run` and `/v1/evaluate` all make
/// their lines here, so they are the same bytes.
#[derive(Debug, Serialize)]
pub struct SummaryLine<'a> {
    #[serde(flatten)]
    pub summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation<'a>>,
    /// What would turn the decision, when asked (`layak_dsl::whatif`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what_if: Option<&'a WhatIf>,
}

/// The explanation tree without the summary fields it would repeat.
#[derive(Debug, Serialize)]
pub struct Explanation<'a> {
    pub as_of: Date,
    pub verification: &'a [RulesetOutcome],
    pub programmes: &'a std::collections::BTreeMap<String, Vec<SubjectDecision>>,
    pub params: &'a [ParamUsed],
}

impl<'a> SummaryLine<'a> {
    pub fn new(decision: &'a HouseholdDecision, explain: bool) -> SummaryLine<'a> {
        SummaryLine {
            summary: decision.summary(),
            explanation: explain.then_some(Explanation {
                as_of: decision.as_of,
                verification: &decision.verification,
                programmes: &decision.programmes,
                params: &decision.params,
            }),
            what_if: None,
        }
    }

    /// With the counterfactuals.
    pub fn with_what_if(mut self, what_if: Option<&'a WhatIf>) -> SummaryLine<'a> {
        self.what_if = what_if;
        self
    }
}

/// Counterfactuals asked of a run: the program, the evaluation's context,
/// the search bounds. They cost evaluations (up to the budget per subject),
/// so batch paths compute them only when asked.
#[derive(Clone, Copy)]
pub struct WhatIfAsk<'a> {
    pub program: &'a Program,
    pub ctx: &'a EvalContext,
    pub options: whatif::Options,
}

impl WhatIfAsk<'_> {
    /// The counterfactuals of one decided line (decoded again from its
    /// text: the decision may come from the sandbox, the search runs the
    /// interpreter, which decides the same).
    pub fn for_line(&self, line: &Line, decision: &HouseholdDecision) -> Option<WhatIf> {
        let text = line.text.as_ref().ok()?;
        let household = decode_line(&self.program.schema, text).ok()?;
        Some(whatif::what_if(
            self.program,
            &household,
            self.ctx,
            decision,
            &self.options,
        ))
    }
}

/// Writes one summary line (see [`SummaryLine`]) and its newline.
pub fn write_summary(
    out: &mut impl Write,
    decision: &HouseholdDecision,
    explain: bool,
) -> Result<()> {
    write_summary_with(out, decision, explain, None)
}

/// [`write_summary`] with the counterfactuals, when given.
pub fn write_summary_with(
    out: &mut impl Write,
    decision: &HouseholdDecision,
    explain: bool,
    what_if: Option<&WhatIf>,
) -> Result<()> {
    serde_json::to_writer(
        &mut *out,
        &SummaryLine::new(decision, explain).with_what_if(what_if),
    )?;
    writeln!(out)?;
    Ok(())
}

/// What a slice of lines gives `layak run`: summary lines, error-file
/// lines, counts.
pub struct Written {
    pub out: Vec<u8>,
    pub errors: Vec<u8>,
    pub stats: Stats,
}

/// A slice's outcomes as summary lines (with explanations when asked),
/// error lines and counts: the work of `layak run`, on the worker thread
/// that evaluated the slice. With `what_if`, each decided line carries its
/// counterfactuals (computed here, on the worker).
pub fn write_slice(
    lines: &[Line],
    outcomes: Vec<Outcome>,
    explain: bool,
    what_if: Option<&WhatIfAsk<'_>>,
) -> Result<Written> {
    let mut done = Written {
        out: Vec::with_capacity(lines.len() * 256),
        errors: Vec::new(),
        stats: Stats::default(),
    };
    for (line, outcome) in lines.iter().zip(outcomes) {
        match outcome {
            Ok(decision) => {
                done.stats.add(&decision);
                let found = what_if.and_then(|ask| ask.for_line(line, &decision));
                write_summary_with(&mut done.out, &decision, explain, found.as_ref())?;
            }
            Err(e) => {
                done.stats.add_line_error(&e);
                serde_json::to_writer(&mut done.errors, &error_line(line, &e))?;
                done.errors.push(b'\n');
            }
        }
    }
    Ok(done)
}

/// [`write_slice`] for the decide path (no `--explain`, no counterfactuals):
/// the same summary lines, error lines and counts, from summaries.
pub fn write_summary_slice(lines: &[Line], outcomes: Vec<SummaryOutcome>) -> Result<Written> {
    let mut done = Written {
        out: Vec::with_capacity(lines.len() * 256),
        errors: Vec::new(),
        stats: Stats::default(),
    };
    for (line, outcome) in lines.iter().zip(outcomes) {
        match outcome {
            Ok(summary) => {
                done.stats.add_summary(&summary);
                write_summary_only(&mut done.out, summary)?;
            }
            Err(e) => {
                done.stats.add_line_error(&e);
                serde_json::to_writer(&mut done.errors, &error_line(line, &e))?;
                done.errors.push(b'\n');
            }
        }
    }
    Ok(done)
}

/// One summary line without an explanation: the bytes [`write_summary`]
/// writes for the same household with `explain` false.
pub fn write_summary_only(out: &mut impl Write, summary: Summary) -> Result<()> {
    serde_json::to_writer(
        &mut *out,
        &SummaryLine {
            summary,
            explanation: None,
            what_if: None,
        },
    )?;
    writeln!(out)?;
    Ok(())
}

/// The record id of an input line, when it is JSON enough to have one.
fn record_id(text: Option<&str>) -> Option<String> {
    text.and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .and_then(|v| {
            v.get("record_id")
                .and_then(|id| id.as_str())
                .map(str::to_string)
        })
}

/// A line without a decision as the error file (`layak run`) records it:
/// a malformed line with the JSON path of each problem, or the sandbox's
/// stable code, message and hint.
pub fn error_line(line: &Line, error: &LineError) -> serde_json::Value {
    let text = line.text.as_deref().ok();
    match error {
        LineError::Malformed(errors) => {
            let errors: Vec<serde_json::Value> = errors
                .iter()
                .map(|e| serde_json::json!({"path": e.path, "message": e.message}))
                .collect();
            serde_json::json!({"line": line.no, "record_id": record_id(text), "errors": errors})
        }
        LineError::Sandbox(e) => serde_json::json!({
            "line": line.no,
            "record_id": record_id(text),
            "code": e.code(),
            "message": e.message(),
            "hint": e.hint(),
        }),
    }
}

/// The input of a batch command: a file, or stdin for `-`. Also its size
/// when known, for the progress bar.
pub fn open_input(path: &Path) -> Result<(Box<dyn BufRead + Send>, Option<u64>)> {
    if path == Path::new("-") {
        return Ok((
            Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())),
            None,
        ));
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("opening `{}`", path.display()))?;
    let len = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    Ok((Box::new(BufReader::with_capacity(1 << 20, file)), len))
}

/// A file written under a temporary name beside its final path and renamed
/// into place by [`AtomicFile::commit`]; dropped uncommitted, the temporary
/// file is removed. A failed run never leaves a half-written output, and
/// never clobbers a previous one.
pub struct AtomicFile {
    temp: PathBuf,
    path: PathBuf,
    out: Option<std::io::BufWriter<std::fs::File>>,
    committed: bool,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let name = path
            .file_name()
            .with_context(|| format!("`{}` is not a file name", path.display()))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".tmp-{}", std::process::id()));
        let temp = path.with_file_name(temp_name);
        let file = std::fs::File::create(&temp)
            .with_context(|| format!("creating `{}`", temp.display()))?;
        Ok(AtomicFile {
            temp,
            path: path.to_path_buf(),
            out: Some(std::io::BufWriter::with_capacity(1 << 20, file)),
            committed: false,
        })
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(out) = &mut self.out {
            out.write_all(bytes)
                .with_context(|| format!("writing `{}`", self.temp.display()))?;
        }
        Ok(())
    }

    pub fn commit(mut self) -> Result<()> {
        if let Some(out) = self.out.take() {
            let file = out
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("writing `{}`", self.temp.display()))?;
            file.sync_all()
                .with_context(|| format!("writing `{}`", self.temp.display()))?;
        }
        std::fs::rename(&self.temp, &self.path).with_context(|| {
            format!(
                "renaming `{}` to `{}`",
                self.temp.display(),
                self.path.display()
            )
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            self.out = None;
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
