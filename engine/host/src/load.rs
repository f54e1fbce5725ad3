//! Reading rule directories into [`Sources`] and compiling them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use layak_dsl::ir::Program;
use layak_dsl::{Diagnostic, Sources};

/// The files of a rules tree that a compilation reads: rule files and the
/// reference tables they name.
fn wanted(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("lyk" | "txt")
    )
}

/// Every `.lyk` and `.txt` file under the given files and directories, in a
/// stable order. Test fixtures under a `tests` directory are skipped, and so
/// are `target`, `node_modules` and hidden directories.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out)?;
        } else if path.is_file() {
            out.push(path.clone());
        } else {
            bail!("`{}` does not exist", path.display());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading `{}`", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            // Test fixtures, build output, npm packages, hidden folders.
            if path.file_name().is_some_and(|n| {
                n == "tests"
                    || n == "target"
                    || n == "node_modules"
                    || n.to_string_lossy().starts_with('.')
            }) {
                continue;
            }
            walk(&path, out)?;
        } else if wanted(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// The name a file has in diagnostics and imports: its path with `/`.
pub fn source_name(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// Reads the files into a source map. A file that is not UTF-8 is read
/// anyway: compiling it gives E0006 with where, not an I/O error.
pub fn read_sources(files: &[PathBuf]) -> Result<Sources> {
    let mut sources = Sources::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading `{}`", file.display()))?;
        sources.add_bytes(source_name(file), &bytes);
    }
    Ok(sources)
}

/// Loads and compiles a rules tree.
pub fn load_rules(paths: &[PathBuf]) -> Result<(Sources, Option<Program>, Vec<Diagnostic>)> {
    let files = collect_files(paths)?;
    if !files
        .iter()
        .any(|f| f.extension().is_some_and(|e| e == "lyk"))
    {
        bail!("no rule files (`.lyk`) found in {}", display_paths(paths));
    }
    let sources = read_sources(&files)?;
    let (program, diagnostics) = layak_dsl::compile(&sources);
    Ok((sources, program, diagnostics))
}

/// Loads rules for an evaluation: any error is fatal, with the diagnostics
/// rendered into the message.
pub fn load_program(dir: &Path) -> Result<Program> {
    let (sources, program, diagnostics) = load_rules(&[dir.to_path_buf()])?;
    match program {
        Some(p) => Ok(p),
        None => bail!(
            "the rules in `{}` have errors:\n{}",
            dir.display(),
            layak_dsl::diagnostic::render_terminal(&sources, &diagnostics, false)
        ),
    }
}

pub fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}
