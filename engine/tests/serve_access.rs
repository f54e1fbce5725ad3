//! Access control, audit and personal data, end to end on one server:
//! the samples through the pipeline as the roles that do each stage; a
//! matrix over every route of the route table and every role (allowed,
//! forbidden, out of scope), which fails when a route or a role has no
//! expectation; cross-region reads, updates, exports, jobs and evaluations;
//! masked exports for partners; revocation; the audit trail and its
//! tamper detection; and a scan of the service's trace-level log for any
//! NIK, family card or name of the input.

use super::serve_common;

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::{Value, json};
use serve_common::{BIN, Database, Server, TempDir, create_token, root, rule_files, samples};

#[path = "serve_access/matrix.rs"]
mod matrix;

use matrix::{Ctx, ROLES, Tokens, first_sample};

/// Every NIK, family card number and name of the input.
fn personal_data(ndjson: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in ndjson.lines() {
        let h: Value = serde_json::from_str(line).unwrap();
        for family in h["families"].as_array().unwrap() {
            out.push(family["kk_number"].as_str().unwrap().to_string());
            for m in family["members"].as_array().unwrap() {
                out.push(m["nik"].as_str().unwrap().to_string());
                out.push(m["name"].as_str().unwrap().to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether `word` occurs in `text` not as part of a longer word or number.
fn occurs(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn layak(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .current_dir(root())
        .args(args)
        .output()
        .expect("run layak");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn roles_scopes_audit_and_personal_data() {
    let engine_roles: Vec<&str> = layak_service::http::auth::Role::ALL
        .iter()
        .map(|r| r.name())
        .collect();
    assert_eq!(
        engine_roles, ROLES,
        "every role needs its expectations here"
    );

    let dir = TempDir::new("access");
    let db = Database::new(&dir, "register.db");
    let log = dir.path().join("service.log");
    let mut server = Server::start_logged(&db, &[], Some(&log));
    let token = |role: &str, region: Option<&str>, programme: Option<&str>, name: &str| {
        create_token(&db, role, region, programme, name)
    };
    let mut by_role = BTreeMap::new();
    by_role.insert("admin", server.token.clone());
    by_role.insert(
        "policy_author",
        token("policy_author", None, None, "author"),
    );
    by_role.insert(
        "ministry_reviewer",
        token("ministry_reviewer", None, None, "kemensos"),
    );
    by_role.insert(
        "district_operator",
        token("district_operator", Some("3310"), None, "klaten"),
    );
    by_role.insert(
        "programme_partner",
        token("programme_partner", None, Some("PKH"), "pkh-partner"),
    );
    by_role.insert("auditor", token("auditor", None, None, "auditor"));
    let tokens = Tokens {
        by_role,
        boyolali: token("district_operator", Some("3309"), None, "boyolali"),
        partner_boyolali: token(
            "programme_partner",
            Some("3309"),
            Some("PKH"),
            "pkh-boyolali",
        ),
        author_boyolali: token("policy_author", Some("3309"), None, "author-boyolali"),
    };
    // Scopes a role does not take are refused at creation.
    let (ok, err) = layak(&[
        "token",
        "create",
        "--role",
        "district_operator",
        "--database",
        db.arg(),
    ]);
    assert!(!ok && err.contains("needs --region"), "{err}");

    // The pipeline, each stage by the role that does it.
    let s = &server;
    let author = tokens.role("policy_author");
    let created = s.post_as(author, "/v1/rulesets", &json!({"files": rule_files()}));
    assert_eq!(created.status, 201, "{}", created.text());
    for stage in ["verification", "qc", "determination"] {
        let r = s.post_as(
            author,
            "/v1/rulesets/1/activate",
            &json!({"stage": stage, "effective_from": "2000-01-01"}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let ndjson = samples();
    let klaten = tokens.role("district_operator");
    let upload = s
        .call(
            Some(klaten),
            "POST",
            "/v1/households",
            Some(("application/x-ndjson", ndjson.as_bytes())),
        )
        .json();
    // H7 lives in Boyolali: out of the Klaten operator's scope.
    assert_eq!(
        (upload["stored"].clone(), upload["rejected"].clone()),
        (json!(6), json!(1)),
        "{upload}"
    );
    assert_eq!(upload["errors"][0]["record_id"], "H7");
    let upload = s
        .call(
            Some(&tokens.boyolali),
            "POST",
            "/v1/households",
            Some(("application/x-ndjson", ndjson.as_bytes())),
        )
        .json();
    assert_eq!(
        (upload["stored"].clone(), upload["rejected"].clone()),
        (json!(1), json!(6)),
        "{upload}"
    );
    let job = s
        .post_as(
            klaten,
            "/v1/jobs/verification",
            &json!({"as_of": "2025-10-01"}),
        )
        .json();
    let klaten_job = job["id"].as_i64().unwrap();
    assert_eq!(job["params"]["region"], "3310");
    assert_eq!(s.wait_job_as(klaten, klaten_job)["done"], 6);
    let job = s
        .post_as(
            &tokens.boyolali,
            "/v1/jobs/verification",
            &json!({"as_of": "2025-10-01"}),
        )
        .json();
    assert_eq!(
        s.wait_job_as(&tokens.boyolali, job["id"].as_i64().unwrap())["done"],
        1
    );
    let reviewer = tokens.role("ministry_reviewer");
    let job = s
        .post_as(reviewer, "/v1/jobs/qc", &json!({"as_of": "2025-10-01"}))
        .json();
    s.wait_job_as(reviewer, job["id"].as_i64().unwrap());
    let job = s
        .post_as(
            reviewer,
            "/v1/jobs/determination",
            &json!({"period": "2025-10", "as_of": "2025-10-01"}),
        )
        .json();
    assert_eq!(
        s.wait_job_as(reviewer, job["id"].as_i64().unwrap())["done"],
        5
    );
    // Events name the token that acted.
    let h1 = s.get("/v1/households/H1").json();
    let actors: Vec<&str> = h1["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors.len(), 4);
    assert!(
        actors[0].starts_with("klaten#") && actors[1].starts_with("klaten#"),
        "{actors:?}"
    );
    assert!(
        actors[2].starts_with("kemensos#") && actors[3].starts_with("kemensos#"),
        "{actors:?}"
    );

    // Exports: the ministry sees subjects in full, a partner masked.
    let full = s
        .get_as(reviewer, "/v1/programmes/PKH/beneficiaries?period=2025-10")
        .text();
    assert!(full.contains("\"subject\":\"3310011203150001\""), "{full}");
    let partner = tokens.role("programme_partner");
    let masked = s
        .get_as(partner, "/v1/programmes/PKH/beneficiaries?period=2025-10")
        .text();
    assert_eq!(masked.lines().count(), 3);
    assert!(
        masked.contains("\"subject\":\"3310********0001\""),
        "{masked}"
    );
    let csv = s
        .get_as(
            partner,
            "/v1/programmes/PKH/beneficiaries?period=2025-10&format=csv",
        )
        .text();
    assert!(
        csv.contains(",3310********0001,") && !csv.contains("3310011203150001"),
        "{csv}"
    );

    // An error message that would quote a name or a NIK shows it masked,
    // in the answer and in the job's stored errors.
    let mut broken = first_sample();
    broken["families"][0]["members"][0]["shdk"] = json!("Budi");
    broken["families"][0]["members"][1]["birth_date"] = json!(3310014502900002u64);
    let line = format!("{broken}\n");
    let reply = s
        .call(
            Some(klaten),
            "POST",
            "/v1/households",
            Some(("application/x-ndjson", line.as_bytes())),
        )
        .json();
    let errors = s
        .get_as(klaten, &format!("/v1/jobs/{}/errors", reply["job_id"]))
        .text();
    for text in [reply.to_string(), errors] {
        assert!(
            text.contains("\\\"B***\\\"") && text.contains("3310********0002"),
            "{text}"
        );
        assert!(
            !occurs(&text, "Budi") && !text.contains("3310014502900002"),
            "{text}"
        );
    }

    // The matrix: every route of the table, every role, no token, a bad token.
    let ctx = Ctx {
        server: s,
        tokens: &tokens,
        klaten_job,
    };
    matrix::check_every_route(&ctx);
    let anonymous = s.call(None, "GET", "/v1/register", None);
    assert!(
        anonymous
            .content_type
            .starts_with("application/problem+json")
    );
    assert_eq!(s.call(None, "GET", "/v1/register", None).status, 401);

    // The audit trail: who read, exported and changed what, and how much.
    let auditor = tokens.role("auditor");
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = s
            .get_as(auditor, &format!("/v1/audit?limit=1000&after={after}"))
            .json();
        entries.extend(page["entries"].as_array().unwrap().clone());
        match page["next"].as_i64() {
            Some(n) => after = n,
            None => break,
        }
    }
    let has = |actor: &str, action: &str, target: &str, records: i64| {
        entries.iter().any(|e| {
            e["actor"].as_str().unwrap().starts_with(actor)
                && e["action"] == action
                && e["target"].as_str().unwrap().starts_with(target)
                && e["records"] == records
        })
    };
    assert!(has("klaten#", "change", "proposal job", 6), "{entries:?}");
    assert!(has("klaten#", "change", "verification job", 6));
    assert!(has("kemensos#", "change", "determination job", 5));
    assert!(has(
        "pkh-partner#",
        "export",
        "beneficiaries PKH 2025-10",
        3
    ));
    assert!(has("boyolali#", "read", "household H7", 1));
    assert!(has("test-admin#", "read", "household H1", 1));
    assert!(has("author#", "read", "impact", 7));
    let text = serde_json::to_string(&entries).unwrap();
    for secret in personal_data(&ndjson) {
        assert!(!occurs(&text, &secret), "`{secret}` is in the audit trail");
    }

    // A revoked token stops working within a second (the service's token
    // cache refreshes every 250 ms).
    let listed = layak(&["token", "list", "--database", db.arg()]).1;
    let boyolali_id = listed
        .lines()
        .find(|l| l.split('\t').nth(1) == Some("boyolali"))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_string();
    assert!(!listed.contains("layak_"), "token list shows no secrets");
    let (ok, out) = layak(&["token", "revoke", &boyolali_id, "--database", db.arg()]);
    assert!(ok, "{out}");
    let revoked = std::time::Instant::now();
    while s.get_as(&tokens.boyolali, "/v1/households/H7").status == 200 {
        assert!(revoked.elapsed() < std::time::Duration::from_secs(1));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    s.get_as(&tokens.boyolali, "/v1/households/H7")
        .assert_problem(401, "UNAUTHENTICATED");

    // The log of all of the above, at trace level, holds none of the
    // input's NIKs, family cards or names.
    server.kill();
    let log_text = std::fs::read_to_string(&log).unwrap();
    // Not vacuous: it has the debug-level request lines, with record ids.
    assert!(
        log_text.contains("DEBUG")
            && log_text.contains("job done")
            && log_text.contains("path=/v1/households/H1"),
        "the log has the debug-level request lines"
    );
    for secret in personal_data(&ndjson) {
        assert!(
            !occurs(&log_text, &secret),
            "`{secret}` is in the service log"
        );
    }

    // The audit trail is intact; an edited or deleted entry is found.
    let db_arg = db.arg();
    let (ok, out) = layak(&["audit", "verify", "--database", db_arg]);
    assert!(ok && out.contains("audit trail intact"), "{out}");
    // The head, kept elsewhere, finds a truncated tail, which the chain
    // alone cannot.
    let head = out.trim().rsplit(' ').next().unwrap().to_string();
    let last: i64 = head.split(':').next().unwrap().parse().unwrap();
    db.execute(&format!("DELETE FROM audit WHERE seq = {last}"));
    assert!(layak(&["audit", "verify", "--database", db_arg]).0);
    let (ok, out) = layak(&["audit", "verify", "--database", db_arg, "--anchor", &head]);
    assert!(
        !ok && out.contains(&format!("audit entry {last} ")) && out.contains("truncated"),
        "{out}"
    );
    db.execute("UPDATE audit SET records = records + 1 WHERE seq = 5");
    let (ok, out) = layak(&["audit", "verify", "--database", db_arg]);
    assert!(
        !ok && out.contains("audit entry 5 ") && out.contains("edited"),
        "{out}"
    );
    db.execute("UPDATE audit SET records = records - 1 WHERE seq = 5");
    assert!(layak(&["audit", "verify", "--database", db_arg]).0);
    db.execute("UPDATE audit SET actor = 'someone' WHERE seq = 7");
    let (ok, out) = layak(&["audit", "verify", "--database", db_arg]);
    assert!(!ok && out.contains("audit entry 7 "), "{out}");
    db.execute("DELETE FROM audit WHERE seq = 7");
    let (ok, out) = layak(&["audit", "verify", "--database", db_arg]);
    assert!(
        !ok && out.contains("audit entry 8 ") && out.contains("missing"),
        "{out}"
    );
}

#[test]
fn rate_limits_and_body_limits_answer_problem_json() {
    let dir = TempDir::new("limits");
    let db = Database::new(&dir, "register.db");
    let server = Server::start(
        &db,
        &[
            "--rate-limit",
            "0.5",
            "--rate-burst",
            "3",
            "--max-body",
            "1000",
        ],
    );
    let other = create_token(&db, "admin", None, None, "other-admin");
    for _ in 0..3 {
        assert_eq!(server.get("/v1/register").status, 200);
    }
    let limited = server.get("/v1/register");
    limited.assert_problem(429, "RATE_LIMITED");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Per token: another token still has its whole burst.
    assert_eq!(server.get_as(&other, "/v1/register").status, 200);
    // Health needs no token and has no limit.
    for _ in 0..5 {
        assert_eq!(server.call(None, "GET", "/health", None).status, 200);
    }
    // A missing token is told how to authenticate.
    let anonymous = server.call(None, "GET", "/v1/register", None);
    anonymous.assert_problem(401, "UNAUTHENTICATED");
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Bearer realm=\"layak\"")
    );
    let big = json!({"as_of": "2025-10-01", "household": {"record_id": "x".repeat(2000)}});
    server
        .post_as(&other, "/v1/evaluate", &big)
        .assert_problem(413, "BODY_TOO_LARGE");
}

#[test]
fn a_database_that_cannot_be_opened_is_named_without_its_password() {
    // Nothing listens on port 1 of the loopback: refused at once.
    let (ok, out) = layak(&[
        "token",
        "list",
        "--database",
        "postgres://layak:s3cret@127.0.0.1:1/register",
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("cannot open the database `postgres://layak:***@127.0.0.1:1/register`")
            && out.contains("Connection refused")
            && out.contains("help: check that the server runs")
            && !out.contains("s3cret"),
        "{out}"
    );
    let (ok, out) = layak(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        "mysql://layak@127.0.0.1/register",
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("no driver found for URL scheme \"mysql\"")
            && out.contains("help: give a SQLite file path or a `postgres://"),
        "{out}"
    );
}
