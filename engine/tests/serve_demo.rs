//! `layak serve --demo` as a newcomer runs it: its own database per run in
//! a fresh temporary directory (two demos side by side keep their tokens),
//! removed when the service stops; its tokens printed as `export` lines; an
//! operator whose region holds the sample households. With `--database` (a
//! SQLite file, or a PostgreSQL database when the harness has a server),
//! the register stays and a second run revokes the first run's tokens.

use super::serve_common;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serve_common::{BIN, Database, Server, TempDir, root, samples};

/// A running demo: the server, what it printed, its variables.
struct Demo {
    server: Server,
    printed: Vec<String>,
    vars: BTreeMap<String, String>,
    /// As the demo printed it.
    database: String,
}

/// Starts `layak serve --demo`, on `database` or with no `--database` (its
/// temp dir in `tmp`), and reads what it prints up to its `try:` line.
fn start_demo(tmp: &Path, database: Option<&Database>) -> Demo {
    let mut command = Command::new(BIN);
    command.current_dir(root()).args([
        "serve",
        "--demo",
        "--demo-households",
        "40",
        "--listen",
        "127.0.0.1:0",
    ]);
    if let Some(db) = database {
        command.args(["--database", db.arg()]);
    }
    let mut child = command
        .env("TMPDIR", tmp)
        .env("LAYAK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn layak serve --demo");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = Vec::new();
    loop {
        let mut line = String::new();
        let n = stdout.read_line(&mut line).expect("read the demo's output");
        assert!(n > 0, "the demo stopped after printing {printed:#?}");
        let done = line.starts_with("try:");
        printed.push(line.trim_end().to_string());
        if done {
            break;
        }
    }
    // What a reader pastes: `export NAME=value   # comment`.
    let vars: BTreeMap<String, String> = printed
        .iter()
        .filter_map(|l| l.strip_prefix("export "))
        .map(|l| {
            let assignment = l.split_whitespace().next().unwrap();
            let (name, value) = assignment.split_once('=').unwrap();
            (name.to_string(), value.to_string())
        })
        .collect();
    let database = printed
        .iter()
        .find_map(|l| l.strip_prefix("demo database: "))
        .map(|l| l.split(" (").next().unwrap().to_string())
        .unwrap_or_else(|| panic!("no database line in {printed:#?}"));
    let base = vars["B"].clone();
    assert_eq!(
        printed[0],
        format!("layak serve: listening on {base}"),
        "the listening line comes first"
    );
    let server = Server::attach(child, base, vars["ADMIN"].clone());
    Demo {
        server,
        printed,
        vars,
        database,
    }
}

/// Stops the service the way Ctrl-C does, and waits for it.
fn interrupt(server: &mut Server) {
    let status = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let start = Instant::now();
    loop {
        if let Some(exit) = server.child.try_wait().expect("wait") {
            assert!(exit.success(), "the demo exited with {exit}");
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the demo did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn each_demo_has_its_own_database_and_working_tokens() {
    let tmp = TempDir::new("demo");
    let mut first = start_demo(tmp.path(), None);
    let mut second = start_demo(tmp.path(), None);

    // Each run its own database, in a fresh directory of the temp dir.
    for demo in [&first, &second] {
        let file = Path::new(&demo.database);
        assert!(file.is_file(), "{}", demo.database);
        let dir = file.parent().unwrap();
        assert_eq!(dir.parent().unwrap(), tmp.path());
        assert!(
            dir.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("layak-demo-")
        );
    }
    assert_ne!(first.database, second.database);
    // One variable per role, named as README's walkthrough uses them.
    let names: Vec<&str> = first.vars.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "ADMIN", "AUDITOR", "AUTHOR", "B", "OPERATOR", "PARTNER", "REVIEWER"
        ],
        "{:#?}",
        first.printed
    );

    // The second demo revoked nothing of the first's.
    for demo in [&first, &second] {
        for role in ["ADMIN", "AUTHOR", "REVIEWER", "OPERATOR", "AUDITOR"] {
            let path = if role == "AUDITOR" {
                "/v1/audit?limit=1"
            } else if role == "AUTHOR" {
                "/v1/rulesets"
            } else {
                "/v1/register"
            };
            let reply = demo.server.get_as(&demo.vars[role], path);
            assert_eq!(reply.status, 200, "{role}: {}", reply.text());
        }
    }

    // The operator's region holds every sample household: README's
    // walkthrough proposes them with its token.
    let proposed = first
        .server
        .call(
            Some(&first.vars["OPERATOR"]),
            "POST",
            "/v1/households",
            Some(("application/x-ndjson", samples().as_bytes())),
        )
        .json();
    assert_eq!(
        (proposed["stored"].clone(), proposed["rejected"].clone()),
        (serde_json::json!(7), serde_json::json!(0)),
        "{proposed}"
    );

    // Stopped as a reader stops it, the demo takes its directory along;
    // the other keeps serving.
    interrupt(&mut first.server);
    let first_dir = Path::new(&first.database).parent().unwrap();
    assert!(
        !first_dir.exists(),
        "{} is still there",
        first_dir.display()
    );
    let reply = second.server.get("/v1/register");
    assert_eq!(reply.status, 200, "{}", reply.text());
    interrupt(&mut second.server);
    assert!(!Path::new(&second.database).parent().unwrap().exists());
}

#[test]
fn a_demo_on_a_given_database_keeps_it_and_a_new_run_revokes_the_old_tokens() {
    let tmp = TempDir::new("demo-kept");
    let db = Database::new(&tmp, "register.db");
    let mut first = start_demo(tmp.path(), Some(&db));
    assert_eq!(first.database, db.arg());
    let register = |demo: &Demo| {
        let start = Instant::now();
        loop {
            // The demo's jobs run after the listening line: wait for them.
            let reply = demo.server.get("/v1/register").json();
            if reply["households"].get("VERIFIED").is_none()
                && reply["households"].get("PROPOSED").is_none()
                && reply["households"].get("QC_PASSED").is_none()
            {
                return reply;
            }
            assert!(start.elapsed() < Duration::from_secs(120), "{reply}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let before = register(&first);
    let counts = before["households"].as_object().unwrap();
    assert_eq!(
        counts
            .values()
            .filter_map(serde_json::Value::as_i64)
            .sum::<i64>(),
        40,
        "{before}"
    );
    assert!(counts["DETERMINED"].as_i64().unwrap() > 0, "{before}");
    interrupt(&mut first.server);

    // Run again on the same database: the register is kept (nothing is
    // loaded twice), the new tokens work and the old ones are revoked.
    let mut second = start_demo(tmp.path(), Some(&db));
    assert_eq!(register(&second), before);
    for role in ["ADMIN", "AUDITOR"] {
        let path = "/v1/audit?limit=1";
        let old = second.server.get_as(&first.vars[role], path);
        old.assert_problem(401, "UNAUTHENTICATED");
        let new = second.server.get_as(&second.vars[role], path);
        assert_eq!(new.status, 200, "{role}: {}", new.text());
    }
    interrupt(&mut second.server);
    // A given database is the user's: it stays.
    if !db.is_postgres() {
        assert!(Path::new(db.arg()).is_file());
    }
}
