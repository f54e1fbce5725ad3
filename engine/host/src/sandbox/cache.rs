//! The on-disk cache of compiled modules.
//!
//! A module named by its [`Key`] is two files:
//!
//! - `<key>.cwasm`: the artifact exactly as `Module::serialize` wrote it, so
//!   wasmtime can map it into memory instead of copying it (and use it as the
//!   copy-on-write image of the module's data, which makes the first
//!   instantiation cheap too);
//! - `<key>.sum`: 20 bytes, the magic `LAYAKWC2`, the artifact's length (u64
//!   little-endian) and its CRC-32 (u32 little-endian). The checksum is
//!   there to find a torn write, a truncated file or a flipped bit, not an
//!   adversary (who could write a matching `.sum` as easily): whoever can
//!   write the cache directory is trusted like the binary. The sha256 it
//!   replaces was 1.3 ms of a 3 ms cache load of the shipped rules' 2.4 MB
//!   artifact; with CRC-32 `layak bench` loads it in 1.9 ms.
//!
//! Each file is written to a temporary file in the same directory and renamed
//! into place, artifact first: a file in place is never modified again, only
//! replaced, so a reader that verified an open artifact maps exactly the bytes
//! it verified. Reading never fails: a missing, truncated, corrupt or
//! mismatched pair is a miss, and the caller compiles and writes both again
//! (two writers racing on one key can at worst leave a mismatched pair, which
//! the next reader treats the same way).

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

const MAGIC: &[u8; 8] = b"LAYAKWC2";
const SUM_LEN: usize = 20;

/// Bumped whenever the file layout or the key derivation changes.
const KEY_TAG: &[u8] = b"layak module cache v3\0";

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
        crate::hex::encode(&self.0)
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

    fn path(&self, key: &Key, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", key.hex()))
    }

    pub fn read(&self, engine: &Engine, key: &Key) -> Read {
        let Ok(sum) = fs::read(self.path(key, "sum")) else {
            return Read::Miss;
        };
        let Ok(file) = fs::File::open(self.path(key, "cwasm")) else {
            return Read::Miss;
        };
        let mut crc = Crc::default();
        if std::io::copy(&mut &file, &mut crc).is_err() || sum != crc.sum() {
            return Read::Corrupt;
        }
        match super::artifact::deserialize(engine, file) {
            Ok(module) => Read::Hit(module),
            Err(_) => Read::Corrupt,
        }
    }

    /// Writes the artifact and its checksum atomically; returns false when it
    /// could not (a read-only or full disk only costs a recompilation next
    /// time).
    pub fn write(&self, key: &Key, artifact: &[u8]) -> bool {
        fs::create_dir_all(&self.dir).is_ok()
            && self.put(key, "cwasm", artifact)
            && self.put(key, "sum", &checksum(artifact))
    }

    fn put(&self, key: &Key, ext: &str, bytes: &[u8]) -> bool {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(format!(
            ".{}.{ext}.{}.{n}.tmp",
            key.hex(),
            std::process::id()
        ));
        let written = fs::File::create(&tmp)
            .and_then(|mut file| file.write_all(bytes))
            .and_then(|()| fs::rename(&tmp, self.path(key, ext)));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.is_ok()
    }
}

/// The contents of a `.sum` file for `artifact`.
fn checksum(artifact: &[u8]) -> Vec<u8> {
    let mut crc = Crc::default();
    crc.add(artifact);
    crc.sum()
}

/// The length and CRC-32 of bytes written to it (a file is checked as it
/// is read, without holding it in memory).
#[derive(Default)]
struct Crc {
    hasher: crc32fast::Hasher,
    len: u64,
}

impl Crc {
    fn add(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// The contents of the `.sum` file.
    fn sum(&self) -> Vec<u8> {
        let mut sum = Vec::with_capacity(SUM_LEN);
        sum.extend_from_slice(MAGIC);
        sum.extend_from_slice(&self.len.to_le_bytes());
        sum.extend_from_slice(&self.hasher.clone().finalize().to_le_bytes());
        sum
    }
}

impl std::io::Write for Crc {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.add(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
