//! The diagnostics corpus: every case in `corpus/diagnostics/` (a file
//! `NAME.lyk`, or a directory `NAME/` of files) is compiled together with
//! `corpus/diagnostics/_shared/` (the schema as `schema.lyk`, and reference
//! tables) and its rendered diagnostics are snapshotted. Also: every code is
//! documented in `docs/diagnostics.md`, and the real rules check clean.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken corpus"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use layak_dsl::diagnostic::{CODES, Diagnostic, render_terminal};
use layak_dsl::{Sources, compile};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/diagnostics")
}

/// Adds every file under `dir` to `sources`, named `prefix/relative/path`.
fn add_dir(sources: &mut Sources, dir: &Path, prefix: &str) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let full = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if path.is_dir() {
            add_dir(sources, &path, &full);
        } else {
            sources.add(full, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Compiles one corpus case with the shared files; a directory case may
/// replace a shared file by having one of the same name.
fn check(case: &str) -> (Sources, Vec<Diagnostic>) {
    let mut sources = Sources::new();
    add_dir(&mut sources, &corpus_dir().join("_shared"), "");
    let file = corpus_dir().join(format!("{case}.lyk"));
    if file.is_file() {
        sources.add(
            format!("{case}.lyk"),
            std::fs::read_to_string(&file).unwrap(),
        );
    } else {
        add_dir(&mut sources, &corpus_dir().join(case), "");
    }
    let (_, diags) = compile(&sources);
    (sources, diags)
}

fn codes(diags: &[Diagnostic]) -> Vec<&'static str> {
    diags.iter().map(|d| d.code).collect()
}

/// The snapshot of a case: its codes, then the terminal rendering.
fn render(sources: &Sources, diags: &[Diagnostic]) -> String {
    format!(
        "codes: {}\n\n{}",
        codes(diags).join(" "),
        render_terminal(sources, diags, false)
    )
}

fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = if p.is_dir() {
                p.file_name()?.to_string_lossy().to_string()
            } else if p.extension().is_some_and(|e| e == "lyk") {
                p.file_stem()?.to_string_lossy().to_string()
            } else {
                return None;
            };
            (!name.starts_with('_')).then_some(name)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn corpus() {
    let names = case_names();
    assert!(names.len() >= 45, "only {} cases", names.len());
    for name in names {
        let (sources, diags) = check(&name);
        insta::assert_snapshot!(name.as_str(), render(&sources, &diags));
    }
}

/// The one diagnostic of `code` in a case.
fn only(case: &str, code: &str) -> (Sources, Diagnostic) {
    let (sources, diags) = check(case);
    let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == code).collect();
    assert_eq!(found.len(), 1, "{}", render(&sources, &diags));
    let d = found[0].clone();
    (sources, d)
}

#[test]
fn misspelt_field_suggests_the_schema_name() {
    let (sources, d) = only("field_unknown", "E0104");
    assert_eq!(sources.snippet(d.span), "desl");
    assert_eq!(d.message, "record `Family` has no field `desl`");
    assert_eq!(d.help.as_deref(), Some("did you mean `desil`?"));
}

#[test]
fn unknown_import_underlines_the_path() {
    let (sources, diags) = check("import_unknown");
    let d = diags.iter().find(|d| d.code == "E0103").unwrap();
    assert_eq!(sources.snippet(d.span), "shema.lyk");
    assert_eq!(d.help.as_deref(), Some("did you mean `schema.lyk`?"));
}

#[test]
fn name_from_another_file_asks_for_the_import() {
    let (sources, d) = only("name_not_imported", "E0101");
    assert_eq!(sources.snippet(d.span), "adult");
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("add `import \"helpers.lyk\"`"),
        "{:?}",
        d.help
    );
}

#[test]
fn int_and_money_do_not_mix() {
    let (sources, d) = only("type_int_money", "E0203");
    assert_eq!(sources.snippet(d.span), "m.income ?? Rp 0 > 0");
    assert!(
        d.help.as_deref().unwrap().contains("`Rp 0`"),
        "{:?}",
        d.help
    );
}

#[test]
fn exhaustiveness_lists_the_missing_variants() {
    let (_, diags) = check("match_not_exhaustive");
    let d = diags.iter().find(|d| d.code == "E0205").unwrap();
    assert!(
        d.message.contains("`Shdk.spouse` and `Shdk.child`"),
        "{}",
        d.message
    );
}

