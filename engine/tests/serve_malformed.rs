//! Malformed input never gets a 500: wrong types, truncated JSON, huge
//! numbers, deep nesting, invalid UTF-8, oversized bodies and lines, bad
//! paths, queries and methods. Every answer is problem+json with a stable
//! code, and the service keeps answering.

use super::serve_common;

use serde_json::{Value, json};
use serve_common::{Database, Server, TempDir, samples};

fn deep(n: usize) -> String {
    "[".repeat(n) + &"]".repeat(n)
}

#[test]
fn bad_input_gets_problem_json_never_a_500() {
    let dir = TempDir::new("malformed");
    let server = Server::start(
        &Database::new(&dir, "register.db"),
        &["--max-body", "1000000", "--max-line", "200000"],
    );
    server.load_rules();
    let h1: Value = serde_json::from_str(samples().lines().next().unwrap()).unwrap();

    let json_endpoints = [
        "/v1/rulesets",
        "/v1/rulesets/1/activate",
        "/v1/jobs/verification",
        "/v1/jobs/qc",
        "/v1/jobs/determination",
        "/v1/evaluate",
        "/v1/impact",
    ];
    let huge_number = format!(
        r#"{{"as_of": "2025-10-01", "region": {}}}"#,
        "9".repeat(400)
    );
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", br#"{"as_of": "2025-10-"#.to_vec()),
        ("not json", b"hello".to_vec()),
        ("invalid utf-8", b"{\"as_of\": \"\xff\xfe\"}".to_vec()),
        ("wrong type", br#"{"as_of": 20251001}"#.to_vec()),
        ("array", b"[1, 2, 3]".to_vec()),
        ("null", b"null".to_vec()),
        ("huge number", huge_number.into_bytes()),
        ("deep nesting", deep(100_000).into_bytes()),
        (
            "unknown field",
            br#"{"as_of": "2025-10-01", "surprise": true}"#.to_vec(),
        ),
        ("over the limit", vec![b' '; 1_000_001]),
    ];
    for endpoint in json_endpoints {
        for (name, body) in &bodies {
            let reply = server.post_bytes(endpoint, "application/json", body);
            assert!(
                (400..500).contains(&reply.status),
                "{endpoint} {name}: {} {}",
                reply.status,
                reply.text()
            );
            assert!(
                reply.content_type.starts_with("application/problem+json"),
                "{endpoint} {name}: {}",
                reply.content_type
            );
            let problem = reply.json();
            assert!(problem["code"].is_string() && problem["status"] == reply.status);
        }
    }

    // Values of the right type but wrong content.
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "/v1/jobs/verification",
            json!({"as_of": "2025-13-01"}),
            422,
            "INVALID_DATE",
        ),
        (
            "/v1/jobs/verification",
            json!({"as_of": "2025-10-01", "region": "33x"}),
            422,
            "INVALID_REGION",
        ),
        (
            "/v1/jobs/verification",
            json!({"as_of": "2025-10-01", "ruleset": "77"}),
            404,
            "RULESET_NOT_FOUND",
        ),
        (
            "/v1/jobs/determination",
            json!({"period": "", "as_of": "2025-10-01"}),
            422,
            "INVALID_PERIOD",
        ),
        (
            "/v1/jobs/determination",
            json!({"period": "2025/10", "as_of": "2025-10-01"}),
            422,
            "INVALID_PERIOD",
        ),
        (
            "/v1/jobs/determination",
            json!({"period": "2025-10", "as_of": "2025-10-01", "params": {"PKH_MAX_COMPONENTS": "many"}}),
            422,
            "INVALID_PARAM",
        ),
        (
            "/v1/evaluate",
            json!({"as_of": "2025-10-01"}),
            422,
            "INVALID_REQUEST",
        ),
        (
            "/v1/evaluate",
            json!({"household": h1, "households": [h1], "as_of": "2025-10-01"}),
            422,
            "INVALID_REQUEST",
        ),
        (
            "/v1/evaluate",
            json!({"household": {"record_id": 5}, "as_of": "2025-10-01"}),
            422,
            "INVALID_HOUSEHOLD",
        ),
        (
            "/v1/evaluate",
            json!({"household": h1, "as_of": "yesterday"}),
            422,
            "INVALID_DATE",
        ),
        (
            "/v1/evaluate",
            json!({"household": h1, "as_of": "2025-10-01", "explain": "all"}),
            422,
            "INVALID_REQUEST",
        ),
        (
            "/v1/impact",
            json!({"as_of": "2025-10-01"}),
            422,
            "NOTHING_TO_COMPARE",
        ),
        ("/v1/rulesets", json!({"files": []}), 422, "INVALID_REQUEST"),
        (
            "/v1/rulesets",
            json!({"files": [{"name": "a.lyk", "text": "ruleset {"}]}),
            422,
            "RULES_INVALID",
        ),
        (
            "/v1/rulesets/1/activate",
            json!({"stage": "verification", "effective_from": "01-01-2025"}),
            422,
            "INVALID_DATE",
        ),
    ];
    for (endpoint, body, status, code) in cases {
        server.post(endpoint, &body).assert_problem(status, code);
    }
    let mut wide = h1.clone();
    wide["families"][0]["members"][0]["nik"] = json!(1e308);
    wide["families"][0]["desil"] = json!(123_456_789_012_345_678_u64);
    server
        .post(
            "/v1/evaluate",
            &json!({"household": wide, "as_of": "2025-10-01"}),
        )
        .assert_problem(422, "INVALID_HOUSEHOLD");

    // Proposal: one bad household as JSON is refused with every path...
    let mut bad = h1.clone();
    bad["families"][0]["members"][0]["sex"] = json!("X");
    bad["families"][0]["members"][1]["birth_date"] = json!(true);
    let reply = server.post("/v1/households", &bad);
    reply.assert_problem(422, "INVALID_HOUSEHOLD");
    let paths: Vec<String> = reply.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    // ...and an NDJSON stream keeps its good lines and lists the bad ones.
    let mut stream = Vec::new();
    stream.extend_from_slice(samples().lines().next().unwrap().as_bytes());
    stream.extend_from_slice(b"\n{\"record_id\": \"T1\", \"families\": \n");
    stream.extend_from_slice(b"\xff\xfe\xfd\n");
    stream.extend_from_slice(deep(5000).as_bytes());
    stream.extend_from_slice(b"\n\n   \n");
    stream.extend_from_slice(format!("{{\"pad\": \"{}\"}}\n", "x".repeat(300_000)).as_bytes());
    stream.extend_from_slice(br#"{"record_id": "T2", "region": {"desa_code": 3310012001}}"#);
    let reply = server.post_bytes("/v1/households", "application/x-ndjson", &stream);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let result = reply.json();
    assert_eq!(result["stored"], 1, "{result}");
    assert_eq!(result["rejected"], 5, "{result}");
    let lines: Vec<i64> = result["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4, 7, 8]);
    let job = result["job_id"].as_i64().unwrap();
    let errors = server.get(&format!("/v1/jobs/{job}/errors")).json();
    assert_eq!(errors.as_array().unwrap().len(), 5);
    assert!(
        errors.to_string().contains("$.region.desa_code"),
        "{errors}"
    );

    // Paths, queries, methods and unknown routes.
    server.get("/v1/jobs/abc").assert_problem(404, "NOT_FOUND");
    server
        .get("/v1/jobs/99999999999999999999")
        .assert_problem(404, "NOT_FOUND");
    server
        .get("/v1/jobs/424242")
        .assert_problem(404, "JOB_NOT_FOUND");
    server
        .get("/v1/households/%FF%FE")
        .assert_problem(400, "INVALID_PATH");
    server
        .get("/v1/households/nope")
        .assert_problem(404, "HOUSEHOLD_NOT_FOUND");
    server
        .get("/v1/households?status=LOST")
        .assert_problem(422, "INVALID_STATUS");
    server
        .get("/v1/households?limit=0")
        .assert_problem(422, "INVALID_LIMIT");
    server
        .get("/v1/households?limit=ten")
        .assert_problem(400, "INVALID_QUERY");
    server
        .get("/v1/programmes/PKH/beneficiaries")
        .assert_problem(400, "INVALID_QUERY");
    server
        .get("/v1/programmes/PKH/beneficiaries?period=2025-10&format=xml")
        .assert_problem(422, "INVALID_FORMAT");
    server
        .get("/v1/programmes/PKH/beneficiaries?period=2025-10&region=33%25")
        .assert_problem(422, "INVALID_REGION");
    server.get("/v1/nothing").assert_problem(404, "NOT_FOUND");
    server
        .method("DELETE", "/v1/rulesets")
        .assert_problem(405, "METHOD_NOT_ALLOWED");
    server
        .method("PUT", "/v1/evaluate")
        .assert_problem(405, "METHOD_NOT_ALLOWED");
    server
        .post("/v1/jobs/424242/cancel", &json!({}))
        .assert_problem(404, "JOB_NOT_FOUND");
    let done = server.run_job("qc", &json!({"as_of": "2025-10-01"}));
    server
        .post(&format!("/v1/jobs/{}/cancel", done["id"]), &json!({}))
        .assert_problem(409, "JOB_ENDED");

    // Still healthy after all of it.
    assert_eq!(server.get("/health").json()["status"], "ok");
}

/// A household a stage job cannot decide is recorded with its stable code,
/// and the job goes on: a stored record that does not fit the job's ruleset
/// (`INVALID_HOUSEHOLD` with the JSON path), and one the sandbox stops
/// (`E_TIMEOUT` with its hint). `GET /v1/jobs/{id}/errors` shows both.
#[test]
fn stage_job_errors_keep_their_code_and_path() {
    let dir = TempDir::new("job-errors");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);
    server.load_rules();
    let stored = server.post_bytes(
        "/v1/households",
        "application/x-ndjson",
        samples().as_bytes(),
    );
    assert_eq!(stored.json()["stored"], 7, "{}", stored.text());

    // Version 2: the shipped rules with a schema in which `region.rt`
    // is a number, so every stored record fails to decode at that path.
    let files: Vec<Value> = serve_common::rule_files()
        .into_iter()
        .map(|mut f| {
            if f["name"] == "schema.lyk" {
                let text = f["text"].as_str().unwrap().replace("rt: text?", "rt: int?");
                f["text"] = json!(text);
            }
            f
        })
        .collect();
    let v2 = server.post("/v1/rulesets", &json!({"files": files}));
    assert_eq!(v2.status, 201, "{}", v2.text());
    let job = server.run_job(
        "verification",
        &json!({"as_of": "2025-10-01", "ruleset": v2.json()["id"].to_string()}),
    );
    assert_eq!(job["errors"], 7, "{job}");
    let errors = server.get(&format!("/v1/jobs/{}/errors", job["id"])).json();
    let first = &errors[0];
    assert_eq!(first["record_id"], "H1", "{errors}");
    assert_eq!(first["errors"][0]["code"], "INVALID_HOUSEHOLD", "{errors}");
    assert_eq!(first["errors"][0]["path"], "$.region.rt", "{errors}");

    // Version 3: a rule cubic in the members. A household of 600 members
    // runs out of fuel; the other records of its batch are verified.
    let mut files = serve_common::rule_files();
    files.push(json!({"name": "cubic.lyk", "text": r#"import "schema.lyk"
ruleset cubic {
  stage verification
  for each household
  criterion CUBIC warning {
    require count(a in household.families.members where count(b in household.families.members where count(c in household.families.members where a.name == c.name) > 0) > 0) >= 0
    message id "kubik"
    message en "cubic"
  }
}
"#}));
    let v3 = server.post("/v1/rulesets", &json!({"files": files}));
    assert_eq!(v3.status, 201, "{}", v3.text());
    let mut huge: Value = serde_json::from_str(samples().lines().next().unwrap()).unwrap();
    let members = huge["families"][0]["members"].as_array().unwrap().clone();
    huge["families"][0]["members"] = json!(
        members
            .iter()
            .cycle()
            .take(600)
            .cloned()
            .collect::<Vec<_>>()
    );
    huge["record_id"] = json!("HUGE");
    let sent = server.post("/v1/households", &huge);
    assert_eq!(sent.json()["stored"], 1, "{}", sent.text());
    let job = server.run_job(
        "verification",
        &json!({"as_of": "2025-10-01", "ruleset": v3.json()["id"].to_string()}),
    );
    assert_eq!(job["errors"], 1, "{job}");
    assert_eq!(job["done"], 7, "{job}");
    let errors = server.get(&format!("/v1/jobs/{}/errors", job["id"])).json();
    assert_eq!(errors[0]["record_id"], "HUGE", "{errors}");
    assert_eq!(errors[0]["errors"][0]["code"], "E_TIMEOUT", "{errors}");
    assert!(errors[0]["errors"][0]["hint"].is_string(), "{errors}");
    assert_eq!(server.get("/v1/households/H1").json()["status"], "VERIFIED");
}
