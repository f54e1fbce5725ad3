//! `layak rules push`: store a rules directory on a running service
//! (`POST /v1/rulesets`, the JSON form) and activate the stored version.
//!
//! The directory is read as `layak check DIR` reads it, and the service's
//! diagnostics (JSON of `layak check --format json`) are put back onto the
//! local files, so a refusal prints exactly as `layak check` would print it,
//! with the paths the user typed.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use layak_dsl::Sources;
use layak_dsl::diagnostic::{CODES, Diagnostic, Label, Level, render_terminal};
use layak_dsl::source::{FileId, Span};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cli::{PushArgs, RulesCommand};

pub fn run(command: &RulesCommand) -> Result<ExitCode> {
    match command {
        RulesCommand::Push(args) => push(args),
    }
}

/// The rules directory, read once: the source map `layak check` would
/// build (names as the user sees them) and the names the service knows
/// the same files by (relative to the directory).
struct Local {
    sources: Sources,
    by_remote_name: HashMap<String, FileId>,
    files: Vec<Value>,
}

fn read_dir(dir: &Path) -> Result<Local> {
    if !dir.is_dir() {
        bail!("`{}` is not a directory", dir.display());
    }
    let paths = layak_host::load::collect_files(&[dir.to_path_buf()])?;
    if !paths
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "lyk"))
    {
        bail!("no rule files (`.lyk`) found in `{}`", dir.display());
    }
    let mut sources = Sources::new();
    let mut by_remote_name = HashMap::new();
    let mut files = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).with_context(|| format!("reading `{}`", path.display()))?;
        let text = String::from_utf8(bytes)
            .with_context(|| format!("`{}` is not UTF-8 text", path.display()))?;
        let remote = layak_host::load::source_name(path.strip_prefix(dir).unwrap_or(path));
        let id = sources.add(layak_host::load::source_name(path), text.as_str());
        by_remote_name.insert(remote.clone(), id);
        files.push(json!({"name": remote, "text": text}));
    }
    Ok(Local {
        sources,
        by_remote_name,
        files,
    })
}

