//! Differential tests: the compiled module, run in-process by a small
//! wasm interpreter (wasmi), must give byte-identical decisions and
//! explanations to the reference interpreter, for the shipped rules on the
//! sample households, for every case of the evaluation corpus, for
//! randomly damaged households, and for the samples with misspelt and
//! unknown fields, in the shipped schema (every record checked) and with
//! every record declared `open`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken fixture"
)]

mod common;

use std::path::{Path, PathBuf};

use common::{Runner, add_files, build, context, same, shipped_rules, workspace};
use layak_dsl::Sources;
use layak_dsl::ir::Program;
use layak_dsl::record::decode_line;
use layak_dsl::value::Value;
use layak_dsl::wasm::compile_module;

fn samples() -> Vec<String> {
    std::fs::read_to_string(workspace().join("rules/tests/samples.ndjson"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn shipped_rules_on_the_samples() {
    let program = shipped_rules();
    let mut runner = Runner::new(&program);
    let households: Vec<Value> = samples()
        .iter()
        .map(|l| decode_line(&program.schema, l).unwrap())
        .collect();
    let mut compared = 0;
    for (as_of, overrides) in [
        ("2025-10-01", vec![]),
        ("2025-10-01", vec!["PKH_ELDERLY_MIN_AGE=60"]),
        ("2023-10-01", vec![]),
    ] {
        let ctx = context(&program, as_of, &overrides);
        compared += same(&mut runner, &program, &households, &ctx, as_of);
        // One household per batch too: the arena starts afresh each call.
        for h in &households {
            compared += same(&mut runner, &program, std::slice::from_ref(h), &ctx, as_of);
        }
    }
    assert!(compared >= 42);
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/eval")
}

fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".lyk").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

fn case_program(name: &str) -> Program {
    let dir = corpus_dir();
    let mut sources = Sources::new();
    add_files(&mut sources, &dir.join("_shared"), "", ".lyk");
    add_files(&mut sources, &dir.join("_shared/tables"), "tables", ".txt");
    let file = format!("{name}.lyk");
    sources.add(
        file.clone(),
        std::fs::read_to_string(dir.join(&file)).unwrap(),
    );
    build(&sources)
}

/// The `// run: as_of=... NAME=VALUE` lines of a case, as eval.rs reads
/// them.
fn runs(text: &str) -> Vec<(String, Vec<String>)> {
    let runs: Vec<(String, Vec<String>)> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("// run:"))
        .map(|spec| {
            let mut as_of = "2025-10-01".to_string();
            let mut overrides = Vec::new();
            for token in spec.split_whitespace() {
                match token.strip_prefix("as_of=") {
                    Some(date) => as_of = date.to_string(),
                    None => overrides.push(token.to_string()),
                }
            }
            (as_of, overrides)
        })
        .collect();
    if runs.is_empty() {
        vec![("2025-10-01".to_string(), Vec::new())]
    } else {
        runs
    }
}

#[test]
fn every_corpus_case() {
    let mut compared = 0;
    for name in case_names() {
        let program = case_program(&name);
        let mut runner = Runner::new(&program);
        let text = std::fs::read_to_string(corpus_dir().join(format!("{name}.lyk"))).unwrap();
        let households: Vec<Value> =
            std::fs::read_to_string(corpus_dir().join(format!("{name}.ndjson")))
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| decode_line(&program.schema, l).unwrap())
                .collect();
        for (as_of, overrides) in runs(&text) {
            let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
            let ctx = context(&program, &as_of, &overrides);
            compared += same(&mut runner, &program, &households, &ctx, &name);
        }
    }
    assert!(compared >= 20, "only {compared} households");
}

#[test]
fn every_module_validates() {
    wasmparser::validate(&compile_module(&shipped_rules())).unwrap();
    for name in case_names() {
        wasmparser::validate(&compile_module(&case_program(&name))).unwrap();
    }
}

