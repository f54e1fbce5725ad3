//! Shared by the `serve_*` tests: the real `layak` binary serving a real
//! database on an ephemeral port, and a plain HTTP client. The database is a
//! SQLite file in the test's temp dir, or, when `LAYAK_TEST_POSTGRES` names a
//! PostgreSQL server (`scripts/with-postgres` starts one), a fresh database
//! of its own on that server: the same tests, either store.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_layak");

/// The workspace root (rules, samples).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("engine has a parent")
        .to_path_buf()
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("layak-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The environment variable naming a PostgreSQL server to test on (a URL
/// whose user may create databases), as `scripts/with-postgres` exports it.
pub const POSTGRES_ENV: &str = "LAYAK_TEST_POSTGRES";

/// The database one test's server runs on: what `--database` is given.
/// Clones share it; with PostgreSQL it is dropped when the last clone goes
/// (a [`Server`] holds one, so it outlives the server's process).
#[derive(Clone)]
pub struct Database(Arc<DatabaseInner>);

struct DatabaseInner {
    /// The `--database` argument: a file path or a URL.
    arg: String,
    /// On PostgreSQL: the server's maintenance URL and this database's name.
    postgres: Option<(String, String)>,
}

impl Database {
    /// A SQLite file `file` in `dir`; with `LAYAK_TEST_POSTGRES` set, a new
    /// empty database on that server instead, named after `file` and
    /// unique to this call.
    pub fn new(dir: &TempDir, file: &str) -> Database {
        match std::env::var(POSTGRES_ENV) {
            Ok(admin) if !admin.is_empty() => Database::postgres(&admin, file),
            _ => Database::sqlite(&dir.path().join(file)),
        }
    }

    pub fn sqlite(path: &Path) -> Database {
        Database(Arc::new(DatabaseInner {
            arg: path.to_string_lossy().into_owned(),
            postgres: None,
        }))
    }

    fn postgres(admin: &str, file: &str) -> Database {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let stem: String = file
            .split('.')
            .next()
            .unwrap_or("db")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect::<String>()
            .to_ascii_lowercase();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "layak_{stem}_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        postgres_admin(admin, &format!("CREATE DATABASE {name}"));
        Database(Arc::new(DatabaseInner {
            arg: with_database(admin, &name),
            postgres: Some((admin.to_string(), name)),
        }))
    }

    /// What `--database` takes.
    pub fn arg(&self) -> &str {
        &self.0.arg
    }

    pub fn is_postgres(&self) -> bool {
        self.0.postgres.is_some()
    }

    /// Runs one SQL statement on the database directly (through the
    /// store, so on either backend), as someone tampering with it would.
    pub fn execute(&self, statement: &str) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let store = layak_service::store::Store::open(self.arg())
                .await
                .expect("open the database");
            sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(store.pool())
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        });
    }

    /// The one integer a query gives (a count), read on the database
    /// directly, on either backend.
    pub fn query_i64(&self, statement: &str) -> i64 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let store = layak_service::store::Store::open(self.arg())
                .await
                .expect("open the database");
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(statement.to_string()))
                .fetch_one(store.pool())
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"))
        })
    }
}

