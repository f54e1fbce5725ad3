//! Running a loaded module: a [`Session`] owns one sandboxed `Store` and
//! instance, and each call refills the fuel and runs the ABI's
//! alloc / write / evaluate / read sequence.

use std::sync::Arc;

use wasmtime::{InstancePre, Memory, ResourceLimiter, Store, TypedFunc};

use super::error::{ErrorCode, MemoryCapExceeded, RuntimeError, classify};
use super::{Limits, LoadOutcome};

/// A compiled module that passed the ABI checks. Cheap to clone and shared
/// across threads; each thread calls it through its own [`Session`] (or
/// [`LoadedModule::call`], which makes a session for one call).
#[derive(Clone)]
pub struct LoadedModule {
    pub(super) shared: Arc<Shared>,
    pub(super) outcome: LoadOutcome,
}

pub(super) struct Shared {
    pub pre: InstancePre<Sandbox>,
    pub limits: Limits,
    pub hash: String,
}

impl LoadedModule {
    /// Evaluates one input (a whole encoded batch) in a fresh store and
    /// returns the result block.
    pub fn call(&self, input: &[u8]) -> Result<Vec<u8>, RuntimeError> {
        self.session().call(input)
    }

    /// A session that reuses one store and instance across calls; the
    /// instance is made on the first call.
    pub fn session(&self) -> Session {
        Session {
            shared: Arc::clone(&self.shared),
            fuel: self.shared.limits.fuel,
            fuel_used: 0,
            live: None,
        }
    }

    /// Where this module came from: compiled now, the disk cache, or memory.
    pub fn outcome(&self) -> LoadOutcome {
        self.outcome
    }

    /// The hex content hash naming this module in the caches.
    pub fn hash(&self) -> &str {
        &self.shared.hash
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> Limits {
        self.shared.limits
    }
}

/// Which evaluation export a call runs (docs/abi.md): `evaluate` builds
/// the whole explanation trace, `decide` only what the summary needs
/// (status, codes, eligibility, amounts, the missing data of undetermined
/// outcomes), with less work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Export {
    #[default]
    Evaluate,
    Decide,
}

/// One store and instance, reused call after call so that a stream of
/// batches pays for instantiation once. Each call gets a full fuel budget;
/// memory persists between calls (the ABI's `alloc` starts every batch
/// afresh) and stays under the cap. After any failure the instance is
/// dropped and the next call starts from a fresh one, so a fault never leaks
/// into the next batch.
pub struct Session {
    shared: Arc<Shared>,
    fuel: u64,
    fuel_used: u64,
    live: Option<Live>,
}

impl Session {
    /// Evaluates `input` and returns a copy of the result block.
    pub fn call(&mut self, input: &[u8]) -> Result<Vec<u8>, RuntimeError> {
        self.call_with(input, <[u8]>::to_vec)
    }