/// `e ?? d` and `present(e)` on a chain of fields learn only whether the
/// chain is missing: through a missing record they read nothing, though
/// in a loop the previous element's record is still in the locals.
#[test]
fn presence_through_a_missing_record_in_a_loop() {
    let source = r#"
record Home { rooms: int? }
record Person key id { id: text  home: Home? }
record House key id { id: text  people: list<Person> }
subject house: House
subject person: Person in house.people

ruleset rooms {
  stage verification
  for each house

  criterion ROOMS warning {
    for p in house.people
    require (p.home.rooms ?? 0) > 2 and present(p.home.rooms)
    message id "{p.home.rooms ?? 0}"
    message en "{p.home.rooms ?? 0}"
  }
}
"#;
    let mut sources = Sources::new();
    sources.add("main.lyk", source);
    let program = build(&sources);
    let households: Vec<Value> = [
        r#"{"id": "A", "people": [{"id": "1", "home": {"rooms": 5}}, {"id": "2"}, {"id": "3", "home": {}}]}"#,
        r#"{"id": "B", "people": [{"id": "1"}, {"id": "2", "home": {"rooms": 3}}, {"id": "3"}]}"#,
    ]
    .iter()
    .map(|l| decode_line(&program.schema, l).unwrap())
    .collect();
    let ctx = context(&program, "2025-10-01", &[]);
    let mut runner = Runner::new(&program);
    assert_eq!(same(&mut runner, &program, &households, &ctx, "rooms"), 2);
}

/// The names of the definitions `flags` marks.
fn defs_marked(program: &Program, flags: Vec<bool>) -> Vec<&str> {
    program
        .defs
        .iter()
        .zip(flags)
        .filter(|(_, marked)| *marked)
        .map(|(d, _)| d.name.as_str())
        .collect()
}

/// The definitions the module evaluates once per argument and household:
/// the costly ones of one parameter (the NIK readings the integrity rules
/// call several times per member), not the cheap field readings.
#[test]
fn shipped_rules_share_their_costly_definitions() {
    let program = shipped_rules();
    let shared = defs_marked(&program, program.shared_defs());
    for name in [
        "nik_format_ok",
        "is_placeholder",
        "living",
        "nik_matches_member",
    ] {
        assert!(shared.contains(&name), "`{name}` is not shared: {shared:?}");
    }
    for name in ["pregnant", "school_level"] {
        assert!(!shared.contains(&name), "`{name}` is shared: {shared:?}");
    }
}

/// The cheap definitions are written in place of their calls; a list
/// walked once per household (`all_members`) and the costly ones are not.
#[test]
fn shipped_rules_inline_their_cheap_definitions() {
    let program = shipped_rules();
    let inlined = defs_marked(&program, program.inlined_defs());
    for name in ["has_text", "nik_day", "school_level", "pregnant"] {
        let listed = inlined.contains(&name);
        assert!(listed, "`{name}` is not inlined: {inlined:?}");
    }
    for name in ["all_members", "living", "nik_format_ok"] {
        assert!(!inlined.contains(&name), "`{name}` is inlined: {inlined:?}");
    }
}

// ---- damaged and randomised households ---------------------------------------

