//! `POST /v1/evaluate` with an NDJSON body: a stream of households in, a
//! stream of lines out, for services that evaluate many households at once.
//!
//! The body is read as it arrives and handed, a chunk at a time over a
//! small bounded channel, to the host's evaluation pipeline (the one
//! `layak run` uses: a reader thread, `--threads` workers, output in input
//! order); each slice's lines go back over another small bounded channel
//! into the response body. Nothing holds the whole input or output: when
//! the client stops reading, the pipeline stops at its next slice and the
//! service stops reading the body; when the client stops sending, the
//! pipeline waits. Memory is the channels, the pipeline's fixed number of
//! batches in flight, and one line (at most `--max-line`).
//!
//! Limits: at most [`MAX_STREAM_LINES`] lines and `--max-line` bytes a line;
//! [`STREAM_IDLE`] without a byte from the client, or without the client
//! taking a byte of the answer, ends the stream. A stream past a limit, or
//! cut by a failure, ends with one line `{"error": {"code", "message"}}`
//! and then the connection is closed without the body's clean end, so no
//! client can take it for a whole answer. At most
//! [`super::super::pool::STREAMS`] streams run at once.
//!
//! One audit entry records the stream (`evaluate`, the number of lines
//! answered), appended by the group commit once the pipeline is done and
//! before the body ends: a body that ended cleanly is recorded.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use futures_util::StreamExt as _;
use layak_dsl::decision::HouseholdDecision;
use layak_host::output::{error_line, write_summary};
use layak_host::pipeline::{self, Line, Options, Outcome, Source};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::store::appender::PendingAudit;

use super::super::auth::Caller;
use super::super::problem::{ApiResult, Problem};
use super::super::{AppState, parse_date};
use super::{Explain, context};

/// The most lines one stream may carry.
pub const MAX_STREAM_LINES: u64 = 1_000_000;

/// How long a stream waits for the client: for the next bytes of the body,
/// or for room to send the next lines.
pub const STREAM_IDLE: Duration = Duration::from_secs(60);

/// Body chunks between the connection and the pipeline's reader.
const IN_CHUNKS: usize = 8;
/// Slices of output between the pipeline and the connection.
const OUT_SLICES: usize = 8;
/// Lines a pipeline worker takes at a time.
const BATCH_LINES: usize = 512;

/// The query of a stream: `as_of` and the options the JSON form has in its
/// body. Listed for the API description; read by [`Options`]' parser.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "the API description's; the query is read as pairs")]
pub struct StreamQuery {
    /// For an NDJSON body: the date of the evaluation, YYYY-MM-DD
    /// (required).
    as_of: Option<String>,
    /// For an NDJSON body: a version number or hash; default: the version
    /// active for determination on `as_of`.
    ruleset: Option<String>,
    /// For an NDJSON body: `none` (default: summary lines), `summary` (with
    /// the explanation), `full` (the whole decision).
    explain: Option<String>,
    /// For an NDJSON body: a parameter override `NAME=VALUE`, repeated for
    /// several (`param=PKH_ELDERLY_MIN_AGE=60`).
    param: Option<String>,
}

/// What the query asks.
struct Asked {
    as_of: String,
    ruleset: Option<String>,
    explain: Explain,
    params: BTreeMap<String, serde_json::Value>,
}

fn asked(pairs: Vec<(String, String)>) -> ApiResult<Asked> {
    let mut as_of = None;
    let mut ruleset = None;
    let mut explain = Explain::None;
    let mut params = BTreeMap::new();
    for (key, value) in pairs {
        match key.as_str() {
            "as_of" => as_of = Some(value),
            "ruleset" => ruleset = Some(value),
            "explain" => {
                explain = match value.as_str() {
                    "none" => Explain::None,
                    "summary" => Explain::Summary,
                    "full" => Explain::Full,
                    other => {
                        return Err(Problem::unprocessable(
                            "INVALID_QUERY",
                            format!("`explain` is `none`, `summary` or `full`, found `{other}`"),
                        ));
                    }
                }
            }
            "param" => {
                let Some((name, v)) = value.split_once('=') else {
                    return Err(Problem::unprocessable(
                        "INVALID_PARAM",
                        format!("`param` is NAME=VALUE, found `{value}`"),
                    ));
                };
                params.insert(name.to_string(), serde_json::Value::String(v.to_string()));
            }
            other => {
                return Err(Problem::unprocessable(
                    "INVALID_QUERY",
                    format!(
                        "unknown query parameter `{other}` for an NDJSON body: it takes `as_of`, `ruleset`, `explain` and `param`"
                    ),
                ));
            }
        }
    }
    let Some(as_of) = as_of else {
        return Err(Problem::unprocessable(
            "INVALID_QUERY",
            "an NDJSON body needs `as_of` in the query: `/v1/evaluate?as_of=2025-10-01`",
        ));
    };
    Ok(Asked {
        as_of,
        ruleset,
        explain,
        params,
    })
}

