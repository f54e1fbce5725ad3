//! Replicas: two `layak serve` processes on one database serve together,
//! and a stage job runs exactly once across them. The replica holding a
//! determination job's lease is killed with `kill -9` in the middle of it;
//! the other takes the job over when the lease runs out and finishes it:
//! every household decided exactly once, the job's counts right, the audit
//! trail one unbroken chain. On PostgreSQL (`LAYAK_TEST_POSTGRES`) this is
//! the production setup; on SQLite the two processes share one file, whose
//! write lock serialises them as PostgreSQL's advisory lock does.

use super::serve_common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use serve_common::{BIN, Database, Server, TempDir, cli, root, samples};

/// Small batches, so the job commits many times and the kill lands between
/// two commits or inside one; a short lease, so the takeover comes soon.
const FLAGS: [&str; 4] = ["--job-batch", "4", "--job-lease", "2"];

/// The pid in a replica id (`<pid>-<hex>`).
fn pid_of(owner: &Value) -> Option<u32> {
    owner.as_str()?.split('-').next()?.parse().ok()
}

#[test]
fn a_killed_replica_s_job_is_finished_by_the_other_exactly_once() {
    let dir = TempDir::new("replicas");
    let input = dir.path().join("households.ndjson");
    cli(
        &[
            "gen",
            "--households",
            "1000",
            "--seed",
            "11",
            "--output",
            input.to_str().unwrap(),
        ],
        None,
    );
    let ndjson = std::fs::read(&input).unwrap();
    let db = Database::new(&dir, "replicas.db");
    let mut servers = [Server::start(&db, &FLAGS), Server::start(&db, &FLAGS)];

    // Both serve: rules stored through one are active on the other,
    // households uploaded through the second, jobs queued on either and
    // followed on the other, the same evaluation from both.
    servers[0].load_rules();
    let upload = servers[1]
        .post_bytes("/v1/households", "application/x-ndjson", &ndjson)
        .json();
    assert_eq!(upload["rejected"], 0, "{upload}");
    let id = servers[0]
        .post("/v1/jobs/verification", &json!({"as_of": "2025-10-01"}))
        .json()["id"]
        .as_i64()
        .unwrap();
    servers[1].wait_job(id);
    servers[1].run_job("qc", &json!({"as_of": "2025-10-01"}));
    let h1: Value = serde_json::from_str(samples().lines().next().unwrap()).unwrap();
    let ask = json!({"household": h1, "as_of": "2025-10-01"});
    let answers: Vec<Value> = servers
        .iter()
        .map(|s| {
            let reply = s.post("/v1/evaluate", &ask);
            assert_eq!(reply.status, 200, "{}", reply.text());
            reply.json()
        })
        .collect();
    assert_eq!(answers[0], answers[1]);

    let counts = servers[0].get("/v1/register").json();
    let in_stage = counts["households"]["QC_PASSED"].as_i64().unwrap();
    assert!(in_stage > 500, "{counts}");

    // The determination, queued through the second replica; whichever
    // claims it is killed once it has committed a batch or more.
    let id = servers[1]
        .post(
            "/v1/jobs/determination",
            &json!({"period": "2025-10", "as_of": "2025-10-01"}),
        )
        .json()["id"]
        .as_i64()
        .unwrap();
    let start = Instant::now();
    let (victim, done_at_kill) = loop {
        let job = servers[1].get(&format!("/v1/jobs/{id}")).json();
        let done = job["done"].as_i64().unwrap();
        if done > 0
            && let Some(pid) = pid_of(&job["owner"])
        {
            assert!(
                done < job["total"].as_i64().unwrap(),
                "the job ended before the kill: {job}"
            );
            let victim = servers
                .iter()
                .position(|s| s.child.id() == pid)
                .unwrap_or_else(|| panic!("the owner {} is neither replica", job["owner"]));
            servers[victim].kill(); // SIGKILL: no shutdown, no flush
            break (victim, done);
        }
        assert!(start.elapsed() < Duration::from_secs(300), "{job}");
        std::thread::sleep(Duration::from_millis(2));
    };
    let survivor = &servers[1 - victim];
    let job = survivor.wait_job(id);
    assert_eq!(
        pid_of(&job["owner"]),
        Some(survivor.child.id()),
        "the survivor finished the job: {job}"
    );

    // The job's counts: every household of the stage once.
    assert_eq!(job["total"], in_stage, "{job}");
    assert_eq!(job["done"], in_stage, "{job}");
    assert_eq!(job["errors"], 0, "{job}");
    let done = job["done"].as_i64().unwrap();
    assert!(done_at_kill < done);

    // Each household moved exactly once by the job (one event each), none
    // left in the stage, and the audit entries of its batches add up to the
    // households done: no batch committed twice, none lost.
    let q = |sql: &str| db.query_i64(sql);
    assert_eq!(
        q(&format!("SELECT COUNT(*) FROM events WHERE job_id = {id}")),
        done
    );
    assert_eq!(
        q(&format!(
            "SELECT COUNT(DISTINCT record_id) FROM events WHERE job_id = {id}"
        )),
        done
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM households WHERE status = 'QC_PASSED'"),
        0
    );
    assert_eq!(
        q(&format!(
            "SELECT CAST(COALESCE(SUM(records), 0) AS BIGINT) FROM audit
             WHERE target = 'determination job {id}'"
        )),
        done
    );
    // Decisions: exactly the households the job determined, every row from
    // this job, one per programme and subject.
    let determined = q(&format!(
        "SELECT COUNT(*) FROM events WHERE job_id = {id} AND to_status = 'DETERMINED'"
    ));
    assert!(determined > 0);
    assert_eq!(
        q("SELECT COUNT(DISTINCT record_id) FROM decisions WHERE period = '2025-10'"),
        determined
    );
    assert_eq!(
        q(&format!(
            "SELECT COUNT(*) FROM decisions WHERE job_id <> {id}"
        )),
        0
    );
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM (SELECT record_id, programme, subject FROM decisions
           GROUP BY record_id, period, programme, subject HAVING COUNT(*) > 1) twice"
        ),
        0
    );
    assert!(
        q("SELECT COUNT(DISTINCT programme) FROM decisions") >= 3,
        "decisions for the programmes"
    );

    // One unbroken audit chain, written by both replicas.
    let out = std::process::Command::new(BIN)
        .current_dir(root())
        .args(["audit", "verify", "--database", db.arg()])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("audit trail intact"),
        "{text}"
    );

    // The survivor still serves.
    let reply = survivor.post("/v1/evaluate", &ask);
    assert_eq!(reply.json(), answers[0]);
}