/// JSON pointers of every value in a document.
fn pointers(value: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                pointers(v, format!("{at}/{k}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// One edit at `pointer`: remove, null, replace by a value of another
/// kind or an extreme one, or duplicate an array's element (a new member
/// or family).
fn damage(doc: &mut serde_json::Value, pointer: &str, op: u8, n: i64) {
    use serde_json::json;
    if op == 0 || op >= 12 {
        if let Some((parent, key)) = pointer.rsplit_once('/')
            && let Some(serde_json::Value::Object(map)) = doc.pointer_mut(parent)
        {
            map.remove(key);
        }
        return;
    }
    if op == 11 {
        if let Some(serde_json::Value::Array(items)) = doc.pointer_mut(pointer)
            && let Some(first) = items.first().cloned()
        {
            items.push(first);
        }
        return;
    }
    let replacement = match op {
        1 => json!(null),
        2 => json!(n),
        3 => json!("x"),
        4 => json!(true),
        5 => json!(format!(
            "{:04}-{:02}-{:02}",
            1900 + n.rem_euclid(130),
            1 + n.rem_euclid(12),
            1 + n.rem_euclid(28)
        )),
        6 => json!([]),
        7 => json!(i64::MAX - n.rem_euclid(3)),
        8 => json!(n.to_string()),
        9 => json!(i64::MIN + n.rem_euclid(3)),
        _ => json!("2024-02-29"),
    };
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = replacement;
    }
}

static RULES: std::sync::LazyLock<Program> = std::sync::LazyLock::new(shipped_rules);
static SAMPLES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(samples);

thread_local! {
    static RUNNER: std::cell::RefCell<Runner> = std::cell::RefCell::new(Runner::new(&RULES));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 1000, ..Default::default() })]

    /// Damaged sample households (fields removed, nulled, changed, list
    /// elements added), ten per batch (about a third still decode), in three contexts: the module and
    /// the interpreter agree on every one that decodes.
    #[test]
    fn damaged_households_agree(
        batch in proptest::collection::vec(
            (0_usize..7, proptest::collection::vec((0_usize..100_000, 0_u8..16, -200_i64..200), 0..6)),
            10,
        ),
        context_choice in 0_u8..3,
    ) {
        let program = &*RULES;
        let mut households = Vec::new();
        for (which, edits) in batch {
            let mut doc: serde_json::Value = serde_json::from_str(&SAMPLES[which]).unwrap();
            for (at, op, n) in edits {
                let mut all = Vec::new();
                pointers(&doc, String::new(), &mut all);
                if let Some(pointer) = all.get(at % all.len()).cloned() {
                    damage(&mut doc, &pointer, op, n);
                }
            }
            if let Ok(h) = layak_dsl::record::decode_json(&program.schema, &doc) {
                households.push(h);
            }
        }
        let ctx = match context_choice {
            0 => context(program, "2025-10-01", &[]),
            1 => context(program, "2025-10-01", &["PKH_ELDERLY_MIN_AGE=60"]),
            _ => context(program, "2023-10-01", &[]),
        };
        RUNNER.with(|r| same(&mut r.borrow_mut(), program, &households, &ctx, "damaged"));
    }
}

// ---- fields the schema does not name -------------------------------------------

/// The shipped rules with every record of the schema declared `open`.
fn open_rules() -> Program {
    let mut sources = Sources::new();
    for name in [
        "common",
        "integrity",
        "nik",
        "pbi_jk",
        "pip",
        "pkh",
        "schema",
        "sembako",
    ] {
        let path = workspace().join(format!("rules/{name}.lyk"));
        let mut text = std::fs::read_to_string(path).unwrap();
        if name == "schema" {
            assert!(!text.contains("open record"));
            text = text.replace("\nrecord ", "\nopen record ");
        }
        sources.add(format!("rules/{name}.lyk"), text);
    }
    add_files(
        &mut sources,
        &workspace().join("rules/tables"),
        "rules/tables",
        ".txt",
    );
    let program = build(&sources);
    assert!(program.schema.records.iter().all(|r| r.open));
    program
}

