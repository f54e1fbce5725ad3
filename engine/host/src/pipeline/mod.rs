//! The one evaluation pipeline: household lines in, and per line, in input
//! order, a decision, a decode error with its JSON paths, or a sandbox
//! error with its code. Everything that evaluates households goes through
//! here: `layak eval`, `run` and `impact`, the benchmarks, the service's
//! stage jobs and `/v1/evaluate`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use layak_host::engine::{Engine, EngineKind};
//! use layak_host::pipeline::{self, Evaluator, Options, Source};
//!
//! let program = Arc::new(layak_host::load::load_program("rules".as_ref())?);
//! let engine = Engine::new(EngineKind::Wasm, Arc::clone(&program))?;
//! let ctx = layak_host::context::context(&program, "2025-10-01", &[] as &[&str])?;
//! let evaluator = Evaluator { engine: &engine, ctx: &ctx };
//! let input = std::io::BufReader::new(std::fs::File::open("households.ndjson")?);
//! pipeline::run(
//!     &evaluator,
//!     Source::Reader(Box::new(input)),
//!     &Options::new(None),
//!     &|_progress| {},
//!     |_lines, outcomes| outcomes.len(), // on a worker thread, per slice
//!     |count| { println!("{count} more"); Ok(()) }, // in input order
//! )?;
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! Work is cut in two sizes. A *batch* of lines ([`Options::batch_lines`])
//! is what a worker thread takes at a time; a *slice* of at most
//! [`SLICE`] lines is what one engine call evaluates, and what the `map`
//! callback sees. Decisions carry their whole explanation tree, so only a
//! slice's worth of them is alive per worker: memory stays constant however
//! long the input (see [`stream`] for how batches are bounded).

use std::io::BufRead;

use anyhow::Result;
use layak_dsl::decision::{HouseholdDecision, Summary};
use layak_dsl::eval::EvalContext;
use layak_dsl::record::{DecodeError, UnknownFields, decode_line_with};
use layak_dsl::value::Value;
use layak_dsl::wasm::BatchBuilder;

use crate::engine::Engine;
use crate::sandbox::RuntimeError;

pub mod stream;

pub use stream::{Line, Options, Progress};

/// How many households one engine call gets at most: large enough to spread
/// the per-call cost (encoding, instantiation), small enough that the
/// decisions alive at once stay a few megabytes.
pub const SLICE: usize = 128;

/// Why a line has no decision.
#[derive(Debug, Clone)]
pub enum LineError {
    /// The line is not a household of the program's schema (or not UTF-8,
    /// or not JSON): every problem with its JSON path.
    Malformed(Vec<DecodeError>),
    /// The sandbox stopped the household's evaluation: a trap, the fuel
    /// budget, the memory cap. Only this household is affected.
    Sandbox(RuntimeError),
}

impl LineError {
    /// A stable code: `INVALID_HOUSEHOLD` for a malformed line, the
    /// sandbox's `E_...` code otherwise.
    pub fn code(&self) -> &'static str {
        match self {
            LineError::Malformed(_) => "INVALID_HOUSEHOLD",
            LineError::Sandbox(e) => e.code(),
        }
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::Malformed(errors) => {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                write!(f, "{}", list.join("; "))
            }
            LineError::Sandbox(e) => write!(f, "{e}"),
        }
    }
}

/// What one line gives.
pub type Outcome = Result<HouseholdDecision, LineError>;

/// What one line gives a caller that needs only its summary.
pub type SummaryOutcome = Result<Summary, LineError>;

/// An engine with the context of one evaluation (`as_of`, overrides).
#[derive(Clone, Copy)]
pub struct Evaluator<'a> {
    pub engine: &'a Engine,
    pub ctx: &'a EvalContext,
}

