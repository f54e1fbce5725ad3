//! Typed failures of the runtime: every way a module can fail to load or to
//! evaluate maps to one stable code, a one-line message and a hint.

use std::fmt;

use wasmtime::Trap;

/// The stable code of a [`RuntimeError`]. The strings never change: batch
/// reports, error files and the HTTP API count failures by them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The module trapped (out-of-bounds access, `unreachable`, division by
    /// zero, ...).
    Trap,
    /// The per-call fuel budget ran out.
    Timeout,
    /// The memory cap was hit, `alloc` returned 0, or the instance pool is full.
    Memory,
    /// The wasm call stack exceeded its limit.
    Stack,
    /// The module does not follow the ABI: imports, missing or mistyped exports,
    /// a wrong `abi_version`, a result outside memory, a negative `evaluate`.
    Abi,
    /// The bytes are not a valid WebAssembly module, or compiling them failed.
    Compile,
    /// The runtime itself could not be set up (bad limits, no virtual memory for
    /// the instance pool).
    Config,
}

impl ErrorCode {
    /// The code as written in reports: `E_TRAP`, `E_TIMEOUT`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Trap => "E_TRAP",
            ErrorCode::Timeout => "E_TIMEOUT",
            ErrorCode::Memory => "E_MEMORY",
            ErrorCode::Stack => "E_STACK",
            ErrorCode::Abi => "E_ABI",
            ErrorCode::Compile => "E_COMPILE",
            ErrorCode::Config => "E_CONFIG",
        }
    }

    /// What to do about an error of this kind, for the `help` part of a report.
    fn hint(self) -> &'static str {
        match self {
            ErrorCode::Trap => {
                "the compiled rules hit a fault; check the rules with `layak eval --engine interp` and report the module"
            }
            ErrorCode::Timeout => {
                "the evaluation used its whole instruction budget; split the batch or raise `Limits::fuel`"
            }
            ErrorCode::Memory => {
                "the evaluation needs more memory than allowed; split the batch or raise `Limits::memory_bytes`"
            }
            ErrorCode::Stack => {
                "the evaluation recursed too deeply; look for a runaway recursion or raise `Limits::stack_bytes`"
            }
            ErrorCode::Abi => {
                "the module does not follow docs/abi.md; rebuild it with the `layak` that runs it"
            }
            ErrorCode::Compile => {
                "the bytes are not a module this runtime can compile; rebuild them"
            }
            ErrorCode::Config => {
                "check the runtime limits and that the process may reserve virtual memory"
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed load or evaluation. Displays as one line:
/// `E_TIMEOUT: ... (help: ...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeError {
    kind: ErrorCode,
    message: String,
}

impl RuntimeError {
    pub(crate) fn new(kind: ErrorCode, message: impl Into<String>) -> RuntimeError {
        RuntimeError {
            kind,
            message: message.into(),
        }
    }

    /// The stable code, e.g. `"E_TIMEOUT"`.
    pub fn code(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The code as an enum, for matching.
    pub fn kind(&self) -> ErrorCode {
        self.kind
    }

    /// What went wrong, in one lowercase line.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        self.kind.hint()
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (help: {})",
            self.code(),
            self.message,
            self.hint()
        )
    }
}

impl std::error::Error for RuntimeError {}

/// Raised by the store's resource limiter when a memory would grow past the
/// cap. Returning an error (rather than refusing the growth) stops the module
/// at the `memory.grow` that asked, so a grow bomb ends at once and the
/// failure is classified exactly, whatever the module does with a refusal.
#[derive(Debug)]
pub(crate) struct MemoryCapExceeded {
    pub desired: usize,
    pub cap: usize,
}

impl fmt::Display for MemoryCapExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "memory would grow to {} bytes, over the cap of {} bytes",
            self.desired, self.cap
        )
    }
}

impl std::error::Error for MemoryCapExceeded {}

/// Turns a wasmtime failure while running export `func` into a typed error.
/// `fuel` is the budget of the call, quoted in the timeout message.
pub(crate) fn classify(err: &wasmtime::Error, func: &str, fuel: u64) -> RuntimeError {
    if let Some(cap) = err.downcast_ref::<MemoryCapExceeded>() {
        return RuntimeError::new(ErrorCode::Memory, format!("`{func}`: {cap}"));
    }
    if err
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return RuntimeError::new(
            ErrorCode::Memory,
            format!("`{func}`: every instance slot of the pool is in use ({err})"),
        );
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => RuntimeError::new(
            ErrorCode::Timeout,
            format!("`{func}` used its whole budget of {fuel} fuel units"),
        ),
        Some(Trap::Interrupt) => RuntimeError::new(
            ErrorCode::Timeout,
            format!("`{func}` was interrupted at its deadline"),
        ),
        Some(Trap::StackOverflow) => RuntimeError::new(
            ErrorCode::Stack,
            format!("`{func}` exhausted the wasm call stack"),
        ),
        Some(Trap::AllocationTooLarge) => RuntimeError::new(
            ErrorCode::Memory,
            format!("`{func}` asked for an allocation that is too large"),
        ),
        Some(trap) => RuntimeError::new(ErrorCode::Trap, format!("`{func}` trapped: {trap}")),
        None => RuntimeError::new(ErrorCode::Trap, format!("`{func}` failed: {err}")),
    }
}
