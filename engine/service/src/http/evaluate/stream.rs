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
use layak_host::output::{error_line, write_summary, write_summary_only};
use layak_host::pipeline::{self, Line, LineError, Options, Outcome, Source, SummaryOutcome};
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
#[allow(
    dead_code,
    reason = "the API description's; the query is read as pairs"
)]
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

/// Why a stream stopped early: a stable code and a message for its closing
/// error line (the first reason found).
type StopCode = Arc<Mutex<Option<(&'static str, String)>>>;

fn stop(code: &StopCode, what: &'static str, message: String) {
    let mut slot = code.lock().unwrap_or_else(PoisonError::into_inner);
    slot.get_or_insert((what, message));
}

fn stopped(code: &StopCode) -> Option<(&'static str, String)> {
    code.lock().unwrap_or_else(PoisonError::into_inner).clone()
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
        ready: Bytes::new(),
        partial: Vec::new(),
        lines: 0,
        max_line: state.config.max_line,
        done: false,
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
    let runtime_for_panic = runtime.clone();
    let out_for_work = out.clone();
    let work = move || {
        let out = out_for_work;
        let _permit = permit;
        let mut answered = 0u64;
        let evaluator = compiled.evaluator(&ctx);
        let mut send = |slice: anyhow::Result<(Vec<u8>, u64)>| {
            let (bytes, count) = slice?;
            answered += count;
            // The timer is made inside the runtime's context.
            let sent = runtime.block_on(async {
                tokio::time::timeout(STREAM_IDLE, out.send(Ok(Bytes::from(bytes)))).await
            });
            let why = match sent {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(_)) => ("CLIENT_GONE", "the client went away".to_string()),
                Err(_) => (
                    "STREAM_IDLE",
                    format!("the client took no output for {} s", STREAM_IDLE.as_secs()),
                ),
            };
            let message = why.1.clone();
            stop(&code, why.0, why.1);
            Err(anyhow::anyhow!(message))
        };
        let source = Source::Reader(Box::new(BufReader::with_capacity(64 << 10, reader)));
        // Summary lines alone come from the decide path, which builds no
        // explanation, as `layak run` does.
        let ran = if explain == Explain::None {
            pipeline::run_summaries_counting(
                &evaluator,
                source,
                &options,
                &|_| {},
                render_summaries,
                |slice, _| send(slice),
            )
        } else {
            pipeline::run(
                &evaluator,
                source,
                &options,
                &|_| {},
                |lines, outcomes| render(lines, outcomes, explain),
                &mut send,
            )
        };
        // The lines that left are recorded, however the stream ended.
        let audited = runtime.block_on(audit.append(PendingAudit {
            actor,
            action: "evaluate",
            target: "households streamed for evaluation".to_string(),
            records: i64::try_from(answered).unwrap_or(i64::MAX),
        }));
        // A limit the reader met ends the input early but cleanly: every
        // line before the offending one has its answer, then the reason.
        let failure = match (ran, audited) {
            (Ok(()), Ok(())) => stopped(&code),
            (Err(e), _) => Some(stopped(&code).unwrap_or_else(|| {
                tracing::error!(error = %super::super::privacy::mask_digits(&format!("{e:#}")), "evaluation stream failed");
                ("INTERNAL", format!("{e:#}"))
            })),
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
            cut_short(&runtime, &out, code, &message);
        }
    };
    let failed = out.clone();
    std::thread::Builder::new()
        .name("layak-eval-stream".to_string())
        .spawn(move || {
            // Should the work panic, the body must not end as if whole.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).is_err() {
                tracing::error!("an evaluation stream panicked");
                cut_short(
                    &runtime_for_panic,
                    &failed,
                    "INTERNAL",
                    "the service could not complete the stream; it was logged",
                );
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

/// Ends a stream that stopped early: its last line names why, then the body
/// fails, so the client sees no clean end.
fn cut_short(
    runtime: &tokio::runtime::Handle,
    out: &mpsc::Sender<Result<Bytes, std::io::Error>>,
    code: &str,
    message: &str,
) {
    let line = serde_json::json!({"error": {"code": code, "message": message}});
    let mut bytes = line.to_string().into_bytes();
    bytes.push(b'\n');
    runtime.block_on(async {
        let _ = tokio::time::timeout(STREAM_IDLE, async {
            if out.send(Ok(Bytes::from(bytes))).await.is_err() {
                return;
            }
            // The connection is closed at the error without flushing what
            // it holds: let the last line reach the socket first.
            while out.capacity() < out.max_capacity() && !out.is_closed() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = out
                .send(Err(std::io::Error::other("the stream stopped early")))
                .await;
        })
        .await;
    });
}

/// [`render`] for summaries from the decide path (no explanation asked).
fn render_summaries(
    lines: &[Line],
    outcomes: Vec<SummaryOutcome>,
) -> anyhow::Result<(Vec<u8>, u64)> {
    render_with(lines, outcomes, write_summary_only)
}

/// A slice's lines as `layak run` writes them, in input order: a summary
/// line per decision, its error-file object per line without one. Runs on
/// the pipeline's worker.
fn render(
    lines: &[Line],
    outcomes: Vec<Outcome>,
    explain: Explain,
) -> anyhow::Result<(Vec<u8>, u64)> {
    render_with(lines, outcomes, |out, decision| {
        write_decision(out, &decision, explain)
    })
}

/// Each outcome written by `write`, or the error-file object of its line.
fn render_with<T>(
    lines: &[Line],
    outcomes: Vec<Result<T, LineError>>,
    mut write: impl FnMut(&mut Vec<u8>, T) -> anyhow::Result<()>,
) -> anyhow::Result<(Vec<u8>, u64)> {
    let mut out = Vec::with_capacity(lines.len() * 256);
    for (line, outcome) in lines.iter().zip(outcomes) {
        match outcome {
            Ok(made) => write(&mut out, made)?,
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
            Ok(Some(Err(e))) => Err(("BODY_INCOMPLETE", format!("the body ended early: {e}"))),
            Err(_) => Err((
                "STREAM_IDLE",
                format!("no bytes of the body came for {} s", STREAM_IDLE.as_secs()),
            )),
        };
        let item = item.map_err(|(what, message)| {
            stop(&code, what, message.clone());
            message
        });
        let failed = item.is_err();
        if chunks.send(item).await.is_err() || failed {
            return;
        }
    }
}

/// The body as a blocking reader for the pipeline's reader thread. It hands
/// on whole lines only (the last one at the end of the body may lack its
/// newline), counting them: at a line over `--max-line` or past
/// [`MAX_STREAM_LINES`], or when the body fails, it records why in `code`
/// and ends the input there, so every line before has its answer and the
/// stream then closes with the reason.
struct ChunkReader {
    chunks: mpsc::Receiver<Result<Bytes, String>>,
    /// Whole lines not yet read.
    ready: Bytes,
    /// The line under way (at most `max_line` bytes).
    partial: Vec<u8>,
    /// Lines ended so far.
    lines: u64,
    max_line: usize,
    /// The body ended, or a limit was met.
    done: bool,
    code: StopCode,
}

impl ChunkReader {
    /// Takes a chunk of the body: its whole lines become `ready`, the rest
    /// `partial`; at a limit, the lines before the offending one are kept
    /// and the input ends.
    fn take(&mut self, chunk: &Bytes) {
        // Where the line under way started in `chunk` (None: in `partial`).
        let mut line_start: Option<usize> = None;
        let mut line_len = self.partial.len();
        let mut last_newline = None;
        // From newline to newline (memchr), not byte by byte: the bytes
        // before the next newline, or the chunk's end, extend the line.
        let mut pos = 0;
        loop {
            let rest = chunk.get(pos..).unwrap_or_default();
            let newline = memchr::memchr(b'\n', rest);
            let run = newline.unwrap_or(rest.len());
            if run > 0
                && let Some((what, message)) = self.limit(line_len, run)
            {
                self.stop_at(chunk, line_start, what, message);
                return;
            }
            let Some(at) = newline else { break };
            let end = pos + at;
            self.lines += 1;
            line_len = 0;
            line_start = Some(end + 1);
            last_newline = Some(end);
            pos = end + 1;
        }
        self.keep(chunk, last_newline);
    }

    /// Ends the input at a limit: only the whole lines of `chunk` before
    /// the offending one (which starts at `line_start`, or began in
    /// `partial`) are read.
    fn stop_at(
        &mut self,
        chunk: &Bytes,
        line_start: Option<usize>,
        what: &'static str,
        message: String,
    ) {
        stop(&self.code, what, message);
        self.done = true;
        self.ready = match line_start {
            Some(start) => self.whole(chunk, start),
            None => Bytes::new(),
        };
        self.partial.clear();
    }

    /// Keeps a chunk read to its end: its lines up to the last newline
    /// ready (with `partial` before them), the bytes after it `partial`.
    fn keep(&mut self, chunk: &Bytes, last_newline: Option<usize>) {
        match last_newline {
            Some(end) => {
                self.ready = self.whole(chunk, end + 1);
                self.partial.clear();
                self.partial
                    .extend_from_slice(chunk.get(end + 1..).unwrap_or_default());
            }
            None => self.partial.extend_from_slice(chunk),
        }
    }

    /// The limit that `run` more bytes of a line already `line_len` long
    /// would pass: a new line past [`MAX_STREAM_LINES`], or a line over
    /// `--max-line`.
    fn limit(&self, line_len: usize, run: usize) -> Option<(&'static str, String)> {
        if line_len == 0 && self.lines >= MAX_STREAM_LINES {
            Some((
                "TOO_MANY_LINES",
                format!(
                    "a stream carries at most {MAX_STREAM_LINES} lines; line {} and the rest were not read: send them in another request",
                    self.lines + 1
                ),
            ))
        } else if line_len + run > self.max_line {
            Some((
                "LINE_TOO_LONG",
                format!(
                    "line {} is longer than {} bytes (--max-line); it and the rest were not read",
                    self.lines + 1,
                    self.max_line
                ),
            ))
        } else {
            None
        }
    }

    /// `partial` followed by `chunk[..end]` (no copy when `partial` is
    /// empty).
    fn whole(&self, chunk: &Bytes, end: usize) -> Bytes {
        let head = chunk.slice(..end.min(chunk.len()));
        if self.partial.is_empty() {
            head
        } else {
            let mut joined = Vec::with_capacity(self.partial.len() + head.len());
            joined.extend_from_slice(&self.partial);
            joined.extend_from_slice(&head);
            Bytes::from(joined)
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.ready.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.take(&chunk),
                // The body ended: its last line may lack a newline.
                None => {
                    self.done = true;
                    self.ready = Bytes::from(std::mem::take(&mut self.partial));
                }
                // The body failed (`code` says why): the line under way
                // is dropped.
                Some(Err(_)) => {
                    self.done = true;
                    self.partial.clear();
                }
            }
        }
        let n = self.ready.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), self.ready.get(..n)) {
            to.copy_from_slice(from);
        }
        self.ready = self.ready.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader as it was, one byte at a time: what `take` must do. It
    /// asks `limit` of each byte, where `take` asks it of each run of bytes
    /// between newlines; both end a chunk through `stop_at` or `keep`.
    fn take_bytewise(r: &mut ChunkReader, chunk: &Bytes) {
        // Where the line under way started in `chunk` (None: in `partial`).
        let mut line_start: Option<usize> = None;
        let mut line_len = r.partial.len();
        let mut last_newline = None;
        for (i, b) in chunk.iter().enumerate() {
            if *b == b'\n' {
                r.lines += 1;
                line_len = 0;
                line_start = Some(i + 1);
                last_newline = Some(i);
                continue;
            }
            if let Some((what, message)) = r.limit(line_len, 1) {
                r.stop_at(chunk, line_start, what, message);
                return;
            }
            line_len += 1;
        }
        r.keep(chunk, last_newline);
    }

    fn reader(lines: u64, max_line: usize) -> ChunkReader {
        let (_, chunks) = mpsc::channel(1);
        ChunkReader {
            chunks,
            ready: Bytes::new(),
            partial: Vec::new(),
            lines,
            max_line,
            done: false,
            code: StopCode::default(),
        }
    }

    /// What a reader holds after a chunk, as a comparable string.
    fn state(r: &ChunkReader) -> String {
        format!(
            "ready {:?}, partial {:?}, lines {}, done {}, stopped {:?}",
            r.ready,
            r.partial,
            r.lines,
            r.done,
            stopped(&r.code)
        )
    }

    proptest::proptest! {
        /// Chunks of short lines, blank lines and long ones, near the line
        /// limit or not: the same lines ready, the same line under way and
        /// the same stop as the byte-by-byte reader, after every chunk.
        #[test]
        fn take_reads_as_byte_by_byte(
            chunks in proptest::collection::vec(
                proptest::collection::vec(proptest::prop_oneof![3 => proptest::strategy::Just(b'a'), 1 => proptest::strategy::Just(b'\n')], 0..24),
                1..8,
            ),
            max_line in 0_usize..10,
            near_the_end in proptest::bool::ANY,
        ) {
            let lines = if near_the_end { MAX_STREAM_LINES - 3 } else { 0 };
            let (mut new, mut old) = (reader(lines, max_line), reader(lines, max_line));
            for chunk in chunks {
                if new.done {
                    break;
                }
                let chunk = Bytes::from(chunk);
                ChunkReader::take(&mut new, &chunk);
                take_bytewise(&mut old, &chunk);
                proptest::prop_assert_eq!(state(&new), state(&old));
            }
        }
    }
}
