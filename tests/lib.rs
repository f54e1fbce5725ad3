//! Workspace-level tests (see `tests/*.rs`). The shared piece is the fuzz
//! body: the fuzz target in `fuzz/` and the property tests both call it, so
//! the smoke test runs exactly what the fuzzer runs.

use std::path::Path;

/// Parses, checks and formats arbitrary text as a rule file next to the
/// shipped schema. Must never panic.
pub fn parse_check_format(text: &str) {
    let mut sources = layak_dsl::Sources::new();
    let id = sources.add("fuzz.lyk", text);
    let (_file, _diags) = layak_dsl::syntax::parse_file(id, text);
    let _ = layak_dsl::compile(&sources);
    let _ = layak_dsl::fmt::format_source(id, text);
}

/// The shipped rule files as (name, text), for mutation-based tests.
pub fn shipped_rules() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "lyk")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                out.push((
                    format!("rules/{}", entry.file_name().to_string_lossy()),
                    text,
                ));
            }
        }
    }
    out.sort();
    out
}
