//! Crash safety: `kill -9` in the middle of a determination job, a restart
//! on the same database, and the job resumes to the same final state
//! as an uninterrupted run: no decision lost, none twice.

use super::serve_common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use serve_common::{Database, Server, TempDir, cli};

/// Small batches, so the job commits many times and a kill lands between
/// two commits or inside one; a short lease, since the restarted process is
/// a new replica that takes the job over once the killed one's lease has
/// run out.
const FLAGS: [&str; 4] = ["--job-batch", "4", "--job-lease", "1"];

fn prepared(db: &Database, ndjson: &[u8]) -> Server {
    let server = Server::start(db, &FLAGS);
    server.load_rules();
    let upload = server
        .post_bytes("/v1/households", "application/x-ndjson", ndjson)
        .json();
    assert_eq!(upload["rejected"], 0, "{upload}");
    server.run_job("verification", &json!({"as_of": "2025-10-01"}));
    server.run_job("qc", &json!({"as_of": "2025-10-01"}));
    server
}

/// Everything the determination produced, in a comparable form.
fn outcome(server: &Server) -> (Value, Vec<String>, Vec<Value>) {
    let counts = server.get("/v1/register").json();
    let mut lists = Vec::new();
    for programme in ["PKH", "SEMBAKO", "PBI_JK", "PIP"] {
        let text = server
            .get(&format!(
                "/v1/programmes/{programme}/beneficiaries?period=2025-10"
            ))
            .text();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lists.extend(lines);
    }
    let households = server
        .all_households()
        .into_iter()
        .map(|mut h| {
            h.as_object_mut().unwrap().remove("updated_at");
            h
        })
        .collect();
    (counts, lists, households)
}

#[test]
fn a_killed_determination_resumes_to_the_same_state() {
    let dir = TempDir::new("crash");
    let input = dir.path().join("households.ndjson");
    cli(
        &[
            "gen",
            "--households",
            "400",
            "--seed",
            "5",
            "--output",
            input.to_str().unwrap(),
        ],
        None,
    );
    let ndjson = std::fs::read(&input).unwrap();

    // The reference: one uninterrupted run.
    let reference = prepared(&Database::new(&dir, "reference.db"), &ndjson);
    reference.run_job(
        "determination",
        &json!({"period": "2025-10", "as_of": "2025-10-01"}),
    );
    let expected = outcome(&reference);
    drop(reference);

    // The same, killed with SIGKILL while the job is part done.
    let db = Database::new(&dir, "killed.db");
    let mut server = prepared(&db, &ndjson);
    let reply = server.post(
        "/v1/jobs/determination",
        &json!({"period": "2025-10", "as_of": "2025-10-01"}),
    );
    let id = reply.json()["id"].as_i64().unwrap();
    let start = Instant::now();
    loop {
        let job = server.get(&format!("/v1/jobs/{id}")).json();
        let done = job["done"].as_i64().unwrap();
        if done > 0 {
            assert!(
                done < job["total"].as_i64().unwrap(),
                "the job ended before the kill"
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(2));
    }
    server.kill(); // SIGKILL: no shutdown, no flush
    let server = Server::start(&db, &FLAGS);
    let job = server.wait_job(id);
    assert_eq!(job["done"], job["total"], "{job}");
    let got = outcome(&server);
    assert_eq!(got.0, expected.0, "status counts");
    assert_eq!(got.1.len(), expected.1.len(), "beneficiary rows");
    assert!(got.1 == expected.1, "beneficiary lists differ");
    assert!(got.2 == expected.2, "household states differ");
}
