//! Storing rules without a script: the rules directory as a tar archive
//! (`POST /v1/rulesets`, `application/x-tar`) and `layak rules push`,
//! through the real binary and a real server.

use super::serve_common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;
use serve_common::{BIN, Database, Server, TempDir, root, rule_files};

const TAR: &str = "application/x-tar";

/// The rules directory as `tar -C rules -c .` makes it (names start `./`,
/// folders and `tests/` included).
fn tar_of(dir: &Path) -> Vec<u8> {
    let out = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(["-c", "."])
        .output()
        .expect("run tar");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn layak(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(root())
        .args(args)
        .env_remove("LAYAK_TOKEN")
        .output()
        .expect("run layak")
}

/// A copy of the shipped rules (their tests too) in `to`.
fn copy_rules(to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy(&path, &target);
            } else {
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }
    copy(&root().join("rules"), to);
}

#[test]
fn a_tar_of_the_rules_stores_the_version_the_json_form_stores() {
    let dir = TempDir::new("rules-tar");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);

    let tar = tar_of(&root().join("rules"));
    let stored = server.post_bytes("/v1/rulesets?note=from%20a%20tar", TAR, &tar);
    assert_eq!(stored.status, 201, "{}", stored.text());
    let stored = stored.json();
    assert_eq!(stored["created"], true);
    assert_eq!(stored["note"], "from a tar");

    // The JSON form of the same directory is the same version.
    let again = server.post("/v1/rulesets", &json!({"files": rule_files()}));
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["hash"], stored["hash"]);
    assert_eq!(again.json()["created"], false);
    // An archive of the folder itself (`tar -c rules`, and the playground's
    // "Download rules", whose names start `rules/`) is the same version.
    let folder = Command::new("tar")
        .current_dir(root())
        .args(["-c", "rules"])
        .output()
        .unwrap()
        .stdout;
    let reply = server.post_bytes("/v1/rulesets", TAR, &folder);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["hash"], stored["hash"]);
    // Every file `layak check rules` reads, named relative to `rules/`, and
    // nothing under `tests/`.
    let shown = server.get(&format!("/v1/rulesets/{}", stored["id"])).json();
    let by_name = |files: &[serde_json::Value]| {
        let mut files = files.to_vec();
        files.sort_by_key(|f| f["name"].as_str().unwrap().to_string());
        files
    };
    let (shown, expected) = (
        by_name(shown["files"].as_array().unwrap()),
        by_name(&rule_files()),
    );
    let names = |files: &[serde_json::Value]| -> Vec<String> {
        files.iter().map(|f| f["name"].to_string()).collect()
    };
    assert_eq!(names(&shown), names(&expected));
    assert!(shown == expected, "the stored texts differ from the files");

    // The JSON form takes `?note=` too, but not a second note.
    let twice = server.post(
        "/v1/rulesets?note=b",
        &json!({"files": rule_files(), "note": "a"}),
    );
    twice.assert_problem(422, "INVALID_REQUEST");

    // A body that is no tar archive, a file that is not UTF-8, an archive
    // without a rule file: 422 naming what is wrong.
    let junk = server.post_bytes("/v1/rulesets", TAR, &[0x5a; 4096]);
    junk.assert_problem(422, "INVALID_REQUEST");
    assert!(
        junk.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("the body is not a tar archive"),
        "{}",
        junk.text()
    );

    let latin1 = TempDir::new("rules-latin1");
    std::fs::write(latin1.path().join("schema.lyk"), b"// caf\xe9\n").unwrap();
    let reply = server.post_bytes("/v1/rulesets", TAR, &tar_of(latin1.path()));
    reply.assert_problem(422, "INVALID_REQUEST");
    assert_eq!(
        reply.json()["detail"],
        "`schema.lyk` is not UTF-8 text (byte 6)"
    );

    let empty = TempDir::new("rules-empty");
    std::fs::write(empty.path().join("notes.md"), "no rules here").unwrap();
    let reply = server.post_bytes("/v1/rulesets", TAR, &tar_of(empty.path()));
    reply.assert_problem(422, "INVALID_REQUEST");
    assert!(
        reply.text().contains("no rule file (`.lyk`)"),
        "{}",
        reply.text()
    );

    // Rules with errors get the same answer as in JSON: RULES_INVALID.
    let broken = TempDir::new("rules-broken-tar");
    std::fs::write(broken.path().join("schema.lyk"), "record {").unwrap();
    let reply = server.post_bytes("/v1/rulesets", TAR, &tar_of(broken.path()));
    reply.assert_problem(422, "RULES_INVALID");
    assert_eq!(reply.json()["diagnostics"][0]["file"], "schema.lyk");
}

