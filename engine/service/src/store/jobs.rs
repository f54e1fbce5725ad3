//! Durable jobs: a row per job with its progress and a cursor (the last
//! `record_id` done). A stage job commits each batch's results and its
//! cursor in one transaction, so after a crash it resumes right after the
//! last committed batch: nothing is lost and nothing is done twice.
//!
//! Several replicas (`layak serve` processes) may share the database. A
//! running job is held by one of them under a lease: `owner` is the
//! replica ([`Store::replica`]), `lease_until` the time its heartbeat
//! ([`Store::heartbeat`]) last pushed ahead. [`Store::claim_job`] gives a
//! replica the oldest stage job unless another replica holds it under a
//! live lease, so stage jobs run one at a time, in order, across the
//! replicas; a job whose replica died is taken over once its lease has run
//! out. Each batch's transaction first checks that this replica still
//! holds the job at the cursor it read ([`hold`]), so a replica that lost
//! its lease (stalled past it) writes nothing more.

use serde::Serialize;
use sqlx::Row as _;

use super::{Arg, DbResult, Scope, Sql, Store, Tx, now_ms};

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";
pub const CANCELLED: &str = "cancelled";
/// A proposal upload cut off by a crash or a dropped connection; what was
/// committed stays, and sending the same records again is idempotent.
pub const INTERRUPTED: &str = "interrupted";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: i64,
    /// `proposal`, `verification`, `qc` or `determination`.
    pub kind: String,
    /// `queued`, `running`, `done`, `failed`, `cancelled` or `interrupted`.
    pub state: String,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    pub ruleset_hash: Option<String>,
    pub total: i64,
    pub done: i64,
    pub errors: i64,
    #[serde(skip)]
    pub cursor: String,
    pub actor: String,
    /// The replica running the job (`<pid>-<hex>`, each `layak serve`
    /// process has its own), or null when none holds it.
    pub owner: Option<String>,
    /// The region scope of the caller who created the job: only callers
    /// whose scope contains it see the job.
    #[serde(skip)]
    pub scope_region: Option<String>,
    pub message: Option<String>,
    /// RFC 3339 (UTC), like every time in the API.
    #[serde(serialize_with = "crate::wire::ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "crate::wire::ser_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<i64>,
    #[serde(serialize_with = "crate::wire::ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
    #[serde(serialize_with = "crate::wire::ser_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<i64>,
}

/// Who a job acts as, and the region its creator's scope gives it (only
/// callers whose scope contains that region see the job).
#[derive(Debug, Clone, Copy)]
pub struct JobOwner<'a> {
    pub actor: &'a str,
    pub scope_region: Option<&'a str>,
}

impl JobOwner<'static> {
    /// The service itself, seen by callers without a region.
    pub const SYSTEM: JobOwner<'static> = JobOwner {
        actor: super::SYSTEM,
        scope_region: None,
    };
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobError {
    pub line: Option<i64>,
    pub record_id: Option<String>,
    #[schema(value_type = Object)]
    pub errors: serde_json::Value,
}

const COLUMNS: &str = "id, kind, state, params, ruleset_hash, total, done, errors, cursor, actor, message, created_at, started_at, updated_at, finished_at, scope_region, owner";

fn job(row: &sqlx::any::AnyRow) -> DbResult<Job> {
    let params: String = row.try_get(3)?;
    Ok(Job {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        state: row.try_get(2)?,
        params: serde_json::from_str(&params).unwrap_or(serde_json::Value::Null),
        ruleset_hash: row.try_get(4)?,
        total: row.try_get(5)?,
        done: row.try_get(6)?,
        errors: row.try_get(7)?,
        cursor: row.try_get(8)?,
        actor: row.try_get(9)?,
        message: row.try_get(10)?,
        created_at: row.try_get(11)?,
        started_at: row.try_get(12)?,
        updated_at: row.try_get(13)?,
        finished_at: row.try_get(14)?,
        scope_region: row.try_get(15)?,
        owner: row.try_get(16)?,
    })
}

