//! The parallel, ordered stream under [`super::run`].
//!
//! A producer thread cuts the input into batches of lines and hands them to
//! worker threads over a bounded channel; the calling thread puts the
//! workers' results back into input order (a reorder buffer) and hands them
//! to the sink. Memory stays constant: a batch is admitted only after
//! taking one of a fixed number of tokens, and a token comes back only when
//! the sink has consumed that batch, so at most `in_flight` batches exist
//! at any time, queued, being worked on or waiting to be reordered.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use anyhow::{Context as _, Result, anyhow};

use super::SLICE;

/// One input line. `text` is `Err` when the line is not UTF-8.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line number in the input.
    pub no: u64,
    pub text: Result<String, String>,
}

/// How the stream is cut and spread.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads.
    pub threads: usize,
    /// Lines a worker takes at a time.
    pub batch_lines: usize,
}

impl Options {
    /// `threads` workers (default: one per core), batches of 1,024 lines.
    pub fn new(threads: Option<usize>) -> Options {
        let threads = threads
            .filter(|n| *n > 0)
            .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
            .unwrap_or(1);
        Options {
            threads,
            batch_lines: 1024,
        }
    }

    fn in_flight(&self) -> usize {
        self.threads.max(1) * 4
    }
}

/// What a batch that was just read held: its lines (blank lines are
/// skipped and not counted) and its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub lines: u64,
    pub bytes: u64,
}

struct Batch {
    seq: u64,
    lines: Vec<Line>,
}

/// The bytes lines in memory stand for (each with its newline), for
/// progress.
pub fn bytes_of(lines: &[Line]) -> u64 {
    lines
        .iter()
        .map(|l| l.text.as_ref().map_or(0, |t| t.len() as u64 + 1))
        .sum()
}

/// Streams NDJSON from `input`: one batch of lines at a time, read on a
/// thread of its own.
pub fn stream<T, W, S>(
    mut input: Box<dyn BufRead + Send + '_>,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
    work: &W,
    sink: S,
) -> Result<()>
where
    T: Send,
    W: Fn(&[Line]) -> T + Sync,
    S: FnMut(T) -> Result<()>,
{
    let batch_lines = options.batch_lines.max(1);
    let mut reader = LineReader::default();
    drive(
        options,
        progress,
        move || reader.batch(&mut input, batch_lines),
        work,
        sink,
    )
}

/// Streams lines already in memory.
pub fn stream_lines<T, W, S>(
    lines: Vec<Line>,
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
    work: &W,
    sink: S,
) -> Result<()>
where
    T: Send,
    W: Fn(&[Line]) -> T + Sync,
    S: FnMut(T) -> Result<()>,
{
    let batch_lines = options.batch_lines.max(1);
    let mut lines = lines.into_iter().peekable();
    drive(
        options,
        progress,
        move || {
            let batch: Vec<Line> = lines.by_ref().take(batch_lines).collect();
            let bytes = bytes_of(&batch);
            Ok((lines.peek().is_none(), batch, bytes))
        },
        work,
        sink,
    )
}

/// Runs `next_batch` on a producer thread of its own (it gives a batch's
/// lines, their bytes and whether the input has ended), the workers on
/// theirs, and reorders on the calling thread.
fn drive<T, P, W, S>(
    options: &Options,
    progress: &(dyn Fn(Progress) + Sync),
    mut next_batch: P,
    work: &W,
    mut sink: S,
) -> Result<()>
where
    T: Send,
    P: FnMut() -> Result<(bool, Vec<Line>, u64)> + Send,
    W: Fn(&[Line]) -> T + Sync,
    S: FnMut(T) -> Result<()>,
{
    let in_flight = options.in_flight();
    // The job queue can hold every admitted batch, so the producer never
    // blocks on it: it blocks only on tokens.
    let (job_tx, job_rx) = sync_channel::<Batch>(in_flight);
    let (result_tx, result_rx) = sync_channel::<(u64, Vec<T>)>(in_flight);
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<()> {
            let mut seq = 0u64;
            loop {
                let (end, lines, bytes) = next_batch()?;
                progress(Progress {
                    lines: lines.len() as u64,
                    bytes,
                });
                if !lines.is_empty() {
                    // No token means the consumer has stopped: stop reading.
                    if token_tx.send(()).is_err() || job_tx.send(Batch { seq, lines }).is_err() {
                        return Ok(());
                    }
                    seq += 1;
                }
                if end {
                    return Ok(());
                }
            }
        });
        for _ in 0..options.threads.max(1) {
            let result_tx = result_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || worker(job_rx, &result_tx, work));
        }
        drop(result_tx);
        let sunk = reorder(result_rx, token_rx, |outs: Vec<T>| {
            for out in outs {
                sink(out)?;
            }
            Ok(())
        });
        let read = producer
            .join()
            .map_err(|_| anyhow!("the input reader stopped unexpectedly"))?;
        // A read error explains a short output better than anything else.
        read.and(sunk)
    })
}