    /// Evaluates `input` and hands the result block, still in the module's
    /// memory, to `read`: decoding straight from it saves a copy.
    pub fn call_with<R>(
        &mut self,
        input: &[u8],
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, RuntimeError> {
        self.call_export_with(Export::Evaluate, input, read)
    }

    /// [`Session::call_with`] through the export `export`.
    pub fn call_export_with<R>(
        &mut self,
        export: Export,
        input: &[u8],
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, RuntimeError> {
        let mut live = match self.live.take() {
            Some(live) => live,
            None => Live::new(&self.shared.pre, &self.shared.limits)?,
        };
        let fuel = self.fuel;
        let result = live.run(fuel, export, input, read);
        self.fuel_used = fuel.saturating_sub(live.store.get_fuel().unwrap_or(0));
        if result.is_ok() {
            self.live = Some(live);
        }
        result
    }

    /// Sets the fuel budget of each later call (the default is
    /// [`Limits::fuel`]).
    pub fn set_fuel(&mut self, fuel: u64) {
        self.fuel = fuel;
    }

    /// The fuel the last call used: a deterministic measure of its work.
    pub fn fuel_used(&self) -> u64 {
        self.fuel_used
    }

    /// The size in bytes of the instance's linear memory now (0 before the
    /// first call and after a failure): how close a workload is to
    /// [`Limits::memory_bytes`].
    pub fn memory_size(&self) -> usize {
        self.live
            .as_ref()
            .map_or(0, |live| live.memory.data_size(&live.store))
    }
}

/// The data of every store: the resource limiter.
pub(super) struct Sandbox {
    memory_cap: usize,
    table_cap: usize,
}

/// Most table elements a store may have. The ABI needs no table; this only
/// bounds what a hostile module can ask for.
const TABLE_CAP: usize = 10_000;

impl ResourceLimiter for Sandbox {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            return Err(wasmtime::Error::new(MemoryCapExceeded {
                desired,
                cap: self.memory_cap,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_cap)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}

/// A store with its instance and the ABI's exports.
struct Live {
    store: Store<Sandbox>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    evaluate: TypedFunc<(i32, i32), i32>,
    decide: TypedFunc<(i32, i32), i32>,
    result_len: TypedFunc<(), i32>,
}

pub(super) fn new_store(pre: &InstancePre<Sandbox>, limits: &Limits) -> Store<Sandbox> {
    let mut store = Store::new(
        pre.module().engine(),
        Sandbox {
            memory_cap: limits.memory_bytes,
            table_cap: TABLE_CAP,
        },
    );
    store.limiter(|sandbox| sandbox);
    store
}

/// Instantiates a fresh store and calls `abi_version()` in it; used by
/// `Runtime::load` to check the dynamic half of the ABI.
pub(super) fn abi_version(
    pre: &InstancePre<Sandbox>,
    limits: &Limits,
) -> Result<i32, RuntimeError> {
    let mut store = new_store(pre, limits);
    let fuel = limits.fuel;
    store
        .set_fuel(fuel)
        .map_err(|e| classify(&e, "abi_version", fuel))?;
    let instance = pre
        .instantiate(&mut store)
        .map_err(|e| classify(&e, "instantiate", fuel))?;
    let func = instance
        .get_typed_func::<(), i32>(&mut store, "abi_version")
        .map_err(|e| abi(format!("export `abi_version`: {e}")))?;
    func.call(&mut store, ())
        .map_err(|e| classify(&e, "abi_version", fuel))
}

impl Live {
    fn new(pre: &InstancePre<Sandbox>, limits: &Limits) -> Result<Live, RuntimeError> {
        let mut store = new_store(pre, limits);
        let fuel = limits.fuel;
        // Instantiation runs no code of ours (the ABI has no start function),
        // but a hostile module may have one: give it a budget too.
        store
            .set_fuel(fuel)
            .map_err(|e| classify(&e, "instantiate", fuel))?;
        let instance = pre
            .instantiate(&mut store)
            .map_err(|e| classify(&e, "instantiate", fuel))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| abi("the module does not export `memory`"))?;
        let alloc = instance
            .get_typed_func(&mut store, "alloc")
            .map_err(|e| abi(format!("export `alloc`: {e}")))?;
        let evaluate = instance
            .get_typed_func(&mut store, "evaluate")
            .map_err(|e| abi(format!("export `evaluate`: {e}")))?;
        let decide = instance
            .get_typed_func(&mut store, "decide")
            .map_err(|e| abi(format!("export `decide`: {e}")))?;
        let result_len = instance
            .get_typed_func(&mut store, "result_len")
            .map_err(|e| abi(format!("export `result_len`: {e}")))?;
        Ok(Live {
            store,
            memory,
            alloc,
            evaluate,
            decide,
            result_len,
        })
    }

    fn run<R>(
        &mut self,
        fuel: u64,
        export: Export,
        input: &[u8],
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, RuntimeError> {
        let store = &mut self.store;
        store
            .set_fuel(fuel)
            .map_err(|e| classify(&e, "evaluate", fuel))?;
        let len = i32::try_from(input.len()).map_err(|_| {
            RuntimeError::new(
                ErrorCode::Memory,
                format!(
                    "an input of {} bytes does not fit a 32-bit module",
                    input.len()
                ),
            )
        })?;
        let ptr = self
            .alloc
            .call(&mut *store, len)
            .map_err(|e| classify(&e, "alloc", fuel))?;
        if ptr == 0 {
            return Err(RuntimeError::new(
                ErrorCode::Memory,
                format!("`alloc` returned 0: the module cannot make room for {len} input bytes"),
            ));
        }
        let start = usize::try_from(ptr)
            .map_err(|_| abi(format!("`alloc` returned the negative address {ptr}")))?;
        self.memory.write(&mut *store, start, input).map_err(|_| {
            abi(format!(
                "`alloc` returned {start}, but {len} bytes from there run past the end of memory ({} bytes)",
                self.memory.data_size(&*store)
            ))
        })?;
        let function = match export {
            Export::Evaluate => &self.evaluate,
            Export::Decide => &self.decide,
        };
        let result = function
            .call(&mut *store, (ptr, len))
            .map_err(|e| classify(&e, "evaluate", fuel))?;
        if result < 0 {
            return Err(abi(format!(
                "`evaluate` returned error code {result} (see docs/abi.md)"
            )));
        }
        let result_len = self
            .result_len
            .call(&mut *store, ())
            .map_err(|e| classify(&e, "result_len", fuel))?;
        let data = self.memory.data(&*store);
        let block = usize::try_from(result_len)
            .ok()
            .and_then(|n| data.get(usize::try_from(result).ok()?..)?.get(..n))
            .ok_or_else(|| {
                abi(format!(
                    "the result block ({result_len} bytes at {result}) lies outside memory ({} bytes)",
                    data.len()
                ))
            })?;
        Ok(read(block))
    }
}

fn abi(message: impl Into<String>) -> RuntimeError {
    RuntimeError::new(ErrorCode::Abi, message)
}
