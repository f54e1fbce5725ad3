//! Access control, audit and personal data, end to end on one server:
//! the samples through the pipeline as the roles that do each stage; a
//! matrix over every route of the route table and every role (allowed,
//! forbidden, out of scope), which fails when a route or a role has no
//! expectation; cross-region reads, updates, exports, jobs and evaluations;
//! masked exports for partners; revocation; the audit trail and its
//! tamper detection; and a scan of the service's trace-level log for any
//! NIK, family card or name of the input.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

mod serve_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use serve_common::{BIN, Reply, Server, TempDir, create_token, root, rule_files, samples};

/// One token per role (the operator and partner roles have two, in
/// different scopes).
struct Tokens {
    by_role: BTreeMap<&'static str, String>,
    /// A district operator in Boyolali (3309): only H7 lives there.
    boyolali: String,
    /// A PKH partner limited to Boyolali.
    partner_boyolali: String,
    /// A policy author limited to Boyolali.
    author_boyolali: String,
}

impl Tokens {
    fn role(&self, role: &str) -> &str {
        &self.by_role[role]
    }
}

/// The roles of the service, checked against the engine's own list so a
/// new role cannot be added without an expectation here.
const ROLES: [&str; 6] = [
    "admin",
    "policy_author",
    "ministry_reviewer",
    "district_operator",
    "programme_partner",
    "auditor",
];

struct Ctx<'a> {
    server: &'a Server,
    tokens: &'a Tokens,
    /// A verification job queued by the Klaten operator.
    klaten_job: i64,
}

