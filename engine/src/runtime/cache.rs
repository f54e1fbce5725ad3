//! The on-disk cache of compiled modules.
//!
//! A file is named by the [`Key`] of the wasm bytes it was compiled from and
//! holds a checksummed artifact:
//!
//! ```text
//! 0..8    magic `LAYAKWC1`
//! 8..16   payload length, u64 little-endian
//! 16..48  sha256 of the payload
//! 48..    the payload: `Module::serialize` output
//! ```
//!
//! Writes go to a temporary file in the same directory and are renamed into
//! place, so readers see a whole file or none. Reading never fails: a missing,
//! truncated, corrupt or incompatible file is a miss, and the caller compiles
//! and writes it again.

use std::fmt::Write as _;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

const MAGIC: &[u8; 8] = b"LAYAKWC1";
const HEADER: usize = 48;

/// Bumped whenever the file layout or the key derivation changes.
const KEY_TAG: &[u8] = b"layak module cache v1\0";

/// The identity of a compiled module: sha256 of the wasm bytes and of
/// everything about the engine that changes the machine code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Key([u8; 32]);

impl Key {
    pub fn new(engine: &Engine, wasm: &[u8]) -> Key {
        let mut hasher = ShaHasher(Sha256::new());
        hasher.0.update(KEY_TAG);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        hasher.0.update((wasm.len() as u64).to_le_bytes());
        hasher.0.update(wasm);
        Key(hasher.0.finalize().into())
    }

    /// Lowercase hex, as used in file names.
    pub fn hex(&self) -> String {
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

/// Feeds a `Hash` implementation (wasmtime's compatibility hash) into sha256,
/// so the key does not depend on std's unspecified `DefaultHasher`.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Never used: the digest is taken from the inner state.
        0
    }
}

/// What reading the cache found.
pub enum Read {
    Hit(Module),
    Miss,
    /// A file was there but could not be used; it will be overwritten.
    Corrupt,
}

pub struct DiskCache {
    dir: PathBuf,
}

impl DiskCache {
    pub fn new(dir: PathBuf) -> DiskCache {
        DiskCache { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}.cwasm", key.hex()))
    }

    pub fn read(&self, engine: &Engine, key: &Key) -> Read {
        let Ok(bytes) = fs::read(self.path(key)) else {
            return Read::Miss;
        };
        let Some(payload) = verified_payload(&bytes) else {
            return Read::Corrupt;
        };
        match super::artifact::deserialize(engine, payload) {
            Ok(module) => Read::Hit(module),
            Err(_) => Read::Corrupt,
        }
    }

    /// Writes the artifact atomically; returns false when it could not (a
    /// read-only or full disk only costs a recompilation next time).
    pub fn write(&self, key: &Key, payload: &[u8]) -> bool {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        if fs::create_dir_all(&self.dir).is_err() {
            return false;
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!(".{}.{}.{n}.tmp", key.hex(), std::process::id()));
        let written = write_file(&tmp, payload).and_then(|()| fs::rename(&tmp, self.path(key)));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.is_ok()
    }
}

fn write_file(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    let mut file = fs::File::create(path)?;
    file.write_all(MAGIC)?;
    file.write_all(&(payload.len() as u64).to_le_bytes())?;
    file.write_all(&Sha256::digest(payload))?;
    file.write_all(payload)
}

/// The payload of a cache file, if its magic, length and checksum hold.
fn verified_payload(bytes: &[u8]) -> Option<&[u8]> {
    let (header, payload) = bytes.split_at_checked(HEADER)?;
    let (magic, rest) = header.split_at_checked(MAGIC.len())?;
    let (len, digest) = rest.split_at_checked(8)?;
    let len = u64::from_le_bytes(len.try_into().ok()?);
    let ok = magic == MAGIC
        && u64::try_from(payload.len()).ok() == Some(len)
        && Sha256::digest(payload).as_slice() == digest;
    ok.then_some(payload)
}

/// The default cache directory: `$LAYAK_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/layak`, else `~/.cache/layak`; `None` when none is set
/// (the disk cache is then off).
pub fn default_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("LAYAK_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = var("XDG_CACHE_HOME") {
        return Some(PathBuf::from(xdg).join("layak"));
    }
    var("HOME").map(|home| PathBuf::from(home).join(".cache").join("layak"))
}
