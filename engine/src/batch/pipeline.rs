//! The parallel, ordered stream under `layak run` and `layak impact`.
//!
//! A reader thread cuts the input into batches of lines and hands them to
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

/// One input line. `text` is `Err` when the line is not UTF-8.
pub struct Line {
    /// 1-based line number in the input.
    pub no: u64,
    pub text: Result<String, String>,
}

pub struct Config {
    pub threads: usize,
    pub batch_lines: usize,
}

impl Config {
    pub fn new(threads: Option<usize>) -> Config {
        let threads = threads
            .filter(|n| *n > 0)
            .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
            .unwrap_or(1);
        Config {
            threads,
            batch_lines: 1024,
        }
    }

    fn in_flight(&self) -> usize {
        self.threads * 4
    }
}

struct Batch {
    seq: u64,
    lines: Vec<Line>,
}

/// Streams `input` through `work` (called on worker threads, one batch at a
/// time) and hands each batch's result to `sink` in input order. `on_read`
/// gets the bytes of each batch as it is read. An error reading the input
/// or from the sink stops the stream and is returned.
pub fn stream<T, W, S>(
    input: Box<dyn BufRead + Send + '_>,
    config: &Config,
    on_read: &(dyn Fn(u64) + Sync),
    work: W,
    sink: S,
) -> Result<()>
where
    T: Send,
    W: Fn(&[Line]) -> T + Sync,
    S: FnMut(T) -> Result<()>,
{
    let in_flight = config.in_flight();
    // The job queue can hold every admitted batch, so the reader never
    // blocks on it: it blocks only on tokens.
    let (job_tx, job_rx) = sync_channel::<Batch>(in_flight);
    let (result_tx, result_rx) = sync_channel::<(u64, T)>(in_flight);
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    let job_rx = Mutex::new(job_rx);
    let work = &work;
    std::thread::scope(|scope| {
        let reader =
            scope.spawn(move || read(input, config.batch_lines, &job_tx, &token_tx, on_read));
        for _ in 0..config.threads {
            let result_tx = result_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || worker(job_rx, &result_tx, work));
        }
        drop(result_tx);
        let sunk = reorder(result_rx, token_rx, sink);
        let read = reader
            .join()
            .map_err(|_| anyhow!("the input reader stopped unexpectedly"))?;
        // A read error explains a short output better than anything else.
        read.and(sunk)
    })
}

fn read(
    mut input: Box<dyn BufRead + Send + '_>,
    batch_lines: usize,
    jobs: &SyncSender<Batch>,
    tokens: &SyncSender<()>,
    on_read: &(dyn Fn(u64) + Sync),
) -> Result<()> {
    let mut no = 0u64;
    let mut seq = 0u64;
    let mut buf = Vec::new();
    loop {
        let mut lines = Vec::with_capacity(batch_lines);
        let mut bytes = 0u64;
        let mut eof = false;
        while lines.len() < batch_lines {
            buf.clear();
            let n = input
                .read_until(b'\n', &mut buf)
                .with_context(|| format!("reading line {} of the input", no + 1))?;
            if n == 0 {
                eof = true;
                break;
            }
            no += 1;
            bytes += n as u64;
            let text = trim_newline(&buf);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text =
                String::from_utf8(text.to_vec()).map_err(|e| format!("the line is not UTF-8: {e}"));
            lines.push(Line { no, text });
        }
        on_read(bytes);
        if !lines.is_empty() {
            // No token means the consumer has stopped: stop reading.
            if tokens.send(()).is_err() || jobs.send(Batch { seq, lines }).is_err() {
                return Ok(());
            }
            seq += 1;
        }
        if eof {
            return Ok(());
        }
    }
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn worker<T, W>(jobs: &Mutex<Receiver<Batch>>, results: &SyncSender<(u64, T)>, work: &W)
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
        let out = work(&batch.lines);
        if results.send((batch.seq, out)).is_err() {
            return;
        }
    }
}

/// Hands results to the sink in sequence order, returning a token for each.
/// Consumes the receivers so that, on a sink error, dropping them stops the
/// reader and the workers.
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
            // Cannot fail while the reader holds its sender; when the
            // reader has finished, the tokens left are simply dropped.
            let _ = tokens.try_recv();
            next += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_input_order() {
        let text: String = (1..=5000).map(|i| format!("{i}\n")).collect();
        let config = Config {
            threads: 3,
            batch_lines: 7,
        };
        let mut seen = Vec::new();
        let result = stream(
            Box::new(text.as_bytes()),
            &config,
            &|_| {},
            |lines| lines.iter().map(|l| l.no).collect::<Vec<_>>(),
            |nos| {
                seen.extend(nos);
                Ok(())
            },
        );
        assert!(result.is_ok());
        assert_eq!(seen, (1..=5000).collect::<Vec<u64>>());
    }

    #[test]
    fn a_sink_error_stops_the_stream() {
        let text: String = (1..=50_000).map(|i| format!("{i}\n")).collect();
        let config = Config {
            threads: 2,
            batch_lines: 10,
        };
        let mut calls = 0;
        let result = stream(
            Box::new(text.as_bytes()),
            &config,
            &|_| {},
            |lines| lines.len(),
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
