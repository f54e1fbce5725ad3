//! The compiled engine: the rules as one wasm module (`layak_dsl::wasm`),
//! run in the sandboxed runtime. A batch is encoded once, evaluated in one
//! call and decoded straight from the module's memory.
//!
//! Sessions (a store and an instance each) are pooled, so a stream of
//! batches pays for instantiation once per worker thread. When a batch
//! fails (a trap, the fuel budget, the memory cap), its households are run
//! again one by one, so only the household at fault gets the error and
//! every other one its decision.

use std::sync::{Arc, Mutex};

use layak_dsl::decision::HouseholdDecision;
use layak_dsl::eval::EvalContext;
use layak_dsl::ir::Program;
use layak_dsl::value::Value;
use layak_dsl::wasm::{compile_module_checked, decode_results, encode_batch};

use super::Evaluate;
use crate::runtime::{ErrorCode, LoadedModule, Runtime, RuntimeError, Session};

/// A program compiled to wasm and loaded into a [`Runtime`].
pub struct WasmEvaluator {
    program: Arc<Program>,
    module: LoadedModule,
    sessions: Mutex<Vec<Session>>,
}

impl WasmEvaluator {
    /// Compiles `program` and loads it (from the runtime's caches when the
    /// same module was loaded before).
    pub fn new(runtime: &Runtime, program: Arc<Program>) -> Result<WasmEvaluator, RuntimeError> {
        let wasm = compile_module_checked(&program).map_err(|d| {
            RuntimeError::new(
                crate::runtime::ErrorCode::Compile,
                format!("{}: {}", d.code, d.message),
            )
        })?;
        let module = runtime.load(&wasm)?;
        Ok(WasmEvaluator {
            program,
            module,
            sessions: Mutex::new(Vec::new()),
        })
    }

    /// The loaded module: its content hash, load outcome and limits.
    pub fn module(&self) -> &LoadedModule {
        &self.module
    }

    fn run(
        &self,
        session: &mut Session,
        households: &[Value],
        ctx: &EvalContext,
    ) -> Result<Vec<HouseholdDecision>, RuntimeError> {
        let batch = encode_batch(&self.program, households, ctx);
        session
            .call_with(&batch, |result| {
                decode_results(&self.program, households, ctx, result)
            })?
            .map_err(|e| RuntimeError::new(ErrorCode::Abi, e.to_string()))
    }

    fn take_session(&self) -> Session {
        self.sessions
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_else(|| self.module.session())
    }

    fn put_session(&self, session: Session) {
        if let Ok(mut pool) = self.sessions.lock() {
            pool.push(session);
        }
    }
}

impl Evaluate for WasmEvaluator {
    fn evaluate(
        &self,
        households: &[Value],
        ctx: &EvalContext,
    ) -> Vec<Result<HouseholdDecision, RuntimeError>> {
        let mut session = self.take_session();
        let out = match self.run(&mut session, households, ctx) {
            Ok(decisions) => decisions.into_iter().map(Ok).collect(),
            Err(e) if households.len() <= 1 => vec![Err(e)],
            // Find the household at fault: each one alone.
            Err(_) => households
                .iter()
                .map(|h| {
                    self.run(&mut session, std::slice::from_ref(h), ctx)
                        .and_then(|mut one| {
                            one.pop().ok_or_else(|| {
                                RuntimeError::new(
                                    ErrorCode::Abi,
                                    "the result block holds no decision",
                                )
                            })
                        })
                })
                .collect(),
        };
        self.put_session(session);
        out
    }
}