fn push(args: &PushArgs) -> Result<ExitCode> {
    let local = read_dir(&args.dir)?;
    let client = Client::new(&args.server, args.token.as_deref());
    let body = match &args.note {
        Some(note) => json!({"files": local.files, "note": note}),
        None => json!({"files": local.files}),
    };
    let stored = match client.post("/v1/rulesets", &body)? {
        Answer::Ok(value) => value,
        Answer::Problem(problem) if problem.code == "RULES_INVALID" => {
            let (diagnostics, unplaced) = local.diagnostics(&problem.diagnostics);
            print_diagnostics(&local.sources, &diagnostics, &unplaced)?;
            let errors = diagnostics.iter().filter(|d| d.is_error()).count()
                + unplaced.iter().filter(|d| d.level == "error").count();
            eprintln!(
                "the service at {} refused the rules in `{}`: {}",
                client.base,
                args.dir.display(),
                plural(errors, "error")
            );
            return Ok(ExitCode::from(1));
        }
        Answer::Problem(problem) => return Ok(problem.report()),
        Answer::Unreachable(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(1));
        }
    };
    let created: Created = serde_json::from_value(stored)
        .context("the service's answer to `POST /v1/rulesets` is not a stored ruleset")?;
    let hash: String = created.hash.chars().take(8).collect();
    println!(
        "stored ruleset {} (hash {hash}..., {})",
        created.id,
        if created.created {
            "new"
        } else {
            "already stored"
        }
    );
    let (warnings, unplaced) = local.diagnostics(&created.diagnostics);
    print_diagnostics(&local.sources, &warnings, &unplaced)?;

    for activation in &args.activate {
        let path = format!("/v1/rulesets/{}/activate", created.id);
        let body = json!({"stage": activation.stage, "effective_from": activation.effective_from});
        match client.post(&path, &body)? {
            Answer::Ok(_) => println!(
                "activated ruleset {} for {} from {}",
                created.id, activation.stage, activation.effective_from
            ),
            Answer::Problem(problem) => return Ok(problem.report()),
            Answer::Unreachable(message) => {
                eprintln!("error: {message}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `POST /v1/rulesets` answers when it stores a version.
#[derive(Deserialize)]
struct Created {
    id: i64,
    hash: String,
    created: bool,
    #[serde(default)]
    diagnostics: Vec<RemoteDiagnostic>,
}

/// A diagnostic as the service sends it (the JSON of `layak check --format
/// json`); only the parts needed to put it back onto the local files.
#[derive(Debug, Clone, Deserialize)]
struct RemoteDiagnostic {
    code: String,
    level: String,
    message: String,
    file: String,
    #[serde(default)]
    line: usize,
    #[serde(default)]
    column: usize,
    start: u32,
    end: u32,
    #[serde(default)]
    labels: Vec<RemoteLabel>,
    help: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct RemoteLabel {
    file: String,
    start: u32,
    end: u32,
    message: String,
}

impl Local {
    /// The service's diagnostics as local ones. A diagnostic that cannot be
    /// placed (a code this `layak` does not know, a file or span that is
    /// not in the local sources: a newer service) is returned apart, to be
    /// printed as a plain line rather than dropped.
    fn diagnostics(&self, remote: &[RemoteDiagnostic]) -> (Vec<Diagnostic>, Vec<RemoteDiagnostic>) {
        let mut placed = Vec::new();
        let mut unplaced = Vec::new();
        for r in remote {
            match self.place(r) {
                Some(d) => placed.push(d),
                None => unplaced.push(r.clone()),
            }
        }
        (placed, unplaced)
    }

    fn place(&self, r: &RemoteDiagnostic) -> Option<Diagnostic> {
        let code = CODES.iter().find(|c| c.code == r.code)?.code;
        let level = match r.level.as_str() {
            "error" => Level::Error,
            "warning" => Level::Warning,
            _ => return None,
        };
        let mut d = Diagnostic::new(
            code,
            self.span(&r.file, r.start, r.end)?,
            r.message.as_str(),
        );
        d.level = level;
        d.help.clone_from(&r.help);
        d.labels = r
            .labels
            .iter()
            .filter_map(|l| {
                Some(Label {
                    span: self.span(&l.file, l.start, l.end)?,
                    message: l.message.clone(),
                })
            })
            .collect();
        Some(d)
    }

    /// A span of a local file, if it lies on character boundaries inside
    /// it (the renderer slices the text there).
    fn span(&self, file: &str, start: u32, end: u32) -> Option<Span> {
        let id = *self.by_remote_name.get(file)?;
        let text = &self.sources.get(id)?.text;
        let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
        text.get(start..end)?;
        Some(Span::new(id, start, end))
    }
}

/// Diagnostics on stderr, as `layak check` prints them.
fn print_diagnostics(
    sources: &Sources,
    diagnostics: &[Diagnostic],
    unplaced: &[RemoteDiagnostic],
) -> Result<()> {
    let mut err = std::io::stderr().lock();
    write!(
        err,
        "{}",
        render_terminal(sources, diagnostics, super::stderr_is_terminal())
    )?;
    for d in unplaced {
        writeln!(
            err,
            "{}[{}]: {}\n  --> {}:{}:{}",
            d.level, d.code, d.message, d.file, d.line, d.column
        )?;
        if let Some(help) = &d.help {
            writeln!(err, "  = help: {help}")?;
        }
    }
    Ok(())
}

/// An RFC 9457 problem as the service answers it.
#[derive(Debug, Deserialize)]
struct Problem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    status: u16,
    detail: Option<String>,
    #[serde(default)]
    diagnostics: Vec<RemoteDiagnostic>,
}

impl Problem {
    /// The problem on stderr; exit 1.
    fn report(&self) -> ExitCode {
        let detail = self
            .detail
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        eprintln!(
            "error: the service answered {} {} ({}){detail}",
            self.status, self.title, self.code
        );
        ExitCode::from(1)
    }
}

enum Answer {
    /// A 2xx answer's JSON.
    Ok(Value),
    Problem(Problem),
    /// The service could not be reached, or its answer could not be read.
    Unreachable(String),
}

/// A blocking HTTP client for one service.
struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    fn new(server: &str, token: Option<&str>) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            // Compiling a large ruleset takes up to the service's compile
            // budget (60 s by default), queue included.
            .timeout_global(Some(Duration::from_secs(600)))
            .build();
        Client {
            base: server.trim_end_matches('/').to_string(),
            token: token.map(str::to_string),
            agent: config.into(),
        }
    }

    fn post(&self, path: &str, body: &Value) -> Result<Answer> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            // A refused token is answered before the body is read, and the
            // service then closes the connection: without waiting for
            // `100 Continue` the client would fail writing the rules
            // (a broken pipe) instead of reading the 401 or 403.
            .header("expect", "100-continue");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let mut response = match request.send(serde_json::to_vec(body)?.as_slice()) {
            Ok(response) => response,
            Err(e) => {
                return Ok(Answer::Unreachable(format!(
                    "could not reach the service at {url}: {e}"
                )));
            }
        };
        let status = response.status();
        let bytes = match response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
        {
            Ok(bytes) => bytes,
            Err(e) => {
                return Ok(Answer::Unreachable(format!(
                    "could not read the answer of {url}: {e}"
                )));
            }
        };
        if status.is_success() {
            return match serde_json::from_slice(&bytes) {
                Ok(value) => Ok(Answer::Ok(value)),
                Err(e) => Ok(Answer::Unreachable(format!(
                    "the answer of {url} is not JSON ({e}); is {} a Layak service?",
                    self.base
                ))),
            };
        }
        Ok(Answer::Problem(
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Problem {
                code: "NOT_A_PROBLEM".to_string(),
                title: status.canonical_reason().unwrap_or("Error").to_string(),
                status: status.as_u16(),
                detail: Some(format!(
                    "{url} answered without a problem+json body; is {} a Layak service?",
                    self.base
                )),
                diagnostics: Vec::new(),
            }),
        ))
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
