//! The `layak` binary end to end: real processes, real files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn layak(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_layak"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("layak starts");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("stdin is written");
    }
    child.wait_with_output().expect("layak finishes")
}

/// `layak eval --rules rules --as-of 2025-10-01` with more arguments.
fn eval(extra: &[&str], stdin: &str) -> Output {
    let mut args = vec!["eval", "--rules", "rules", "--as-of", "2025-10-01"];
    args.extend_from_slice(extra);
    layak(&args, stdin)
}

fn samples() -> String {
    std::fs::read_to_string(root().join("rules/tests/samples.ndjson")).expect("samples exist")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn eval_summary_of_the_samples() {
    let out = eval(&["--format", "summary"], &samples());
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    insta::assert_snapshot!("eval_summary_samples", text(&out.stdout));
}

#[test]
fn what_if_elderly_age_60_shows_sukardi_in_h3_explanation() {
    let out = eval(
        &["--param", "PKH_ELDERLY_MIN_AGE=60", "--explain"],
        &samples(),
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let h3: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .find(|v| v["record_id"] == "H3")
        .expect("H3 is in the output");
    let pkh = &h3["programmes"]["PKH"][0];
    assert_eq!(pkh["eligible"], false);
    let items = h3["explanation"]["programmes"]["PKH"][0]["benefit"]["items"]
        .as_array()
        .expect("benefit items");
    assert!(
        items
            .iter()
            .any(|i| i["label"] == "Sukardi" && i["value"] == 2_400_000),
        "Sukardi's elderly component is in H3's PKH explanation: {items:?}"
    );
}

#[test]
fn eval_text_report_in_indonesian() {
    let h1 = samples().lines().next().unwrap_or_default().to_string();
    let out = eval(&["--format", "text", "--lang", "id"], &h1);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("TERVERIFIKASI"), "{report}");
    assert!(report.contains("Rp 6.900.000"), "{report}");
}

#[test]
fn malformed_lines_are_reported_and_the_rest_still_runs() {
    let mut input = String::new();
    let mut lines = samples().lines().map(str::to_string).collect::<Vec<_>>();
    lines.insert(
        1,
        "{\"record_id\": \"BAD1\", \"region\": {\"desa_code\": 3310012001}, \"families\": []}"
            .into(),
    );
    lines.insert(2, "{\"record_id\": \"BAD2\", ".into());
    for l in &lines {
        input.push_str(l);
        input.push('\n');
    }
    let out = eval(&[], &input);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("line 2: $.region.desa_code"), "{stderr}");
    assert!(stderr.contains("line 3: $"), "{stderr}");
    assert_eq!(
        text(&out.stdout).lines().count(),
        7,
        "the seven good lines still ran"
    );
}

/// The samples with a misspelt `desil` in H1 and fields the schema does not
/// name in H2 and H3.
fn samples_with_unknown_fields() -> String {
    let mut input = String::new();
    for (i, line) in samples().lines().enumerate() {
        let line = match i {
            0 => line.replacen("\"desil\": 2", "\"desl\": 2", 1),
            1 => line.replacen("\"housing\": {", "\"housing\": {\"colour\": \"blue\", ", 1),
            2 => line.replace(
                "\"pregnant\": false",
                "\"pregnant\": false, \"hobby\": \"kite\"",
            ),
            _ => line.to_string(),
        };
        input.push_str(&line);
        input.push('\n');
    }
    input
}

