//! The sandboxed WebAssembly runtime: compiled rule modules run here, in
//! wasmtime, under hard limits, and any failure of one evaluation is a typed
//! error while the process and every other evaluation carry on.
//!
//! ```no_run
//! use layak_host::sandbox::{Runtime, RuntimeConfig};
//!
//! let runtime = Runtime::new(RuntimeConfig::default())?;
//! # let wasm: Vec<u8> = Vec::new(); let batch: Vec<u8> = Vec::new();
//! let module = runtime.load(&wasm)?; // compiled, or from the disk or memory cache
//! let mut session = module.session(); // one store + instance per worker
//! let results = session.call(&batch)?; // one `evaluate` for the whole batch
//! # let _ = results;
//! # Ok::<(), layak_host::sandbox::RuntimeError>(())
//! ```
//!
//! The runtime is ABI-byte-agnostic: bytes in, bytes out. It relies only on
//! the exports of docs/abi.md (`memory`, `abi_version`, `alloc`, `evaluate`,
//! `result_len`) and on the module importing nothing.
//!
//! # Limits, and what each protects against
//!
//! | limit | default | protects against | error |
//! |---|---|---|---|
//! | [`Limits::fuel`] | 2 × 10^9 units per call | infinite loops and pathological rules: a call that runs out stops at once | `E_TIMEOUT` |
//! | [`Limits::memory_bytes`] | 512 MiB per store | `memory.grow` bombs and huge aggregates exhausting the host's memory | `E_MEMORY` |
//! | [`Limits::stack_bytes`] | 512 KiB of wasm stack | runaway recursion overflowing the host thread's native stack | `E_STACK` |
//! | [`RuntimeConfig::max_instances`] | 128 live instances | unbounded concurrency: the pooling allocator reserves this many slots up front | `E_MEMORY` |
//!
//! Anything else the module does wrong is contained by wasmtime itself (every
//! memory access is bounds-checked, the module can reach nothing outside its
//! own memory) and reported as `E_TRAP` or, when it breaks the ABI, `E_ABI`.
//!
//! **Fuel rather than epoch deadlines.** Fuel counts executed wasm operators,
//! so a budget stops the same evaluation at the same point on every machine,
//! under any load and on any core count: a timeout is reproducible, a test can
//! pin it, and a slow neighbour on a shared server cannot make a healthy batch
//! fail. Epochs need a ticking thread and give wall-clock deadlines, which is
//! what an HTTP request would want, but not a national batch whose outcome
//! must not depend on the machine. The cost is a counter update per basic
//! block, and now that the module does little else it shows: `layak bench`
//! stage (c) (100,000 households, medians of 3, a build without fuel and
//! this one alternating in one session) took 4.44 and 4.73 µs per household
//! without fuel, 6.53 and 6.59 with it, about 30% of the module's time and
//! 9% of stage (d) end to end. Measured again after the module's fast paths
//! (stage (c)'s calls over 20,000 generated households, best of 15, this
//! build and two with the engine's flags patched, alternating): 3.94 to
//! 3.99 µs per household with fuel, 3.55 to 3.65 with epoch interruption
//! instead, 3.06 to 3.12 with neither. Epochs would save under half of
//! fuel's cost and lose the reproducible limit; we pay it for that limit.
//! One fuel unit is roughly one wasm operator (a `local.get` counts). The shipped rules use about 74,000 (`decide`) and 78,000
//! (`evaluate`) units per sample household (`dsl/tests/wasm_fuel.rs` prints
//! both), so the
//! default budget admits batches of about 25,000 households and stops a
//! runaway loop within a few seconds; size batches (or raise the budget)
//! accordingly.
//!
//! **Memory.** Each store's resource limiter refuses to let a memory grow past
//! `memory_bytes`, and the refusal traps at the `memory.grow` that asked (it
//! does not return -1 to the module), so a grow bomb ends at once with
//! `E_MEMORY` whatever the module would have done next. A module whose
//! *initial* memory is over the cap is rejected at load. `alloc` returning 0
//! is also `E_MEMORY`.
//!
//! **Stack.** Wasm runs on the calling thread's native stack; `stack_bytes`
//! must stay well under that (Rust threads get 2 MiB by default, the main
//! thread 8 MiB).
//!
//! # Caches
//!
//! [`Runtime::load`] keys a module by the sha256 of its bytes and of
//! `Engine::precompile_compatibility_hash` (wasmtime version, target, every
//! compilation setting). It looks in memory first (threads share compiled
//! modules), then in the disk cache (`$LAYAK_CACHE_DIR`,
//! `$XDG_CACHE_HOME/layak` or `~/.cache/layak`), and only then compiles with
//! Cranelift and writes the artifact back. Disk files carry their own
//! checksum; a damaged one is recompiled and replaced, never fatal (see
//! `cache.rs`, and `artifact.rs` for the one `unsafe` call and why it is
//! sound).

