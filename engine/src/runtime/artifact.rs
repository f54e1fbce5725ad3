//! The one unsafe call of the crate: turning a compiled artifact from the disk
//! cache back into a [`Module`].
//!
//! `Module::deserialize` is unsafe because wasmtime cannot check that the
//! machine code in the bytes is the code it once wrote: bytes that were
//! tampered with could run anything. It does check the header, the wasmtime
//! version and the engine's configuration itself.

use wasmtime::{Engine, Module};

/// Rebuilds a module from bytes that [`Module::serialize`] produced.
///
/// Only `cache::read` calls this, with a payload it has just verified.
#[expect(
    unsafe_code,
    reason = "wasmtime's deserialize is unsafe; the bytes are our own verified cache artifact"
)]
pub(super) fn deserialize(engine: &Engine, verified_payload: &[u8]) -> wasmtime::Result<Module> {
    // SAFETY: the payload comes from a cache file that this runtime wrote
    // with `Module::serialize` (cache::write). The file is named by the
    // sha256 of the wasm bytes and of `Engine::precompile_compatibility_hash`
    // (which covers the wasmtime version, the target and every compilation
    // setting), and its payload is accepted only when its own sha256, stored
    // in the file header, matches: a torn write, a truncated file or a flipped
    // bit is detected and recompiled rather than loaded. What remains is the
    // trust we already place in the cache directory, which must be writable
    // only by the user running `layak`, like the binary itself.
    unsafe { Module::deserialize(engine, verified_payload) }
}
