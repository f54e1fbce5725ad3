//! `/v1/evaluate` under load, through the real server on either store:
//! tokens from the in-process cache (a revocation reaches every replica
//! within a second), audit entries from concurrent requests in group
//! commits (one each, the chain intact), the NDJSON stream form against
//! `layak run` (the same lines, streamed both ways), a full evaluation
//! queue (503 `EVALUATION_BUSY`), and a failed audit commit (500, never a
//! success).

use super::serve_common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use serve_common::{BIN, Database, Server, TempDir, cli, create_token, root, samples};

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

fn h1() -> Value {
    serde_json::from_str(samples().lines().next().unwrap()).unwrap()
}

/// The id `layak token list` gives the token named `name`.
fn token_id(db: &Database, name: &str) -> String {
    let listed = layak(&["token", "list", "--database", db.arg()]).1;
    listed
        .lines()
        .find(|l| l.split('\t').nth(1) == Some(name))
        .and_then(|l| l.split('\t').next())
        .unwrap_or_else(|| panic!("no token {name} in {listed}"))
        .to_string()
}

/// Every audit entry, paging through `GET /v1/audit`.
fn audit_trail(server: &Server) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = server
            .get(&format!("/v1/audit?limit=1000&after={after}"))
            .json();
        let entries = page["entries"].as_array().unwrap().clone();
        out.extend(entries);
        match page["next"].as_i64() {
            Some(next) => after = next,
            None => return out,
        }
    }
}

#[test]
fn a_revocation_and_an_activation_reach_every_replica_within_a_second() {
    let dir = TempDir::new("revoke-replicas");
    let db = Database::new(&dir, "register.db");
    let a = Server::start(&db, &["--rate-limit", "0"]);
    let b = Server::start(&db, &["--rate-limit", "0"]);
    // A token made after both started works on both at once (a miss in
    // their caches is looked up in the database).
    let secret = create_token(&db, "ministry_reviewer", None, None, "replicated");
    for server in [&a, &b] {
        assert_eq!(server.get_as(&secret, "/v1/rulesets").status, 200);
    }
    // Both have refreshed their caches since, and answer from memory.
    std::thread::sleep(Duration::from_millis(600));
    for server in [&a, &b] {
        for _ in 0..20 {
            assert_eq!(server.get_as(&secret, "/v1/rulesets").status, 200);
        }
    }
    let id = token_id(&db, "replicated");
    let (ok, out) = layak(&["token", "revoke", &id, "--database", db.arg()]);
    assert!(ok, "{out}");
    let revoked = Instant::now();
    let mut refused = [None, None];
    while refused.iter().any(Option::is_none) {
        for (i, server) in [&a, &b].into_iter().enumerate() {
            if refused[i].is_none() {
                let reply = server.get_as(&secret, "/v1/rulesets");
                if reply.status == 401 {
                    reply.assert_problem(401, "UNAUTHENTICATED");
                    refused[i] = Some(revoked.elapsed());
                } else {
                    assert_eq!(reply.status, 200, "{}", reply.text());
                }
            }
        }
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "a replica still took the revoked token after 1 s: {refused:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Refused for good; the admin token of each start still works.
    for server in [&a, &b] {
        server
            .get_as(&secret, "/v1/rulesets")
            .assert_problem(401, "UNAUTHENTICATED");
        assert_eq!(server.get("/v1/rulesets").status, 200);
    }

    // An activation on one replica: at once there, within a second on the
    // other (which evaluated with the version before, from memory).
    let first = a.load_rules();
    let body = json!({"household": h1(), "as_of": "2025-10-01"});
    for server in [&a, &b] {
        let reply = server.post("/v1/evaluate", &body);
        assert_eq!(reply.json()["ruleset"], first.as_str(), "{}", reply.text());
    }
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        b.post("/v1/evaluate", &body).json()["ruleset"],
        first.as_str()
    );
    let mut files = serve_common::rule_files();
    let text = files[0]["text"].as_str().unwrap().to_string();
    files[0]["text"] = json!(format!("{text}\n// a second version\n"));
    let stored = a.post("/v1/rulesets", &json!({"files": files, "note": "v2"}));
    assert_eq!(stored.status, 201, "{}", stored.text());
    let second = stored.json()["hash"].as_str().unwrap().to_string();
    let activated = a.post(
        &format!("/v1/rulesets/{second}/activate"),
        &json!({"stage": "determination", "effective_from": "2000-01-01"}),
    );
    assert_eq!(activated.status, 201, "{}", activated.text());
    let switched = Instant::now();
    assert_eq!(
        a.post("/v1/evaluate", &body).json()["ruleset"],
        second.as_str()
    );
    loop {
        let used = b.post("/v1/evaluate", &body).json()["ruleset"].clone();
        if used == second.as_str() {
            break;
        }
        assert_eq!(used, first.as_str());
        assert!(
            switched.elapsed() < Duration::from_secs(1),
            "the other replica still used the version before after 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn concurrent_evaluations_get_one_audit_entry_each_in_an_intact_chain() {
    const CLIENTS: usize = 16;
    const EACH: usize = 25;
    let dir = TempDir::new("evaluate-audit");
    let db = Database::new(&dir, "register.db");
    let server = Server::start(&db, &["--rate-limit", "0"]);
    server.load_rules();
    // On PostgreSQL a second replica evaluates at the same time: its
    // groups chain into the same trail (SQLite serves one process).
    let second = db
        .is_postgres()
        .then(|| Server::start(&db, &["--rate-limit", "0"]));
    let before = audit_trail(&server).len();
    let body = json!({"household": h1(), "as_of": "2025-10-01"});
    let expected = server.post("/v1/evaluate", &body).json();
    let mut servers = vec![&server];
    servers.extend(second.as_ref());
    std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            let target = servers[c % servers.len()];
            let body = &body;
            let expected = &expected;
            scope.spawn(move || {
                for _ in 0..EACH {
                    let reply = target.post("/v1/evaluate", body);
                    assert_eq!(reply.status, 200, "{}", reply.text());
                    assert_eq!(&reply.json(), expected);
                }
            });
        }
    });
    let trail = audit_trail(&server);
    // The first evaluation, then every concurrent one, each once; no other
    // entries came between (the audit reads themselves follow).
    let evaluations: Vec<&Value> = trail
        .iter()
        .skip(before)
        .filter(|e| e["action"] == "evaluate")
        .collect();
    assert_eq!(evaluations.len(), 1 + CLIENTS * EACH);
    for e in &evaluations {
        assert!(
            e["actor"].as_str().unwrap().starts_with("test-admin#"),
            "{e}"
        );
        assert_eq!(e["records"], 1);
        assert_eq!(e["target"], "households sent for evaluation");
    }
    let seqs: Vec<i64> = trail.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let (ok, out) = layak(&["audit", "verify", "--database", db.arg()]);
    assert!(ok && out.contains("intact"), "{out}");
}

