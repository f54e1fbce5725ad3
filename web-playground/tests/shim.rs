//! The shim driven as the page drives it (compile, prepare, batch, run the
//! module, decode), with wasmi standing in for the browser's WebAssembly:
//! the same summary lines as the interpreter behind `layak eval`, and the
//! CLI's JSON, never a panic, for bad rules, households and result blocks.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken fixture"
)]

use std::path::Path;

use layak_dsl::eval::{EvalContext, evaluate, parse_override};
use layak_dsl::record::decode_line;
use layak_playground::{Compiled, Prepared, Workspace};
use serde_json::Value as Json;

fn shipped() -> Workspace {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let mut ws = Workspace::new();
    for dir in [root.clone(), root.join("tables")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let ext = path.extension().and_then(|e| e.to_str());
            if matches!(ext, Some("lyk" | "txt")) {
                let name = path.strip_prefix(root.parent().unwrap()).unwrap();
                ws.set_file(
                    &name.to_string_lossy(),
                    &std::fs::read_to_string(&path).unwrap(),
                );
            }
        }
    }
    ws
}

fn samples() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/tests/samples.ndjson"),
    )
    .unwrap()
}

/// What the page does with `WebAssembly.instantiate`, `alloc`, `evaluate`
/// and `result_len`.
fn run(compiled: &Compiled, prepared: &Prepared) -> Json {
    let bytes = compiled.module().expect("a module");
    let engine = wasmi::Engine::default();
    let module = wasmi::Module::new(&engine, &bytes[..]).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let instance = wasmi::Linker::<()>::new(&engine)
        .instantiate_and_start(&mut store, &module)
        .unwrap();
    let memory = instance.get_memory(&store, "memory").unwrap();
    let alloc = instance
        .get_typed_func::<i32, i32>(&store, "alloc")
        .unwrap();
    let evaluate = instance
        .get_typed_func::<(i32, i32), i32>(&store, "evaluate")
        .unwrap();
    let result_len = instance
        .get_typed_func::<(), i32>(&store, "result_len")
        .unwrap();
    let batch = prepared.batch();
    let ptr = alloc.call(&mut store, batch.len() as i32).unwrap();
    memory.write(&mut store, ptr as usize, &batch).unwrap();
    let at = evaluate
        .call(&mut store, (ptr, batch.len() as i32))
        .unwrap();
    assert!(at > 0, "evaluate: {at}");
    let len = result_len.call(&mut store, ()).unwrap() as usize;
    let block = &memory.data(&store)[at as usize..at as usize + len];
    serde_json::from_str(&prepared.decode(block)).unwrap()
}

/// The lines `layak eval --format summary` writes, from the interpreter.
fn interpreter_summaries(params: &[&str]) -> Vec<String> {
    let mut sources = layak_dsl::Sources::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut names: Vec<_> = ["rules", "rules/tables"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("lyk" | "txt")))
        .collect();
    names.sort();
    for path in names {
        let name = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        sources.add(name, std::fs::read_to_string(&path).unwrap());
    }
    let (program, diagnostics) = layak_dsl::compile(&sources);
    let program = program.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let mut ctx = EvalContext::new(layak_dsl::date::Date::parse("2025-10-01").unwrap());
    for p in params {
        let (name, lit) = parse_override(&program, p).unwrap();
        ctx.overrides.insert(name, lit);
    }
    samples()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let h = decode_line(&program.schema, l).unwrap();
            serde_json::to_string(&evaluate(&program, &h, &ctx).summary()).unwrap()
        })
        .collect()
}

