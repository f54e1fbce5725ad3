//! Compiling rules off the request path, bounded in place, number and time.
//!
//! Rule text comes from people, and compiling it (parse and check, wasm code
//! generation, Cranelift) is the heaviest thing a request can ask for. So:
//!
//! - **Where**: on [`WORKERS`] dedicated threads with a [`STACK`] stack, never
//!   on the async runtime's workers (a long compilation would stall every
//!   request queued on that worker) nor on tokio's blocking pool (which grows
//!   a thread per upload). A panic in a pass is caught on the worker: that
//!   upload gets a 500, and the worker takes the next one.
//! - **How many**: a queue of [`QUEUE`] compilations. An upload that finds it
//!   full is answered at once with 503 `COMPILER_BUSY` and `Retry-After`, so
//!   at most `QUEUE + WORKERS` rule sets (each within `--max-body`) are held
//!   or compiled at a time. A stored version compiled again on first use (a
//!   job, an evaluation after a restart) waits for a place instead.
//! - **How long**: an upload has `--compile-budget` from the moment it is
//!   queued. The worker checks it before each pass; past it, the answer is
//!   the rules' diagnostic E0907. The request stops waiting at the budget
//!   plus [`GRACE`] whatever the worker is doing (one pass may overrun:
//!   a pass is not interrupted), with E0907 if its compilation had started,
//!   or 503 `COMPILER_BUSY` if it never left the queue. Every pass is linear
//!   in text the limits of `layak_dsl::limits` bound, so the budget is a
//!   backstop, not the usual answer.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use layak_dsl::diagnostic::{Diagnostic, JsonDiagnostic, Level};
use layak_dsl::source::Span;
use layak_host::engine::{Engine, shared_runtime};
use tokio::sync::{mpsc, oneshot};

use crate::store::rulesets::SourceFile;

use super::problem::{ApiResult, Problem};
use super::rules::{Compilation, Compiled, compile};

/// Threads that compile.
pub const WORKERS: usize = 2;

/// Compilations waiting for a worker, at most.
pub const QUEUE: usize = 8;

/// The stack of a compiling thread. Every pass finishes on 1 MiB (the
/// playground's wasm32 stack, `layak_dsl::limits`); Cranelift gets room.
pub const STACK: usize = 8 << 20;

/// How long past its budget a request waits for the pass under way to end.
pub const GRACE: Duration = Duration::from_secs(2);

/// The default budget of one upload's compilation (`--compile-budget`).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

/// What compiling one version gave.
pub enum Built {
    /// Every pass passed: the program and its modules, loaded in the
    /// sandbox, and the warnings in `compilation`.
    Ready(Compiled, Compilation),
    /// The rules have errors (the checker's, E0906 for the module, E0907
    /// for the budget); nothing was built.
    Invalid(Compilation),
}

/// One compilation for a worker.
struct Task {
    files: Vec<SourceFile>,
    /// `None` for a stored version (it passed its budget when uploaded).
    deadline: Option<Instant>,
    /// Set when a worker takes the task, so a request that gives up knows
    /// whether it was compiling or still queued.
    started: Arc<AtomicBool>,
    reply: oneshot::Sender<Result<Outcome, String>>,
}

/// A worker's answer: what was built, and the files back (for storing).
type Outcome = (Built, Vec<SourceFile>);

/// The compile queue and its workers (one per service).
pub struct Compiler {
    queue: mpsc::Sender<Task>,
    budget: Duration,
}

impl Compiler {
    /// Starts the workers; an upload may compile for `budget`.
    pub fn start(budget: Duration) -> std::io::Result<Compiler> {
        let (queue, receiver) = mpsc::channel::<Task>(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..WORKERS {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("layak-compile-{n}"))
                .stack_size(STACK)
                .spawn(move || work(&receiver))?;
        }
        Ok(Compiler { queue, budget })
    }

    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// Compiles an upload within the budget: 503 `COMPILER_BUSY` when the
    /// queue is full or the upload never left it in time.
    pub async fn upload(&self, files: Vec<SourceFile>) -> ApiResult<(Built, Vec<SourceFile>)> {
        let first = first_name(&files);
        // A budget too large for the clock is no budget.
        let deadline = Instant::now().checked_add(self.budget);
        let started = Arc::new(AtomicBool::new(false));
        let (reply, answer) = oneshot::channel();
        let task = Task {
            files,
            deadline,
            started: Arc::clone(&started),
            reply,
        };
        if self.queue.try_send(task).is_err() {
            tracing::warn!("compile queue full: upload refused");
            return Err(busy());
        }
        let answer = match deadline.and_then(|d| d.checked_add(GRACE)) {
            Some(until) => {
                tokio::time::timeout_at(tokio::time::Instant::from_std(until), answer).await
            }
            None => Ok(answer.await),
        };
        match answer {
            Ok(Ok(Ok(outcome))) => Ok(outcome),
            Ok(Ok(Err(panic))) => Err(Problem::internal(&panic)),
            Ok(Err(_)) => Err(Problem::internal(&"a compile worker dropped its task")),
            Err(_) if started.load(Ordering::Acquire) => {
                tracing::warn!(
                    budget_ms = self.budget.as_millis(),
                    "compilation over budget"
                );
                Err(rules_invalid(vec![over_budget_json(&first, self.budget)]))
            }
            Err(_) => Err(busy()),
        }
    }