/// What `layak run` writes for `input` (with `extra` arguments),
/// interleaved as the stream answers: the summary line of each decided
/// line, the error-file object of each other line, in input order.
fn layak_run_lines(dir: &TempDir, input: &[u8], extra: &[&str]) -> Vec<String> {
    let input_path = dir.path().join("run-input.ndjson");
    let out = dir.path().join("run-out.ndjson");
    let errors = dir.path().join("run-errors.ndjson");
    std::fs::write(&input_path, input).unwrap();
    let mut args = vec![
        "run",
        "--rules",
        "rules",
        "--as-of",
        "2025-10-01",
        "--input",
        input_path.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--errors",
        errors.to_str().unwrap(),
    ];
    args.extend(extra);
    layak(&args);
    let decided = std::fs::read_to_string(&out).unwrap();
    let failed = std::fs::read_to_string(&errors).unwrap();
    let mut failed: Vec<(u64, &str)> = failed
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["line"].as_u64().unwrap(), l)
        })
        .collect();
    failed.reverse();
    let mut decided = decided.lines();
    let mut lines = Vec::new();
    for (no, text) in (1..).zip(String::from_utf8_lossy(input).lines()) {
        if text.trim().is_empty() {
            continue;
        }
        if failed.last().is_some_and(|(n, _)| *n == no) {
            lines.push(failed.pop().unwrap().1.to_string());
        } else {
            lines.push(decided.next().expect("a decided line").to_string());
        }
    }
    assert!(decided.next().is_none() && failed.is_empty());
    lines
}

fn stream_lines(reply: &serve_common::Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.content_type, "application/x-ndjson");
    reply.text().lines().map(str::to_string).collect()
}

