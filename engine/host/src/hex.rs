//! Lowercase hex of bytes: content hashes in file names, ruleset hashes,
//! token secrets and their hashes.

use std::fmt::Write as _;

pub fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
