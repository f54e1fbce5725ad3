//! The stage jobs: the job worker runs the queued jobs one at a time,
//! oldest first, across every replica on the database: it claims the
//! oldest job under a lease ([`Store::claim_job`](crate::store::Store::claim_job))
//! that a heartbeat renews while this process lives, and takes over a job
//! whose replica died (its lease ran out), resuming after the job's
//! cursor, as a restarted process resumes the job it was running.
//!
//! A job walks its records in `record_id` order in batches, evaluates each
//! batch through the host's one pipeline ([`layak_host::pipeline`]) on the
//! evaluation threads, and commits the batch's status changes, events,
//! decisions, errors and the job's cursor in one transaction. A job stopped
//! at any instant (even by `kill -9`) resumes after its last committed
//! batch, and the final state is that of an uninterrupted run: no decision
//! lost, none twice.
//!
//! The stages: verification (integrity rules: a record that fails a
//! blocking criterion is returned with its reasons, the others become
//! `VERIFIED`), [`qc`] (registry-wide rules over facts the register
//! attaches) and [`determination`] (eligibility and benefit per
//! programme). The next batch of a verification or determination job is
//! read and evaluated while the current one commits.

use std::sync::Arc;
use std::time::Duration;

use layak_dsl::decision::{HouseholdDecision, Outcome as CriterionResult, Status};
use layak_dsl::eval::EvalContext;
use layak_host::pipeline::{self, Line, LineError, Options, Outcome, SLICE};

use crate::http::AppState;
use crate::http::evaluate::context;
use crate::http::jobs::{job_scope, statuses};
use crate::http::privacy::mask_digits;
use crate::http::rules::Compiled;
use crate::store::households::{
    Change, QC_PASSED, RETURNED, StoredHousehold, VERIFIED, change_statuses,
};
use crate::store::jobs::{self, Job, record_error};
use crate::store::{DbResult, Tx};

mod determination;
mod qc;

/// Why a job stopped before its end. Households the pipeline could not
/// decide are not job errors: they are recorded with their code and path
/// (`GET /v1/jobs/{id}/errors`) and the job goes on.
#[derive(Debug)]
pub enum JobError {
    /// The store failed.
    Store(sqlx::Error),
    /// The job's ruleset or its parameters cannot be used.
    Rules(String),
    /// A `stage qc` job whose ruleset has no `stage qc` ruleset.
    NoQcRules,
    /// The job's kind is not one the worker runs.
    Kind(String),
    /// An evaluation thread stopped.
    Internal(String),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Store(e) => write!(f, "the store failed: {e}"),
            JobError::Rules(message) => write!(f, "{message}"),
            JobError::NoQcRules => write!(f, "the job's ruleset has no `stage qc` ruleset"),
            JobError::Kind(kind) => write!(f, "job kind `{kind}` cannot run"),
            JobError::Internal(message) => write!(f, "evaluation stopped: {message}"),
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> JobError {
        JobError::Store(e)
    }
}

/// The job worker of this replica: the heartbeat beside it, then jobs as
/// they come.
pub async fn run(state: AppState) {
    tokio::spawn(heartbeat(state.clone()));
    loop {
        match state.store.claim_job().await {
            Ok(Some(job)) => {
                let id = job.id;
                if let Err(e) = run_job(&state, job).await {
                    let message = mask_digits(&e.to_string());
                    tracing::error!(job = id, error = %message, "job failed");
                    let _ = state
                        .store
                        .finish_job(id, jobs::FAILED, Some(&message))
                        .await;
                }
            }
            Ok(None) => {
                tokio::select! {
                    () = state.jobs_ready.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "reading the job queue");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Renews the leases of this replica's jobs every third of a lease, and
/// marks uploads of dead replicas interrupted. While the process lives its
/// jobs stay its own; `kill -9` stops the heartbeat, and another replica
/// takes the job over one lease later.
async fn heartbeat(state: AppState) {
    let every = u64::try_from(state.store.job_lease_ms() / 3)
        .unwrap_or(1)
        .max(1);
    loop {
        tokio::time::sleep(Duration::from_millis(every)).await;
        match state.store.heartbeat().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "uploads cut off: their replica stopped"),
            Err(e) => tracing::error!(error = %e, "renewing the job leases"),
        }
    }
}

/// Where a batch lies in its job: after `from` (the job's cursor when the
/// batch was read) up to `to`, its last record.
#[derive(Debug, Clone, Copy)]
struct Cursor<'a> {
    from: &'a str,
    to: &'a str,
}

/// What a job works with: its ruleset version and evaluation context.
struct Run<'a> {
    state: &'a AppState,
    job: &'a Job,
    compiled: Arc<Compiled>,
    ctx: EvalContext,
}

