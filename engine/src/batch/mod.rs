//! Batch evaluation: many households through one ruleset, in parallel, in
//! constant memory (`layak run`, `layak impact`).
//!
//! The evaluation step is behind [`Evaluate`], so the compiled (wasm)
//! engine can take the interpreter's place without the batch code knowing.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context as _, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use layak_dsl::date::Date;
use layak_dsl::decision::HouseholdDecision;
use layak_dsl::eval::{EvalContext, parse_override};
use layak_dsl::ir::Program;
use layak_dsl::record::DecodeError;
use layak_dsl::value::Value;

use crate::cli::Engine;
use crate::runtime::{Runtime, RuntimeConfig, RuntimeError};

pub mod impact;
pub mod impact_report;
pub mod pipeline;
pub mod stats;
mod wasm;

pub use wasm::WasmEvaluator;

/// Evaluates decoded households. Implementations are shared by the worker
/// threads, so they must be `Send + Sync`; each call gets a whole batch so
/// that an engine with a per-batch cost (instantiating a wasm store,
/// encoding the batch) pays it once per batch.
pub trait Evaluate: Send + Sync {
    /// One decision per household, in order; a household the engine could
    /// not evaluate (the wasm sandbox stopped it: a trap, its fuel budget,
    /// the memory cap) gets that error instead, and the others still get
    /// their decisions.
    fn evaluate(
        &self,
        households: &[Value],
        ctx: &EvalContext,
    ) -> Vec<Result<HouseholdDecision, RuntimeError>>;
}

/// How many households one [`Evaluate::evaluate`] call gets at most: large
/// enough to spread a per-call cost, small enough that the decisions alive
/// at once (each with its explanation tree) stay a few megabytes.
pub const EVAL_SLICE: usize = 128;

/// The reference interpreter of `layak-dsl`.
pub struct Interpreter<'p> {
    pub program: &'p Program,
}

impl Evaluate for Interpreter<'_> {
    fn evaluate(
        &self,
        households: &[Value],
        ctx: &EvalContext,
    ) -> Vec<Result<HouseholdDecision, RuntimeError>> {
        households
            .iter()
            .map(|h| Ok(layak_dsl::eval::evaluate(self.program, h, ctx)))
            .collect()
    }
}

/// The engine `--engine` names, over a loaded program. The wasm engine
/// compiles the program (or loads it from the disk cache) into the
/// process's [`shared_runtime`].
pub fn engine(kind: Engine, program: &Arc<Program>) -> Result<Box<dyn Evaluate + '_>> {
    match kind {
        Engine::Interp => Ok(Box::new(Interpreter { program })),
        Engine::Wasm => {
            let runtime = shared_runtime().map_err(|e| anyhow::anyhow!("{e}"))?;
            let evaluator = WasmEvaluator::new(runtime, Arc::clone(program))
                .map_err(|e| anyhow::anyhow!("loading the compiled rules: {e}"))?;
            Ok(Box::new(evaluator))
        }
    }
}

/// The process's one wasm runtime, with the default limits and disk cache,
/// made on first use.
pub fn shared_runtime() -> Result<&'static Runtime, RuntimeError> {
    static RUNTIME: OnceLock<Result<Runtime, RuntimeError>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::new(RuntimeConfig::default()))
        .as_ref()
        .map_err(Clone::clone)
}

/// The evaluation context of `--as-of` and `--param` options.
pub fn context(program: &Program, as_of: &str, params: &[&String]) -> Result<EvalContext> {
    let Some(date) = Date::parse(as_of) else {
        bail!("`--as-of {as_of}` is not a date; write it as YYYY-MM-DD");
    };
    let mut ctx = EvalContext::new(date);
    for spec in params {
        let (name, value) =
            parse_override(program, spec).map_err(|e| anyhow::anyhow!("`--param {spec}`: {e}"))?;
        ctx.overrides.insert(name, value);
    }
    Ok(ctx)
}

/// Writes one `--format summary` line: the stable summary, with the
/// explanation tree when asked. `layak eval` and `layak run` both write
/// through this, so their lines are the same bytes.
pub fn write_summary(
    out: &mut impl Write,
    decision: &HouseholdDecision,
    explain: bool,
) -> Result<()> {
    if explain {
        let mut value = serde_json::to_value(decision.summary())?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("explanation".into(), explanation(decision));
        }
        serde_json::to_writer(&mut *out, &value)?;
    } else {
        serde_json::to_writer(&mut *out, &decision.summary())?;
    }
    writeln!(out)?;
    Ok(())
}

/// The explanation tree without the summary fields it would repeat.
fn explanation(decision: &HouseholdDecision) -> serde_json::Value {
    serde_json::json!({
        "as_of": decision.as_of,
        "verification": decision.verification,
        "programmes": decision.programmes,
        "params": decision.params,
    })
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

/// A malformed input line as the error file records it.
pub fn error_line(no: u64, text: Option<&str>, errors: &[DecodeError]) -> serde_json::Value {
    let record_id = record_id(text);
    let errors: Vec<serde_json::Value> = errors
        .iter()
        .map(|e| serde_json::json!({"path": e.path, "message": e.message}))
        .collect();
    serde_json::json!({"line": no, "record_id": record_id, "errors": errors})
}

/// A household the engine could not evaluate, as the error file records
/// it: the runtime's stable code, message and hint.
pub fn engine_error_line(no: u64, text: &str, error: &RuntimeError) -> serde_json::Value {
    serde_json::json!({
        "line": no,
        "record_id": record_id(Some(text)),
        "code": error.code(),
        "message": error.message(),
        "hint": error.hint(),
    })
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

/// A progress bar over the input's bytes, drawn only on a terminal.
pub fn progress(len: Option<u64>) -> ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match len {
        Some(len) => ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {bytes} read, {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
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
