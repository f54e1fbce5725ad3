//! The engines that evaluate a program: the reference interpreter of
//! `layak-dsl`, or the program compiled to one wasm module
//! (`layak_dsl::wasm`) and run in the [`sandbox`](crate::sandbox).
//!
//! The compiled engine encodes a slice of households once, evaluates it in
//! one call and decodes the results straight from the module's memory.
//! Sessions (a store and an instance each) are pooled, so a stream of
//! slices pays for instantiation once per worker thread. When a call fails
//! (a trap, the fuel budget, the memory cap), its households are run again
//! one by one, so only the household at fault gets the error and every
//! other one its decision.

use std::sync::{Arc, Mutex, OnceLock};

use layak_dsl::decision::{HouseholdDecision, Summary};
use layak_dsl::eval::EvalContext;
use layak_dsl::ir::Program;
use layak_dsl::value::Value;
use layak_dsl::wasm::{
    AbiError, Names, compile_module_checked, decode_results, decode_summaries, encode_batch,
    households_of_batch, names_of_batch,
};

use crate::sandbox::{
    ErrorCode, Export, LoadedModule, Runtime, RuntimeConfig, RuntimeError, Session,
};

/// Which engine evaluates: `--engine` of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// The reference interpreter: the oracle, slow.
    Interp,
    /// The compiled module in the sandbox: the default.
    #[default]
    Wasm,
}

/// A program ready to evaluate households.
pub struct Engine {
    program: Arc<Program>,
    backend: Backend,
}

enum Backend {
    Interpreter,
    Wasm {
        module: LoadedModule,
        sessions: Mutex<Vec<Session>>,
    },
}

impl Engine {
    /// The engine `kind` names; the compiled one is loaded into the
    /// process's [`shared_runtime`] (or found in its caches).
    pub fn new(kind: EngineKind, program: Arc<Program>) -> Result<Engine, RuntimeError> {
        match kind {
            EngineKind::Interp => Ok(Engine::interpreter(program)),
            EngineKind::Wasm => Engine::wasm(shared_runtime()?, program),
        }
    }

    pub fn interpreter(program: Arc<Program>) -> Engine {
        Engine {
            program,
            backend: Backend::Interpreter,
        }
    }

    /// Compiles `program` and loads it into `runtime` (from the runtime's
    /// caches when the same module was loaded before).
    pub fn wasm(runtime: &Runtime, program: Arc<Program>) -> Result<Engine, RuntimeError> {
        let wasm = compile_module_checked(&program).map_err(|d| {
            RuntimeError::new(ErrorCode::Compile, format!("{}: {}", d.code, d.message))
        })?;
        Engine::wasm_module(runtime, program, &wasm)
    }

    /// Loads `wasm`, the module `wasm::compile_module_checked` made of
    /// `program`, into `runtime`: for a caller that compiled it itself (the
    /// service, which reports a module over the limit as a diagnostic).
    pub fn wasm_module(
        runtime: &Runtime,
        program: Arc<Program>,
        wasm: &[u8],
    ) -> Result<Engine, RuntimeError> {
        let module = runtime.load(wasm)?;
        Ok(Engine {
            program,
            backend: Backend::Wasm {
                module,
                sessions: Mutex::new(Vec::new()),
            },
        })
    }

    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// The loaded module (its content hash, load outcome and limits) of the
    /// compiled engine.
    pub fn module(&self) -> Option<&LoadedModule> {
        match &self.backend {
            Backend::Interpreter => None,
            Backend::Wasm { module, .. } => Some(module),
        }
    }

    /// Whether this is the compiled engine, which takes households as
    /// batches (`layak_dsl::wasm::BatchBuilder`) through
    /// [`Engine::evaluate_batch`] and [`Engine::decide_batch`].
    pub fn is_compiled(&self) -> bool {
        matches!(self.backend, Backend::Wasm { .. })
    }