#[test]
fn the_ndjson_stream_answers_what_layak_run_writes() {
    let dir = TempDir::new("evaluate-stream");
    let db = Database::new(&dir, "register.db");
    let server = Server::start(&db, &["--rate-limit", "0"]);
    server.load_rules();
    // The samples, generated households, and lines that are not
    // households (each answered with its errors, in place).
    let generated = cli(&["gen", "--households", "1500", "--seed", "7"], None);
    let mut input = samples().into_bytes();
    input.extend_from_slice(b"not json\n\n{\"record_id\": 5}\n");
    input.extend_from_slice(&generated);
    let before = audit_trail(&server).len();
    for (query, extra) in [("", &[][..]), ("&explain=summary", &["--explain"][..])] {
        let reply = server.post_bytes(
            &format!("/v1/evaluate?as_of=2025-10-01{query}"),
            "application/x-ndjson",
            &input,
        );
        let got = stream_lines(&reply);
        let want = layak_run_lines(&dir, &input, extra);
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "line {}", i + 1);
        }
    }
    // One audit entry per stream, naming its lines.
    let lines = samples().lines().count() + 2 + 1500;
    let entries: Vec<Value> = audit_trail(&server)
        .into_iter()
        .skip(before)
        .filter(|e| e["action"] == "evaluate")
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    for e in &entries {
        assert_eq!(e["records"], lines as i64, "{e}");
        assert_eq!(e["target"], "households streamed for evaluation");
    }
    // A parameter override, as `layak run --param` gives it.
    let reply = server.post_bytes(
        "/v1/evaluate?as_of=2025-10-01&param=PKH_ELDERLY_MIN_AGE=60",
        "application/x-ndjson",
        samples().as_bytes(),
    );
    let got = stream_lines(&reply);
    let want = layak_run_lines(
        &dir,
        samples().as_bytes(),
        &["--param", "PKH_ELDERLY_MIN_AGE=60"],
    );
    assert_eq!(got, want);
    // Refusals before any line: no `as_of`, an unknown option, a bad date.
    server
        .post_bytes("/v1/evaluate", "application/x-ndjson", b"{}\n")
        .assert_problem(422, "INVALID_QUERY");
    server
        .post_bytes(
            "/v1/evaluate?as_of=2025-10-01&what_if=true",
            "application/x-ndjson",
            b"{}\n",
        )
        .assert_problem(422, "INVALID_QUERY");
    server
        .post_bytes(
            "/v1/evaluate?as_of=2025-13-01",
            "application/x-ndjson",
            b"{}\n",
        )
        .assert_problem(422, "INVALID_DATE");
}

#[test]
fn a_line_over_the_limit_ends_the_stream_with_an_error_line() {
    let dir = TempDir::new("evaluate-stream-limit");
    let db = Database::new(&dir, "register.db");
    let server = Server::start(&db, &["--rate-limit", "0", "--max-line", "4000"]);
    server.load_rules();
    let h1 = samples().lines().next().unwrap().to_string();
    let body = format!("{h1}\n{h1}\n{}\n{h1}\n", "x".repeat(5000));
    // The answer is cut short: read it off the socket.
    let (head, lines, clean) = raw_stream(
        &server.base,
        &server.token,
        "/v1/evaluate?as_of=2025-10-01",
        vec![body.into_bytes()],
        None,
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!clean, "a stream cut by a limit has no clean end");
    assert_eq!(lines.len(), 3, "{lines:?}");
    let last: Value = serde_json::from_str(&lines[2]).unwrap();
    assert_eq!(last["error"]["code"], "LINE_TOO_LONG", "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than 4000 bytes"),
        "{last}"
    );
}

/// Sends `parts` of an NDJSON body on a raw connection (chunked), each
/// after the answer has reached `wait_for.0` lines when it is the part at
/// `wait_for.1`, reading the answer meanwhile on another thread. Returns
/// the head of the answer, its lines, and whether the body ended cleanly
/// (the last chunk came).
fn raw_stream(
    base: &str,
    token: &str,
    path: &str,
    parts: Vec<Vec<u8>>,
    wait_for: Option<(usize, usize)>,
) -> (String, Vec<String>, bool) {
    let addr = base.strip_prefix("http://").unwrap();
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<usize>();
    let reader = std::thread::spawn(move || read_chunked(stream, &seen_tx));
    write!(
        writer,
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    for (i, part) in parts.iter().enumerate() {
        if let Some((lines, at)) = wait_for
            && at == i
        {
            // Output before the rest of the input: the service streams.
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match seen_rx.recv_timeout(left) {
                    Ok(n) if n >= lines => break,
                    Ok(_) => {}
                    Err(e) => {
                        panic!("no {lines} answer lines before the rest of the body was sent: {e}")
                    }
                }
            }
        }
        for piece in part.chunks(64 << 10) {
            // A refused write means the service closed: the reader tells.
            if write!(writer, "{:x}\r\n", piece.len()).is_err()
                || writer.write_all(piece).is_err()
                || writer.write_all(b"\r\n").is_err()
            {
                return reader.join().unwrap();
            }
        }
    }
    let _ = writer.write_all(b"0\r\n\r\n");
    reader.join().unwrap()
}