/// Every key of every object of `value` that is a record of the schema
/// (not inside a field declared `ignored`, such as `assets`), as the JSON
/// pointer of its object, its JSON path and the key.
fn record_keys(value: &serde_json::Value, pointer: &str, path: &str, out: &mut Vec<[String; 3]>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push([pointer.to_string(), path.to_string(), k.clone()]);
                if k != "assets" {
                    record_keys(v, &format!("{pointer}/{k}"), &format!("{path}.{k}"), out);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                record_keys(v, &format!("{pointer}/{i}"), &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// `doc` with the key at `pointer` renamed (`None`: removed).
fn renamed(
    doc: &serde_json::Value,
    pointer: &str,
    key: &str,
    to: Option<&str>,
) -> serde_json::Value {
    let mut doc = doc.clone();
    let object = doc.pointer_mut(pointer).unwrap().as_object_mut().unwrap();
    let value = object.shift_remove(key).unwrap();
    if let Some(to) = to {
        object.insert(to.to_string(), value);
    }
    doc
}

/// Every field of every sample household, renamed to a slip of its name
/// (in capitals, with a word after it, or with a letter left out): with the
/// shipped schema, where every record is checked, the household is
/// malformed at the slip's path with "did you mean"; with every record
/// declared `open` it decodes exactly as without that field, the slip is
/// counted with its hint, and the module and the interpreter agree on it.
#[test]
fn misspelt_fields_in_checked_and_open_records() {
    use layak_dsl::record::{UnknownFields, decode_json, decode_json_with};
    let checked = &*RULES;
    let open = open_rules();
    let mut runner = Runner::new(&open);
    let ctx = context(&open, "2025-10-01", &[]);
    let (mut errors, mut counted, mut compared) = (0, 0, 0);
    for (i, line) in SAMPLES.iter().enumerate() {
        let doc: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut keys = Vec::new();
        record_keys(&doc, "", "$", &mut keys);
        let mut decided = Vec::new();
        for (j, [pointer, path, key]) in keys.iter().enumerate() {
            let slip = match (i + j) % 3 {
                0 => key.to_uppercase(),
                1 => format!("{key}_kk"),
                _ if key.len() >= 5 => key.chars().skip(1).collect(),
                _ => key.to_uppercase(),
            };
            let with_slip = renamed(&doc, pointer, key, Some(&slip));
            let want = format!("{path}.{slip}: unknown field; did you mean `{key}`?");
            match decode_json(&checked.schema, &with_slip) {
                Err(e) if e.iter().any(|e| e.to_string() == want) => errors += 1,
                other => panic!("{want}: got {other:?}"),
            }
            let mut unknown = UnknownFields::default();
            let got = decode_json_with(&open.schema, &with_slip, &mut unknown);
            let without = decode_json(&open.schema, &renamed(&doc, pointer, key, None));
            assert_eq!(got, without, "{path}.{slip}");
            if let Ok(value) = got {
                let tally: Vec<_> = unknown
                    .iter()
                    .map(|(p, u)| (p.to_string(), u.clone()))
                    .collect();
                assert_eq!(tally.len(), 1, "{path}.{slip}: {unknown}");
                assert_eq!(tally[0].1.hint.as_deref(), Some(key.as_str()), "{unknown}");
                counted += 1;
                decided.push(value);
            }
        }
        compared += same(&mut runner, &open, &decided, &ctx, "open records");
    }
    assert!(
        errors > 700 && counted > 600 && compared == counted,
        "{errors} {counted} {compared}"
    );
}

/// A field no record names anything like, added to every record of every
/// sample: the household decodes as before, and each is counted once.
#[test]
fn unknown_fields_are_counted_and_change_nothing() {
    use layak_dsl::record::{UnknownFields, decode_json, decode_json_with};
    let program = &*RULES;
    let mut unknown = UnknownFields::default();
    let mut added = 0;
    for line in SAMPLES.iter() {
        let doc: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut keys = Vec::new();
        record_keys(&doc, "", "$", &mut keys);
        let pointers: std::collections::BTreeSet<&String> = keys.iter().map(|[p, ..]| p).collect();
        let mut extended = doc.clone();
        for pointer in pointers {
            let object = extended
                .pointer_mut(pointer)
                .unwrap()
                .as_object_mut()
                .unwrap();
            object.insert("zz_extra".to_string(), serde_json::json!({"desl": null}));
            added += 1;
        }
        let before = decode_json(&program.schema, &doc).unwrap();
        let after = decode_json_with(&program.schema, &extended, &mut unknown).unwrap();
        assert_eq!(before, after);
    }
    assert_eq!(unknown.total(), added);
    assert!(
        unknown
            .iter()
            .all(|(p, u)| p.ends_with("zz_extra") && u.hint.is_none())
    );
    assert!(
        unknown
            .to_string()
            .contains("`families[].members[].zz_extra` ("),
        "{unknown}"
    );
}