#[test]
fn a_misspelt_field_is_malformed_and_unknown_fields_are_reported_once() {
    let out = eval(&[], &samples_with_unknown_fields());
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("line 1: $.families[0].desl: unknown field; did you mean `desil`?\n"),
        "{stderr}"
    );
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("unknown fields ignored"))
        .collect();
    assert_eq!(
        reports,
        ["4 unknown fields ignored: `families[].members[].hobby` (3), `housing.colour` (1)"],
        "{stderr}"
    );
    assert_eq!(
        text(&out.stdout).lines().count(),
        6,
        "the other lines still ran"
    );

    let output =
        std::env::temp_dir().join(format!("layak-cli-unknown-{}.ndjson", std::process::id()));
    let output_arg = output.to_string_lossy().into_owned();
    let args = [
        "run",
        "--rules",
        "rules",
        "--as-of",
        "2025-10-01",
        "--input",
        "-",
        "--output",
        &output_arg,
    ];
    let run = layak(&args, &samples_with_unknown_fields());
    let run_stderr = text(&run.stderr);
    let mut errors_path = output.clone().into_os_string();
    errors_path.push(".errors.ndjson");
    let errors = std::fs::read_to_string(&errors_path).unwrap_or_default();
    let _ = std::fs::remove_file(&output);
    let _ = std::fs::remove_file(&errors_path);
    assert_eq!(run.status.code(), Some(3), "{run_stderr}");
    assert!(errors.contains("did you mean `desil`?"), "{errors}");
    assert!(
        run_stderr.contains(
            "\n4 unknown fields ignored: `families[].members[].hobby` (3), `housing.colour` (1)\n"
        ),
        "{run_stderr}"
    );
}

#[test]
fn check_reports_a_misspelt_field_with_did_you_mean() {
    let out = layak(
        &["check", "engine/tests/fixtures/desl", "rules/schema.lyk"],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("engine/tests/fixtures/desl/rules.lyk:9:"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `desil`?"), "{stderr}");
    assert!(
        stderr.contains("^^^^"),
        "the misspelt name is underlined: {stderr}"
    );
}

#[test]
fn check_shipped_rules_is_clean() {
    let out = layak(&["check", "rules"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(": 0 errors, 0 warnings"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rule_tests_pass_with_coverage() {
    let out = layak(&["test", "rules/tests"], "");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("coverage per criterion"), "{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[test]
fn bad_as_of_and_unknown_param_are_clear_errors() {
    let out = layak(&["eval", "--rules", "rules", "--as-of", "2025-13-01"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not a date"));
    let out = layak(
        &[
            "eval",
            "--rules",
            "rules",
            "--as-of",
            "2025-10-01",
            "--param",
            "PKH_ELDERLY_MIN_AGEE=60",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("PKH_ELDERLY_MIN_AGE"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rules_given_by_absolute_path_resolve_their_imports() {
    let rules = root().join("rules");
    let rules = rules.to_string_lossy();
    let out = layak(
        &["eval", "--rules", &rules, "--as-of", "2025-10-01"],
        &samples(),
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 7);
}

/// Counterfactuals in the text report, both languages: H3 (desil 4, a KIP
/// card) and H4 (each returned code with the change that clears it).
#[test]
fn eval_text_what_would_change_h3_h4() {
    let lines: Vec<String> = samples()
        .lines()
        .filter(|l| l.contains("\"H3\"") || l.contains("\"H4\""))
        .map(|l| format!("{l}\n"))
        .collect();
    for lang in ["id", "en"] {
        let out = eval(&["--format", "text", "--lang", lang], &lines.concat());
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        insta::assert_snapshot!(format!("eval_text_what_if_{lang}"), text(&out.stdout));
    }
}

/// `--explain` carries `what_if`; the plain summary and `--no-what-if` do not.
#[test]
fn eval_explain_carries_what_if_only_when_explaining() {
    let h3 = samples()
        .lines()
        .find(|l| l.contains("\"H3\""))
        .unwrap_or_default()
        .to_string();
    let line = |extra: &[&str]| -> serde_json::Value {
        let out = eval(extra, &h3);
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("one json line")
    };
    let explained = line(&["--explain"]);
    let offer = &explained["what_if"]["programmes"]["PKH"][0]["criteria"][0]["offers"][0];
    assert_eq!(offer["changes"][0]["path"], "families[0].desil");
    assert_eq!(offer["changes"][0]["to"], 4);
    assert_eq!(offer["result"]["amount"], 2_000_000);
    assert!(line(&[]).get("what_if").is_none());
    assert!(
        line(&["--explain", "--no-what-if"])
            .get("what_if")
            .is_none()
    );
}
