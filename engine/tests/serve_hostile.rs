//! Hostile rule text uploaded to the real service: the shipped rules plus
//! each case of the hostile corpus (`hostile_rules::cases`: the files of
//! `dsl/tests/corpus/hostile/` and the generated chains, brackets, `if`s,
//! ladder and string) and the larger shapes of issue 13 (a 20,000-term
//! chain, 10,000 criteria, a 1 MB string), each posted to `POST
//! /v1/rulesets`. Each answer is a problem with a code (422 `RULES_INVALID`
//! with located diagnostics, 400 for bytes that are not JSON text, 413 past
//! the body limit) or, for legitimate rules, a stored version; after each,
//! `/health` answers, and at the end the shipped rules still evaluate. The
//! compiler's queue and budget (`engine/service/src/http/compiler.rs`) are
//! tested here too: concurrent uploads while `/health` stays quick, and
//! E0907 past `--compile-budget`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::hostile_rules::{Files, cases};
use crate::serve_common::{Database, Reply, Server, TempDir, rule_files, samples};

/// `{"files": [...]}` of the shipped rules plus `extra`, written by hand so
/// that bytes that are not UTF-8 go into the JSON as they are.
fn body(extra: &Files) -> Vec<u8> {
    let mut files: Vec<Value> = rule_files();
    files.retain(|f| !extra.iter().any(|(name, _)| f["name"] == name.as_str()));
    let mut out = b"{\"files\": [".to_vec();
    for f in &files {
        out.extend(f.to_string().as_bytes());
        out.push(b',');
    }
    for (i, (name, bytes)) in extra.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend(format!("{{\"name\": {}, \"text\": ", json!(name)).as_bytes());
        match std::str::from_utf8(bytes) {
            Ok(text) => out.extend(json!(text).to_string().as_bytes()),
            Err(_) => {
                // Escape what JSON needs and keep the rest as raw bytes.
                out.push(b'"');
                for &b in bytes.iter() {
                    match b {
                        b'"' => out.extend(b"\\\""),
                        b'\\' => out.extend(b"\\\\"),
                        0..=0x1f => out.extend(format!("\\u{b:04x}").as_bytes()),
                        _ => out.push(b),
                    }
                }
                out.push(b'"');
            }
        }
        out.push(b'}');
    }
    out.extend(b"]}");
    out
}

fn upload(server: &Server, extra: &Files) -> Reply {
    server.post_bytes("/v1/rulesets", "application/json", &body(extra))
}

/// `/health` answers at once.
fn assert_alive(server: &Server, after: &str) {
    let t0 = Instant::now();
    let health = server.call(None, "GET", "/health", None);
    assert_eq!(health.status, 200, "after {after}: {}", health.text());
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "after {after}: /health took {:?}",
        t0.elapsed()
    );
}

/// One line per case: the status, the code, and each error diagnostic's
/// code and place. Asserts that every refusal is a problem with a code and
/// every diagnostic of a limit (E09xx) has a hint.
fn describe(name: &str, reply: &Reply) -> String {
    let mut line = format!("{name}: {}", reply.status);
    if reply.status == 201 || reply.status == 200 {
        return line;
    }
    let problem = reply.json();
    assert!(
        reply.content_type.starts_with("application/problem+json"),
        "{name}: {}",
        reply.content_type
    );
    let code = problem["code"].as_str().unwrap_or_default();
    write!(line, " {code}").unwrap();
    if code == "RULES_INVALID" {
        let diags = problem["diagnostics"].as_array().unwrap();
        let errors: Vec<&Value> = diags.iter().filter(|d| d["level"] == "error").collect();
        assert!(
            !errors.is_empty(),
            "{name}: 422 without an error: {problem}"
        );
        for d in errors {
            let code = d["code"].as_str().unwrap();
            assert!(d["line"].as_u64().unwrap() >= 1, "{name}: {d}");
            assert!(!d["file"].as_str().unwrap().is_empty(), "{name}: {d}");
            if code.starts_with("E09") {
                assert!(d["help"].is_string(), "{name}: a limit without a hint: {d}");
            }
            write!(
                line,
                " {code}@{}:{}:{}",
                d["file"].as_str().unwrap(),
                d["line"],
                d["column"]
            )
            .unwrap();
        }
    } else {
        // The detail without the place in the body, which moves with the
        // shipped rules' size.
        let detail = problem["detail"].as_str().unwrap_or_default();
        let detail = detail.split(" at line ").next().unwrap_or_default();
        write!(line, " ({detail})").unwrap();
    }
    line
}

