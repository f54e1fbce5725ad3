//! Group commit of the audit trail: one task appends the entries that
//! requests send it, as many as are waiting in one write transaction.
//!
//! A request that must record an audit entry before it answers (a stateless
//! evaluation: personal data passed through, nothing else is written) sends
//! the entry here and waits for the commit of the transaction that holds it,
//! so nothing acknowledged is missing from the trail; when the commit fails,
//! every request of that group gets the error (a 500), not a success. While
//! one group commits, the next gathers, so under load many requests share a
//! commit instead of queueing one by one for the store's single writer.
//!
//! The transaction is an ordinary [`Store::begin_write`] one: it takes the
//! process's write lock and, on PostgreSQL, the database-wide advisory lock,
//! so the group is chained after whatever any other writer (a stage job, a
//! proposal, `layak token`, another process) appended, and the chain stays
//! one unbroken line on both backends.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::Store;
use super::access::{Audit, append_all};

/// Entries one transaction takes at most.
pub const GROUP: usize = 1024;

/// Entries waiting for the appender at most; a request beyond it waits for
/// room (the writer is the bottleneck then, and the wait is its queue).
pub const QUEUE: usize = 8192;

/// An audit entry to append, owned so that it can travel to the appender.
#[derive(Debug, Clone)]
pub struct PendingAudit {
    pub actor: String,
    pub action: &'static str,
    pub target: String,
    pub records: i64,
}

impl PendingAudit {
    fn as_audit(&self) -> Audit<'_> {
        Audit {
            actor: &self.actor,
            action: self.action,
            target: self.target.clone(),
            records: self.records,
        }
    }
}

/// Why an entry was not appended: the database's error (logged where it
/// happened), or the appender stopped with the service.
#[derive(Debug, Clone)]
pub struct AppendError(pub String);

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "appending to the audit trail: {}", self.0)
    }
}

struct Request {
    entry: PendingAudit,
    done: oneshot::Sender<Result<(), AppendError>>,
}

/// The handle requests append through; the task behind it lives as long as
/// a handle does.
pub struct AuditAppender {
    queue: mpsc::Sender<Request>,
}

impl AuditAppender {
    /// Starts the appender task on the current tokio runtime.
    pub fn start(store: Arc<Store>) -> AuditAppender {
        let (queue, requests) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, requests));
        AuditAppender { queue }
    }

    /// Appends `entry` and waits until the transaction holding it has
    /// committed.
    pub async fn append(&self, entry: PendingAudit) -> Result<(), AppendError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Request { entry, done })
            .await
            .map_err(|_| AppendError("the audit appender has stopped".to_string()))?;
        committed
            .await
            .map_err(|_| AppendError("the audit appender dropped the entry".to_string()))?
    }
}

/// Takes every waiting entry (up to [`GROUP`]), appends them in one write
/// transaction, and answers each request with the commit's outcome.
async fn run(store: Arc<Store>, mut requests: mpsc::Receiver<Request>) {
    let mut group: Vec<Request> = Vec::with_capacity(GROUP);
    loop {
        if requests.recv_many(&mut group, GROUP).await == 0 {
            return;
        }
        let outcome = commit(&store, &group).await.map_err(|e| {
            tracing::error!(error = %e, entries = group.len(), "audit group commit failed");
            AppendError(e.to_string())
        });
        tracing::trace!(entries = group.len(), "audit group committed");
        for request in group.drain(..) {
            // A request that stopped waiting (its client went away) still
            // has its entry in the trail.
            let _ = request.done.send(outcome.clone());
        }
    }
}

async fn commit(store: &Store, group: &[Request]) -> super::DbResult<()> {
    let entries: Vec<Audit<'_>> = group.iter().map(|r| r.entry.as_audit()).collect();
    crate::store::write_tx!(store, |tx| {
        append_all(tx, &entries).await?;
        Ok(())
    })
}