impl Evaluator<'_> {
    /// Decodes and evaluates lines on the calling thread, in slices of at
    /// most [`SLICE`]: one outcome per line, in order.
    pub fn evaluate_lines(&self, lines: &[Line]) -> Vec<Outcome> {
        self.evaluate_lines_counting(lines, &mut UnknownFields::default())
    }

    /// [`Evaluator::evaluate_lines`], adding the fields the schema does not
    /// name (and that are not errors) to `unknown`.
    pub fn evaluate_lines_counting(
        &self,
        lines: &[Line],
        unknown: &mut UnknownFields,
    ) -> Vec<Outcome> {
        if self.engine.is_compiled() {
            return self.scan_through(lines, unknown, |batch, count| {
                self.engine.evaluate_batch(batch, count, self.ctx)
            });
        }
        self.lines_through(lines, unknown, |slice| {
            self.engine.evaluate(slice, self.ctx)
        })
    }

    /// [`Evaluator::evaluate_lines_counting`] for a caller that needs only
    /// the summary of each line: the engine's decide path
    /// ([`Engine::decide`]), which builds no explanation.
    pub fn decide_lines_counting(
        &self,
        lines: &[Line],
        unknown: &mut UnknownFields,
    ) -> Vec<SummaryOutcome> {
        if self.engine.is_compiled() {
            return self.scan_through(lines, unknown, |batch, count| {
                self.engine.decide_batch(batch, count, self.ctx)
            });
        }
        self.lines_through(lines, unknown, |slice| self.engine.decide(slice, self.ctx))
    }

    /// Decodes `lines` and hands the households to `evaluate` in slices of
    /// at most [`SLICE`]: one outcome per line, in order.
    fn lines_through<T>(
        &self,
        lines: &[Line],
        unknown: &mut UnknownFields,
        evaluate: impl Fn(&[Value]) -> Vec<Result<T, RuntimeError>>,
    ) -> Vec<Result<T, LineError>> {
        let schema = &self.engine.program().schema;
        let mut out: Vec<Result<T, LineError>> = Vec::with_capacity(lines.len());
        let mut households = Vec::with_capacity(lines.len().min(SLICE));
        let mut slots = Vec::with_capacity(lines.len().min(SLICE));
        for line in lines {
            match decode(schema, line, unknown) {
                Ok(household) => {
                    slots.push(out.len());
                    out.push(Err(LineError::Malformed(Vec::new())));
                    households.push(household);
                }
                Err(errors) => out.push(Err(LineError::Malformed(errors))),
            }
        }
        for (slice, slots) in households.chunks(SLICE).zip(slots.chunks(SLICE)) {
            place(&mut out, slots, evaluate(slice));
        }
        out
    }

    /// The compiled engine's path: each line scanned straight into the
    /// batch (`BatchBuilder::push_json`); a line the scanner does not take
    /// is decoded as the interpreter's path decodes it, so its errors, or
    /// its unknown fields, are exactly that decoder's. `evaluate` gets each
    /// batch and the number of households in it.
    fn scan_through<T>(
        &self,
        lines: &[Line],
        unknown: &mut UnknownFields,
        evaluate: impl Fn(&[u8], usize) -> Vec<Result<T, RuntimeError>>,
    ) -> Vec<Result<T, LineError>> {
        let program = self.engine.program();
        let mut out: Vec<Result<T, LineError>> = Vec::with_capacity(lines.len());
        let mut builder = BatchBuilder::new(program);
        let mut slots = Vec::with_capacity(lines.len().min(SLICE));
        for line in lines {
            let scanned = line.text.as_ref().is_ok_and(|t| builder.push_json(t));
            if !scanned {
                match decode(&program.schema, line, unknown) {
                    Ok(household) => builder.push_value(&household),
                    Err(errors) => {
                        out.push(Err(LineError::Malformed(errors)));
                        continue;
                    }
                }
            }
            slots.push(out.len());
            // A placeholder, replaced by the decision below.
            out.push(Err(LineError::Malformed(Vec::new())));
            if builder.len() == SLICE {
                let batch = builder.finish(self.ctx);
                place(&mut out, &slots, evaluate(&batch, slots.len()));
                slots.clear();
            }
        }
        if !builder.is_empty() {
            let batch = builder.finish(self.ctx);
            place(&mut out, &slots, evaluate(&batch, slots.len()));
        }
        out
    }
}

/// One line decoded against the schema, with every error's JSON path.
fn decode(
    schema: &layak_dsl::ir::Schema,
    line: &Line,
    unknown: &mut UnknownFields,
) -> Result<layak_dsl::value::Value, Vec<DecodeError>> {
    match &line.text {
        Ok(text) => decode_line_with(schema, text, unknown),
        Err(message) => Err(vec![DecodeError {
            path: "$".to_string(),
            message: message.clone(),
        }]),
    }
}

/// Puts a slice's results into the places its households' lines hold.
fn place<T>(
    out: &mut [Result<T, LineError>],
    slots: &[usize],
    results: Vec<Result<T, RuntimeError>>,
) {
    for (result, slot) in results.into_iter().zip(slots) {
        if let Some(place) = out.get_mut(*slot) {
            *place = result.map_err(LineError::Sandbox);
        }
    }
}

/// Where lines come from.
pub enum Source<'a> {
    /// An NDJSON stream, read on its own thread as workers need it.
    Reader(Box<dyn BufRead + Send + 'a>),
    /// Lines already in memory (records from the store, a request body).
    Lines(Vec<Line>),
}