/// The larger shapes of the issue, beside the corpus: each a file next to
/// the shipped rules that imports the schema.
fn issue_cases() -> Vec<(String, Files)> {
    let file = |name: &str, text: String| vec![(name.to_string(), text.into_bytes())];
    let def = |body: String| format!("import \"schema.lyk\"\ndef x(): int = {body}\n");
    let mut criteria = String::from(
        "import \"schema.lyk\"\nruleset many {\n  stage verification\n  for each household\n",
    );
    for i in 0..10_000 {
        writeln!(
            criteria,
            "  criterion C{i} blocking {{ require household.record_id != \"{i}\" message id \"t\" message en \"n\" }}"
        )
        .unwrap();
    }
    criteria.push_str("}\n");
    vec![
        (
            "chain_20000".into(),
            file("evil.lyk", def(vec!["1"; 20_000].join(" + "))),
        ),
        (
            "deep_if_20000".into(),
            file(
                "evil.lyk",
                def(format!(
                    "{}1{}",
                    "if true then ".repeat(20_000),
                    " else 0".repeat(20_000)
                )),
            ),
        ),
        ("criteria_10000".into(), file("many.lyk", criteria)),
        (
            "string_1mb".into(),
            file(
                "evil.lyk",
                def(format!("len(\"{}\")", "x".repeat(1_000_000))),
            ),
        ),
        (
            "file_2mb".into(),
            file("evil.lyk", def(format!("1{}", " ".repeat(2 << 20)))),
        ),
        (
            "self_import".into(),
            file(
                "evil.lyk",
                "import \"evil.lyk\"\nimport \"schema.lyk\"\n".into(),
            ),
        ),
        (
            "lone_surrogate".into(),
            // Not a string JSON can carry: `\ud800` alone.
            vec![("evil.lyk".into(), b"def x(): int = 1 // \\ud800".to_vec())],
        ),
        (
            "name_escapes".into(),
            file("../../etc/evil.lyk", def("1".into())),
        ),
        (
            "name_absolute".into(),
            file("/etc/evil.lyk", def("1".into())),
        ),
        ("name_nul".into(), file("evil\0.lyk", def("1".into()))),
    ]
}