    /// One decision per household, in order; a household the sandbox
    /// stopped (a trap, its fuel budget, the memory cap) gets that error
    /// instead, and the others still get their decisions.
    pub fn evaluate(
        &self,
        households: &[Value],
        ctx: &EvalContext,
    ) -> Vec<Result<HouseholdDecision, RuntimeError>> {
        match &self.backend {
            Backend::Interpreter => households
                .iter()
                .map(|h| Ok(layak_dsl::eval::evaluate(&self.program, h, ctx)))
                .collect(),
            Backend::Wasm { module, sessions } => self.with_session(module, sessions, |session| {
                self.evaluate_wasm(session, None, households, ctx, Export::Evaluate, |h, r| {
                    decode_results(&self.program, h, ctx, r)
                })
            }),
        }
    }

    /// The summary of each household, in order, as `evaluate(..).summary()`
    /// gives it (the same bytes), but with less work: the compiled module
    /// runs its `decide` export, which builds no explanation.
    pub fn decide(
        &self,
        households: &[Value],
        ctx: &EvalContext,
    ) -> Vec<Result<Summary, RuntimeError>> {
        match &self.backend {
            Backend::Interpreter => households
                .iter()
                .map(|h| Ok(layak_dsl::eval::evaluate(&self.program, h, ctx).summary()))
                .collect(),
            Backend::Wasm { module, sessions } => self.with_session(module, sessions, |session| {
                self.evaluate_wasm(session, None, households, ctx, Export::Decide, |h, r| {
                    decode_summaries(&self.program, &names_of(&self.program, h), ctx, r)
                })
            }),
        }
    }

    /// [`Engine::evaluate`] for the `count` households of `batch`, a batch
    /// that `layak_dsl::wasm::BatchBuilder` made for this program and `ctx`:
    /// the households go to the module as they are, and are read back from
    /// the batch only to rebuild the decisions.
    pub fn evaluate_batch(
        &self,
        batch: &[u8],
        count: usize,
        ctx: &EvalContext,
    ) -> Vec<Result<HouseholdDecision, RuntimeError>> {
        let Some(households) = households_of_batch(&self.program, batch) else {
            return vec![Err(foreign_batch()); count];
        };
        match &self.backend {
            Backend::Interpreter => self.evaluate(&households, ctx),
            Backend::Wasm { module, sessions } => self.with_session(module, sessions, |session| {
                let export = Export::Evaluate;
                self.evaluate_wasm(session, Some(batch), &households, ctx, export, |h, r| {
                    decode_results(&self.program, h, ctx, r)
                })
            }),
        }
    }

    /// [`Engine::decide`] for the `count` households of an encoded `batch`
    /// (as [`Engine::evaluate_batch`] takes it). The compiled engine reads
    /// from the batch only what names the households' records (their
    /// places and keys, all a summary names: `names_of_batch`); when the
    /// call fails, the whole households, to find the one at fault.
    pub fn decide_batch(
        &self,
        batch: &[u8],
        count: usize,
        ctx: &EvalContext,
    ) -> Vec<Result<Summary, RuntimeError>> {
        let program = &self.program;
        let decode =
            |h: &[Value], r: &[u8]| decode_summaries(program, &names_of(program, h), ctx, r);
        match &self.backend {
            Backend::Interpreter => match households_of_batch(program, batch) {
                Some(households) => self.decide(&households, ctx),
                None => vec![Err(foreign_batch()); count],
            },
            Backend::Wasm { module, sessions } => {
                let Some(names) = names_of_batch(program, batch) else {
                    return vec![Err(foreign_batch()); count];
                };
                self.with_session(module, sessions, |session| {
                    let by_names = |n: &[Names], r: &[u8]| decode_summaries(program, n, ctx, r);
                    let whole =
                        self.call_encoded(session, batch, &names, Export::Decide, &by_names);
                    or_each_alone(whole, names.len(), || {
                        match households_of_batch(program, batch) {
                            Some(households) => {
                                self.each_alone(session, &households, ctx, Export::Decide, &decode)
                            }
                            None => vec![Err(foreign_batch()); count],
                        }
                    })
                })
            }
        }
    }