/// Why a stream stopped early: a stable code for its closing error line.
type StopCode = Arc<Mutex<Option<&'static str>>>;

fn stop(code: &StopCode, what: &'static str) {
    let mut slot = code.lock().unwrap_or_else(PoisonError::into_inner);
    slot.get_or_insert(what);
}

/// Evaluates the NDJSON `body` as it arrives; answers with a stream.
pub async fn evaluate(
    state: AppState,
    caller: Caller,
    query: Vec<(String, String)>,
    body: Body,
) -> ApiResult<Response> {
    let asked = asked(query)?;
    let date = parse_date("as_of", &asked.as_of)?;
    let compiled = state
        .rules
        .resolve(
            &state.store,
            asked.ruleset.as_deref(),
            "determination",
            i64::from(date.yyyymmdd()),
        )
        .await?;
    let ctx = context(&compiled.program, &asked.as_of, &asked.params)?;
    let permit = state.pool.stream_permit()?;
    let code: StopCode = Arc::default();

    let (chunks, chunk_rx) = mpsc::channel::<Result<Bytes, String>>(IN_CHUNKS);
    tokio::spawn(read_body(body, chunks, Arc::clone(&code)));
    let (out, out_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(OUT_SLICES);

    let reader = ChunkReader {
        chunks: chunk_rx,
        chunk: Bytes::new(),
        line_len: 0,
        lines: 0,
        max_line: state.config.max_line,
        failed: None,
        code: Arc::clone(&code),
    };
    let options = Options {
        threads: state.config.threads.max(1),
        batch_lines: BATCH_LINES,
    };
    let explain = asked.explain;
    let audit = Arc::clone(&state.audit);
    let actor = caller.actor().to_string();
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("layak-eval-stream".to_string())
        .spawn(move || {
            let _permit = permit;
            let mut answered = 0u64;
            let evaluator = compiled.evaluator(&ctx);
            let ran = pipeline::run(
                &evaluator,
                Source::Reader(Box::new(BufReader::with_capacity(64 << 10, reader))),
                &options,
                &|_| {},
                |lines, outcomes| render(lines, outcomes, explain),
                |slice: anyhow::Result<(Vec<u8>, u64)>| {
                    let (bytes, count) = slice?;
                    answered += count;
                    let sent = runtime.block_on(tokio::time::timeout(
                        STREAM_IDLE,
                        out.send(Ok(Bytes::from(bytes))),
                    ));
                    match sent {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(_)) => {
                            stop(&code, "CLIENT_GONE");
                            Err(anyhow::anyhow!("the client went away"))
                        }
                        Err(_) => {
                            stop(&code, "STREAM_IDLE");
                            Err(anyhow::anyhow!(
                                "the client took no output for {} s",
                                STREAM_IDLE.as_secs()
                            ))
                        }
                    }
                },
            );
            // The lines that left are recorded, however the stream ended.
            let audited = runtime.block_on(audit.append(PendingAudit {
                actor,
                action: "evaluate",
                target: "households streamed for evaluation".to_string(),
                records: i64::try_from(answered).unwrap_or(i64::MAX),
            }));
            let failure = match (ran, audited) {
                (Ok(()), Ok(())) => None,
                (Err(e), _) => {
                    let code = code
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .unwrap_or("INTERNAL");
                    if code == "INTERNAL" {
                        tracing::error!(error = %super::super::privacy::mask_digits(&format!("{e:#}")), "evaluation stream failed");
                    }
                    Some((code, format!("{e:#}")))
                }
                (Ok(()), Err(e)) => {
                    tracing::error!(error = %e, "evaluation stream not recorded");
                    Some((
                        "INTERNAL",
                        "the stream could not be recorded in the audit trail; it was logged"
                            .to_string(),
                    ))
                }
            };
            tracing::debug!(lines = answered, "evaluation stream ended");
            if let Some((code, message)) = failure {
                let line = serde_json::json!({"error": {"code": code, "message": message}});
                let mut bytes = line.to_string().into_bytes();
                bytes.push(b'\n');
                let _ = runtime.block_on(tokio::time::timeout(STREAM_IDLE, async {
                    let _ = out.send(Ok(Bytes::from(bytes))).await;
                    let _ = out
                        .send(Err(std::io::Error::other("the stream stopped early")))
                        .await;
                }));
            }
        })
        .map_err(|e| Problem::internal(&e))?;

    let stream = futures_util::stream::unfold(out_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}

/// A slice's lines as `layak run` writes them, in input order: a summary
/// line per decision, its error-file object per line without one. Runs on
/// the pipeline's worker.
fn render(
    lines: &[Line],
    outcomes: Vec<Outcome>,
    explain: Explain,
) -> anyhow::Result<(Vec<u8>, u64)> {
    let mut out = Vec::with_capacity(lines.len() * 256);
    for (line, outcome) in lines.iter().zip(outcomes) {
        match outcome {
            Ok(decision) => write_decision(&mut out, &decision, explain)?,
            Err(e) => {
                serde_json::to_writer(&mut out, &error_line(line, &e))?;
                out.push(b'\n');
            }
        }
    }
    Ok((out, lines.len() as u64))
}

fn write_decision(
    out: &mut Vec<u8>,
    decision: &HouseholdDecision,
    explain: Explain,
) -> anyhow::Result<()> {
    match explain {
        Explain::None => write_summary(out, decision, false),
        Explain::Summary => write_summary(out, decision, true),
        Explain::Full => {
            serde_json::to_writer(&mut *out, decision)?;
            out.push(b'\n');
            Ok(())
        }
    }
}

/// Reads the request body into the channel, a chunk at a time: it waits
/// while the pipeline is behind (the channel is full), and gives up after
/// [`STREAM_IDLE`] without a chunk.
async fn read_body(body: Body, chunks: mpsc::Sender<Result<Bytes, String>>, code: StopCode) {
    let mut stream = body.into_data_stream();
    loop {
        let next = tokio::time::timeout(STREAM_IDLE, stream.next()).await;
        let item = match next {
            Ok(None) => return,
            Ok(Some(Ok(chunk))) => Ok(chunk),
            Ok(Some(Err(e))) => {
                stop(&code, "BODY_INCOMPLETE");
                Err(format!("the body ended early: {e}"))
            }
            Err(_) => {
                stop(&code, "STREAM_IDLE");
                Err(format!(
                    "no bytes of the body came for {} s",
                    STREAM_IDLE.as_secs()
                ))
            }
        };
        let failed = item.is_err();
        if chunks.send(item).await.is_err() || failed {
            return;
        }
    }
}

/// The body as a blocking reader for the pipeline's reader thread, counting
/// lines and refusing one over `--max-line` or past [`MAX_STREAM_LINES`]:
/// the bytes before the offending line are read, then an error.
struct ChunkReader {
    chunks: mpsc::Receiver<Result<Bytes, String>>,
    chunk: Bytes,
    /// Bytes of the current line so far.
    line_len: usize,
    /// Lines ended so far.
    lines: u64,
    max_line: usize,
    failed: Option<String>,
    code: StopCode,
}

impl ChunkReader {
    /// How many bytes of `bytes` stay within the limits; sets `failed` at
    /// the first byte that does not.
    fn admit(&mut self, bytes: &[u8]) -> usize {
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                self.lines += 1;
                self.line_len = 0;
                continue;
            }
            if self.line_len == 0 && self.lines >= MAX_STREAM_LINES {
                stop(&self.code, "TOO_MANY_LINES");
                self.failed = Some(format!(
                    "a stream carries at most {MAX_STREAM_LINES} lines; send the rest in another request"
                ));
                return i;
            }
            self.line_len += 1;
            if self.line_len > self.max_line {
                stop(&self.code, "LINE_TOO_LONG");
                self.failed = Some(format!(
                    "the line is longer than {} bytes (--max-line)",
                    self.max_line
                ));
                return i;
            }
        }
        bytes.len()
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            if let Some(e) = &self.failed {
                return Err(std::io::Error::other(e.clone()));
            }
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => {
                    self.failed = Some(e);
                }
            }
        }
        let n = self.chunk.len().min(buf.len());
        let head = self.chunk.slice(..n);
        let admitted = self.admit(&head);
        if admitted == 0 {
            let e = self.failed.clone().unwrap_or_default();
            return Err(std::io::Error::other(e));
        }
        if let (Some(to), Some(from)) = (buf.get_mut(..admitted), head.get(..admitted)) {
            to.copy_from_slice(from);
        }
        if self.failed.is_some() {
            // The rest is not read: the next call reports the failure.
            self.chunk = Bytes::new();
        } else {
            self.chunk = self.chunk.slice(admitted..);
        }
        Ok(admitted)
    }
}
