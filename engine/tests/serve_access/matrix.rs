//! The role matrix of `serve_access.rs`: a case for every route of the
//! route table (the request, the roles allowed, what an allowed caller
//! gets, and how scope applies), and the cross-scope checks.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::serve_common::{Reply, Server, rule_files, samples};

/// One token per role (the operator and partner roles have two, in
/// different scopes).
pub struct Tokens {
    pub by_role: BTreeMap<&'static str, String>,
    /// A district operator in Boyolali (3309): only H7 lives there.
    pub boyolali: String,
    /// A PKH partner limited to Boyolali.
    pub partner_boyolali: String,
    /// A policy author limited to Boyolali.
    pub author_boyolali: String,
}

impl Tokens {
    pub fn role(&self, role: &str) -> &str {
        &self.by_role[role]
    }
}

/// The roles of the service, checked against the engine's own list so a
/// new role cannot be added without an expectation here.
pub const ROLES: [&str; 6] = [
    "admin",
    "policy_author",
    "ministry_reviewer",
    "district_operator",
    "programme_partner",
    "auditor",
];

pub struct Ctx<'a> {
    pub server: &'a Server,
    pub tokens: &'a Tokens,
    /// A verification job queued by the Klaten operator.
    pub klaten_job: i64,
}

/// What a request outside the caller's scope must give.
pub enum Scoped {
    /// The route reads or changes no stored record: why.
    Unscoped(&'static str),
    /// Checks the cross-scope attempts for this route.
    Check(fn(&Ctx)),
}

pub struct Case {
    pub method: &'static str,
    /// The route's path as in the table.
    pub route: &'static str,
    /// The concrete request (ids filled in).
    pub path: String,
    pub body: Option<(&'static str, Vec<u8>)>,
    pub allowed: &'static [&'static str],
    /// Statuses an allowed caller may get.
    pub ok: &'static [u16],
    pub scoped: Scoped,
}

pub const ALL: &[&str] = &ROLES;
pub const REGISTER_READERS: &[&str] = &["admin", "ministry_reviewer", "district_operator"];

pub fn json_body(v: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", v.to_string().into_bytes()))
}

pub fn cases(ctx: &Ctx) -> Vec<Case> {
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
            body: json_body(&json!({"as_of": "2025-10-01"})),
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

pub fn first_sample() -> Value {
    serde_json::from_str(samples().lines().next().unwrap()).unwrap()
}

/// The case's request; `with_body` false sends it without its body: the
/// guard answers 401 and 403 before any body is read, and a client still
/// writing a large body to a connection the server closed gets a broken
/// pipe instead of the answer.
pub fn call(ctx: &Ctx, token: Option<&str>, case: &Case, with_body: bool) -> Reply {
    let body = case.body.as_ref().filter(|_| with_body);
    ctx.server.call(
        token,
        case.method,
        &case.path,
        body.map(|(ct, b)| (*ct, b.as_slice())),
    )
}

// Cross-scope checks, one per route that touches stored records.

pub fn cross_region_read(ctx: &Ctx) {
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

pub fn cross_region_list(ctx: &Ctx) {
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

pub fn cross_region_counts(ctx: &Ctx) {
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

pub fn cross_region_update(ctx: &Ctx) {
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

pub fn cross_region_verification(ctx: &Ctx) {
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

pub fn cross_region_job_list(ctx: &Ctx) {
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

pub fn cross_region_job(ctx: &Ctx) {
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

pub fn cross_scope_export(ctx: &Ctx) {
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

pub fn cross_region_impact(ctx: &Ctx) {
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

/// Every route of the table, as every role, with no token and with a forged
/// one; then each route's cross-scope checks. Fails for a route without a
/// case and for a case without a route.
pub fn check_every_route(ctx: &Ctx) {
    let cases = cases(ctx);
    let mut checked = 0;
    for route in layak_service::http::routes::list() {
        let method = route.method.as_str();
        let case = cases
            .iter()
            .find(|c| c.method == method && c.route == route.path)
            .unwrap_or_else(|| panic!("{method} {} has no case in the access matrix", route.path));
        for role in case.allowed {
            assert!(ROLES.contains(role), "unknown role {role}");
        }
        let public = route.permission == layak_service::http::routes::Permission::Public;
        let anonymous = call(ctx, None, case, public);
        let forged = call(
            ctx,
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
            let reply = call(ctx, Some(ctx.tokens.role(role)), case, allowed);
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
                ctx.server.wait_job_as(ctx.tokens.role(role), id);
            }
        }
        match &case.scoped {
            Scoped::Check(check) => check(ctx),
            Scoped::Unscoped(why) => assert!(!why.is_empty()),
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        cases.len(),
        "a case names a route that is not in the table"
    );
}