impl Drop for DatabaseInner {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres {
            // FORCE: a server killed a moment ago may leave a connection
            // the backend has not noticed yet.
            postgres_admin(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// `url` with its database (the path) replaced by `name`, its query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

/// Runs a statement on the PostgreSQL server's maintenance database
/// (`CREATE DATABASE` cannot run inside a transaction or a pool's
/// prepared statement, so one plain connection).
fn postgres_admin(admin: &str, statement: &str) {
    use sqlx::{Connection as _, Executor as _};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(admin)
            .await
            .unwrap_or_else(|e| panic!("connect to {POSTGRES_ENV}={admin}: {e}"));
        conn.execute(sqlx::AssertSqlSafe(statement.to_string()))
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        let _ = conn.close().await;
    });
}

pub struct Server {
    /// The harness's database, kept (not dropped) while the server may use
    /// it; none for a server that chose its own (`serve --demo`).
    _database: Option<Database>,
    pub child: Child,
    pub base: String,
    /// The admin token every plain request sends (created with `layak
    /// token create --role admin --name test-admin` before the start).
    pub token: String,
    agent: ureq::Agent,
}

/// The name of the harness's admin token: events record `test-admin#<id>`.
pub const TEST_ADMIN: &str = "test-admin";

/// Creates a token with `layak token create` on the database; returns the
/// secret it printed.
pub fn create_token(
    db: &Database,
    role: &str,
    region: Option<&str>,
    programme: Option<&str>,
    name: &str,
) -> String {
    let mut args = vec![
        "token".to_string(),
        "create".to_string(),
        "--role".to_string(),
        role.to_string(),
        "--name".to_string(),
        name.to_string(),
        "--database".to_string(),
        db.arg().to_string(),
    ];
    if let Some(r) = region {
        args.extend(["--region".to_string(), r.to_string()]);
    }
    if let Some(p) = programme {
        args.extend(["--programme".to_string(), p.to_string()]);
    }
    let out = Command::new(BIN)
        .current_dir(root())
        .args(&args)
        .output()
        .expect("run layak token create");
    assert!(
        out.status.success(),
        "layak token create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    assert!(
        secret.starts_with("layak_") && secret.len() == 70,
        "{secret}"
    );
    secret
}

impl Server {
    /// Starts `layak serve` on `db` with extra flags, and waits until it
    /// listens.
    pub fn start(db: &Database, extra: &[&str]) -> Server {
        Server::start_logged(db, extra, None)
    }

