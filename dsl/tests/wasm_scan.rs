//! The batch builder's scanner (`wasm/encode/scan.rs`): a household it
//! takes straight from JSON gives the same batch bytes as the decoder
//! followed by `encode_batch`, and reads back to the decoder's values; a
//! line it does not take leaves the batch as it was and is the decoder's
//! (with its exact errors). On a small schema with every kind of field, the
//! shipped rules' samples, and randomly damaged, reordered and respaced
//! samples.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken fixture"
)]

mod common;

use common::{build, context, shipped_rules, workspace};
use layak_dsl::Sources;
use layak_dsl::eval::EvalContext;
use layak_dsl::ir::Program;
use layak_dsl::record::decode_line;
use layak_dsl::wasm::{BatchBuilder, encode_batch, households_of_batch};

fn small() -> Program {
    let mut sources = Sources::new();
    sources.add(
        "schema.lyk".to_string(),
        r#"
enum Sex { M = "M", F = "F" }
enum Level { low = 1, high = 2 }
record Household key id {
  id: text
  size: int(1..20)?
  note: ignored
  tags: list<text>?
  people: list<Person>
}
record Person {
  name: text?
  born: date?
  sex: Sex?
  level: Level?
  paid: money?
  ok: bool?
  home: Home?
  counts: list<int>?
}
record Home { rooms: int? }
subject household: Household
"#
        .to_string(),
    );
    build(&sources)
}

/// Pushes every line through the scanner, and the lines it does not take
/// through the decoder; checks the batch against `encode_batch` of the
/// decoded households and reads it back. Returns how many lines the
/// scanner took and how many decoded.
fn check_lines(program: &Program, ctx: &EvalContext, lines: &[String]) -> (usize, usize) {
    let mut builder = BatchBuilder::new(program);
    let mut values = Vec::new();
    let mut taken = 0;
    for line in lines {
        let decoded = decode_line(&program.schema, line);
        if builder.push_json(line) {
            taken += 1;
            let value = decoded.unwrap_or_else(|e| panic!("scanned but malformed: {e:?}\n{line}"));
            values.push(value);
        } else if let Ok(value) = decoded {
            builder.push_value(&value);
            values.push(value);
        }
        assert_eq!(builder.len(), values.len());
    }
    let batch = builder.finish(ctx);
    assert!(
        batch == encode_batch(program, &values, ctx),
        "batch bytes differ"
    );
    assert_eq!(households_of_batch(program, &batch).unwrap(), values);
    (taken, values.len())
}

#[test]
fn small_schema_lines_scan_as_they_decode() {
    let program = small();
    let ctx = context(&program, "2025-10-01", &[]);
    let taken: Vec<String> = [
        r#"{"id": "a", "size": 3, "note": {"x": [1, 2.5, "s", null, true, -0.5]}, "tags": ["t", "u"], "people": [{"name": "Sri", "born": "1990-02-05", "sex": "F", "level": 2, "paid": -5, "ok": true, "home": {"rooms": 2}, "counts": [1, -2, 0]}, {}]}"#,
        r#"{"id":"b","people":[]}"#,
        r#"  {"id": "c", "people": [{"sex": "M", "home": null, "level": null}]}  "#,
        r#"{"id": "d", "tags": [], "people": [{"ok": false, "paid": 0, "name": "ü é 字"}]}"#,
        r#"{"size": 20, "id": "e", "people": [{"paid": -9223372036854775808, "level": 1}]}"#,
        // Brackets and commas inside strings are not the array's own.
        r#"{"id": "f", "tags": ["a,b", "]}[{,", ""], "people": [{"name": "[,]"}]}"#,
    ]
    .map(str::to_string)
    .to_vec();
    assert_eq!(check_lines(&program, &ctx, &taken), (6, 6));
    let refused: Vec<String> = [
        "",
        "[]",
        "{",
        "null",
        r#"{"id": "a", "people": []} x"#,
        r#"{"id": "a", "people": [], "hobby": 1}"#,
        r#"{"id": "a", "people": [], "Id": "b"}"#,
        r#"{"id": "a", "id": "b", "people": []}"#,
        r#"{"id": "a\n", "people": []}"#,
        r#"{"id": "a", "size": 3.0, "people": []}"#,
        r#"{"id": "a", "size": 30, "people": []}"#,
        r#"{"id": "a", "size": 01, "people": []}"#,
        r#"{"id": "a", "note": 1e3, "people": []}"#,
        r#"{"id": "a", "note": [1,], "people": []}"#,
        r#"{"id": "a", "note": "\n", "people": []}"#,
        r#"{"id": "a", "tags": ["t\"]"], "people": []}"#,
        r#"{"id": "a", "people": [null]}"#,
        r#"{"id": "a", "people": [{"sex": "X"}]}"#,
        r#"{"id": "a", "people": [{"sex": 1}]}"#,
        r#"{"id": "a", "people": [{"level": "1"}]}"#,
        r#"{"id": "a", "people": [{"born": "1990-02-30"}]}"#,
        r#"{"id": "a", "people": [{"paid": 99999999999999999999}]}"#,
        r#"{"id": "a", "people": [{"paid": 9223372036854775808}]}"#,
        r#"{"id": "a", "people": [{"paid": -9223372036854775809}]}"#,
        r#"{"id": "a", "people": [{"ok": 1}]}"#,
        r#"{"id": "a", "people": [{"counts": [1, null]}]}"#,
        r#"{"id": "a", "people": [{},]}"#,
        r#"{"id": "a", "people": [{}] ]"#,
        r#"{"people": []}"#,
        r#"{"id": null, "people": []}"#,
        r#"{"people": [], "id": "a"}"#,
    ]
    .map(str::to_string)
    .to_vec();
    for line in &refused {
        let mut builder = BatchBuilder::new(&program);
        assert!(!builder.push_json(line), "{line}");
        assert!(builder.is_empty());
    }
    // Refused lines between taken ones leave no trace in the batch.
    let mixed: Vec<String> = taken
        .iter()
        .zip(&refused)
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    let (scanned, decoded) = check_lines(&program, &ctx, &mixed);
    assert_eq!(scanned, 6);
    assert!(decoded >= 6);
}