/// Reads an HTTP/1.1 answer with a chunked body, telling `seen` how many
/// lines have come as they come.
fn read_chunked(
    stream: TcpStream,
    seen: &std::sync::mpsc::Sender<usize>,
) -> (String, Vec<String>, bool) {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return (head, Vec::new(), false);
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let mut body = Vec::new();
    let mut lines = Vec::new();
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).unwrap_or(0) == 0 {
            return (head, lines, false);
        }
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            return (head, lines, false);
        };
        if size == 0 {
            return (head, lines, true);
        }
        let mut chunk = vec![0; size + 2];
        if reader.read_exact(&mut chunk).is_err() {
            return (head, lines, false);
        }
        body.extend_from_slice(&chunk[..size]);
        while let Some(end) = body.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = body.drain(..=end).collect();
            lines.push(String::from_utf8(line[..end].to_vec()).unwrap());
        }
        let _ = seen.send(lines.len());
    }
}

#[test]
fn a_large_stream_flows_both_ways() {
    const HOUSEHOLDS: usize = 12_000;
    let dir = TempDir::new("evaluate-stream-large");
    let db = Database::new(&dir, "register.db");
    let server = Server::start(&db, &["--rate-limit", "0"]);
    server.load_rules();
    let input = cli(
        &[
            "gen",
            "--households",
            &HOUSEHOLDS.to_string(),
            "--seed",
            "3",
        ],
        None,
    );
    let want = layak_run_lines(&dir, &input, &[]);
    assert_eq!(want.len(), HOUSEHOLDS);
    // The first half, then (once answers to it have come back) the second:
    // a service that read the whole body before answering would never get
    // the second half.
    let text = String::from_utf8(input).unwrap();
    let cut = text
        .match_indices('\n')
        .nth(HOUSEHOLDS / 2 - 1)
        .map(|(i, _)| i + 1)
        .unwrap();
    let parts = vec![
        text.as_bytes()[..cut].to_vec(),
        text.as_bytes()[cut..].to_vec(),
    ];
    let (head, got, clean) = raw_stream(
        &server.base,
        &server.token,
        "/v1/evaluate?as_of=2025-10-01",
        parts,
        Some((1, 1)),
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(clean, "the body ended cleanly");
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the stream's lines differ from `layak run`'s");
}

#[test]
fn a_full_evaluation_queue_answers_503() {
    let dir = TempDir::new("evaluate-busy");
    let db = Database::new(&dir, "register.db");
    let server = Server::start(
        &db,
        &[
            "--rate-limit",
            "0",
            "--threads",
            "1",
            "--eval-queue",
            "1",
            "--max-body",
            "40000000",
        ],
    );
    server.load_rules();
    // Requests long enough to keep the one thread busy: 10,000 households.
    let body = json!({"households": vec![h1(); 10_000], "as_of": "2025-10-01"});
    let replies: Vec<(u16, Option<String>, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    let reply = server.post("/v1/evaluate", &body);
                    (
                        reply.status,
                        reply.header("retry-after").map(str::to_string),
                        if reply.status == 200 {
                            json!(null)
                        } else {
                            reply.json()
                        },
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let busy: Vec<_> = replies.iter().filter(|r| r.0 == 503).collect();
    let done = replies.iter().filter(|r| r.0 == 200).count();
    assert!(!busy.is_empty(), "{replies:?}");
    assert!(done >= 1, "{replies:?}");
    assert_eq!(busy.len() + done, replies.len(), "{replies:?}");
    for (_, retry, problem) in busy {
        assert_eq!(problem["code"], "EVALUATION_BUSY", "{problem}");
        assert_eq!(retry.as_deref(), Some("1"));
    }
    // Once the queue drains, the service evaluates again.
    let one = server.post(
        "/v1/evaluate",
        &json!({"household": h1(), "as_of": "2025-10-01"}),
    );
    assert_eq!(one.status, 200, "{}", one.text());
}

#[test]
fn an_evaluation_whose_audit_entry_fails_to_commit_is_not_a_success() {
    let dir = TempDir::new("evaluate-audit-fails");
    let db = Database::new(&dir, "register.db");
    let server = Server::start(&db, &["--rate-limit", "0"]);
    server.load_rules();
    let body = json!({"household": h1(), "as_of": "2025-10-01"});
    assert_eq!(server.post("/v1/evaluate", &body).status, 200);
    // The trail cannot be written: the evaluation is refused, not answered.
    db.execute("ALTER TABLE audit RENAME TO audit_away");
    server
        .post("/v1/evaluate", &body)
        .assert_problem(500, "INTERNAL");
    let (head, lines, clean) = raw_stream(
        &server.base,
        &server.token,
        "/v1/evaluate?as_of=2025-10-01",
        vec![samples().into_bytes()],
        None,
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!clean, "an unrecorded stream has no clean end");
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "INTERNAL", "{last}");
    // Back in place, evaluation works again and the chain is whole.
    db.execute("ALTER TABLE audit_away RENAME TO audit");
    assert_eq!(server.post("/v1/evaluate", &body).status, 200);
    let (ok, out) = layak(&["audit", "verify", "--database", db.arg()]);
    assert!(ok && out.contains("intact"), "{out}");
}