mod abi;
mod artifact;
mod cache;
mod error;
mod session;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use wasmtime::{
    Config, Engine, Inlining, InstanceAllocationStrategy, Linker, Module, OptLevel,
    PoolingAllocationConfig,
};

pub use error::{ErrorCode, RuntimeError};
pub use session::{Export, LoadedModule, Session};

use cache::{DiskCache, Key, Read};
use session::{Sandbox, Shared};

/// The hard limits of every call. See the module documentation for what each
/// protects against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fuel (about one unit per wasm operator) of one call: `alloc`,
    /// `evaluate` and `result_len` together.
    pub fuel: u64,
    /// Most bytes of linear memory one store may have.
    pub memory_bytes: usize,
    /// Most bytes of native stack wasm code may use.
    pub stack_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            fuel: 2_000_000_000,
            memory_bytes: 512 << 20,
            stack_bytes: 512 << 10,
        }
    }
}

/// How a [`Runtime`] is set up.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    pub limits: Limits,
    /// Where compiled modules are kept; `None` turns the disk cache off.
    pub cache_dir: Option<PathBuf>,
    /// The `abi_version()` a module must return to be loaded.
    pub abi_version: u32,
    /// How many instances may be alive at once (the pooling allocator's
    /// slots): at least the number of concurrent sessions.
    pub max_instances: u32,
}

impl Default for RuntimeConfig {
    fn default() -> RuntimeConfig {
        RuntimeConfig {
            limits: Limits::default(),
            cache_dir: cache::default_dir(),
            abi_version: layak_dsl::wasm::ABI_VERSION,
            max_instances: 128,
        }
    }
}

/// Where [`Runtime::load`] found a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadOutcome {
    /// Compiled from the wasm bytes now (and written to the disk cache).
    Compiled,
    /// Deserialised from the disk cache.
    FromDiskCache,
    /// Already loaded by this runtime.
    FromMemory,
}

/// Counters of the caches, for tests and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub compiled: u64,
    pub disk_hits: u64,
    pub memory_hits: u64,
    /// Disk files that were there but unusable, and were recompiled.
    pub disk_corrupt: u64,
    /// Artifacts that could not be written (the module still loaded).
    pub disk_write_failures: u64,
}