    /// Compiles a stored version (uploaded, so within every limit before)
    /// or the rules of `--demo`, waiting for a place in the queue and with
    /// no time budget.
    pub async fn stored(&self, files: Vec<SourceFile>) -> ApiResult<(Built, Vec<SourceFile>)> {
        let (reply, answer) = oneshot::channel();
        let task = Task {
            files,
            deadline: None,
            started: Arc::new(AtomicBool::new(false)),
            reply,
        };
        self.queue
            .send(task)
            .await
            .map_err(|_| Problem::internal(&"the compile workers stopped"))?;
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(panic)) => Err(Problem::internal(&panic)),
            Err(_) => Err(Problem::internal(&"a compile worker dropped its task")),
        }
    }
}

/// 422 `RULES_INVALID` with the diagnostics, as `layak check --format json`
/// gives them.
pub fn rules_invalid(diagnostics: Vec<JsonDiagnostic>) -> Problem {
    Problem::unprocessable("RULES_INVALID", "the rules have errors; nothing was stored")
        .with("diagnostics", diagnostics)
}

fn busy() -> Problem {
    Problem::unavailable(
        "COMPILER_BUSY",
        format!(
            "{} rule sets are being compiled or waiting; send the rules again in a moment",
            QUEUE + WORKERS
        ),
        5,
    )
}

/// A worker: takes tasks until the service stops.
fn work(receiver: &Mutex<mpsc::Receiver<Task>>) {
    loop {
        let task = {
            let mut queue = receiver.lock().unwrap_or_else(PoisonError::into_inner);
            queue.blocking_recv()
        };
        let Some(task) = task else { return };
        if task.reply.is_closed() {
            continue;
        }
        task.started.store(true, Ordering::Release);
        let Task {
            files,
            deadline,
            reply,
            ..
        } = task;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| build(files, deadline)))
            .map_err(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                format!("a compile pass panicked: {what}")
            });
        let _ = reply.send(outcome);
    }
}

/// Every pass over `files`: check, code generation (E0906 past the module
/// limit), loading into the sandbox; the budget checked before each.
fn build(files: Vec<SourceFile>, deadline: Option<Instant>) -> Outcome {
    let over = || deadline.is_some_and(|d| Instant::now() >= d);
    let mut compilation = compile(&files);
    let Some(program) = compilation.program.take() else {
        return (Built::Invalid(compilation), files);
    };
    let at = program.rulesets.first().map(|r| r.span).unwrap_or_default();
    let at = Span {
        end: at.start,
        ..at
    };
    let refuse = |mut compilation: Compilation, d: Diagnostic| {
        compilation.diagnostics.push(d);
        Built::Invalid(compilation)
    };
    let budget = || over_budget(at, deadline);
    if over() {
        return (refuse(compilation, budget()), files);
    }
    let qc = program.quality_control();
    let wasm = match layak_dsl::wasm::compile_module_checked(&program) {
        Ok(wasm) => wasm,
        Err(d) => return (refuse(compilation, d), files),
    };
    let qc_wasm = match qc.as_ref().map(layak_dsl::wasm::compile_module_checked) {
        Some(Err(d)) => return (refuse(compilation, d), files),
        Some(Ok(wasm)) => Some(wasm),
        None => None,
    };
    if over() {
        return (refuse(compilation, budget()), files);
    }
    let sandbox = |d: String| {
        Diagnostic::new(
            "E0906",
            at,
            format!("the sandbox cannot compile the module: {d}"),
        )
        .with_help("split the rules into separate rulesets compiled on their own")
    };
    let runtime = match shared_runtime() {
        Ok(runtime) => runtime,
        Err(e) => return (refuse(compilation, sandbox(e.to_string())), files),
    };
    let program = Arc::new(program);
    let engine = match Engine::wasm_module(runtime, Arc::clone(&program), &wasm) {
        Ok(engine) => engine,
        Err(e) => return (refuse(compilation, sandbox(e.to_string())), files),
    };
    let qc = match (qc, qc_wasm) {
        (Some(qc), Some(wasm)) => match Engine::wasm_module(runtime, Arc::new(qc), &wasm) {
            Ok(engine) => Some(engine),
            Err(e) => return (refuse(compilation, sandbox(e.to_string())), files),
        },
        _ => None,
    };
    let compiled = Compiled::new(compilation.hash.clone(), program, engine, qc);
    (Built::Ready(compiled, compilation), files)
}

/// E0907 at `at`: the compilation took longer than its budget.
fn over_budget(at: Span, deadline: Option<Instant>) -> Diagnostic {
    let late = deadline.map_or(Duration::ZERO, |d| {
        Instant::now().saturating_duration_since(d)
    });
    Diagnostic::new(
        "E0907",
        at,
        format!(
            "compiling the rules took longer than the service's budget (over by {} ms)",
            late.as_millis()
        ),
    )
    .with_help(BUDGET_HELP)
}

const BUDGET_HELP: &str = "split the rules into smaller rulesets, or ask the administrator \
    to raise `--compile-budget`";

/// E0907 as JSON when no compilation came back to place it: at the start of
/// the first file.
fn over_budget_json(first: &str, budget: Duration) -> JsonDiagnostic {
    JsonDiagnostic {
        code: "E0907",
        level: Level::Error,
        message: format!(
            "compiling the rules took longer than the service's budget of {} ms",
            budget.as_millis()
        ),
        file: first.to_string(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        start: 0,
        end: 0,
        snippet: String::new(),
        labels: Vec::new(),
        help: Some(BUDGET_HELP.to_string()),
    }
}

fn first_name(files: &[SourceFile]) -> String {
    files
        .iter()
        .map(|f| f.name.as_str())
        .min()
        .unwrap_or_default()
        .to_string()
}