async fn run_job(state: &AppState, job: Job) -> Result<(), JobError> {
    // Nothing committed yet (a job just claimed from the queue, or one
    // whose replica died before its first batch): its total is counted now.
    let fresh = job.cursor.is_empty() && job.done == 0 && job.errors == 0;
    tracing::info!(job = job.id, kind = %job.kind, resumed = !fresh, replica = state.store.replica(), "job started");
    let Some(hash) = &job.ruleset_hash else {
        return Err(JobError::Rules(format!(
            "the {} job has no ruleset version",
            job.kind
        )));
    };
    let compiled = state
        .rules
        .get(&state.store, hash)
        .await
        .map_err(|p| JobError::Rules(p.detail.unwrap_or_default()))?;
    let as_of = job
        .params
        .get("as_of")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let params = job
        .params
        .get("params")
        .and_then(|p| serde_json::from_value(p.clone()).ok())
        .unwrap_or_default();
    let ctx = context(&compiled.program, as_of, &params)
        .map_err(|p| JobError::Rules(p.detail.unwrap_or_default()))?;
    let run = Run {
        state,
        job: &job,
        compiled,
        ctx,
    };
    let scope = job_scope(&job.params);
    let wanted = statuses(&job.kind);
    if fresh {
        // Counted again now: a job queued behind another sees the records
        // that job has moved into its stage.
        let total = state.store.count_stage(wanted, &scope).await?;
        state.store.set_job_total(job.id, total).await?;
    }
    let kind = match job.kind.as_str() {
        "verification" => Kind::Verification,
        "qc" => Kind::Qc,
        "determination" => Kind::Determination,
        other => return Err(JobError::Kind(other.to_string())),
    };
    let batch_size = i64::try_from(state.config.job_batch.max(1)).unwrap_or(512);
    let read = |after: String| {
        let (run, scope) = (&run, &scope);
        async move {
            let batch = state
                .store
                .stage_batch(wanted, &after, scope, batch_size)
                .await?;
            if batch.is_empty() {
                return Ok(None);
            }
            let outcomes = match kind {
                Kind::Qc => qc::evaluate(run, &batch).await?,
                Kind::Verification | Kind::Determination => {
                    run.evaluate(Program::Households, lines_of(&batch)).await?
                }
            };
            Ok::<_, JobError>(Some((batch, outcomes)))
        }
    };
    let mut cursor = job.cursor.clone();
    let mut ahead = None;
    loop {
        if !state.store.holds_job(job.id).await? {
            tracing::info!(
                job = job.id,
                "job stopped: cancelled, or taken over by another replica"
            );
            return Ok(());
        }
        let current = match ahead.take() {
            Some(evaluated) => evaluated,
            None => match read(cursor.clone()).await? {
                Some(evaluated) => evaluated,
                None => break,
            },
        };
        let (batch, outcomes) = current;
        let Some(last) = batch.last().map(|h| h.record_id.clone()) else {
            break;
        };
        let at = Cursor {
            from: &cursor,
            to: &last,
        };
        let commit = async {
            match kind {
                Kind::Verification => commit_statuses(&run, &batch, &outcomes, VERIFIED, at).await,
                Kind::Qc => commit_statuses(&run, &batch, &outcomes, QC_PASSED, at).await,
                Kind::Determination => determination::commit(&run, &batch, &outcomes, at).await,
            }
        };
        // The next batch is read and evaluated while this one commits:
        // its records lie after this batch's, so the commit cannot change
        // them. Not for QC, whose facts depend on what this batch returns.
        let committed = if kind == Kind::Qc {
            commit.await?
        } else {
            let (committed, next) = tokio::join!(commit, read(last.clone()));
            let committed = committed?;
            match next? {
                Some(next) => ahead = Some(next),
                None if committed => break,
                None => {}
            }
            committed
        };
        if !committed {
            tracing::info!(
                job = job.id,
                "job stopped: cancelled, or taken over by another replica"
            );
            return Ok(());
        }
        cursor = last;
    }
    state.store.finish_job(job.id, jobs::DONE, None).await?;
    tracing::info!(job = job.id, kind = %job.kind, "job done");
    Ok(())
}

/// The stage a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Verification,
    Qc,
    Determination,
}

/// Which of a version's programs a batch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    /// Verification and determination.
    Households,
    /// The `stage qc` rulesets.
    QualityControl,
}