#[test]
fn clean_case_has_no_diagnostics() {
    let (sources, diags) = check("clean");
    assert!(diags.is_empty(), "{}", render(&sources, &diags));
}

#[test]
fn one_mistake_one_error() {
    let (sources, diags) = check("many_errors");
    assert_eq!(
        codes(&diags),
        ["E0104", "E0101", "E0106", "E0104", "E0101"],
        "{}",
        render(&sources, &diags)
    );
}

#[test]
fn every_code_is_documented() {
    let docs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/diagnostics.md"),
    )
    .unwrap();
    let documented: BTreeSet<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(str::trim)
        .collect();
    let codes: BTreeSet<&str> = CODES.iter().map(|c| c.code).collect();
    let undocumented: Vec<_> = codes.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&codes).collect();
    assert!(
        undocumented.is_empty(),
        "codes missing from docs/diagnostics.md: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/diagnostics.md documents unknown codes: {unknown:?}"
    );
}

/// The real rules and their tables, named as the CLI names them.
fn rules_sources() -> Sources {
    let mut sources = Sources::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "lyk") {
            let name = format!("rules/{}", path.file_name().unwrap().to_string_lossy());
            sources.add(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    for entry in std::fs::read_dir(dir.join("tables")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let name = format!(
                "rules/tables/{}",
                path.file_name().unwrap().to_string_lossy()
            );
            sources.add(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    sources
}

#[test]
fn rules_check_clean() {
    let sources = rules_sources();
    let (program, diags) = compile(&sources);
    assert!(
        diags.is_empty(),
        "{}",
        render_terminal(&sources, &diags, false)
    );
    let program = program.unwrap();
    assert_eq!(program.rulesets.len(), 6);
    let districts = program
        .tables
        .iter()
        .find(|t| t.name == "DISTRICTS")
        .unwrap();
    assert!(districts.contains("331001"));
    let villages = program
        .tables
        .iter()
        .find(|t| t.name == "VILLAGES")
        .unwrap();
    assert!(villages.contains("3310012001"));
    assert!(villages.codes.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(program.exprs.len(), program.types.len());
    assert_eq!(program.exprs.len(), program.spans.len());
}

#[test]
fn clean_case_follows_the_ir_contract() {
    use layak_dsl::ir::{Expr, LocalId, Per, Severity, Stage};
    let mut sources = Sources::new();
    add_dir(&mut sources, &corpus_dir().join("_shared"), "");
    let text = std::fs::read_to_string(corpus_dir().join("clean.lyk")).unwrap();
    sources.add("clean.lyk", text);
    let (program, diags) = compile(&sources);
    assert!(diags.is_empty(), "{}", render(&sources, &diags));
    let program = program.unwrap();

    // Frames: the subject chain first, then the `let`s.
    let clean = &program.rulesets[0];
    assert_eq!(clean.stage, Stage::Verification);
    assert_eq!(clean.subject_locals, [LocalId(0)]);
    assert_eq!(clean.lets[0].local, LocalId(1));
    assert!(clean.frame_size >= 3);
    let severities: Vec<Severity> = clean.criteria.iter().map(|c| c.severity).collect();
    assert_eq!(
        severities,
        [Severity::Blocking, Severity::Warning, Severity::Blocking]
    );
    let grant = &program.rulesets[1];
    assert_eq!(grant.programme.as_deref(), Some("GRANT"));
    assert_eq!(grant.subject_locals, [LocalId(0), LocalId(1)]);
    assert_eq!(grant.benefit.as_ref().unwrap().per, Per::Month);
    assert!(grant.filter.is_some());

    // Parameters are sorted by date; tables are loaded.
    let max_desil = program
        .params
        .iter()
        .find(|p| p.name == "MAX_DESIL")
        .unwrap();
    assert!(max_desil.entries[0].from < max_desil.entries[1].from);
    assert_eq!(
        program.tables[0].codes,
        ["3310012001", "3310012002", "3310022001"]
    );

    // A match maps every variant to an arm.
    let points = program.defs.iter().find(|d| d.name == "points").unwrap();
    let Some(Expr::Match {
        by_variant, arms, ..
    }) = program.expr(points.body)
    else {
        panic!("the body of `points` is a match");
    };
    assert_eq!(by_variant, &[0, 1, 2]);
    assert_eq!(arms.len(), 3);
    assert_eq!(points.frame_size, 1);

    // Every expression has a type and a span, and every reference is in range.
    assert_eq!(program.exprs.len(), program.types.len());
    assert_eq!(program.exprs.len(), program.spans.len());
}
