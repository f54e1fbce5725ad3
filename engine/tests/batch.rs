//! The batch commands end to end through the real binary: `layak gen`,
//! `layak run` and `layak impact`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn layak(args: &[&str], stdin: &[u8]) -> Output {
    layak_in(&root(), args, stdin)
}

fn layak_in(cwd: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_layak"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("layak starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // A command that does not read stdin closes it early.
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("layak finishes");
    writer.join().expect("stdin writer");
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("layak-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn generate(households: u32, seed: u32) -> Vec<u8> {
    let out = layak(
        &[
            "gen",
            "--households",
            &households.to_string(),
            "--seed",
            &seed.to_string(),
        ],
        b"",
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    out.stdout
}

fn samples() -> Vec<u8> {
    std::fs::read(root().join("rules/tests/samples.ndjson")).expect("samples exist")
}

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    text(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

const AS_OF: &str = "2025-10-01";

#[test]
fn gen_is_reproducible_from_the_seed() {
    let a = generate(300, 7);
    let b = generate(300, 7);
    let c = generate(300, 8);
    assert_eq!(a, b, "the same seed gives the same bytes");
    assert_ne!(a, c, "another seed gives another population");

    let dir = scratch("gen");
    let file = dir.join("h.ndjson");
    let out = layak(
        &[
            "gen",
            "--households",
            "300",
            "--seed",
            "7",
            "--output",
            file.to_str().expect("utf-8 path"),
        ],
        b"",
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(std::fs::read(&file).expect("output written"), a);

    let households = lines(&a);
    assert_eq!(households.len(), 300);
    let ids: BTreeSet<&str> = households
        .iter()
        .map(|h| h["record_id"].as_str().expect("record_id"))
        .collect();
    assert_eq!(ids.len(), 300, "record ids are unique");
    assert!(ids.contains("G7-1") && ids.contains("G7-300"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn run_over_a_generated_population_matches_eval_and_meets_every_defect() {
    let population = generate(4000, 1);
    let dir = scratch("run");
    let output = dir.join("d.ndjson");
    let out = layak(
        &[
            "run",
            "--rules",
            "rules",
            "--as-of",
            AS_OF,
            "--input",
            "-",
            "--output",
            output.to_str().expect("utf-8 path"),
        ],
        &population,
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stderr.contains("households/s"), "stderr: {stderr}");
    assert!(stderr.contains("4,000 households"), "stderr: {stderr}");
    let errors = std::fs::read(dir.join("d.ndjson.errors.ndjson")).expect("error file");
    assert!(
        errors.is_empty(),
        "every generated household decodes: {}",
        text(&errors)
    );
    let run = std::fs::read(&output).expect("output written");

    let eval = layak(&["eval", "--rules", "rules", "--as-of", AS_OF], &population);
    assert!(eval.status.success(), "stderr: {}", text(&eval.stderr));
    assert!(eval.stdout == run, "run and eval write the same bytes");

    let decisions = lines(&run);
    assert_eq!(decisions.len(), 4000);
    let mut codes = BTreeSet::new();
    let mut verified = 0;
    for d in &decisions {
        for key in ["failures", "warnings"] {
            for code in d[key].as_array().expect("codes") {
                codes.insert(code.as_str().expect("code").to_string());
            }
        }
        verified += usize::from(d["status"] == "VERIFIED");
    }
    for code in [
        "NIK_PLACEHOLDER",
        "NIK_FORMAT",
        "NIK_REGION",
        "NIK_CONSISTENCY",
        "DUKCAPIL_MATCH",
        "DUPLICATE_NIK_IN_RECORD",
        "ONE_LIVING_HEAD",
        "MEMBER_NOT_LIVING",
        "REGION_VALID",
        "COMPLETENESS",
        "VERVAL_DONE",
        "AGE_PLAUSIBLE",
        "PREGNANCY_IMPLAUSIBLE",
    ] {
        assert!(codes.contains(code), "{code} never occurs; seen {codes:?}");
    }
    assert!(
        verified * 10 > decisions.len() * 7,
        "most households pass verification: {verified} of {}",
        decisions.len()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn malformed_lines_go_to_the_error_file_and_the_run_goes_on() {
    let mut input = samples();
    input.extend_from_slice(
        b"{\"record_id\": \"BAD1\", \"region\": {\"desa_code\": 3310012001}, \"families\": []}\n",
    );
    input.extend_from_slice(b"this is not json\n");
    input.extend_from_slice(b"{\"record_id\": \"BAD3\", \"region\": {\"desa_code\": \"\xff\"}}\n");
    input.extend_from_slice(&samples());
    let dir = scratch("malformed");
    let output = dir.join("out.ndjson");
    let errors = dir.join("bad.ndjson");
    let out = layak(
        &[
            "run",
            "--as-of",
            AS_OF,
            "--input",
            "-",
            "--output",
            output.to_str().expect("utf-8 path"),
            "--errors",
            errors.to_str().expect("utf-8 path"),
            "--threads",
            "3",
        ],
        &input,
    );
    assert_eq!(out.status.code(), Some(3), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("3 malformed lines"));

    let eval = layak(&["eval", "--rules", "rules", "--as-of", AS_OF], &samples());
    let mut twice = eval.stdout.clone();
    twice.extend_from_slice(&eval.stdout);
    assert!(
        std::fs::read(&output).expect("output") == twice,
        "the good lines all run, in input order"
    );

    let bad = lines(&std::fs::read(&errors).expect("error file"));
    assert_eq!(bad.len(), 3);
    assert_eq!(bad[0]["line"], 8);
    assert_eq!(bad[0]["record_id"], "BAD1");
    let paths: Vec<&str> = bad[0]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    assert!(paths.contains(&"$.region.desa_code"), "{paths:?}");
    assert_eq!(bad[1]["line"], 9);
    assert!(bad[1]["record_id"].is_null());
    assert!(
        bad[1]["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("invalid JSON")
    );
    assert_eq!(bad[2]["line"], 10);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_failed_run_leaves_no_partial_output() {
    let dir = scratch("partial");
    let output = dir.join("out.ndjson");
    std::fs::write(&output, "previous run\n").expect("write");
    // A directory opens but cannot be read: the run fails after it has
    // started writing.
    let input = dir.join("not-a-file");
    std::fs::create_dir_all(&input).expect("dir");
    let out = layak(
        &[
            "run",
            "--as-of",
            AS_OF,
            "--input",
            input.to_str().expect("utf-8 path"),
            "--output",
            output.to_str().expect("utf-8 path"),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&output).expect("old output"),
        "previous run\n",
        "the previous output is untouched"
    );
    let left: Vec<String> = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "no temporary files are left: {left:?}");
    let _ = std::fs::remove_dir_all(dir);
}

fn impact(extra: &[&str], stdin: &[u8]) -> serde_json::Value {
    let mut args = vec![
        "impact", "--rules", "rules", "--as-of", AS_OF, "--format", "json",
    ];
    args.extend_from_slice(extra);
    let out = layak(&args, stdin);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("impact JSON")
}

#[test]
fn impact_of_elderly_age_60_leaves_h3_out_because_of_its_desil() {
    let report = impact(&["--against-param", "PKH_ELDERLY_MIN_AGE=60"], &samples());
    assert_eq!(report["households"], 7);
    assert_eq!(report["programmes"]["PKH"]["newly_eligible"], 0);
    assert_eq!(report["households_changed"], 0);
    let examples = report["examples"].as_array().expect("examples");
    assert!(examples.iter().all(|e| e["record_id"] != "H3"));
}

#[test]
fn impact_of_elderly_age_60_over_a_population_adds_elderly_families() {
    let population = generate(1500, 3);
    let report = impact(&["--against-param", "PKH_ELDERLY_MIN_AGE=60"], &population);
    let pkh = &report["programmes"]["PKH"];
    assert!(pkh["newly_eligible"].as_u64().expect("count") > 0, "{pkh}");
    assert_eq!(pkh["newly_ineligible"], 0, "{pkh}");
    assert!(pkh["delta_per_year"].as_i64().expect("money") > 0, "{pkh}");
    assert_eq!(report["programmes"]["SEMBAKO"]["newly_eligible"], 0);
    // Only desil 1-4 families can become eligible for PKH.
    for (desil, tally) in report["desil"].as_object().expect("desil") {
        if tally["newly_eligible"].as_u64() > Some(0) {
            assert!(
                ["1", "2", "3", "4"].contains(&desil.as_str()),
                "desil {desil}"
            );
        }
    }
    let newly: Vec<&serde_json::Value> = report["examples"]
        .as_array()
        .expect("examples")
        .iter()
        .filter(|e| e["kind"] == "newly_eligible")
        .collect();
    assert!(!newly.is_empty());
    for e in newly {
        assert_eq!(e["programme"], "PKH");
        assert_eq!(e["flipped"][0]["code"], "HAS_COMPONENT", "{e}");
        assert_eq!(
            e["after"]["amount"], 2_400_000,
            "one elderly component: {e}"
        );
    }

    // The same change written into a copy of the rules gives the same
    // report. Both trees sit in one scratch directory, named relative to it
    // (absolute rule paths do not resolve imports yet).
    let dir = scratch("impact-rules");
    copy_rules(&root().join("rules"), &dir.join("base"));
    copy_rules(&root().join("rules"), &dir.join("changed"));
    let pkh_file = dir.join("changed/pkh.lyk");
    let source = std::fs::read_to_string(&pkh_file).expect("pkh.lyk");
    let changed = source.replacen("  70 from 2021-01-01", "  60 from 2021-01-01", 1);
    assert_ne!(source, changed);
    std::fs::write(&pkh_file, changed).expect("write");
    let out = layak_in(
        &dir,
        &[
            "impact",
            "--rules",
            "base",
            "--against",
            "changed",
            "--as-of",
            AS_OF,
            "--format",
            "json",
        ],
        &population,
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let by_dir: serde_json::Value = serde_json::from_slice(&out.stdout).expect("impact JSON");
    assert_eq!(by_dir["programmes"], report["programmes"]);
    let table = layak(
        &[
            "impact",
            "--as-of",
            AS_OF,
            "--against-param",
            "PKH_ELDERLY_MIN_AGE=60",
            "--lang",
            "id",
        ],
        &generate(200, 4),
    );
    assert!(table.status.success(), "stderr: {}", text(&table.stderr));
    let table = text(&table.stdout);
    assert!(
        table.contains("by desil") && table.contains("contoh"),
        "{table}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn copy_rules(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("rules dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name");
        if path.is_dir() {
            if name != "tests" {
                copy_rules(&path, &to.join(name));
            }
        } else {
            std::fs::copy(&path, to.join(name)).expect("copy");
        }
    }
}

/// `layak run` pays for counterfactuals only when asked with `--what-if`.
#[test]
fn run_adds_what_if_only_when_asked() {
    let dir = scratch("whatif");
    let samples = std::fs::read(root().join("rules/tests/samples.ndjson")).expect("samples");
    let lines = |extra: &[&str]| -> Vec<serde_json::Value> {
        let output = dir.join("out.ndjson");
        let mut args = vec![
            "run",
            "--as-of",
            AS_OF,
            "--input",
            "-",
            "--output",
            output.to_str().expect("utf-8 path"),
        ];
        args.extend_from_slice(extra);
        let out = layak(&args, &samples);
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        std::fs::read_to_string(&output)
            .expect("output")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    };
    assert!(lines(&[]).iter().all(|l| l.get("what_if").is_none()));
    let asked = lines(&["--what-if"]);
    let h4 = asked.iter().find(|l| l["record_id"] == "H4").expect("H4");
    let codes: Vec<&str> = h4["what_if"]["record"]
        .as_array()
        .expect("record")
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert_eq!(codes, ["NIK_PLACEHOLDER", "DUKCAPIL_MATCH", "COMPLETENESS"]);
    let _ = std::fs::remove_dir_all(dir);
}