/// Streams `source` through `evaluator` on `options.threads` worker threads.
/// `map` runs on the worker that evaluated a slice, with the slice's lines
/// and their outcomes (format output there, in parallel); `sink` gets what
/// `map` made, in input order, on the calling thread. `progress` hears of
/// every batch read. An error reading the input or from `sink` stops the
/// stream and is returned.
pub fn run<T, M, S>(
    evaluator: &Evaluator<'_>,
    source: Source<'_>,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
    map: M,
    sink: S,
) -> Result<()>
where
    T: Send,
    M: Fn(&[Line], Vec<Outcome>) -> T + Sync,
    S: FnMut(T) -> Result<()>,
{
    run_with(
        source,
        options,
        progress,
        |lines| map(lines, evaluator.evaluate_lines(lines)),
        sink,
    )
}

/// [`run`], also counting the fields the schema does not name that are not
/// errors: `sink` gets each slice's count with what `map` made, so a command
/// can report them once, at the end of a run (`layak eval`, `layak run`).
pub fn run_counting<T, M, S>(
    evaluator: &Evaluator<'_>,
    source: Source<'_>,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
    map: M,
    mut sink: S,
) -> Result<()>
where
    T: Send,
    M: Fn(&[Line], Vec<Outcome>) -> T + Sync,
    S: FnMut(T, UnknownFields) -> Result<()>,
{
    run_with(
        source,
        options,
        progress,
        |lines| {
            let mut unknown = UnknownFields::default();
            let outcomes = evaluator.evaluate_lines_counting(lines, &mut unknown);
            (map(lines, outcomes), unknown)
        },
        |(made, unknown)| sink(made, unknown),
    )
}

/// [`run_counting`] for a caller that needs only each line's summary
/// (`layak run` without `--explain`): the engine's decide path.
pub fn run_summaries_counting<T, M, S>(
    evaluator: &Evaluator<'_>,
    source: Source<'_>,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
    map: M,
    mut sink: S,
) -> Result<()>
where
    T: Send,
    M: Fn(&[Line], Vec<SummaryOutcome>) -> T + Sync,
    S: FnMut(T, UnknownFields) -> Result<()>,
{
    run_with(
        source,
        options,
        progress,
        |lines| {
            let mut unknown = UnknownFields::default();
            let outcomes = evaluator.decide_lines_counting(lines, &mut unknown);
            (map(lines, outcomes), unknown)
        },
        |(made, unknown)| sink(made, unknown),
    )
}

/// [`run`] over lines in memory, collecting every outcome in order (a
/// stage job's batch, a request's households).
pub fn evaluate_all(
    evaluator: &Evaluator<'_>,
    lines: Vec<Line>,
    options: &Options,
) -> Result<Vec<Outcome>> {
    collect_all(lines, options, |slice| evaluator.evaluate_lines(slice))
}

/// [`evaluate_all`] for a caller that needs only each line's summary: the
/// engine's decide path.
pub fn decide_all(
    evaluator: &Evaluator<'_>,
    lines: Vec<Line>,
    options: &Options,
) -> Result<Vec<SummaryOutcome>> {
    collect_all(lines, options, |slice| {
        evaluator.decide_lines_counting(slice, &mut UnknownFields::default())
    })
}

/// `lines` through `work` on the pipeline's workers, every outcome kept in
/// input order.
fn collect_all<T: Send>(
    lines: Vec<Line>,
    options: &Options,
    work: impl Fn(&[Line]) -> Vec<T> + Sync,
) -> Result<Vec<T>> {
    let mut outcomes = Vec::with_capacity(lines.len());
    run_with(Source::Lines(lines), options, &|_| {}, work, |slice| {
        outcomes.extend(slice);
        Ok(())
    })?;
    Ok(outcomes)
}

/// [`run`] for work that is not one evaluator's: `work` gets each slice of
/// lines on a worker thread (`layak impact` evaluates it with two).
pub fn run_with<T, W, S>(
    source: Source<'_>,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
    work: W,
    mut sink: S,
) -> Result<()>
where
    T: Send,
    W: Fn(&[Line]) -> T + Sync,
    S: FnMut(T) -> Result<()>,
{
    match source {
        // Lines that fit one batch are worked on the calling thread: a
        // request for one household spawns no thread.
        Source::Lines(lines) if lines.len() <= options.batch_lines || options.threads <= 1 => {
            progress(Progress {
                lines: lines.len() as u64,
                bytes: stream::bytes_of(&lines),
            });
            for slice in lines.chunks(SLICE) {
                sink(work(slice))?;
            }
            Ok(())
        }
        Source::Lines(lines) => stream::stream_lines(lines, options, progress, &work, sink),
        Source::Reader(reader) => stream::stream(reader, options, progress, &work, sink),
    }
}