#[test]
fn hostile_uploads_get_a_coded_answer_and_the_service_keeps_serving() {
    let dir = TempDir::new("serve-hostile");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);
    let hash = server.load_rules();
    let mut report = String::new();
    let mut all = cases();
    all.extend(issue_cases());
    for (name, files) in &all {
        let reply = if name == "lone_surrogate" {
            // `\ud800` as an escape in otherwise valid JSON text.
            let raw = String::from_utf8(body(files))
                .unwrap()
                .replace("\\\\ud800", "\\ud800");
            server.post_bytes("/v1/rulesets", "application/json", raw.as_bytes())
        } else {
            upload(&server, files)
        };
        writeln!(report, "{}", describe(name, &reply)).unwrap();
        match reply.status {
            200 | 201 => {}
            400 => reply.assert_problem(400, "INVALID_JSON"),
            422 => {
                let code = reply.json()["code"].as_str().unwrap().to_string();
                assert!(
                    code == "RULES_INVALID" || code == "INVALID_REQUEST",
                    "{name}: {}",
                    reply.text()
                );
            }
            other => panic!("{name}: {other} {}", reply.text()),
        }
        assert_alive(&server, name);
    }
    insta::assert_snapshot!("serve_hostile_uploads", report);

    // The issue's chain: E0901 at the place it passes the limit, with a
    // hint.
    let chain = all.iter().find(|(n, _)| n == "chain_20000").unwrap();
    let problem = upload(&server, &chain.1).json();
    let d = &problem["diagnostics"][0];
    assert_eq!(d["code"], "E0901", "{problem}");
    assert_eq!(d["file"], "evil.lyk");
    assert!(d["help"].as_str().unwrap().contains("definitions"), "{d}");

    // Memory stayed bounded: the service's peak resident size over every
    // upload above (the queue holds at most 10 rule sets at a time).
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id()));
    if let Some(peak) = status.ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
    }) {
        eprintln!("the service's peak resident memory: {} MiB", peak / 1024);
        assert!(peak < 2 << 20, "peak resident memory {peak} kB");
    }

    // The shipped rules still evaluate, as `layak eval` decides.
    let h1: Value = serde_json::from_str(samples().lines().next().unwrap()).unwrap();
    let reply = server.post(
        "/v1/evaluate",
        &json!({"household": h1, "as_of": "2025-10-01"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let decision = reply.json();
    assert_eq!(decision["ruleset"], hash.as_str());
    assert_eq!(
        decision["decisions"][0]["programmes"]["PKH"][0]["amount"],
        6_900_000
    );
}

#[test]
fn concurrent_uploads_are_queued_or_refused_while_health_answers() {
    let dir = TempDir::new("serve-hostile-queue");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);
    // Half of them the issue's chain, half legitimate rules that differ
    // (each its own module for Cranelift to compile).
    let payloads: Vec<Vec<u8>> = (0..24)
        .map(|i| {
            let text = if i % 2 == 0 {
                format!(
                    "import \"schema.lyk\"\ndef x(): int = {}\n",
                    vec!["1"; 20_000].join(" + ")
                )
            } else {
                format!("import \"schema.lyk\"\ndef x(): int = {i}\n")
            };
            body(&vec![("evil.lyk".to_string(), text.into_bytes())])
        })
        .collect();
    let replies = std::thread::scope(|s| {
        let uploads: Vec<_> = payloads
            .iter()
            .map(|payload| {
                s.spawn(|| server.post_bytes("/v1/rulesets", "application/json", payload))
            })
            .collect();
        // While they compile, the service answers at once.
        for i in 0..10 {
            assert_alive(&server, &format!("concurrent uploads ({i})"));
            std::thread::sleep(Duration::from_millis(50));
        }
        uploads
            .into_iter()
            .map(|u| u.join().unwrap())
            .collect::<Vec<_>>()
    });
    let mut counts = std::collections::BTreeMap::new();
    for (i, reply) in replies.iter().enumerate() {
        match (i % 2, reply.status) {
            (0, 422) => {
                reply.assert_problem(422, "RULES_INVALID");
                assert_eq!(reply.json()["diagnostics"][0]["code"], "E0901");
            }
            (1, 201) => {}
            (_, 503) => {
                reply.assert_problem(503, "COMPILER_BUSY");
                assert!(reply.header("retry-after").is_some(), "{}", reply.text());
            }
            (_, other) => panic!("upload {i}: {other}: {}", reply.text()),
        }
        *counts.entry(reply.status).or_insert(0) += 1;
    }
    eprintln!("24 concurrent uploads: {counts:?} (status: count)");
    assert!(
        counts.contains_key(&422) && counts.contains_key(&201),
        "{counts:?}"
    );
    server.load_rules();
    assert_alive(&server, "the queue drained");
}

#[test]
fn a_compilation_past_the_budget_is_e0907_and_a_body_past_the_limit_is_413() {
    let dir = TempDir::new("serve-hostile-budget");
    let server = Server::start(
        &Database::new(&dir, "register.db"),
        &["--compile-budget", "0", "--max-body", "300000"],
    );
    let small = "record Household key id { id: text }\nsubject household: Household\n";
    let reply = server.post(
        "/v1/rulesets",
        &json!({"files": [{"name": "small.lyk", "text": small}]}),
    );
    reply.assert_problem(422, "RULES_INVALID");
    let d = &reply.json()["diagnostics"][0];
    assert_eq!(d["code"], "E0907", "{d}");
    assert!(
        d["help"].as_str().unwrap().contains("--compile-budget"),
        "{d}"
    );
    assert_eq!(d["file"], "small.lyk", "{d}");
    assert_eq!(d["line"], 1, "{d}");
    let list = server.get("/v1/rulesets").json();
    assert_eq!(list["rulesets"].as_array().unwrap().len(), 0, "{list}");
    assert_alive(&server, "a compilation over budget");

    // A body just past the 300 KB limit: 413 before anything is compiled.
    // Just past, so that the whole request is in the socket buffers before
    // the server answers: with the shipped rules (640 KB) the server's
    // early answer and close raced the client's writing (EPIPE in ureq).
    let text = format!("// {}\n", "x".repeat(300_500));
    server
        .post(
            "/v1/rulesets",
            &json!({"files": [{"name": "big.lyk", "text": text}]}),
        )
        .assert_problem(413, "BODY_TOO_LARGE");
    assert_alive(&server, "a body over the limit");
}