#[derive(Default)]
struct Counters {
    compiled: AtomicU64,
    disk_hits: AtomicU64,
    memory_hits: AtomicU64,
    disk_corrupt: AtomicU64,
    disk_write_failures: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// One wasmtime engine with its instance pool, the module caches and the
/// limits. Create one per process and share it (`Send + Sync`).
pub struct Runtime {
    engine: Engine,
    limits: Limits,
    abi_version: u32,
    disk: Option<DiskCache>,
    loaded: Mutex<HashMap<Key, Arc<Shared>>>,
    counters: Counters,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let limits = config.limits;
        if limits.fuel == 0 || limits.memory_bytes == 0 || limits.stack_bytes == 0 {
            return Err(RuntimeError::new(
                ErrorCode::Config,
                format!("every limit must be positive, got {limits:?}"),
            ));
        }
        let mut pool = PoolingAllocationConfig::new();
        pool.total_core_instances(config.max_instances)
            .total_memories(config.max_instances)
            .total_tables(config.max_instances)
            .max_memories_per_module(1)
            .max_tables_per_module(1)
            // The pool admits any 32-bit memory: the exact cap is enforced by
            // the store's limiter and by `abi::check`, which report `E_MEMORY`
            // (a pool limit would surface as an opaque compile error).
            .max_memory_size(usize::try_from(1u64 << 32).unwrap_or(usize::MAX));
        let mut wasm = Config::new();
        wasm.cranelift_opt_level(OptLevel::Speed)
            // The generated code calls small runtime helpers (missing-set
            // unions, Kleene `and`/`or`, text equality) from every
            // expression; Cranelift inlines them into the caller.
            .compiler_inlining(Inlining::Yes)
            .parallel_compilation(true)
            .consume_fuel(true)
            .max_wasm_stack(limits.stack_bytes)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm).map_err(|e| {
            RuntimeError::new(
                ErrorCode::Config,
                format!("cannot create the wasm engine: {e}"),
            )
        })?;
        Ok(Runtime {
            engine,
            limits,
            abi_version: config.abi_version,
            disk: config.cache_dir.map(DiskCache::new),
            loaded: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        })
    }

    /// Validates, checks and compiles `wasm` (or finds it in a cache).
    pub fn load(&self, wasm: &[u8]) -> Result<LoadedModule, RuntimeError> {
        let key = Key::new(&self.engine, wasm);
        if let Some(shared) = self.loaded_map().get(&key) {
            bump(&self.counters.memory_hits);
            return Ok(LoadedModule {
                shared: Arc::clone(shared),
                outcome: LoadOutcome::FromMemory,
            });
        }
        let from_disk = match self.disk.as_ref().map(|d| d.read(&self.engine, &key)) {
            Some(Read::Hit(module)) => Some(module),
            Some(Read::Corrupt) => {
                bump(&self.counters.disk_corrupt);
                None
            }
            Some(Read::Miss) | None => None,
        };
        let (module, outcome) = match from_disk {
            Some(module) => (module, LoadOutcome::FromDiskCache),
            None => (self.compile(wasm)?, LoadOutcome::Compiled),
        };
        let shared = self.check(module.clone(), &key)?;
        match outcome {
            LoadOutcome::Compiled => {
                bump(&self.counters.compiled);
                self.write_artifact(&module, &key);
            }
            _ => bump(&self.counters.disk_hits),
        }
        // Two threads may have compiled the same module at once; the first
        // one in wins, so every caller shares one `Module`.
        let shared = Arc::clone(self.loaded_map().entry(key).or_insert(shared));
        Ok(LoadedModule { shared, outcome })
    }

    fn compile(&self, wasm: &[u8]) -> Result<Module, RuntimeError> {
        Module::from_binary(&self.engine, wasm).map_err(|e| {
            RuntimeError::new(
                ErrorCode::Compile,
                format!("the module does not compile: {e:#}"),
            )
        })
    }

    /// The ABI checks: imports and exports, then `abi_version()` in a
    /// sandboxed store.
    fn check(&self, module: Module, key: &Key) -> Result<Arc<Shared>, RuntimeError> {
        abi::check(&module, self.limits.memory_bytes)?;
        let pre = Linker::<Sandbox>::new(&self.engine)
            .instantiate_pre(&module)
            .map_err(|e| {
                RuntimeError::new(ErrorCode::Abi, format!("cannot link the module: {e}"))
            })?;
        let version = session::abi_version(&pre, &self.limits)?;
        if u32::try_from(version).ok() != Some(self.abi_version) {
            return Err(RuntimeError::new(
                ErrorCode::Abi,
                format!(
                    "the module has ABI version {version}, this runtime expects {}",
                    self.abi_version
                ),
            ));
        }
        Ok(Arc::new(Shared {
            pre,
            limits: self.limits,
            hash: key.hex(),
        }))
    }

    fn write_artifact(&self, module: &Module, key: &Key) {
        let Some(disk) = &self.disk else { return };
        let written = module
            .serialize()
            .is_ok_and(|bytes| disk.write(key, &bytes));
        if !written {
            bump(&self.counters.disk_write_failures);
        }
    }

    fn loaded_map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Shared>>> {
        // The map stays consistent even if a holder panicked: inserts are
        // single operations.
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets the in-memory modules (the disk cache stays), so the next
    /// `load` of each goes to disk; loaded modules keep working.
    pub fn clear_memory_cache(&self) {
        self.loaded_map().clear();
    }

    pub fn stats(&self) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            compiled: get(&self.counters.compiled),
            disk_hits: get(&self.counters.disk_hits),
            memory_hits: get(&self.counters.memory_hits),
            disk_corrupt: get(&self.counters.disk_corrupt),
            disk_write_failures: get(&self.counters.disk_write_failures),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The disk cache directory, if the disk cache is on.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.disk.as_ref().map(DiskCache::dir)
    }
}