    /// Runs `work` with a pooled session (a new one when none is free).
    fn with_session<T>(
        &self,
        module: &LoadedModule,
        sessions: &Mutex<Vec<Session>>,
        work: impl FnOnce(&mut Session) -> T,
    ) -> T {
        let mut session = sessions
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_else(|| module.session());
        let out = work(&mut session);
        if let Ok(mut pool) = sessions.lock() {
            pool.push(session);
        }
        out
    }

    /// `households` in one call (as `batch` when it is already encoded);
    /// when that call fails, each household alone.
    fn evaluate_wasm<T>(
        &self,
        session: &mut Session,
        batch: Option<&[u8]>,
        households: &[Value],
        ctx: &EvalContext,
        export: Export,
        decode: impl Fn(&[Value], &[u8]) -> Result<Vec<T>, AbiError>,
    ) -> Vec<Result<T, RuntimeError>> {
        let whole = match batch {
            Some(batch) => self.call_encoded(session, batch, households, export, &decode),
            None => self.call(session, households, ctx, export, &decode),
        };
        or_each_alone(whole, households.len(), || {
            self.each_alone(session, households, ctx, export, &decode)
        })
    }

    /// Each household in a call of its own: to find the one at fault when
    /// a call with all of them failed.
    fn each_alone<T>(
        &self,
        session: &mut Session,
        households: &[Value],
        ctx: &EvalContext,
        export: Export,
        decode: &impl Fn(&[Value], &[u8]) -> Result<Vec<T>, AbiError>,
    ) -> Vec<Result<T, RuntimeError>> {
        households
            .iter()
            .map(|h| {
                self.call(session, std::slice::from_ref(h), ctx, export, decode)
                    .and_then(|mut one| {
                        one.pop().ok_or_else(|| {
                            RuntimeError::new(ErrorCode::Abi, "the result block holds no decision")
                        })
                    })
            })
            .collect()
    }

    fn call<T>(
        &self,
        session: &mut Session,
        households: &[Value],
        ctx: &EvalContext,
        export: Export,
        decode: &impl Fn(&[Value], &[u8]) -> Result<Vec<T>, AbiError>,
    ) -> Result<Vec<T>, RuntimeError> {
        let batch = encode_batch(&self.program, households, ctx);
        self.call_encoded(session, &batch, households, export, decode)
    }

    /// `batch` in one call; `decode` reads its result with `households`
    /// (the households themselves, or what names their records).
    fn call_encoded<T, H>(
        &self,
        session: &mut Session,
        batch: &[u8],
        households: &[H],
        export: Export,
        decode: &impl Fn(&[H], &[u8]) -> Result<Vec<T>, AbiError>,
    ) -> Result<Vec<T>, RuntimeError> {
        session
            .call_export_with(export, batch, |result| decode(households, result))?
            .map_err(|e| RuntimeError::new(ErrorCode::Abi, e.to_string()))
    }
}

/// What one call over `count` households gave, each household's result;
/// when it failed, `each_alone` (the households one call at a time) to find
/// the one at fault, unless there was only one.
fn or_each_alone<T>(
    whole: Result<Vec<T>, RuntimeError>,
    count: usize,
    each_alone: impl FnOnce() -> Vec<Result<T, RuntimeError>>,
) -> Vec<Result<T, RuntimeError>> {
    match whole {
        Ok(made) => made.into_iter().map(Ok).collect(),
        Err(e) if count <= 1 => vec![Err(e)],
        Err(_) => each_alone(),
    }
}

/// What names the records of each household, for `decode_summaries`.
fn names_of(program: &Program, households: &[Value]) -> Vec<Names> {
    households.iter().map(|h| Names::of(program, h)).collect()
}

fn foreign_batch() -> RuntimeError {
    RuntimeError::new(ErrorCode::Abi, "the batch is not one of this program's")
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
