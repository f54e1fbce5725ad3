//! The rules directory as a tar archive (`POST /v1/rulesets` with
//! `content-type: application/x-tar`), read in memory into the same files
//! the JSON form carries. Nothing is unpacked to disk.
//!
//! The archive is read as `layak check DIR` reads a directory
//! (`layak_host::load::collect_files`): regular files ending `.lyk` or
//! `.txt`, except under a `tests`, `target`, `node_modules` or hidden
//! folder. Every other entry (folders, links, other files) is skipped, and
//! an archive of one folder is read as that folder, so `tar -C rules -c .`,
//! `tar -c rules` and the playground's "Download rules" store the same
//! version as the JSON upload of the same directory.

use std::io::Read as _;

use crate::store::rulesets::SourceFile;

/// The files of a tar archive, or why the archive cannot be a rules
/// directory (a message for a 422 `INVALID_REQUEST`).
pub fn read_files(bytes: &[u8]) -> Result<Vec<SourceFile>, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err("the body is gzip-compressed; send the tar archive itself \
                    (`tar -C rules -c .`, without `-z`)"
            .to_string());
    }
    let not_tar = |e: std::io::Error| format!("the body is not a tar archive: {e}");
    let mut archive = tar::Archive::new(bytes);
    let mut files = Vec::new();
    for entry in archive.entries().map_err(not_tar)? {
        let mut entry = entry.map_err(not_tar)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let raw = entry.path_bytes().into_owned();
        let Some(name) = wanted(&raw) else {
            continue;
        };
        let name = std::str::from_utf8(name)
            .map_err(|_| {
                format!(
                    "the file name `{}` in the archive is not UTF-8",
                    String::from_utf8_lossy(name).escape_debug()
                )
            })?
            .to_string();
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| format!("the archive is cut short in `{name}`: {e}"))?;
        let text = String::from_utf8(data).map_err(|e| {
            format!(
                "`{name}` is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            )
        })?;
        files.push(SourceFile { name, text });
    }
    strip_common_folder(&mut files);
    if !files.iter().any(|f| f.name.ends_with(".lyk")) {
        return Err(
            "the archive has no rule file (`.lyk`): make it inside the rules directory, \
             `tar -C rules -c .`"
                .to_string(),
        );
    }
    Ok(files)
}

/// An archive whose files all lie in one folder (the playground's
/// "Download rules" writes `rules/schema.lyk`, and so does `tar -c rules`)
/// is read as that folder, so it stores the version `tar -C rules -c .`
/// stores. Imports and tables are relative to the importing file, so only
/// the names change.
fn strip_common_folder(files: &mut [SourceFile]) {
    let folder = |name: &str| name.split_once('/').map(|(first, _)| first.to_string());
    let Some(first) = files.first().and_then(|f| folder(&f.name)) else {
        return;
    };
    if files
        .iter()
        .all(|f| folder(&f.name).as_ref() == Some(&first))
    {
        for f in files.iter_mut() {
            if let Some(rest) = f.name.strip_prefix(&format!("{first}/")) {
                f.name = rest.to_string();
            }
        }
    }
}

/// The name a kept entry has (its path without a leading `./`), or `None`
/// for an entry `layak check` would not read.
fn wanted(path: &[u8]) -> Option<&[u8]> {
    let mut name = path;
    while let Some(rest) = name.strip_prefix(b"./") {
        name = rest;
    }
    let mut parts: Vec<&[u8]> = name.split(|&b| b == b'/').collect();
    let file = parts.pop()?;
    let skipped_folder = parts.iter().any(|part| {
        matches!(*part, b"tests" | b"target" | b"node_modules") || part.starts_with(b".")
    });
    // `._name.lyk`: the resource forks a macOS `tar` adds beside each file.
    let rules_file =
        (file.ends_with(b".lyk") || file.ends_with(b".txt")) && !file.starts_with(b"._");
    (rules_file && !skipped_folder).then_some(name)
}

#[cfg(test)]
mod tests;
