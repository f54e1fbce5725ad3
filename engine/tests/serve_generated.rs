//! 10,000 generated households through the service's whole pipeline,
//! checked against `layak run` on the same input: the same returned records
//! with the same codes, and for every record that reaches determination the
//! same beneficiaries and amounts. Records that quality control returns
//! must each share a NIK or family card with a record proposed before them.

use super::serve_common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};
use serve_common::{Database, Server, TempDir, cli};

const HOUSEHOLDS: &str = "10000";

#[test]
fn ten_thousand_households_match_layak_run() {
    let dir = TempDir::new("generated");
    let input = dir.path().join("households.ndjson");
    let expected_path = dir.path().join("expected.ndjson");
    cli(
        &[
            "gen",
            "--households",
            HOUSEHOLDS,
            "--seed",
            "11",
            "--output",
            input.to_str().unwrap(),
        ],
        None,
    );
    cli(
        &[
            "run",
            "--rules",
            "rules",
            "--as-of",
            "2025-10-01",
            "--input",
            input.to_str().unwrap(),
            "--output",
            expected_path.to_str().unwrap(),
        ],
        None,
    );
    let ndjson = std::fs::read(&input).unwrap();
    let expected: Vec<Value> = std::fs::read_to_string(&expected_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(expected.len(), 10_000, "layak run wrote every household");

    let server = Server::start(&Database::new(&dir, "register.db"), &[]);
    server.load_rules();
    let upload = server
        .post_bytes("/v1/households", "application/x-ndjson", &ndjson)
        .json();
    assert_eq!(upload["stored"], 10_000, "{upload}");
    server.run_job("verification", &json!({"as_of": "2025-10-01"}));
    server.run_job("qc", &json!({"as_of": "2025-10-01"}));
    let job = server.run_job(
        "determination",
        &json!({"period": "2025-10", "as_of": "2025-10-01"}),
    );
    assert_eq!(job["errors"], 0);

    let state: HashMap<String, Value> = server
        .all_households()
        .into_iter()
        .map(|h| (h["record_id"].as_str().unwrap().to_string(), h))
        .collect();
    assert_eq!(state.len(), 10_000);

    // Who shares a NIK or a family card with an earlier record, for the QC
    // returns.
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut clashes_earlier: BTreeSet<String> = BTreeSet::new();
    for (i, line) in String::from_utf8(ndjson).unwrap().lines().enumerate() {
        let h: Value = serde_json::from_str(line).unwrap();
        let id = h["record_id"].as_str().unwrap().to_string();
        for family in h["families"].as_array().into_iter().flatten() {
            let mut keys = vec![format!("kk:{}", family["kk_number"])];
            for m in family["members"].as_array().into_iter().flatten() {
                keys.push(format!("nik:{}", m["nik"]));
            }
            for key in keys {
                match first_seen.get(&key) {
                    Some(j) if *j < i => {
                        clashes_earlier.insert(id.clone());
                    }
                    Some(_) => {}
                    None => {
                        first_seen.insert(key, i);
                    }
                }
            }
        }
    }

    let mut wanted: BTreeMap<String, BTreeSet<(String, String, i64)>> = BTreeMap::new();
    let (mut returned, mut qc_returned, mut determined) = (0, 0, 0);
    for line in &expected {
        let id = line["record_id"].as_str().unwrap();
        let got = &state[id];
        if line["status"] == "RETURNED" {
            returned += 1;
            assert_eq!(got["status"], "RETURNED", "{id}");
            assert_eq!(got["reasons"]["failures"], line["failures"], "{id}");
            continue;
        }
        match got["status"].as_str().unwrap() {
            "DETERMINED" => {
                determined += 1;
                for (programme, entries) in line["programmes"].as_object().unwrap() {
                    for e in entries.as_array().unwrap() {
                        if e["eligible"] == true {
                            wanted.entry(programme.clone()).or_default().insert((
                                id.to_string(),
                                e["subject"].as_str().unwrap().to_string(),
                                e["amount"].as_i64().unwrap(),
                            ));
                        }
                    }
                }
            }
            "RETURNED" => {
                qc_returned += 1;
                let codes = got["reasons"]["failures"].as_array().unwrap();
                assert!(
                    codes
                        .iter()
                        .all(|c| c == "DUPLICATE_NIK_REGISTRY" || c == "DUPLICATE_KK_REGISTRY"),
                    "{id}: {got}"
                );
                assert!(clashes_earlier.contains(id), "{id} has no earlier clash");
            }
            other => panic!("{id} ended {other}"),
        }
    }
    assert!(
        returned > 100 && determined > 5_000,
        "{returned} {determined}"
    );
    eprintln!("returned at verification {returned}, at QC {qc_returned}, determined {determined}");

    for (programme, expected) in wanted {
        let list = server.get(&format!(
            "/v1/programmes/{programme}/beneficiaries?period=2025-10"
        ));
        let got: BTreeSet<(String, String, i64)> = list
            .text()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["record_id"].as_str().unwrap().to_string(),
                    v["subject"].as_str().unwrap().to_string(),
                    v["amount"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got.len(), expected.len(), "{programme}");
        assert!(got == expected, "{programme}: the lists differ");
    }
}