fn summaries(lines: &Json) -> Vec<String> {
    lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["summary"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_module_gives_the_interpreters_summary_lines() {
    let mut ws = shipped();
    let compiled = ws.compile();
    assert!(compiled.ok(), "{}", compiled.diagnostics());
    let prepared = compiled.prepare(&samples(), "2025-10-01", "{}").unwrap();
    let lines = run(&compiled, &prepared);
    assert_eq!(summaries(&lines), interpreter_summaries(&[]));
    let h1 = &lines[0]["decision"]["programmes"]["PKH"][0];
    assert_eq!(h1["amount"], 6_900_000);

    let prepared = compiled
        .prepare(&samples(), "2025-10-01", r#"{"PKH_ELDERLY_MIN_AGE": "60"}"#)
        .unwrap();
    let lines = run(&compiled, &prepared);
    assert_eq!(
        summaries(&lines),
        interpreter_summaries(&["PKH_ELDERLY_MIN_AGE=60"])
    );
}

#[test]
fn a_misspelt_field_gives_the_check_diagnostics_json() {
    let mut ws = shipped();
    let pkh =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/pkh.lyk"))
            .unwrap();
    ws.set_file(
        "rules/pkh.lyk",
        &pkh.replacen("family.desil}", "family.desl}", 1),
    );
    let compiled = ws.compile();
    assert!(!compiled.ok());
    assert!(compiled.module().is_none());
    let diagnostics: Json = serde_json::from_str(&compiled.diagnostics()).unwrap();
    let d = &diagnostics[0];
    assert_eq!(d["code"], "E0104");
    assert_eq!(d["file"], "rules/pkh.lyk");
    assert_eq!(d["snippet"], "desl");
    assert!(d["help"].as_str().unwrap().contains("`desil`"), "{d}");
    // Its quick fix, from the editor's analysis, in UTF-16 offsets.
    let edited = pkh.replacen("family.desil}", "family.desl}", 1);
    let at = (js_index(&edited, "family.desl}") + "family.".len()) as u32;
    let actions = ask(ws.code_actions("rules/pkh.lyk", at, at + 4));
    let fix = &actions[0];
    assert_eq!(fix["code"], "E0104", "{actions}");
    assert!(fix["title"].as_str().unwrap().contains("desil"), "{fix}");
    assert_eq!(fix["edits"][0]["text"], "desil");
    assert_eq!(fix["edits"][0]["from"], at);
    assert_eq!(fix["edits"][0]["to"], at + 4);
    let err = compiled
        .prepare(&samples(), "2025-10-01", "{}")
        .err()
        .unwrap();
    assert_eq!(err, r#"{"error":"the rules have errors"}"#);
}

/// The diagnostics `layak_dsl::compile` gives for the files in name order,
/// as `layak check --format json` writes them.
fn compile_from_scratch(files: &[(&str, String)]) -> String {
    let mut files = files.to_vec();
    files.sort();
    let mut sources = layak_dsl::Sources::new();
    for (name, text) in &files {
        sources.add(*name, text.as_str());
    }
    let (_, diagnostics) = layak_dsl::compile(&sources);
    let json: Vec<_> = diagnostics
        .iter()
        .map(|d| layak_dsl::diagnostic::to_json(&sources, d))
        .collect();
    serde_json::to_string(&json).unwrap()
}

#[test]
fn edits_compiled_through_the_analysis_give_what_a_fresh_compile_gives() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let mut files: Vec<(&str, String)> = Vec::new();
    let mut ws = Workspace::new();
    for name in ["schema.lyk", "common.lyk", "pkh.lyk"] {
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        let name: &str = Box::leak(format!("rules/{name}").into_boxed_str());
        ws.set_file(name, &text);
        files.push((name, text));
    }
    let step = |ws: &mut Workspace, files: &[(&str, String)]| {
        let compiled = ws.compile();
        assert_eq!(compiled.diagnostics(), compile_from_scratch(files));
        compiled.ok()
    };
    assert!(step(&mut ws, &files));
    // An edit that breaks a file, then one that mends it.
    let pkh = files[2].1.clone();
    let broken = pkh.replacen("age(m) >= PKH", "umur(m) >= PKH", 1);
    ws.set_file("rules/pkh.lyk", &broken);
    files[2].1 = broken;
    assert!(!step(&mut ws, &files));
    ws.set_file("rules/pkh.lyk", &pkh);
    files[2].1 = pkh;
    assert!(step(&mut ws, &files));
    // A new file that sorts first and declares `age` again: reported in
    // the file order `layak` reads, not in the order the files came.
    let dup = "def age(m: Member): int = 1\n".to_string();
    ws.set_file("rules/aa.lyk", &dup);
    files.push(("rules/aa.lyk", dup));
    assert!(!step(&mut ws, &files));
    ws.remove_file("rules/aa.lyk");
    files.pop();
    assert!(step(&mut ws, &files));
}

#[test]
fn bad_inputs_are_json_errors_not_panics() {
    let compiled = shipped().compile();
    for (as_of, params, want) in [
        ("2025-13-01", "{}", "is not a date"),
        ("2025-10-01", "[1]", "parameters:"),
        (
            "2025-10-01",
            r#"{"PKH_ELDERLY_MIN_AGEE": "60"}"#,
            "did you mean `PKH_ELDERLY_MIN_AGE`",
        ),
        (
            "2025-10-01",
            r#"{"PKH_ELDERLY_MIN_AGE": "sixty"}"#,
            "PKH_ELDERLY_MIN_AGE=sixty",
        ),
    ] {
        let err = compiled.prepare("", as_of, params).err().unwrap();
        let err: Json = serde_json::from_str(&err).unwrap();
        assert!(err["error"].as_str().unwrap().contains(want), "{err}");
    }
    // A malformed household is reported with its line and JSON path; the
    // others still run.
    let input = format!(
        "{}\n\n{{\"record_id\": 5}}\nnot json\n",
        samples().lines().next().unwrap()
    );
    let prepared = compiled.prepare(&input, "2025-10-01", "{}").unwrap();
    let lines = run(&compiled, &prepared);
    assert_eq!(lines[0]["line"], 1);
    assert!(lines[0]["summary"].as_str().unwrap().contains("\"H1\""));
    assert_eq!(lines[1]["line"], 3);
    assert_eq!(lines[1]["errors"][0]["path"], "$.record_id");
    assert_eq!(lines[2]["line"], 4);
    assert!(lines[2]["errors"].as_array().is_some_and(|e| !e.is_empty()));
    // A misspelt field is a malformed line with "did you mean"; a field the
    // schema does not name otherwise is counted, as `layak eval` reports it.
    let h1 = samples().lines().next().unwrap().to_string();
    let input = format!(
        "{}\n{}\n",
        h1.replacen("\"desil\": 2", "\"desl\": 2", 1),
        h1.replacen("\"housing\": {", "\"housing\": {\"colour\": 1, ", 1)
    );
    let unknown = compiled.prepare(&input, "2025-10-01", "{}").unwrap();
    let out = run(&compiled, &unknown);
    assert_eq!(out[0]["errors"][0]["path"], "$.families[0].desl");
    assert_eq!(
        out[0]["errors"][0]["message"],
        "unknown field; did you mean `desil`?"
    );
    assert!(out[1]["summary"].as_str().unwrap().contains("\"H1\""));
    assert_eq!(
        unknown.unknown_fields(),
        "1 unknown field ignored: `housing.colour` (1)"
    );
    assert_eq!(prepared.unknown_fields(), "");
    // A result block that is not one: an error, not a panic.
    for block in [&b""[..], &[0xff; 64][..], &[1, 0, 0, 0, 0, 0, 0, 0][..]] {
        let out: Json = serde_json::from_str(&prepared.decode(block)).unwrap();
        assert!(
            out["error"].as_str().unwrap().starts_with("result block"),
            "{out}"
        );
    }
}

#[test]
fn describes_params_criteria_and_schema_for_the_page() {
    let compiled = shipped().compile();
    let params: Json = serde_json::from_str(&compiled.params()).unwrap();
    let age = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "PKH_ELDERLY_MIN_AGE")
        .unwrap();
    assert_eq!(age["type"], "int");
    assert_eq!(age["entries"][0]["value"], "70");
    assert_eq!(age["entries"][0]["from"], "2021-01-01");
    let criteria: Json = serde_json::from_str(&compiled.criteria()).unwrap();
    let desil = criteria
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ruleset"] == "pkh" && c["code"] == "DESIL")
        .unwrap();
    assert_eq!(desil["file"], "rules/pkh.lyk");
    assert_eq!(desil["programme"], "PKH");
    let schema: Json = serde_json::from_str(&compiled.schema()).unwrap();
    assert_eq!(schema["root"], "Household");
    assert_eq!(schema["records"]["Household"]["key"], "record_id");
    assert!(
        schema["enums"]["Sex"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["code"] == "F")
    );
    let formatted = layak_playground::format("x.lyk", "enum   Sex { M = \"M\" }").unwrap();
    assert_eq!(formatted.trim(), "enum Sex { M = \"M\" }");
    assert!(
        layak_playground::format("x.lyk", "enum {")
            .unwrap_err()
            .contains("\"code\"")
    );
}

/// The panel's calls: `what_if` on H3 offers desil 4 for PKH (eligible,
/// Rp 2,000,000 a year), `apply_changes` writes it into the household, and
/// the changed household is PKH eligible on the module; bad input is JSON.
#[test]
fn what_if_offers_desil_4_for_h3_and_the_change_applies() {
    let compiled = shipped().compile();
    assert!(compiled.ok());
    let h3 = samples()
        .lines()
        .find(|l| l.contains("\"H3\""))
        .unwrap()
        .to_string();
    let found: Json = serde_json::from_str(&compiled.what_if(&h3, "2025-10-01", "{}", 0)).unwrap();
    let pkh = &found["programmes"]["PKH"][0]["criteria"][0];
    assert_eq!(pkh["code"], "DESIL");
    let offer = &pkh["offers"][0];
    assert_eq!(offer["changes"][0]["path"], "families[0].desil");
    assert_eq!(offer["changes"][0]["to"], 4);
    assert_eq!(offer["result"]["eligibility"], "eligible");
    assert_eq!(offer["result"]["amount"], 2_000_000);
    assert!(found["evaluations"].as_u64().unwrap() > 0);

    let changed = layak_playground::apply_changes(&h3, &offer["changes"].to_string()).unwrap();
    let changed_json: Json = serde_json::from_str(&changed).unwrap();
    assert_eq!(changed_json["families"][0]["desil"], 4);
    let prepared = compiled.prepare(&changed, "2025-10-01", "{}").unwrap();
    let lines = run(&compiled, &prepared);
    let pkh = &lines[0]["decision"]["programmes"]["PKH"][0];
    assert_eq!(pkh["eligibility"], "eligible");
    assert_eq!(pkh["amount"], 2_000_000);

    // A tiny budget is respected and said.
    let small: Json = serde_json::from_str(&compiled.what_if(&h3, "2025-10-01", "{}", 1)).unwrap();
    assert_eq!(small["programmes"]["PKH"][0]["budget_reached"], true);
    // Malformed households and bad dates are JSON, not panics.
    let bad: Json =
        serde_json::from_str(&compiled.what_if(r#"{"record_id": 5}"#, "2025-10-01", "{}", 0))
            .unwrap();
    assert!(bad["errors"].is_array(), "{bad}");
    let bad: Json = serde_json::from_str(&compiled.what_if(&h3, "someday", "{}", 0)).unwrap();
    assert!(bad["error"].is_string(), "{bad}");
    let err = layak_playground::apply_changes(&h3, r#"[{"path": "families[9].desil", "to": 4}]"#)
        .unwrap_err();
    assert!(err.contains("families[9]"), "{err}");
    assert!(layak_playground::apply_changes("nope", "[]").is_err());
}

// ---- the editor's services: UTF-16 positions over `layak_dsl::ide` ----

/// What JavaScript's `text.indexOf(needle)` gives: a UTF-16 offset.
fn js_index(text: &str, needle: &str) -> usize {
    let byte = text.find(needle).unwrap();
    text[..byte].encode_utf16().count()
}

fn ask(answer: String) -> Json {
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[test]
fn utf16_and_byte_offsets_convert_both_ways() {
    use layak_playground::{byte_to_utf16, utf16_to_byte};
    // 'é' and '—' are one UTF-16 unit (2 and 3 bytes), '💰' two (4 bytes).
    let text = "// bantuan lansia — Rp 💰 untuk ibu é\ndef x(): int = 1\n";
    let mut units = 0;
    for (byte, c) in text.char_indices() {
        assert_eq!(byte_to_utf16(text, byte), units, "byte {byte}");
        assert_eq!(utf16_to_byte(text, units), byte, "unit {units}");
        units += c.len_utf16();
    }
    assert_eq!(units, text.encode_utf16().count());
    assert_eq!(byte_to_utf16(text, text.len()), units);
    assert_eq!(utf16_to_byte(text, units), text.len());
    // Past the end is the end.
    assert_eq!(byte_to_utf16(text, text.len() + 10), units);
    assert_eq!(utf16_to_byte(text, units + 10), text.len());
    // Inside a character: its start.
    let coin = text.find('💰').unwrap();
    let coin16 = byte_to_utf16(text, coin);
    assert_eq!(
        utf16_to_byte(text, coin16 + 1),
        coin,
        "between the surrogates"
    );
    assert_eq!(
        byte_to_utf16(text, coin + 2),
        coin16,
        "inside the UTF-8 bytes"
    );
    // ASCII is the identity.
    assert_eq!(utf16_to_byte("def x", 3), 3);
    assert_eq!(byte_to_utf16("def x", 3), 3);
}

#[test]
fn hover_gives_a_parameters_value_on_the_date_and_its_source() {
    let mut ws = shipped();
    let pkh =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/pkh.lyk"))
            .unwrap();
    let at = js_index(&pkh, ">= PKH_ELDERLY_MIN_AGE") + 5;
    let hover = ask(ws.hover("rules/pkh.lyk", at as u32, "2025-10-01"));
    let markdown = hover["markdown"].as_str().unwrap();
    assert!(markdown.contains("70"), "{markdown}");
    assert!(markdown.contains("Pedoman Umum PKH 2021"), "{markdown}");
    assert_eq!(hover["file"], "rules/pkh.lyk");
    let (from, to) = (
        hover["from"].as_u64().unwrap(),
        hover["to"].as_u64().unwrap(),
    );
    assert_eq!(&pkh[from as usize..to as usize], "PKH_ELDERLY_MIN_AGE");
    // Without a date, still the dated values; a wrong date is an error.
    assert!(ask(ws.hover("rules/pkh.lyk", at as u32, ""))["markdown"].is_string());
    assert!(ask(ws.hover("rules/pkh.lyk", at as u32, "soon"))["error"].is_string());
    assert!(ask(ws.hover("rules/nope.lyk", 0, ""))["error"].is_string());
}

#[test]
fn completion_after_a_member_dot_gives_its_fields() {
    let mut ws = shipped();
    let pkh =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/pkh.lyk"))
            .unwrap();
    // `m.` typed in place of `m.sex` inside `def pkh_component(m: Member)`.
    let edited = pkh.replacen("m.sex == Sex.F", "m. == Sex.F", 1);
    ws.set_file("rules/pkh.lyk", &edited);
    let at = js_index(&edited, "m. == Sex.F") + 2;
    let items = ask(ws.completions("rules/pkh.lyk", at as u32));
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    for field in ["nik", "name", "birth_date", "sex"] {
        assert!(labels.contains(&field), "{field} in {labels:?}");
    }
    let nik = items
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == "nik")
        .unwrap();
    assert_eq!(nik["kind"], "field");
    assert_eq!(nik["from"], at);
    assert_eq!(nik["to"], at);
}

#[test]
fn definition_and_rename_answer_in_utf16_across_files() {
    let mut ws = shipped();
    // A file whose text before the names is not ASCII.
    let text =
        "// 💰 bantuan untuk lansia — é\ndef dua(): int = 2\ndef empat(): int = dua() + dua()\n";
    ws.set_file("rules/zz_emoji.lyk", text);
    let at = js_index(text, "dua() +");
    let def = ask(ws.definition("rules/zz_emoji.lyk", at as u32));
    assert_eq!(def["file"], "rules/zz_emoji.lyk");
    assert_eq!(def["from"], js_index(text, "dua(): int"));
    assert_eq!(def["to"], js_index(text, "dua(): int") + 3);
    let refs = ask(ws.references("rules/zz_emoji.lyk", at as u32));
    assert_eq!(refs.as_array().unwrap().len(), 3, "{refs}");

    // `age` in pkh.lyk goes to common.lyk; renaming it edits every file.
    let pkh =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/pkh.lyk"))
            .unwrap();
    let at = js_index(&pkh, "age(m) >= PKH_ELDERLY_MIN_AGE") as u32 + 1;
    let def = ask(ws.definition("rules/pkh.lyk", at));
    assert_eq!(def["file"], "rules/common.lyk");
    let target = ask(ws.prepare_rename("rules/pkh.lyk", at));
    assert_eq!(target["name"], "age");
    let renamed = ask(ws.rename("rules/pkh.lyk", at, "umur"));
    let edits = renamed["edits"].as_array().unwrap();
    let mut files: Vec<&str> = edits.iter().map(|e| e["file"].as_str().unwrap()).collect();
    files.dedup();
    for file in [
        "rules/common.lyk",
        "rules/integrity.lyk",
        "rules/pip.lyk",
        "rules/pkh.lyk",
    ] {
        assert!(files.contains(&file), "{file} in {files:?}");
    }
    assert!(edits.iter().all(|e| e["text"] == "umur"));
    // A name that is not one, and a place with nothing to rename, are errors.
    assert!(ask(ws.rename("rules/pkh.lyk", at, "2umur"))["error"].is_string());
    assert!(ask(ws.rename("rules/pkh.lyk", 0, "x"))["error"].is_string());
    assert!(ask(ws.prepare_rename("rules/pkh.lyk", 0)).is_null());
    // The analysis follows the workspace: a removed file is gone.
    ws.remove_file("rules/zz_emoji.lyk");
    assert!(ask(ws.definition("rules/zz_emoji.lyk", 0))["error"].is_string());
}

#[test]
fn every_position_of_the_shipped_rules_answers_json_never_a_panic() {
    let mut ws = shipped();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lyk"))
        .collect();
    names.sort();
    let mut asked = 0;
    for name in &names {
        let file = format!("rules/{name}");
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        let len = text.encode_utf16().count() as u32;
        for pos in (0..=len + 2).step_by(7) {
            // Completion checks the text again (with a marker name at the
            // cursor): asked at every thirtieth place, to keep the test short.
            let completions = if pos % 210 == 0 {
                ws.completions(&file, pos)
            } else {
                "[]".to_string()
            };
            for answer in [
                ws.hover(&file, pos, "2025-10-01"),
                completions,
                ws.definition(&file, pos),
                ws.references(&file, pos),
                ws.prepare_rename(&file, pos),
                ws.code_actions(&file, pos, pos + 3),
            ] {
                let json = ask(answer);
                assert!(json.get("error").is_none(), "{file}:{pos}: {json}");
                asked += 1;
            }
        }
    }
    // Half-typed text: pkh.lyk cut at many places, asked at its end.
    let pkh = std::fs::read_to_string(root.join("pkh.lyk")).unwrap();
    for cut in (0..pkh.len())
        .step_by(293)
        .filter(|&c| pkh.is_char_boundary(c))
    {
        let text = format!("{}\n  m.", &pkh[..cut]);
        ws.set_file("rules/pkh.lyk", &text);
        let end = text.encode_utf16().count() as u32;
        assert!(ask(ws.completions("rules/pkh.lyk", end)).is_array());
        assert!(!ask(ws.hover("rules/pkh.lyk", end - 1, "")).is_string());
        asked += 2;
    }
    assert!(asked > 500, "{asked}");
}
