//! Where `/v1/evaluate` evaluates: a fixed number of threads beside the
//! async runtime, behind a bounded queue.
//!
//! Evaluation is CPU work (decoding, the wasm call, rendering). Done on the
//! runtime's own threads it would hold up every other request queued there;
//! on tokio's blocking pool it would grow a thread per request under load.
//! So a request's evaluation is a task for one of [`EvalPool`]'s workers
//! (`--threads`, every core by default), and at most `--eval-queue` tasks
//! wait for one: a request that finds the queue full is answered at once
//! with 503 `EVALUATION_BUSY` and `Retry-After`, as an upload that finds the
//! compiler busy is. Streams of households (`application/x-ndjson`) run
//! their own pipeline of `--threads` workers, at most [`STREAMS`] at a time
//! (a further one gets the same 503).
//!
//! The compiled module is shared: a ruleset version is compiled once and
//! kept by its hash (`super::rules::RuleCache`), and its engine keeps a pool
//! of sandbox sessions, so a worker reuses an instance instead of making
//! one per request.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::problem::{ApiResult, Problem};

/// Tasks waiting for a worker, at most, by default (`--eval-queue`).
pub const DEFAULT_QUEUE: usize = 1024;

/// Streams of households evaluated at once, at most.
pub const STREAMS: usize = 4;

/// Seconds a busy answer asks the client to wait.
const RETRY_AFTER: u32 = 1;

type Task = Box<dyn FnOnce() + Send>;

/// The evaluation threads and their queue (one per service).
pub struct EvalPool {
    queue: SyncSender<Task>,
    capacity: usize,
    streams: Arc<Semaphore>,
}

impl EvalPool {
    /// Starts `threads` workers behind a queue of `queue` tasks.
    pub fn start(threads: usize, queue: usize) -> std::io::Result<EvalPool> {
        let (sender, receiver) = sync_channel::<Task>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("layak-eval-{n}"))
                .spawn(move || work(&receiver))?;
        }
        Ok(EvalPool {
            queue: sender,
            capacity: queue,
            streams: Arc::new(Semaphore::new(STREAMS)),
        })
    }

    /// Queues `f` for a worker, or refuses at once with 503
    /// `EVALUATION_BUSY` when the queue is full; [`Submitted::answer`]
    /// waits for what it returns, and the request can go on with other work
    /// (its audit entry) meanwhile.
    pub fn submit<T, F>(&self, f: F) -> ApiResult<Submitted<T>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task: Task = Box::new(move || {
            let out = std::panic::catch_unwind(AssertUnwindSafe(f));
            let _ = reply.send(out);
        });
        match self.queue.try_send(task) {
            Ok(()) => Ok(Submitted { answer }),
            Err(TrySendError::Full(_)) => {
                tracing::warn!(
                    queue = self.capacity,
                    "evaluation queue full: request refused"
                );
                Err(busy(format!(
                    "{} evaluations are waiting for a thread; send the request again in a moment",
                    self.capacity
                )))
            }
            Err(TrySendError::Disconnected(_)) => {
                Err(Problem::internal(&"the evaluation threads stopped"))
            }
        }
    }

    /// A place for one stream of households, or 503 `EVALUATION_BUSY` when
    /// [`STREAMS`] are running.
    pub fn stream_permit(&self) -> ApiResult<OwnedSemaphorePermit> {
        Arc::clone(&self.streams).try_acquire_owned().map_err(|_| {
            tracing::warn!(streams = STREAMS, "evaluation streams all busy: request refused");
            busy(format!(
                "{STREAMS} streams of households are being evaluated; send the request again in a moment"
            ))
        })
    }
}

/// A task a worker has taken or will take.
pub struct Submitted<T> {
    answer: oneshot::Receiver<std::thread::Result<T>>,
}

impl<T> Submitted<T> {
    /// What the task returned; 500 if it panicked.
    pub async fn answer(self) -> ApiResult<T> {
        match self.answer.await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(_)) => Err(Problem::internal(&"an evaluation panicked")),
            Err(_) => Err(Problem::internal(&"an evaluation thread dropped its task")),
        }
    }
}

fn busy(detail: String) -> Problem {
    Problem::unavailable("EVALUATION_BUSY", detail, RETRY_AFTER)
}

/// A worker: runs tasks until the pool goes.
fn work(receiver: &Mutex<Receiver<Task>>) {
    loop {
        let task = {
            let queue = receiver.lock().unwrap_or_else(PoisonError::into_inner);
            queue.recv()
        };
        match task {
            Ok(task) => task(),
            Err(_) => return,
        }
    }
}