impl Run<'_> {
    /// Evaluates lines (a batch's record bodies, facts attached or not)
    /// through the pipeline on the evaluation threads: one outcome per
    /// line, in order.
    async fn evaluate(&self, which: Program, lines: Vec<Line>) -> Result<Vec<Outcome>, JobError> {
        let options = Options {
            threads: self.state.config.threads.max(1),
            batch_lines: SLICE,
        };
        let compiled = Arc::clone(&self.compiled);
        let ctx = self.ctx.clone();
        tokio::task::spawn_blocking(move || {
            let evaluator = match which {
                Program::Households => compiled.evaluator(&ctx),
                Program::QualityControl => {
                    compiled.qc_evaluator(&ctx).ok_or(JobError::NoQcRules)?
                }
            };
            pipeline::evaluate_all(&evaluator, lines, &options)
                .map_err(|e| JobError::Internal(e.to_string()))
        })
        .await
        .map_err(|e| JobError::Internal(e.to_string()))?
    }

    /// Records a household without a decision in the job's error list.
    async fn record_error(
        &self,
        tx: &mut Tx,
        h: &StoredHousehold,
        error: &LineError,
    ) -> DbResult<()> {
        record_error(
            tx,
            self.job.id,
            None,
            Some(&h.record_id),
            &error_json(error),
        )
        .await
    }

    /// A record's move on from the status the job read, with the
    /// reasons ([`change_statuses`] applies a batch of them).
    fn change<'h>(
        &'h self,
        h: &'h StoredHousehold,
        to: &'h str,
        reasons: String,
        period: Option<&'h str>,
    ) -> Change<'h> {
        Change {
            record_id: &h.record_id,
            from: &h.status,
            content_hash: &h.content_hash,
            to,
            reasons,
            period,
            actor: &self.job.actor,
            ruleset_hash: Some(&self.compiled.hash),
            job_id: Some(self.job.id),
        }
    }

    /// The fence of a batch's transaction ([`jobs::hold`]): false when the
    /// job was cancelled or another replica holds it now.
    async fn hold(&self, tx: &mut Tx, at: Cursor<'_>) -> DbResult<bool> {
        jobs::hold(tx, self.job.id, self.state.store.replica(), at.from).await
    }

    /// A batch's audit entry, committed with the batch: who (the job's
    /// actor), what (the job) and how many records changed.
    async fn audit(&self, tx: &mut Tx, records: i64) -> DbResult<()> {
        crate::store::access::append(
            tx,
            &crate::store::access::Audit {
                actor: &self.job.actor,
                action: "change",
                target: format!("{} job {}", self.job.kind, self.job.id),
                records,
            },
        )
        .await
    }
}

/// The lines of a batch: each record's stored body.
fn lines_of(batch: &[StoredHousehold]) -> Vec<Line> {
    batch
        .iter()
        .zip(1..)
        .map(|(h, no)| Line {
            no,
            text: Ok(h.body.clone()),
        })
        .collect()
}

/// A household without a decision, as the job's error list keeps it: the
/// stable code, and the JSON path of each problem of a malformed record
/// (identity numbers in messages masked).
fn error_json(error: &LineError) -> serde_json::Value {
    match error {
        LineError::Malformed(errors) => errors
            .iter()
            .map(|e| {
                serde_json::json!({
                    "code": error.code(), "path": e.path, "message": mask_digits(&e.message),
                })
            })
            .collect(),
        LineError::Sandbox(e) => serde_json::json!([{
            "code": e.code(), "message": mask_digits(e.message()), "hint": e.hint(),
        }]),
    }
}

/// The reasons of a verification or QC outcome: codes, and each failing
/// criterion's message in both languages with where it applies.
fn verification_reasons(d: &HouseholdDecision) -> serde_json::Value {
    let mut details = Vec::new();
    for ruleset in &d.verification {
        for c in &ruleset.criteria {
            if c.outcome == CriterionResult::Passed {
                continue;
            }
            if c.elements.is_empty() {
                details.push(serde_json::json!({
                    "code": c.code, "severity": c.severity, "outcome": c.outcome,
                    "path": ruleset.path, "message": c.message,
                }));
            }
            for e in &c.elements {
                details.push(serde_json::json!({
                    "code": c.code, "severity": c.severity, "outcome": e.outcome,
                    "path": e.path, "message": e.message,
                }));
            }
        }
    }
    serde_json::json!({
        "failures": d.failures, "warnings": d.warnings, "undetermined": d.undetermined,
        "details": details,
    })
}

/// Commits a verification-like batch (verification, QC): each record moves
/// to `passed` or `RETURNED` with its reasons, or gets its error recorded;
/// then the job's cursor and the audit entry, all in one transaction.
/// False (nothing written) when this replica no longer holds the job.
async fn commit_statuses(
    run: &Run<'_>,
    batch: &[StoredHousehold],
    outcomes: &[Outcome],
    passed: &'static str,
    at: Cursor<'_>,
) -> Result<bool, JobError> {
    let mut changes = Vec::with_capacity(batch.len());
    let mut failed = Vec::new();
    for (h, outcome) in batch.iter().zip(outcomes) {
        match outcome {
            Ok(d) => {
                let to = match d.status {
                    Status::Verified => passed,
                    Status::Returned => RETURNED,
                };
                changes.push(run.change(h, to, verification_reasons(d).to_string(), None));
            }
            Err(e) => failed.push((h, e)),
        }
    }
    let done = i64::try_from(changes.len()).unwrap_or(i64::MAX);
    let errors = i64::try_from(failed.len()).unwrap_or(i64::MAX);
    let committed = crate::store::write_tx!(run.state.store, |tx| {
        if !run.hold(tx, at).await? {
            return Ok(false);
        }
        change_statuses(tx, &changes).await?;
        for (h, e) in &failed {
            run.record_error(tx, h, e).await?;
        }
        jobs::advance(tx, run.job.id, done, errors, Some(at.to)).await?;
        run.audit(tx, done).await?;
        Ok(true)
    })?;
    Ok(committed)
}