impl Store {
    pub async fn create_job(
        &self,
        kind: &str,
        state: &str,
        params: &serde_json::Value,
        ruleset_hash: Option<&str>,
        total: i64,
        owner: JobOwner<'_>,
    ) -> DbResult<Job> {
        let now = now_ms();
        let started = (state == RUNNING).then_some(now);
        // A job created running (an upload) is this replica's from the
        // start, under the heartbeat's lease like a stage job.
        let replica = (state == RUNNING).then(|| self.replica().to_string());
        let lease_until = (state == RUNNING).then(|| now.saturating_add(self.job_lease_ms()));
        let (kind, state, actor) = (kind.to_string(), state.to_string(), owner.actor.to_string());
        let params = params.to_string();
        let ruleset_hash = ruleset_hash.map(str::to_string);
        let scope_region = owner.scope_region.map(str::to_string);
        let id: i64 = crate::store::write_tx!(self, |tx| {
            sqlx::query_scalar(
                    "INSERT INTO jobs (kind, state, params, ruleset_hash, total, done, errors, cursor, actor,
                     message, created_at, started_at, updated_at, finished_at, scope_region, owner, lease_until)
                     VALUES ($1, $2, $3, $4, $5, 0, 0, '', $6, NULL, $7, $8, $7, NULL, $9, $10, $11) RETURNING id",
                )
                .bind(kind)
                .bind(state)
                .bind(params)
                .bind(ruleset_hash)
                .bind(total)
                .bind(actor)
                .bind(now)
                .bind(started)
                .bind(scope_region)
                .bind(replica)
                .bind(lease_until)
                .fetch_one(&mut **tx)
                .await
        })?;
        self.job(id).await?.ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn job(&self, id: i64) -> DbResult<Option<Job>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(job).transpose()
    }

    /// One job, if the caller's scope contains it; otherwise the same as
    /// missing.
    pub async fn job_in(&self, id: i64, scope: &Scope) -> DbResult<Option<Job>> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM jobs j WHERE j.id = "));
        sql.bind(Arg::Int(id));
        scope.restrict_column(&mut sql, "j.scope_region");
        let row = sql.query(self.backend).fetch_optional(self.pool()).await?;
        row.as_ref().map(job).transpose()
    }

    /// The newest jobs the caller's scope contains.
    pub async fn jobs_in(&self, limit: i64, scope: &Scope) -> DbResult<Vec<Job>> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM jobs j WHERE 1 = 1"));
        scope.restrict_column(&mut sql, "j.scope_region");
        sql.push(" ORDER BY j.id DESC LIMIT ").bind(Arg::Int(limit));
        let rows = sql.query(self.backend).fetch_all(self.pool()).await?;
        rows.iter().map(job).collect()
    }

    pub async fn jobs(&self, limit: i64) -> DbResult<Vec<Job>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs ORDER BY id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job).collect()
    }

    /// Claims the stage job this replica should run now: the oldest one
    /// not ended, unless another replica holds it under a lease that has
    /// not run out (then none: stage jobs run one at a time, in order). The
    /// job becomes `running`, held by this replica for one lease; a job
    /// taken over keeps its cursor and counts, and resumes after them.
    pub async fn claim_job(&self) -> DbResult<Option<Job>> {
        let (me, lease) = (self.replica().to_string(), self.job_lease_ms());
        // A look without the write lock first: an idle replica polls, and
        // should not queue behind the writers to find nothing to do.
        let head: Option<(String, Option<String>, Option<i64>)> = sqlx::query(
            "SELECT state, owner, lease_until FROM jobs
             WHERE state IN ('queued', 'running') AND kind <> 'proposal' ORDER BY id LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?
        .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()?;
        match head {
            None => return Ok(None),
            Some((state, Some(owner), Some(until)))
                if state == RUNNING && owner != me && until >= now_ms() =>
            {
                return Ok(None);
            }
            Some(_) => {}
        }
        crate::store::write_tx!(self, |tx| {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS}, lease_until FROM jobs
                 WHERE state IN ('queued', 'running') AND kind <> 'proposal'
                 ORDER BY id LIMIT 1"
            )))
            .fetch_optional(&mut **tx)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let mut found = job(&row)?;
            let lease_until: Option<i64> = row.try_get(17)?;
            let now = now_ms();
            let held_elsewhere = found.state == RUNNING
                && found.owner.as_deref().is_some_and(|o| o != me)
                && lease_until.is_some_and(|until| until >= now);
            if held_elsewhere {
                return Ok(None);
            }
            if found.state == RUNNING && found.owner.as_deref() != Some(me.as_str()) {
                tracing::warn!(
                    job = found.id,
                    from = found.owner.as_deref().unwrap_or("none"),
                    "taking over a job whose lease ran out"
                );
            }
            sqlx::query(
                "UPDATE jobs SET state = 'running', owner = $2, lease_until = $3,
                 started_at = COALESCE(started_at, $4), updated_at = $4 WHERE id = $1",
            )
            .bind(found.id)
            .bind(me.clone())
            .bind(now.saturating_add(lease))
            .bind(now)
            .execute(&mut **tx)
            .await?;
            found.started_at = found.started_at.or(Some(now));
            found.updated_at = now;
            found.owner = Some(me.clone());
            Ok(Some(found))
        })
    }

    /// What a replica does while it lives: pushes the lease of every job it
    /// runs (stage jobs and uploads) one lease ahead, and marks uploads
    /// whose lease has run out (their replica died) interrupted; returns
    /// how many it interrupted. Called every third of a lease.
    ///
    /// Two single statements outside [`Store::begin_write`]: they touch
    /// only job rows, never the audit trail, and must not wait behind the
    /// write lock (a long batch of another replica) for so long that the
    /// lease they renew runs out. This replica's uploads are renewed before
    /// the expired ones are looked for, so it never interrupts its own.
    pub async fn heartbeat(&self) -> DbResult<u64> {
        let (me, lease) = (self.replica().to_string(), self.job_lease_ms());
        let now = now_ms();
        sqlx::query("UPDATE jobs SET lease_until = $2 WHERE owner = $1 AND state = 'running'")
            .bind(me)
            .bind(now.saturating_add(lease))
            .execute(self.pool())
            .await?;
        let done = sqlx::query(INTERRUPT_EXPIRED_UPLOADS)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Proposal uploads whose replica stopped (its lease ran out, or it
    /// ran before leases existed): at start, and on every heartbeat.
    pub async fn interrupt_uploads(&self) -> DbResult<u64> {
        let done = sqlx::query(INTERRUPT_EXPIRED_UPLOADS)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Sets how many records a job will see, counted when it starts.
    pub async fn set_job_total(&self, id: i64, total: i64) -> DbResult<()> {
        crate::store::write_tx!(self, |tx| {
            sqlx::query("UPDATE jobs SET total = $2 WHERE id = $1")
                .bind(id)
                .bind(total)
                .execute(&mut **tx)
                .await?;
            Ok(())
        })
    }

    /// Ends a job unless it was cancelled meanwhile or another replica
    /// holds it now (it took the job over when this one's lease ran out).
    pub async fn finish_job(&self, id: i64, state: &str, message: Option<&str>) -> DbResult<()> {
        let (state, message) = (state.to_string(), message.map(str::to_string));
        let me = self.replica().to_string();
        crate::store::write_tx!(self, |tx| {
            sqlx::query(
                "UPDATE jobs SET state = $2, message = COALESCE($3, message), updated_at = $4, finished_at = $4
                 WHERE id = $1 AND state IN ('queued', 'running') AND (owner IS NULL OR owner = $5)",
            )
            .bind(id)
            .bind(state)
            .bind(message)
            .bind(now_ms())
            .bind(me)
            .execute(&mut **tx)
            .await?;
            Ok(())
        })
    }

    /// Cancels a queued or running job; false when it had already ended.
    pub async fn cancel_job(&self, id: i64) -> DbResult<bool> {
        crate::store::write_tx!(self, |tx| {
            let done = sqlx::query(
                "UPDATE jobs SET state = 'cancelled', updated_at = $2, finished_at = $2
                 WHERE id = $1 AND state IN ('queued', 'running')",
            )
            .bind(id)
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    pub async fn job_state(&self, id: i64) -> DbResult<Option<String>> {
        sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// Whether this replica still runs job `id` (running, held by it).
    pub async fn holds_job(&self, id: i64) -> DbResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE id = $1 AND state = 'running' AND owner = $2",
        )
        .bind(id)
        .bind(self.replica().to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    pub async fn job_errors(&self, id: i64, limit: i64) -> DbResult<Vec<JobError>> {
        let rows = sqlx::query(
            "SELECT line, record_id, errors FROM job_errors WHERE job_id = $1 ORDER BY id LIMIT $2",
        )
        .bind(id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let errors: String = r.try_get(2)?;
                Ok(JobError {
                    line: r.try_get(0)?,
                    record_id: r.try_get(1)?,
                    errors: serde_json::from_str(&errors).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }
}

/// Marks interrupted the uploads whose replica stopped (`$1`: now).
const INTERRUPT_EXPIRED_UPLOADS: &str =
    "UPDATE jobs SET state = 'interrupted', updated_at = $1, finished_at = $1,
     message = 'the upload was cut off; what was committed is stored, send the rest again'
     WHERE kind = 'proposal' AND state = 'running' AND (lease_until IS NULL OR lease_until < $1)";

/// The fence of a stage job's batch, the first statement of its
/// transaction: true when job `id` is still running, held by `owner`, at
/// the cursor the batch was read after. Under the store's one write lock
/// this holds to the commit; false means the job was cancelled or taken
/// over by another replica (this one's lease ran out), and the batch must
/// write nothing.
pub async fn hold(tx: &mut Tx, id: i64, owner: &str, cursor: &str) -> DbResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE id = $1 AND state = 'running' AND owner = $2 AND cursor = $3",
    )
    .bind(id)
    .bind(owner.to_string())
    .bind(cursor.to_string())
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// Records a batch's progress inside the batch's own transaction.
pub async fn advance(
    tx: &mut Tx,
    id: i64,
    done: i64,
    errors: i64,
    cursor: Option<&str>,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE jobs SET done = done + $2, errors = errors + $3, cursor = COALESCE($4, cursor),
         updated_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(done)
    .bind(errors)
    .bind(cursor.map(str::to_string))
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records one input that could not be processed.
pub async fn record_error(
    tx: &mut Tx,
    job_id: i64,
    line: Option<i64>,
    record_id: Option<&str>,
    errors: &serde_json::Value,
) -> DbResult<()> {
    sqlx::query("INSERT INTO job_errors (job_id, line, record_id, errors) VALUES ($1, $2, $3, $4)")
        .bind(job_id)
        .bind(line)
        .bind(record_id.map(str::to_string))
        .bind(errors.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