/// What a request outside the caller's scope must give.
enum Scoped {
    /// The route reads or changes no stored record: why.
    Unscoped(&'static str),
    /// Checks the cross-scope attempts for this route.
    Check(fn(&Ctx)),
}

struct Case {
    method: &'static str,
    /// The route's path as in the table.
    route: &'static str,
    /// The concrete request (ids filled in).
    path: String,
    body: Option<(&'static str, Vec<u8>)>,
    allowed: &'static [&'static str],
    /// Statuses an allowed caller may get.
    ok: &'static [u16],
    scoped: Scoped,
}

const ALL: &[&str] = &ROLES;
const REGISTER_READERS: &[&str] = &["admin", "ministry_reviewer", "district_operator"];

fn json_body(v: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", v.to_string().into_bytes()))
}

fn cases(ctx: &Ctx) -> Vec<Case> {
    let job = ctx.klaten_job;
    vec![
        Case {
            method: "GET",
            route: "/health",
            path: "/health".into(),
            body: None,
            allowed: ALL,
            ok: &[200],
            scoped: Scoped::Unscoped("public"),
        },
        Case {
            method: "GET",
            route: "/openapi.json",
            path: "/openapi.json".into(),
            body: None,
            allowed: ALL,
            ok: &[200],
            scoped: Scoped::Unscoped("public"),
        },
        Case {
            method: "POST",
            route: "/v1/rulesets",
            path: "/v1/rulesets".into(),
            body: json_body(&json!({"files": rule_files()})),
            allowed: &["admin", "policy_author"],
            ok: &[200, 201],
            scoped: Scoped::Unscoped("rulesets hold no personal data"),
        },
        Case {
            method: "GET",
            route: "/v1/rulesets",
            path: "/v1/rulesets".into(),
            body: None,
            allowed: &[
                "admin",
                "policy_author",
                "ministry_reviewer",
                "district_operator",
                "programme_partner",
            ],
            ok: &[200],
            scoped: Scoped::Unscoped("rulesets hold no personal data"),
        },
        Case {
            method: "GET",
            route: "/v1/rulesets/{id}",
            path: "/v1/rulesets/1".into(),
            body: None,
            allowed: &[
                "admin",
                "policy_author",
                "ministry_reviewer",
                "district_operator",
                "programme_partner",
            ],
            ok: &[200],
            scoped: Scoped::Unscoped("rulesets hold no personal data"),
        },
        Case {
            method: "POST",
            route: "/v1/rulesets/{id}/activate",
            path: "/v1/rulesets/1/activate".into(),
            body: json_body(&json!({"stage": "verification", "effective_from": "2000-01-01"})),
            allowed: &["admin", "policy_author"],
            ok: &[201],
            scoped: Scoped::Unscoped("rulesets hold no personal data"),
        },
        Case {
            method: "POST",
            route: "/v1/households",
            path: "/v1/households".into(),
            body: Some(("application/x-ndjson", samples().into_bytes())),
            allowed: &["admin", "district_operator"],
            ok: &[200],
            scoped: Scoped::Check(cross_region_update),
        },
        Case {
            method: "GET",
            route: "/v1/households",
            path: "/v1/households".into(),
            body: None,
            allowed: REGISTER_READERS,
            ok: &[200],
            scoped: Scoped::Check(cross_region_list),
        },
        Case {
            method: "GET",
            route: "/v1/households/{id}",
            path: "/v1/households/H1".into(),
            body: None,
            allowed: REGISTER_READERS,
            ok: &[200],
            scoped: Scoped::Check(cross_region_read),
        },
        Case {
            method: "GET",
            route: "/v1/register",
            path: "/v1/register".into(),
            body: None,
            allowed: REGISTER_READERS,
            ok: &[200],
            scoped: Scoped::Check(cross_region_counts),
        },
        Case {
            method: "POST",
            route: "/v1/jobs/verification",
            path: "/v1/jobs/verification".into(),
            body: json_body(&json!({"as_of": "2025-10-01"})),
            allowed: &["admin", "district_operator"],
            ok: &[202],
            scoped: Scoped::Check(cross_region_verification),
        },
        Case {
            method: "POST",
            route: "/v1/jobs/qc",
            path: "/v1/jobs/qc".into(),
            body: json_body(&json!({})),
            allowed: &["admin", "ministry_reviewer"],
            ok: &[202],
            scoped: Scoped::Unscoped(
                "quality control is the ministry's, over every region (duplicates cross regions)",
            ),
        },
        Case {
            method: "POST",
            route: "/v1/jobs/determination",
            path: "/v1/jobs/determination".into(),
            body: json_body(&json!({"period": "2025-10", "as_of": "2025-10-01"})),
            allowed: &["admin", "ministry_reviewer"],
            ok: &[202],
            scoped: Scoped::Unscoped("determination is the ministry's, over every region"),
        },
        Case {
            method: "GET",
            route: "/v1/jobs",
            path: "/v1/jobs".into(),
            body: None,
            allowed: REGISTER_READERS,
            ok: &[200],
            scoped: Scoped::Check(cross_region_job_list),
        },
        Case {
            method: "GET",
            route: "/v1/jobs/{id}",
            path: format!("/v1/jobs/{job}"),
            body: None,
            allowed: REGISTER_READERS,
            ok: &[200],
            scoped: Scoped::Check(cross_region_job),
        },
        Case {
            method: "GET",
            route: "/v1/jobs/{id}/errors",
            path: format!("/v1/jobs/{job}/errors"),
            body: None,
            allowed: REGISTER_READERS,
            ok: &[200],
            scoped: Scoped::Check(cross_region_job),
        },
        Case {
            method: "POST",
            route: "/v1/jobs/{id}/cancel",
            path: format!("/v1/jobs/{job}/cancel"),
            body: None,
            allowed: REGISTER_READERS,
            // The job has ended: allowed callers get 409 JOB_ENDED.
            ok: &[409],
            scoped: Scoped::Check(cross_region_job),
        },
        Case {
            method: "GET",
            route: "/v1/programmes/{programme}/beneficiaries",
            path: "/v1/programmes/PKH/beneficiaries?period=2025-10".into(),
            body: None,
            allowed: &["admin", "ministry_reviewer", "programme_partner"],
            ok: &[200],
            scoped: Scoped::Check(cross_scope_export),
        },
        Case {
            method: "POST",
            route: "/v1/evaluate",
            path: "/v1/evaluate".into(),
            body: json_body(&json!({"household": first_sample(), "as_of": "2025-10-01"})),
            allowed: &[
                "admin",
                "policy_author",
                "ministry_reviewer",
                "district_operator",
                "programme_partner",
            ],
            ok: &[200],
            scoped: Scoped::Unscoped(
                "stateless: it evaluates the households sent and reads no stored record",
            ),
        },
        Case {
            method: "POST",
            route: "/v1/impact",
            path: "/v1/impact".into(),
            body: json_body(
                &json!({"as_of": "2025-10-01", "against_params": {"PKH_ELDERLY_MIN_AGE": 60}}),
            ),
            allowed: &["admin", "policy_author"],
            ok: &[200],
            scoped: Scoped::Check(cross_region_impact),
        },
        Case {
            method: "GET",
            route: "/v1/audit",
            path: "/v1/audit".into(),
            body: None,
            allowed: &["admin", "auditor"],
            ok: &[200],
            scoped: Scoped::Unscoped(
                "the trail holds record ids and counts, no personal data; auditors see all of it",
            ),
        },
    ]
}

fn first_sample() -> Value {
    serde_json::from_str(samples().lines().next().unwrap()).unwrap()
}

/// The case's request; `with_body` false sends it without its body: the
/// guard answers 401 and 403 before any body is read, and a client still
/// writing a large body to a connection the server closed gets a broken
/// pipe instead of the answer.
fn call(ctx: &Ctx, token: Option<&str>, case: &Case, with_body: bool) -> Reply {
    let body = case.body.as_ref().filter(|_| with_body);
    ctx.server.call(
        token,
        case.method,
        &case.path,
        body.map(|(ct, b)| (*ct, b.as_slice())),
    )
}

// Cross-scope checks, one per route that touches stored records.

fn cross_region_read(ctx: &Ctx) {
    let b = &ctx.tokens.boyolali;
    let outside = ctx.server.get_as(b, "/v1/households/H1");
    let missing = ctx.server.get_as(b, "/v1/households/NO_SUCH");
    outside.assert_problem(404, "HOUSEHOLD_NOT_FOUND");
    missing.assert_problem(404, "HOUSEHOLD_NOT_FOUND");
    // The same answer as a record that does not exist, but for the id.
    assert_eq!(
        outside.text().replace("H1", "X"),
        missing.text().replace("NO_SUCH", "X")
    );
    // Its own record reads, with the explanation derived again.
    let h7 = ctx.server.get_as(b, "/v1/households/H7").json();
    assert_eq!(h7["record_id"], "H7");
    assert_eq!(h7["explanation"]["record_id"], "H7");
}

fn cross_region_list(ctx: &Ctx) {
    let b = &ctx.tokens.boyolali;
    let page = ctx.server.get_as(b, "/v1/households?limit=1000").json();
    let ids: Vec<&str> = page["households"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["record_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["H7"]);
    ctx.server
        .get_as(b, "/v1/households?region=3310")
        .assert_problem(404, "REGION_NOT_FOUND");
    // A wider region is narrowed to the caller's.
    let wide = ctx.server.get_as(b, "/v1/households?region=33").json();
    assert_eq!(wide["households"].as_array().unwrap().len(), 1);
}

fn cross_region_counts(ctx: &Ctx) {
    let counts = ctx
        .server
        .get_as(&ctx.tokens.boyolali, "/v1/register")
        .json();
    let total: i64 = counts["households"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(total, 1, "{counts}");
}

fn cross_region_update(ctx: &Ctx) {
    let b = &ctx.tokens.boyolali;
    let before = ctx.server.get("/v1/households/H1").json();
    // H1 moved to Boyolali by an operator there, and H1 as it is: both
    // rejected per line as outside the caller's region, nothing stored.
    let mut moved = first_sample();
    moved["region"]["desa_code"] = json!("3309012001");
    moved["families"][0]["members"][0]["name"] = json!("Someone Else");
    for h in [moved, first_sample()] {
        let one = ctx.server.post_as(b, "/v1/households", &h);
        one.assert_problem(422, "INVALID_HOUSEHOLD");
        assert_eq!(one.json()["errors"][0]["path"], "$.region.desa_code");
        let line = format!(
            "{h}\n{}\n",
            ctx.server.get_as(b, "/v1/households/H7").json()["record"]
        );
        let reply = ctx
            .server
            .call(
                Some(b),
                "POST",
                "/v1/households",
                Some(("application/x-ndjson", line.as_bytes())),
            )
            .json();
        assert_eq!(
            (reply["unchanged"].clone(), reply["rejected"].clone()),
            (json!(1), json!(1)),
            "{reply}"
        );
        assert_eq!(
            reply["errors"][0]["errors"][0]["path"],
            "$.region.desa_code"
        );
        assert_eq!(reply["errors"][0]["record_id"], "H1");
    }
    let after = ctx.server.get("/v1/households/H1").json();
    assert_eq!(before["content_hash"], after["content_hash"]);
    assert_eq!(after["region"], "3310012001");
}

fn cross_region_verification(ctx: &Ctx) {
    let s = ctx.server;
    s.post_as(
        &ctx.tokens.boyolali,
        "/v1/jobs/verification",
        &json!({"as_of": "2025-10-01", "region": "3310"}),
    )
    .assert_problem(404, "REGION_NOT_FOUND");
    // A wider region is narrowed to the operator's own.
    let klaten = ctx.tokens.role("district_operator");
    let job = s
        .post_as(
            klaten,
            "/v1/jobs/verification",
            &json!({"as_of": "2025-10-01", "region": "33"}),
        )
        .json();
    assert_eq!(job["params"]["region"], "3310", "{job}");
    s.wait_job_as(klaten, job["id"].as_i64().unwrap());
}

fn cross_region_job_list(ctx: &Ctx) {
    let jobs = ctx.server.get_as(&ctx.tokens.boyolali, "/v1/jobs").json();
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .all(|j| j["id"] != ctx.klaten_job),
        "{jobs}"
    );
    let all = ctx.server.get("/v1/jobs").json();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == ctx.klaten_job)
    );
}

fn cross_region_job(ctx: &Ctx) {
    let b = &ctx.tokens.boyolali;
    let id = ctx.klaten_job;
    for (method, path) in [
        ("GET", format!("/v1/jobs/{id}")),
        ("GET", format!("/v1/jobs/{id}/errors")),
        ("POST", format!("/v1/jobs/{id}/cancel")),
    ] {
        let outside = ctx.server.call(Some(b), method, &path, None);
        outside.assert_problem(404, "JOB_NOT_FOUND");
        let missing = ctx.server.call(
            Some(b),
            method,
            &path.replace(&id.to_string(), "999999"),
            None,
        );
        assert_eq!(
            outside.text().replace(&id.to_string(), "N"),
            missing.text().replace("999999", "N")
        );
    }
}

fn cross_scope_export(ctx: &Ctx) {
    let s = ctx.server;
    let partner = ctx.tokens.role("programme_partner");
    s.get_as(
        partner,
        "/v1/programmes/SEMBAKO/beneficiaries?period=2025-10",
    )
    .assert_problem(404, "PROGRAMME_NOT_FOUND");
    let pb = &ctx.tokens.partner_boyolali;
    s.get_as(
        pb,
        "/v1/programmes/PKH/beneficiaries?period=2025-10&region=3310",
    )
    .assert_problem(404, "REGION_NOT_FOUND");
    let mine = s
        .get_as(pb, "/v1/programmes/PKH/beneficiaries?period=2025-10")
        .text();
    let ids: Vec<String> = mine
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["record_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ["H7"]);
}

fn cross_region_impact(ctx: &Ctx) {
    let a = &ctx.tokens.author_boyolali;
    let mine = ctx
        .server
        .post_as(
            a,
            "/v1/impact",
            &json!({"as_of": "2025-10-01", "against_params": {"PKH_ELDERLY_MIN_AGE": 60}}),
        )
        .json();
    assert_eq!(mine["households"], 1, "{mine}");
    ctx.server
        .post_as(
            a,
            "/v1/impact",
            &json!({"as_of": "2025-10-01", "region": "3310", "against_params": {"PKH_ELDERLY_MIN_AGE": 60}}),
        )
        .assert_problem(404, "REGION_NOT_FOUND");
}

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

fn sql(db: &Path, statement: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = layak_engine::store::Store::open(db.to_str().unwrap())
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(store.pool())
            .await
            .unwrap();
    });
}