/// Cuts NDJSON into batches of non-blank lines, numbering every line.
#[derive(Default)]
struct LineReader {
    no: u64,
    buf: Vec<u8>,
}

impl LineReader {
    fn batch(
        &mut self,
        input: &mut Box<dyn BufRead + Send + '_>,
        batch_lines: usize,
    ) -> Result<(bool, Vec<Line>, u64)> {
        let mut lines = Vec::with_capacity(batch_lines);
        let mut bytes = 0u64;
        while lines.len() < batch_lines {
            self.buf.clear();
            let n = input
                .read_until(b'\n', &mut self.buf)
                .with_context(|| format!("reading line {} of the input", self.no + 1))?;
            if n == 0 {
                return Ok((true, lines, bytes));
            }
            self.no += 1;
            bytes += n as u64;
            let text = trim_newline(&self.buf);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text =
                String::from_utf8(text.to_vec()).map_err(|e| format!("the line is not UTF-8: {e}"));
            lines.push(Line { no: self.no, text });
        }
        Ok((false, lines, bytes))
    }
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Takes batches until the queue closes; works each slice by slice.
fn worker<T, W>(jobs: &Mutex<Receiver<Batch>>, results: &SyncSender<(u64, Vec<T>)>, work: &W)
where
    W: Fn(&[Line]) -> T,
{
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(batch) = job else {
            return;
        };
        let out = batch.lines.chunks(SLICE).map(work).collect();
        if results.send((batch.seq, out)).is_err() {
            return;
        }
    }
}

/// Hands results to the sink in sequence order, returning a token for each.
/// Consumes the receivers so that, on a sink error, dropping them stops the
/// producer and the workers.
fn reorder<T>(
    results: Receiver<(u64, T)>,
    tokens: Receiver<()>,
    mut sink: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let mut pending = BTreeMap::new();
    let mut next = 0u64;
    for (seq, out) in results.iter() {
        pending.insert(seq, out);
        while let Some(out) = pending.remove(&next) {
            sink(out)?;
            // Cannot fail while the producer holds its sender; when it has
            // finished, the tokens left are simply dropped.
            let _ = tokens.try_recv();
            next += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(threads: usize, batch_lines: usize) -> Options {
        Options {
            threads,
            batch_lines,
        }
    }

    #[test]
    fn results_come_back_in_input_order() {
        let text: String = (1..=5000).map(|i| format!("{i}\n")).collect();
        let mut seen = Vec::new();
        let result = stream(
            Box::new(text.as_bytes()),
            &options(3, 7),
            &|_| {},
            &|lines: &[Line]| lines.iter().map(|l| l.no).collect::<Vec<_>>(),
            |nos| {
                seen.extend(nos);
                Ok(())
            },
        );
        assert!(result.is_ok());
        assert_eq!(seen, (1..=5000).collect::<Vec<u64>>());
    }

    #[test]
    fn batches_are_worked_slice_by_slice_in_order() {
        let lines: Vec<Line> = (1..=10_000)
            .map(|no| Line {
                no,
                text: Ok(no.to_string()),
            })
            .collect();
        let mut seen = Vec::new();
        let mut widest = 0;
        let result = stream_lines(
            lines,
            &options(2, 1000),
            &|_| {},
            &|lines: &[Line]| lines.iter().map(|l| l.no).collect::<Vec<_>>(),
            |nos| {
                widest = widest.max(nos.len());
                seen.extend(nos);
                Ok(())
            },
        );
        assert!(result.is_ok());
        assert_eq!(widest, SLICE);
        assert_eq!(seen, (1..=10_000).collect::<Vec<u64>>());
    }

    #[test]
    fn a_sink_error_stops_the_stream() {
        let text: String = (1..=50_000).map(|i| format!("{i}\n")).collect();
        let mut calls = 0;
        let result = stream(
            Box::new(text.as_bytes()),
            &options(2, 10),
            &|_| {},
            &|lines: &[Line]| lines.len(),
            |_| {
                calls += 1;
                if calls == 3 {
                    Err(anyhow!("disk full"))
                } else {
                    Ok(())
                }
            },
        );
        assert!(result.is_err());
        assert_eq!(calls, 3);
    }
}