#[test]
fn rules_push_stores_and_activates_a_directory() {
    let dir = TempDir::new("rules-push");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);

    // A token that may not author rules: the problem, exit 1.
    let out = layak(&[
        "rules",
        "push",
        "rules",
        "--server",
        &server.base,
        "--token",
        "layak_nope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: the service answered 401 Unauthorized (UNAUTHENTICATED)"),
        "{stderr}"
    );

    let out = layak(&[
        "rules",
        "push",
        "rules",
        "--server",
        &server.base,
        "--token",
        &server.token,
        "--activate",
        "determination:2025-01-01",
        "--note",
        "pushed",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let list = server.get("/v1/rulesets").json();
    let hash = list["rulesets"][0]["hash"].as_str().unwrap();
    assert_eq!(
        stdout,
        format!(
            "stored ruleset 1 (hash {}..., new)\n\
             activated ruleset 1 for determination from 2025-01-01\n",
            &hash[..8]
        )
    );
    assert_eq!(list["rulesets"][0]["note"], "pushed");
    let activations = list["activations"].as_array().unwrap();
    assert_eq!(activations.len(), 1, "{list}");
    assert_eq!(activations[0]["ruleset_id"], 1);
    assert_eq!(activations[0]["stage"], "determination");
    assert_eq!(activations[0]["effective_from"], "2025-01-01");

    // Again, with the token from the environment, the default directory
    // (`rules`, from the workspace root) and a trailing `/` on the URL.
    let out = Command::new(BIN)
        .current_dir(root())
        .args(["rules", "push", "--server", &format!("{}/", server.base)])
        .args([
            "--activate",
            "verification:2025-01-01",
            "--activate",
            "qc:2025-02-01",
        ])
        .env("LAYAK_TOKEN", &server.token)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        format!(
            "stored ruleset 1 (hash {}..., already stored)\n\
             activated ruleset 1 for verification from 2025-01-01\n\
             activated ruleset 1 for qc from 2025-02-01\n",
            &hash[..8]
        )
    );
    assert_eq!(
        server.get("/v1/rulesets").json()["activations"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // A stage that does not exist is refused before anything is sent.
    let out = layak(&[
        "rules",
        "push",
        "--server",
        &server.base,
        "--activate",
        "payment:2025-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("found `payment`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rules_push_prints_the_refusal_as_layak_check_prints_it() {
    let dir = TempDir::new("rules-push-broken");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);
    let rules = dir.path().join("rules");
    copy_rules(&rules);
    let common = rules.join("common.lyk");
    let text = std::fs::read_to_string(&common).unwrap();
    assert!(text.contains("f.desil"));
    std::fs::write(&common, text.replacen("f.desil", "f.desl", 1)).unwrap();
    let line = text.lines().position(|l| l.contains("f.desil")).unwrap() + 1;

    let rules_arg = rules.to_str().unwrap();
    let out = layak(&[
        "rules",
        "push",
        rules_arg,
        "--server",
        &server.base,
        "--token",
        &server.token,
        "--activate",
        "determination:2025-01-01",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("error[E0104]"), "{stderr}");
    assert!(stderr.contains("did you mean `desil`?"), "{stderr}");
    assert!(
        stderr.contains(&format!("{rules_arg}/common.lyk:{line}:")),
        "{stderr}"
    );
    // Exactly what `layak check` prints for the same directory, its summary
    // line aside.
    let check = layak(&["check", rules_arg]);
    assert_eq!(check.status.code(), Some(1));
    let check = String::from_utf8_lossy(&check.stderr);
    let (rendered, summary) = check.trim_end().rsplit_once('\n').unwrap();
    assert!(summary.starts_with("checked "), "{summary}");
    assert_eq!(
        stderr,
        format!(
            "{rendered}\nthe service at {} refused the rules in `{rules_arg}`: 1 error\n",
            server.base
        )
    );
    // Nothing was stored or activated.
    let list = server.get("/v1/rulesets").json();
    assert_eq!(list["rulesets"], json!([]));
}

#[test]
fn rules_push_to_an_unreachable_server_says_which() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = layak(&[
        "rules", "push", "rules", "--server", &url, "--token", "layak_x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: could not reach the service at {url}/v1/rulesets: "
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn rules_push_prints_warnings_as_layak_check_prints_them() {
    let dir = TempDir::new("rules-push-warning");
    let server = Server::start(&Database::new(&dir, "register.db"), &[]);
    let rules = dir.path().join("rules");
    copy_rules(&rules);
    let common = rules.join("common.lyk");
    let mut text = std::fs::read_to_string(&common).unwrap();
    text.push_str("\ndef never_used(f: Family): bool = true\n");
    std::fs::write(&common, text).unwrap();

    let rules_arg = rules.to_str().unwrap();
    let out = layak(&[
        "rules",
        "push",
        rules_arg,
        "--server",
        &server.base,
        "--token",
        &server.token,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning[W0001]"), "{stderr}");
    let check = layak(&["check", rules_arg]);
    assert_eq!(check.status.code(), Some(0));
    let check = String::from_utf8_lossy(&check.stderr);
    let (rendered, summary) = check.trim_end().rsplit_once('\n').unwrap();
    assert!(summary.ends_with("0 errors, 1 warning"), "{summary}");
    assert_eq!(stderr, format!("{rendered}\n"));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("stored ruleset 1 (hash "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
