//! The register service end to end through real HTTP on a real database
//! file: the sample households (`docs/domain.md`) through proposal, verification,
//! quality control, determination and use; H5 corrected and proposed again
//! while H7 is registered; stateless evaluation against `layak eval`; the
//! OpenAPI document against the route table.

use super::serve_common;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serve_common::{Database, Server, TempDir, cli, samples};

fn statuses(server: &Server) -> BTreeMap<String, (String, Value)> {
    server
        .all_households()
        .into_iter()
        .map(|h| {
            (
                h["record_id"].as_str().unwrap().to_string(),
                (
                    h["status"].as_str().unwrap().to_string(),
                    h["reasons"].clone(),
                ),
            )
        })
        .collect()
}

/// `2025-10-01T08:15:02.123Z`: how every time in the API reads.
fn assert_time(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("a time is text: {v}"));
    let shape: String = s
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99T99:99:99.999Z", "{s}");
}

fn codes(reasons: &Value) -> Vec<String> {
    reasons["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_samples_go_through_the_whole_pipeline() {
    let dir = TempDir::new("pipeline");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);
    assert_eq!(server.get("/health").json()["status"], "ok");

    // Proposal needs an active ruleset: its schema checks the shape.
    let early = server.post_bytes("/v1/households", "application/x-ndjson", b"{}\n");
    early.assert_problem(409, "NO_ACTIVE_RULESET");
    let hash = server.load_rules();

    // 1. proposal; sending the same records again changes nothing.
    let ndjson = samples();
    let first = server
        .post_bytes("/v1/households", "application/x-ndjson", ndjson.as_bytes())
        .json();
    assert_eq!(first["stored"], 7, "{first}");
    assert_eq!(first["rejected"], 0);
    let again = server
        .post_bytes("/v1/households", "application/x-ndjson", ndjson.as_bytes())
        .json();
    assert_eq!(
        (again["stored"].clone(), again["unchanged"].clone()),
        (json!(0), json!(7))
    );
    assert!(statuses(&server).values().all(|(s, _)| s == "PROPOSED"));

    // 2. verification with the integrity rules.
    let job = server.run_job("verification", &json!({"as_of": "2025-10-01"}));
    assert_eq!(
        (job["done"].clone(), job["total"].clone()),
        (json!(7), json!(7))
    );
    assert_eq!(job["ruleset_hash"], hash.as_str());
    let s = statuses(&server);
    for id in ["H1", "H2", "H3", "H6", "H7"] {
        assert_eq!(s[id].0, "VERIFIED", "{id}: {:?}", s[id]);
    }
    assert_eq!(s["H4"].0, "RETURNED");
    assert_eq!(
        codes(&s["H4"].1),
        ["NIK_PLACEHOLDER", "DUKCAPIL_MATCH", "COMPLETENESS"]
    );
    assert_eq!(s["H4"].1["warnings"], json!(["NIK_CONSISTENCY"]));
    assert_eq!(s["H5"].0, "RETURNED");
    assert_eq!(codes(&s["H5"].1), ["ONE_LIVING_HEAD"]);
    assert_eq!(s["H6"].1["warnings"], json!(["MEMBER_NOT_LIVING"]));
    // Reasons carry messages in both languages.
    let detail = &s["H5"].1["details"][0];
    assert_eq!(detail["code"], "ONE_LIVING_HEAD");
    assert!(detail["message"]["id"].is_string() && detail["message"]["en"].is_string());

    // 3. quality control: nothing clashes yet (H5 was returned).
    server.run_job("qc", &json!({"as_of": "2025-10-01"}));
    let s = statuses(&server);
    for id in ["H1", "H2", "H3", "H6", "H7"] {
        assert_eq!(s[id].0, "QC_PASSED", "{id}");
    }

    // 4. determination for a period.
    let job = server.run_job(
        "determination",
        &json!({"period": "2025-10", "as_of": "2025-10-01"}),
    );
    assert_eq!(job["done"], 5);
    // Times are RFC 3339, dates YYYY-MM-DD, wherever a user reads them.
    for field in ["created_at", "started_at", "updated_at", "finished_at"] {
        assert_time(&job[field]);
    }
    let h1 = server.get("/v1/households/H1").json();
    assert_eq!(h1["status"], "DETERMINED");
    assert_eq!(h1["period"], "2025-10");
    let amount = |h: &Value, programme: &str| -> Vec<(bool, i64)> {
        h["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["programme"] == programme)
            .map(|d| {
                (
                    d["eligible"].as_bool().unwrap(),
                    d["amount"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(amount(&h1, "PKH"), [(true, 6_900_000)]);
    assert_eq!(amount(&h1, "SEMBAKO"), [(true, 200_000)]);
    assert_eq!(amount(&h1, "PBI_JK"), [(true, 42_000); 4]);
    let h2 = server.get("/v1/households/H2").json();
    assert_eq!(amount(&h2, "PKH"), [(true, 9_800_000)]);
    let h7 = server.get("/v1/households/H7").json();
    assert_eq!(amount(&h7, "PKH"), [(true, 1_500_000)]);
    let pip: Vec<_> = amount(&h7, "PIP").into_iter().filter(|d| d.0).collect();
    assert_eq!(pip, [(true, 375_000)]);
    let h3 = server.get("/v1/households/H3").json();
    assert_eq!(amount(&h3, "PKH"), [(false, 0)]);
    // Each decision is stamped with the ruleset, as_of and parameters.
    let d = &h1["decisions"][0];
    assert_eq!(d["ruleset_hash"], hash.as_str());
    assert_eq!(d["as_of"], "2025-10-01");
    assert_time(&h1["updated_at"]);
    for event in h1["history"].as_array().unwrap() {
        assert_time(&event["at"]);
    }
    let rulesets = server.get("/v1/rulesets").json();
    assert_time(&rulesets["rulesets"][0]["created_at"]);
    let activation = &rulesets["activations"][0];
    assert_eq!(activation["effective_from"], "2000-01-01", "{rulesets}");
    assert_time(&activation["created_at"]);
    let audit = server.get("/v1/audit?limit=5").json();
    for entry in audit["entries"].as_array().unwrap() {
        assert_time(&entry["at"]);
    }
    assert!(d["params_hash"].as_str().unwrap().len() == 64);
    // The explanation is derived again from the stored version.
    assert_eq!(h1["explanation"]["record_id"], "H1");
    assert!(h1["explanation"]["programmes"]["PKH"][0]["criteria"].is_array());
    // History: proposed, verified, passed QC, determined; each with an actor.
    let history: Vec<&str> = h1["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["PROPOSED", "VERIFIED", "QC_PASSED", "DETERMINED"]);
    assert!(
        h1["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"].as_str().unwrap().starts_with("test-admin#"))
    );

    // 5. use: the PKH list as NDJSON and as CSV.
    let list = server.get("/v1/programmes/PKH/beneficiaries?period=2025-10");
    assert_eq!(list.status, 200);
    assert!(list.content_type.starts_with("application/x-ndjson"));
    let mut pkh: Vec<(String, i64)> = list
        .text()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["as_of"], "2025-10-01", "{l}");
            (
                v["record_id"].as_str().unwrap().to_string(),
                v["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    pkh.sort();
    assert_eq!(
        pkh,
        [
            ("H1".to_string(), 6_900_000),
            ("H2".to_string(), 9_800_000),
            ("H7".to_string(), 1_500_000)
        ]
    );
    let csv = server.get("/v1/programmes/PKH/beneficiaries?period=2025-10&format=csv&region=3310");
    assert!(csv.content_type.starts_with("text/csv"));
    let lines: Vec<String> = csv.text().lines().map(str::to_string).collect();
    assert!(lines[0].starts_with("record_id,programme,period,subject"));
    assert!(lines[1].contains(",2025-10-01,"), "{lines:?}");
    assert_eq!(
        lines.len(),
        3,
        "H1 and H2 are in Klaten (3310), H7 in Boyolali: {lines:?}"
    );
    let by_accept = server.get_with(
        "/v1/programmes/PKH/beneficiaries?period=2025-10",
        ("accept", "text/csv"),
    );
    assert!(by_accept.content_type.starts_with("text/csv"));

    // 6. H5 corrected (Sarno is a child, not a second head) and proposed
    // again while H7 is registered: verification passes, QC returns it.
    let h5_line = ndjson.lines().find(|l| l.contains("\"H5\"")).unwrap();
    let mut h5: Value = serde_json::from_str(h5_line).unwrap();
    for member in h5["families"][0]["members"].as_array_mut().unwrap() {
        if member["name"] == "Sarno" {
            member["shdk"] = json!(3);
        }
    }
    let sent = server.post("/v1/households", &h5).json();
    assert_eq!(sent["stored"], 1, "{sent}");
    server.run_job("verification", &json!({"as_of": "2025-10-01"}));
    assert_eq!(statuses(&server)["H5"].0, "VERIFIED");
    server.run_job("qc", &json!({"as_of": "2025-10-01"}));
    let h5_view = server.get("/v1/households/H5").json();
    assert_eq!(h5_view["status"], "RETURNED");
    assert_eq!(codes(&h5_view["reasons"]), ["DUPLICATE_NIK_REGISTRY"]);
    // The reason is the QC rule's (rules/qc.lyk), with the other record in
    // both languages and the member it is about.
    let detail = &h5_view["reasons"]["details"][0];
    assert_eq!(detail["path"], "families[0].members[2]");
    assert_eq!(
        detail["message"]["en"],
        "this member's NIK is already active in household H7"
    );
    assert_eq!(
        detail["message"]["id"],
        "NIK anggota ini sudah aktif di rumah tangga H7"
    );
    let history: Vec<&str> = h5_view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["PROPOSED", "RETURNED", "PROPOSED", "VERIFIED", "RETURNED"]
    );
    // H7 keeps its place and its decisions.
    assert_eq!(statuses(&server)["H7"].0, "DETERMINED");
    let counts = server.get("/v1/register").json();
    assert_eq!(counts["households"]["RETURNED"], 2);
    assert_eq!(counts["households"]["DETERMINED"], 5);
}

#[test]
fn evaluate_answers_what_layak_eval_writes() {
    let dir = TempDir::new("evaluate");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);
    let no_rules = server.post(
        "/v1/evaluate",
        &json!({"household": {"record_id": "X"}, "as_of": "2025-10-01"}),
    );
    no_rules.assert_problem(409, "NO_ACTIVE_RULESET");
    let hash = server.load_rules();
    let ndjson = samples();
    let households: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cli_lines = cli(
        &["eval", "--rules", "rules", "--as-of", "2025-10-01"],
        Some(ndjson.as_bytes()),
    );
    let expected: Vec<Value> = String::from_utf8(cli_lines)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reply = server
        .post(
            "/v1/evaluate",
            &json!({"households": households, "as_of": "2025-10-01"}),
        )
        .json();
    assert_eq!(reply["ruleset"], hash.as_str());
    assert_eq!(reply["decisions"].as_array().unwrap(), &expected);

    // One household, by version number, with an explanation.
    let one = server
        .post(
            "/v1/evaluate",
            &json!({"household": households[0], "as_of": "2025-10-01", "ruleset": "1", "explain": "summary"}),
        )
        .json();
    assert_eq!(one["decisions"][0]["record_id"], "H1");
    assert!(one["decisions"][0]["explanation"]["programmes"].is_object());

    // A what-if parameter, as `layak eval --param`.
    let what_if = server
        .post(
            "/v1/evaluate",
            &json!({"household": households[2], "as_of": "2025-10-01",
                    "params": {"PKH_ELDERLY_MIN_AGE": 60}, "explain": "full"}),
        )
        .json();
    let params = what_if["decisions"][0]["params"].as_array().unwrap();
    assert!(
        params
            .iter()
            .any(|p| p["name"] == "PKH_ELDERLY_MIN_AGE" && p["overridden"] == true)
    );
    let bad_param = server.post(
        "/v1/evaluate",
        &json!({"household": households[0], "as_of": "2025-10-01", "params": {"NO_SUCH": 1}}),
    );
    bad_param.assert_problem(422, "INVALID_PARAM");

    // A malformed household: the JSON path of every error, nothing evaluated.
    let mut broken = households[0].clone();
    broken["families"][0]["members"][1]["birth_date"] = json!(19900205);
    broken["families"][0]["desil"] = json!("two");
    let reply = server.post(
        "/v1/evaluate",
        &json!({"households": [households[1], broken], "as_of": "2025-10-01"}),
    );
    reply.assert_problem(422, "INVALID_HOUSEHOLD");
    let errors = &reply.json()["errors"][0];
    assert_eq!(errors["index"], 1);
    let paths: Vec<&str> = errors["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"$.families[0].members[1].birth_date"),
        "{paths:?}"
    );
    assert!(paths.contains(&"$.families[0].desil"), "{paths:?}");

    // What-if over the stored register: the samples proposed, then the
    // report `layak impact --format json` gives on the same households.
    let nothing = server.post("/v1/impact", &json!({"as_of": "2025-10-01"}));
    nothing.assert_problem(422, "NOTHING_TO_COMPARE");
    server
        .post_bytes("/v1/households", "application/x-ndjson", ndjson.as_bytes())
        .json();
    let input = dir.path().join("samples.ndjson");
    std::fs::write(&input, &ndjson).unwrap();
    let strip = |mut report: Value| {
        let map = report.as_object_mut().unwrap();
        for key in ["as_of", "before", "after"] {
            assert!(map.remove(key).is_some(), "the report names `{key}`");
        }
        report
    };
    let cli_report: Value = serde_json::from_slice(&cli(
        &[
            "impact",
            "--rules",
            "rules",
            "--against-param",
            "PKH_ELDERLY_MIN_AGE=60",
            "--as-of",
            "2025-10-01",
            "--input",
            input.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    ))
    .unwrap();
    let reply = server
        .post(
            "/v1/impact",
            &json!({"as_of": "2025-10-01", "against_params": {"PKH_ELDERLY_MIN_AGE": 60}}),
        )
        .json();
    assert_eq!(reply["households"], 7, "{reply}");
    assert!(
        reply["after"]
            .as_str()
            .unwrap()
            .contains("PKH_ELDERLY_MIN_AGE=60")
    );
    assert_eq!(strip(reply), strip(cli_report));

    // Limited to a region: H7 alone lives in Boyolali (3309).
    let boyolali = server
        .post(
            "/v1/impact",
            &json!({"as_of": "2025-10-01", "region": "3309", "against_params": {"PKH_ELDERLY_MIN_AGE": 60}}),
        )
        .json();
    assert_eq!(boyolali["households"], 1, "{boyolali}");
}

#[test]
fn rulesets_are_versioned_diagnosed_and_activated_by_date() {
    let dir = TempDir::new("rulesets");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);
    let hash = server.load_rules();
    // The same sources again: the same version.
    let again = server.post(
        "/v1/rulesets",
        &json!({"files": serve_common::rule_files()}),
    );
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["hash"], hash.as_str());
    assert_eq!(again.json()["created"], false);

    // Broken rules: the CLI's diagnostics JSON, nothing stored.
    let mut files = serve_common::rule_files();
    let pkh = files.iter_mut().find(|f| f["name"] == "pkh.lyk").unwrap();
    let text = pkh["text"].as_str().unwrap().replacen("desil", "desli", 1);
    pkh["text"] = json!(text);
    let reply = server.post("/v1/rulesets", &json!({"files": files}));
    reply.assert_problem(422, "RULES_INVALID");
    let diagnostics = reply.json()["diagnostics"].clone();
    let first = &diagnostics[0];
    assert_eq!(first["file"], "pkh.lyk");
    assert!(first["code"].as_str().unwrap().starts_with('E'));
    assert!(first["line"].as_u64().unwrap() > 0);

    // A second version with a changed parameter default, active from 2026.
    let mut files = serve_common::rule_files();
    let pkh = files.iter_mut().find(|f| f["name"] == "pkh.lyk").unwrap();
    let text = pkh["text"].as_str().unwrap().to_string() + "\n// version two\n";
    pkh["text"] = json!(text);
    let v2 = server.post("/v1/rulesets", &json!({"files": files, "note": "v2"}));
    assert_eq!(v2.status, 201, "{}", v2.text());
    let v2 = v2.json();
    assert_eq!(v2["id"], 2);
    let r = server.post(
        "/v1/rulesets/2/activate",
        &json!({"stage": "determination", "effective_from": "2026-01-01"}),
    );
    assert_eq!(r.status, 201);
    // Hot swap: evaluations pick the version by as_of, with no restart.
    let household: Value = serde_json::from_str(samples().lines().next().unwrap()).unwrap();
    let old = server
        .post(
            "/v1/evaluate",
            &json!({"household": household, "as_of": "2025-10-01"}),
        )
        .json();
    assert_eq!(old["ruleset"], hash.as_str());
    let new = server
        .post(
            "/v1/evaluate",
            &json!({"household": household, "as_of": "2026-02-01"}),
        )
        .json();
    assert_eq!(new["ruleset"], v2["hash"]);

    let list = server.get("/v1/rulesets").json();
    assert_eq!(list["rulesets"].as_array().unwrap().len(), 2);
    // Version 1 for every stage (3), version 2 for determination (1).
    assert_eq!(list["activations"].as_array().unwrap().len(), 4);
    let short = &hash[..12];
    let shown = server.get(&format!("/v1/rulesets/{short}")).json();
    assert_eq!(shown["id"], 1);
    assert!(
        shown["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "schema.lyk")
    );
    server
        .get("/v1/rulesets/99")
        .assert_problem(404, "RULESET_NOT_FOUND");
    server
        .post(
            "/v1/rulesets/1/activate",
            &json!({"stage": "use", "effective_from": "2026-01-01"}),
        )
        .assert_problem(422, "INVALID_STAGE");
}

#[test]
fn openapi_lists_every_route_of_the_table() {
    let dir = TempDir::new("openapi");
    let missing = dir.path().join("no-playground");
    let server = Server::start(
        &Database::new(&dir, "register.db"),
        &["--playground", missing.to_str().unwrap()],
    );
    let doc = server.get("/openapi.json").json();
    for route in layak_service::http::routes::list() {
        let method = route.method.as_str().to_ascii_lowercase();
        assert!(
            doc["paths"][route.path][&method].is_object(),
            "{} {} is not in /openapi.json",
            route.method,
            route.path
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, layak_service::http::routes::list().len());
    let playground = server.get("/playground/");
    assert_eq!(playground.status, 404);
    assert!(playground.text().contains("playground is not built"));
    assert!(playground.text().contains("./scripts/playground-build"));
}

#[test]
fn the_playground_is_served_at_playground_slash_once_built() {
    use std::io::{Read as _, Write as _};
    let dir = TempDir::new("playground");
    let site = dir.path().join("site");
    // The service starts before the playground is built: a 404 page that
    // gives the command that builds it.
    let server = Server::start(
        &Database::new(&dir, "register.db"),
        &["--playground", site.to_str().unwrap()],
    );
    let missing = server.get("/playground/");
    assert_eq!(missing.status, 404);
    assert!(missing.content_type.starts_with("text/html"));
    let page = missing.text();
    assert!(
        page.contains("<pre>./scripts/playground-build</pre>"),
        "{page}"
    );
    assert!(page.contains("has no <code>index.html</code>"), "{page}");
    assert_eq!(
        server.get("/playground/layak_playground_bg.wasm").status,
        404
    );
    // Then it is built (an empty directory first, as a build in progress
    // leaves it): found on the next request, no restart.
    std::fs::create_dir_all(&site).unwrap();
    assert_eq!(server.get("/playground/").status, 404);
    std::fs::write(site.join("layak_playground_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><title>Layak</title>",
    )
    .unwrap();
    let index = server.get("/playground/");
    assert_eq!(index.status, 200);
    assert!(index.text().contains("<title>Layak</title>"));
    let wasm = server.get("/playground/layak_playground_bg.wasm");
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.content_type, "application/wasm");
    // Without the slash the page's relative URLs would miss: a redirect.
    let host = server.base.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(host).unwrap();
    write!(
        tcp,
        "GET /playground HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 308"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("location: /playground/"),
        "{answer}"
    );
    // The API still answers beside it.
    assert_eq!(server.get("/health").status, 200);
}

/// Counterfactuals through the real server: `POST /v1/evaluate` with
/// `what_if` gives what `layak eval --explain` gives, and `GET
/// /v1/households/{id}?what_if=true` what would turn the stored decision.
#[test]
fn what_if_through_evaluate_and_the_register() {
    let dir = TempDir::new("whatif");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);
    server.load_rules();
    let ndjson = samples();
    let h3 = ndjson.lines().find(|l| l.contains("\"H3\"")).unwrap();
    let household: Value = serde_json::from_str(h3).unwrap();
    let answer = server
        .post(
            "/v1/evaluate",
            &json!({"household": household, "as_of": "2025-10-01", "explain": "summary", "what_if": true}),
        )
        .json();
    let cli_line: Value = serde_json::from_slice(&cli(
        &[
            "eval",
            "--rules",
            "rules",
            "--as-of",
            "2025-10-01",
            "--explain",
        ],
        Some(format!("{h3}\n").as_bytes()),
    ))
    .unwrap();
    assert_eq!(answer["decisions"][0]["what_if"], cli_line["what_if"]);
    let offer =
        &answer["decisions"][0]["what_if"]["programmes"]["PKH"][0]["criteria"][0]["offers"][0];
    assert_eq!(offer["changes"][0]["to"], 4);
    assert_eq!(offer["result"]["amount"], 2_000_000);
    // Not asked, not paid for.
    let plain = server
        .post(
            "/v1/evaluate",
            &json!({"household": household, "as_of": "2025-10-01"}),
        )
        .json();
    assert!(plain["decisions"][0].get("what_if").is_none());
    let many: Vec<&Value> = std::iter::repeat_n(&household, 101).collect();
    server
        .post(
            "/v1/evaluate",
            &json!({"households": many, "as_of": "2025-10-01", "what_if": true}),
        )
        .assert_problem(422, "TOO_MANY_HOUSEHOLDS");

    server.post_bytes("/v1/households", "application/x-ndjson", ndjson.as_bytes());
    server.run_job("verification", &json!({"as_of": "2025-10-01"}));
    let h4 = server.get("/v1/households/H4?what_if=true").json();
    let record = h4["what_if"]["record"].as_array().unwrap();
    let cleared: Vec<(&str, &Value)> = record
        .iter()
        .map(|c| {
            (
                c["code"].as_str().unwrap(),
                &c["offers"][0]["changes"][0]["path"],
            )
        })
        .collect();
    assert_eq!(
        cleared,
        [
            ("NIK_PLACEHOLDER", &json!("families[0].members[2].nik")),
            ("DUKCAPIL_MATCH", &json!("families[0].members[2].dukcapil")),
            ("COMPLETENESS", &json!("families[0].members[0].mother_name")),
        ]
    );
    assert_eq!(
        h4["what_if"]["record_together"]["result"]["status"],
        "VERIFIED"
    );
    assert!(
        server
            .get("/v1/households/H4")
            .json()
            .get("what_if")
            .is_none()
    );
}