fn samples() -> Vec<String> {
    std::fs::read_to_string(workspace().join("rules/tests/samples.ndjson"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

static RULES: std::sync::LazyLock<Program> = std::sync::LazyLock::new(shipped_rules);

#[test]
fn the_samples_scan_as_they_decode() {
    let program = &*RULES;
    let lines = samples();
    for ctx in [
        context(program, "2025-10-01", &[]),
        context(program, "2028-05-20", &[]),
    ] {
        let (taken, decoded) = check_lines(program, &ctx, &lines);
        assert_eq!(taken, lines.len(), "every sample is scanned");
        assert_eq!(decoded, lines.len());
    }
}

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

/// One edit at `pointer`: remove it, replace it by a value of any kind
/// (numbers with fractions and exponents, escapes, dates real and not),
/// add a key next to it, or reverse an object's keys.
fn damage(doc: &mut serde_json::Value, pointer: &str, op: u8, n: i64) {
    use serde_json::json;
    let parent = pointer.rsplit_once('/');
    match op {
        0 => {
            if let Some((parent, key)) = parent
                && let Some(serde_json::Value::Object(map)) = doc.pointer_mut(parent)
            {
                map.shift_remove(key);
            }
            return;
        }
        1 | 2 => {
            if let Some((parent, key)) = parent
                && let Some(serde_json::Value::Object(map)) = doc.pointer_mut(parent)
            {
                let name = if op == 1 {
                    "hobby".to_string()
                } else {
                    format!("{key}_kk")
                };
                map.insert(name, json!(n));
            }
            return;
        }
        3 => {
            if let Some(serde_json::Value::Object(map)) = doc.pointer_mut(pointer) {
                let mut entries: Vec<_> = std::mem::take(map).into_iter().collect();
                entries.reverse();
                map.extend(entries);
            }
            return;
        }
        _ => {}
    }
    let replacement = match op {
        4 => json!(null),
        5 => json!(n),
        6 => json!(n as f64 + 0.5),
        7 => json!(n as f64),
        8 => json!(format!("x\"{n}\\")),
        9 => json!(true),
        10 => json!(format!(
            "{:04}-{:02}-{:02}",
            1900 + n.rem_euclid(130),
            1 + n.rem_euclid(12),
            1 + n.rem_euclid(31)
        )),
        11 => json!([]),
        12 => json!({}),
        13 => json!(i64::MAX - n.rem_euclid(3)),
        14 => json!(n.to_string()),
        15 => json!(u64::MAX - n.unsigned_abs() % 3),
        16 => json!([n, null]),
        _ => json!("M"),
    };
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = replacement;
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

    /// Damaged samples, ten per batch, written compact, pretty or with
    /// bytes cut out: whatever the scanner takes is what the decoder gives,
    /// and the batch is byte for byte `encode_batch`'s.
    #[test]
    fn damaged_samples_scan_as_they_decode(
        batch in proptest::collection::vec(
            (
                0_usize..7,
                proptest::collection::vec((0_usize..100_000, 0_u8..18, -200_i64..200), 0..5),
                0_u8..4,
                0_usize..10_000,
            ),
            10,
        ),
    ) {
        let program = &*RULES;
        let samples = samples();
        let ctx = context(program, "2025-10-01", &[]);
        let mut lines = Vec::new();
        for (which, edits, style, cut) in batch {
            let mut doc: serde_json::Value =
                serde_json::from_str(&samples[which % samples.len()]).unwrap();
            for (at, op, n) in edits {
                let mut all = Vec::new();
                pointers(&doc, String::new(), &mut all);
                if let Some(pointer) = all.get(at % all.len()).cloned() {
                    damage(&mut doc, &pointer, op, n);
                }
            }
            let mut text = match style {
                0 | 3 => serde_json::to_string(&doc).unwrap(),
                1 => serde_json::to_string_pretty(&doc).unwrap(),
                _ => format!(" {} ", serde_json::to_string(&doc).unwrap()),
            };
            if style == 3 {
                let at = cut % text.len().max(1);
                if text.is_char_boundary(at) && text.is_char_boundary(at + 1) {
                    text.replace_range(at..at + 1, "");
                }
            }
            lines.push(text);
        }
        check_lines(program, &ctx, &lines);
    }
}