#[test]
fn roles_scopes_audit_and_personal_data() {
    let engine_roles: Vec<&str> = layak_engine::serve::auth::Role::ALL
        .iter()
        .map(|r| r.name())
        .collect();
    assert_eq!(
        engine_roles, ROLES,
        "every role needs its expectations here"
    );

    let dir = TempDir::new("access");
    let db = dir.path().join("register.db");
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
        db.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("needs --region"), "{err}");

    // The pipeline, each stage by the role that does it.
    let s = &server;
    let author = tokens.role("policy_author");
    let created = s.post_as(author, "/v1/rulesets", &json!({"files": rule_files()}));
    assert_eq!(created.status, 201, "{}", created.text());
    for stage in ["verification", "determination"] {
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
    let job = s.post_as(reviewer, "/v1/jobs/qc", &json!({})).json();
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
    let cases = cases(&ctx);
    let mut checked = 0;
    for route in layak_engine::serve::routes::list() {
        let method = route.method.as_str();
        let case = cases
            .iter()
            .find(|c| c.method == method && c.route == route.path)
            .unwrap_or_else(|| panic!("{method} {} has no case in the access matrix", route.path));
        for role in case.allowed {
            assert!(ROLES.contains(role), "unknown role {role}");
        }
        let public = route.permission == layak_engine::serve::routes::Permission::Public;
        let anonymous = call(&ctx, None, case, public);
        let forged = call(
            &ctx,
            Some("layak_0000000000000000000000000000000000000000000000000000000000000000"),
            case,
            public,
        );
        if public {
            assert_eq!(anonymous.status, 200, "{method} {}", route.path);
        } else {
            for reply in [&anonymous, &forged] {
                reply.assert_problem(401, "UNAUTHENTICATED");
            }
        }
        for role in ROLES {
            let allowed = case.allowed.contains(&role);
            let reply = call(&ctx, Some(tokens.role(role)), case, allowed);
            let what = format!("{role} on {method} {}: {}", route.path, reply.text());
            if allowed {
                assert!(case.ok.contains(&reply.status), "{what}");
            } else {
                assert_eq!(reply.status, 403, "{what}");
                reply.assert_problem(403, "FORBIDDEN");
            }
            // Let a queued job end before the next request queues another.
            if reply.status == 202 {
                let id = reply.json()["id"].as_i64().unwrap();
                s.wait_job_as(tokens.role(role), id);
            }
        }
        match &case.scoped {
            Scoped::Check(check) => check(&ctx),
            Scoped::Unscoped(why) => assert!(!why.is_empty()),
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        cases.len(),
        "a case names a route that is not in the table"
    );
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

    // A revoked token stops working at once.
    let listed = layak(&["token", "list", "--database", db.to_str().unwrap()]).1;
    let boyolali_id = listed
        .lines()
        .find(|l| l.split('\t').nth(1) == Some("boyolali"))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_string();
    assert!(!listed.contains("layak_"), "token list shows no secrets");
    let (ok, out) = layak(&[
        "token",
        "revoke",
        &boyolali_id,
        "--database",
        db.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
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
    let db_arg = db.to_str().unwrap();
    let (ok, out) = layak(&["audit", "verify", "--database", db_arg]);
    assert!(ok && out.contains("audit trail intact"), "{out}");
    // The head, kept elsewhere, finds a truncated tail, which the chain
    // alone cannot.
    let head = out.trim().rsplit(' ').next().unwrap().to_string();
    let last: i64 = head.split(':').next().unwrap().parse().unwrap();
    sql(&db, &format!("DELETE FROM audit WHERE seq = {last}"));
    assert!(layak(&["audit", "verify", "--database", db_arg]).0);
    let (ok, out) = layak(&["audit", "verify", "--database", db_arg, "--anchor", &head]);
    assert!(
        !ok && out.contains(&format!("audit entry {last} ")) && out.contains("truncated"),
        "{out}"
    );
    sql(&db, "UPDATE audit SET records = records + 1 WHERE seq = 5");
    let (ok, out) = layak(&["audit", "verify", "--database", db_arg]);
    assert!(
        !ok && out.contains("audit entry 5 ") && out.contains("edited"),
        "{out}"
    );
    sql(&db, "UPDATE audit SET records = records - 1 WHERE seq = 5");
    assert!(layak(&["audit", "verify", "--database", db_arg]).0);
    sql(&db, "UPDATE audit SET actor = 'someone' WHERE seq = 7");
    let (ok, out) = layak(&["audit", "verify", "--database", db_arg]);
    assert!(!ok && out.contains("audit entry 7 "), "{out}");
    sql(&db, "DELETE FROM audit WHERE seq = 7");
    let (ok, out) = layak(&["audit", "verify", "--database", db_arg]);
    assert!(
        !ok && out.contains("audit entry 8 ") && out.contains("missing"),
        "{out}"
    );
}

#[test]
fn rate_limits_and_body_limits_answer_problem_json() {
    let dir = TempDir::new("limits");
    let db = dir.path().join("register.db");
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