    /// Starts `layak serve`; with `log`, at `LAYAK_LOG=trace` with stderr
    /// into that file.
    pub fn start_logged(db: &Database, extra: &[&str], log: Option<&Path>) -> Server {
        let token = create_token(db, "admin", None, None, TEST_ADMIN);
        let (filter, stderr) = match log {
            Some(path) => (
                "trace",
                Stdio::from(std::fs::File::create(path).expect("create the log file")),
            ),
            None => ("warn", Stdio::inherit()),
        };
        let mut child = Command::new(BIN)
            .current_dir(root())
            .args(["serve", "--listen", "127.0.0.1:0", "--database"])
            .arg(db.arg())
            .args(extra)
            .env("LAYAK_LOG", filter)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn layak serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let base = line
            .trim()
            .strip_prefix("layak serve: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        let mut server = Server::attach(child, base, token);
        server._database = Some(db.clone());
        server
    }

    /// A server started some other way (`serve --demo`), listening at
    /// `base`; plain requests send `token`.
    pub fn attach(child: Child, base: String, token: String) -> Server {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build();
        Server {
            _database: None,
            child,
            base,
            token,
            agent: config.into(),
        }
    }

    /// Any request, as `token` (none: no authorization header).
    pub fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> Reply {
        let send = || {
            let mut builder = ureq::http::Request::builder()
                .method(method)
                .uri(self.url(path));
            if let Some(t) = token {
                builder = builder.header("authorization", format!("Bearer {t}"));
            }
            match body {
                Some((content_type, bytes)) => self.agent.run(
                    builder
                        .header("content-type", content_type)
                        .body(bytes.to_vec())
                        .expect("request"),
                ),
                None => self.agent.run(builder.body(()).expect("request")),
            }
        };
        // A pooled keep-alive connection the server has just closed (after
        // answering a request whose body it did not read) fails before any
        // answer; the request never reached a handler, so it is sent again
        // once, on a fresh connection.
        let response = match send() {
            Err(ureq::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                send()
            }
            other => other,
        };
        Server::answer(response.expect("request"))
    }

    /// GET as `token`.
    pub fn get_as(&self, token: &str, path: &str) -> Reply {
        self.call(Some(token), "GET", path, None)
    }

    /// POST JSON as `token`.
    pub fn post_as(&self, token: &str, path: &str, body: &Value) -> Reply {
        self.call(
            Some(token),
            "POST",
            path,
            Some(("application/json", body.to_string().as_bytes())),
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn answer(mut response: ureq::http::Response<ureq::Body>) -> Reply {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .expect("read body");
        Reply {
            status,
            content_type,
            headers,
            bytes,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.get_as(&self.token, path)
    }

    pub fn get_with(&self, path: &str, header: (&str, &str)) -> Reply {
        Server::answer(
            self.agent
                .get(self.url(path))
                .header("authorization", format!("Bearer {}", self.token))
                .header(header.0, header.1)
                .call()
                .expect("GET"),
        )
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_bytes(path, "application/json", body.to_string().as_bytes())
    }

    pub fn post_bytes(&self, path: &str, content_type: &str, body: &[u8]) -> Reply {
        self.call(Some(&self.token), "POST", path, Some((content_type, body)))
    }

    pub fn method(&self, method: &str, path: &str) -> Reply {
        self.call(Some(&self.token), method, path, None)
    }

    /// Stores the shipped rules and activates them for every stage.
    pub fn load_rules(&self) -> String {
        let reply = self.post(
            "/v1/rulesets",
            &json!({"files": rule_files(), "note": "shipped"}),
        );
        assert!(
            reply.status == 201 || reply.status == 200,
            "{}",
            reply.text()
        );
        let id = reply.json()["id"].as_i64().expect("id");
        for stage in ["verification", "qc", "determination"] {
            let r = self.post(
                &format!("/v1/rulesets/{id}/activate"),
                &json!({"stage": stage, "effective_from": "2000-01-01"}),
            );
            assert_eq!(r.status, 201, "{}", r.text());
        }
        reply.json()["hash"].as_str().expect("hash").to_string()
    }

    /// Queues a stage job and waits until it ends; returns the final job.
    pub fn run_job(&self, kind: &str, body: &Value) -> Value {
        let reply = self.post(&format!("/v1/jobs/{kind}"), body);
        assert_eq!(reply.status, 202, "{}", reply.text());
        let id = reply.json()["id"].as_i64().expect("job id");
        self.wait_job(id)
    }

    pub fn wait_job(&self, id: i64) -> Value {
        self.wait_job_as(&self.token, id)
    }

    /// Waits for a job as `token` (a job is visible only within its
    /// creator's region).
    pub fn wait_job_as(&self, token: &str, id: i64) -> Value {
        let start = Instant::now();
        loop {
            let job = self.get_as(token, &format!("/v1/jobs/{id}")).json();
            match job["state"].as_str() {
                Some("done") => return job,
                Some("queued" | "running") => {}
                other => panic!("job {id} ended {other:?}: {job}"),
            }
            assert!(
                start.elapsed() < Duration::from_secs(900),
                "job {id} too slow"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every household's state, paging through `GET /v1/households`.
    pub fn all_households(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = String::new();
        loop {
            let page = self
                .get(&format!("/v1/households?limit=1000&after={after}"))
                .json();
            let list = page["households"].as_array().expect("households").clone();
            out.extend(list);
            match page["next"].as_str() {
                Some(next) => after = next.to_string(),
                None => return out,
            }
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// Names in lowercase.
    pub headers: Vec<(String, String)>,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// Asserts a problem+json answer with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "content-type {} for {}",
            self.content_type,
            self.text()
        );
        assert_eq!(self.json()["code"], code, "{}", self.text());
    }
}

/// The shipped rule files (rule tests aside), named relative to `rules/`.
pub fn rule_files() -> Vec<Value> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<Value>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read rules")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "tests") {
                    walk(&path, base, out);
                }
            } else if path.extension().is_some_and(|e| e == "lyk" || e == "txt") {
                let name = path
                    .strip_prefix(base)
                    .expect("under rules")
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&path).expect("read rule file");
                out.push(json!({"name": name, "text": text}));
            }
        }
    }
    let base = root().join("rules");
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out
}

/// The sample households (`docs/domain.md`), beside the rule tests.
pub fn samples() -> String {
    std::fs::read_to_string(root().join("rules/tests/samples.ndjson")).expect("read samples")
}

/// Runs the `layak` CLI and returns its stdout.
pub fn cli(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .current_dir(root())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn layak");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.map(<[u8]>::to_vec).unwrap_or_default();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("layak output");
    let _ = writer.join();
    out.stdout
}
