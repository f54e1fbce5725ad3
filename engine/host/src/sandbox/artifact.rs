//! The one unsafe call of the crate: turning a compiled artifact from the disk
//! cache back into a [`Module`].
//!
//! `Module::deserialize_open_file` is unsafe because wasmtime cannot check
//! that the machine code in a file is the code it once wrote (bytes that were
//! tampered with could run anything), and because it maps the file: the file
//! must not change while the module lives. It does check the header, the
//! wasmtime version and the engine's configuration itself.

use std::fs::File;

use wasmtime::{Engine, Module};

/// Maps a module from an open artifact whose contents were just verified.
///
/// Only `cache::DiskCache::read` calls this.
#[expect(
    unsafe_code,
    reason = "wasmtime's deserialize is unsafe; the file is our own verified cache artifact"
)]
pub(super) fn deserialize(engine: &Engine, verified: File) -> wasmtime::Result<Module> {
    // SAFETY: `verified` is an open `.cwasm` file of the cache that this
    // runtime wrote with `Module::serialize` (cache.rs). Its name is the
    // sha256 of the wasm bytes and of `Engine::precompile_compatibility_hash`
    // (the wasmtime version, the target and every compilation setting), and
    // the caller has just read it through this same handle and compared its
    // length and CRC-32 with the `.sum` file written alongside: a torn write,
    // a truncated file or a flipped bit is recompiled rather than loaded.
    // Cache files are only ever replaced by renaming a new file over them,
    // never written in place, so the inode behind this handle keeps the
    // verified bytes for as long as the mapping lives. What remains is the
    // trust we already place in the cache directory, which must be writable
    // only by the user running `layak`, like the binary itself.
    unsafe { Module::deserialize_open_file(engine, verified) }
}
