//! Households: the current state of each record, every version of its
//! content, the people on it (for the registry-wide checks) and the
//! append-only events of its status.

use serde::Serialize;
use sqlx::Row as _;

use super::{Arg, DbResult, Scope, Sql, Store, Tx, now_ms};

/// The statuses of the pipeline (`docs/domain.md`, "The pipeline").
pub const PROPOSED: &str = "PROPOSED";
pub const VERIFIED: &str = "VERIFIED";
pub const RETURNED: &str = "RETURNED";
pub const QC_PASSED: &str = "QC_PASSED";
pub const DETERMINED: &str = "DETERMINED";

/// A checked household ready to be stored as proposed.
#[derive(Debug, Clone)]
pub struct Proposed {
    /// The input line (or array index + 1) it came from.
    pub line: i64,
    pub record_id: String,
    pub region: String,
    pub content_hash: String,
    /// The household JSON, re-serialised compactly.
    pub body: String,
    pub people: Vec<Person>,
}

/// One member of a household as the registry-wide checks see it.
#[derive(Debug, Clone)]
pub struct Person {
    /// `families[i].members[j]`.
    pub path: String,
    pub nik: Option<String>,
    pub kk_number: Option<String>,
}

/// What storing a batch of proposals did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProposeCounts {
    /// New records and changed ones (a correction), now `PROPOSED`.
    pub stored: u64,
    /// Records sent again with the same content: nothing changed.
    pub unchanged: u64,
}

/// An input line that failed the shape check.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub line: i64,
    pub record_id: Option<String>,
    /// `[{path, message}]`.
    pub errors: serde_json::Value,
}

/// A household as stored, for the stage jobs and the API.
#[derive(Debug, Clone, Serialize)]
pub struct StoredHousehold {
    pub record_id: String,
    pub region: String,
    pub status: String,
    pub content_hash: String,
    pub proposal_seq: i64,
    #[serde(skip)]
    pub body: String,
    /// JSON: the reasons of the last status change.
    #[serde(skip)]
    pub reasons: String,
    pub period: Option<String>,
    #[serde(serialize_with = "crate::wire::ser_time")]
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: i64,
    /// RFC 3339 (UTC).
    #[serde(serialize_with = "crate::wire::ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    pub actor: String,
    pub from_status: Option<String>,
    pub to_status: String,
    #[schema(value_type = Object)]
    pub reasons: serde_json::Value,
    pub content_hash: String,
    pub ruleset_hash: Option<String>,
    pub job_id: Option<i64>,
}

/// A status change, appended to the events with the record's new state.
pub struct Change<'a> {
    pub record_id: &'a str,
    /// The change applies only while the record is still in this state
    /// with this content, so a job racing a correction changes nothing.
    pub from: &'a str,
    pub content_hash: &'a str,
    pub to: &'a str,
    pub reasons: String,
    pub period: Option<&'a str>,
    pub actor: &'a str,
    pub ruleset_hash: Option<&'a str>,
    pub job_id: Option<i64>,
}

const COLUMNS: &str = "h.record_id, h.region, h.status, h.content_hash, h.proposal_seq, v.body, h.reasons, h.period, h.updated_at";

fn stored(row: &sqlx::any::AnyRow) -> DbResult<StoredHousehold> {
    Ok(StoredHousehold {
        record_id: row.try_get(0)?,
        region: row.try_get(1)?,
        status: row.try_get(2)?,
        content_hash: row.try_get(3)?,
        proposal_seq: row.try_get(4)?,
        body: row.try_get(5)?,
        reasons: row.try_get(6)?,
        period: row.try_get(7)?,
        updated_at: row.try_get(8)?,
    })
}

impl Store {
    /// Stores a batch of proposals in one transaction, with the inputs that
    /// were rejected, the upload job's progress and an audit entry. A
    /// record sent again with the same content changes nothing; with other
    /// content (a correction) it becomes a new version, `PROPOSED` again,
    /// with an event. A household outside `scope` (its new region, or the
    /// region of the record it would replace) is rejected like a malformed
    /// line, with one message for both cases; those rejections are
    /// returned.
    pub async fn propose(
        &self,
        batch: &[Proposed],
        rejected: &[Rejected],
        actor: &str,
        job_id: i64,
        scope: &Scope,
    ) -> DbResult<(ProposeCounts, Vec<Rejected>)> {
        crate::store::write_tx!(self, |tx| {
            let mut counts = ProposeCounts::default();
            let mut out_of_scope = Vec::new();
            for p in batch {
                match propose_one(tx, p, actor, job_id, scope).await? {
                    Proposal::Stored => counts.stored += 1,
                    Proposal::Unchanged => counts.unchanged += 1,
                    Proposal::OutOfScope => out_of_scope.push(Rejected {
                        line: p.line,
                        record_id: Some(p.record_id.clone()),
                        errors: serde_json::json!([{
                            "path": "$.region.desa_code",
                            "message": "the household is outside your region: \
                                nothing was stored",
                        }]),
                    }),
                }
            }
            for r in rejected.iter().chain(&out_of_scope) {
                super::jobs::record_error(
                    tx,
                    job_id,
                    Some(r.line),
                    r.record_id.as_deref(),
                    &r.errors,
                )
                .await?;
            }
            let done = i64::try_from(batch.len() - out_of_scope.len()).unwrap_or(i64::MAX);
            let errors = i64::try_from(rejected.len() + out_of_scope.len()).unwrap_or(i64::MAX);
            sqlx::query("UPDATE jobs SET total = total + $2 WHERE id = $1")
                .bind(job_id)
                .bind(done.saturating_add(errors))
                .execute(&mut **tx)
                .await?;
            super::jobs::advance(tx, job_id, done, errors, None).await?;
            if counts.stored > 0 {
                super::access::append(
                    tx,
                    &super::access::Audit {
                        actor,
                        action: "change",
                        target: format!("proposal job {job_id}"),
                        records: i64::try_from(counts.stored).unwrap_or(i64::MAX),
                    },
                )
                .await?;
            }
            Ok((counts, out_of_scope))
        })
    }

    /// One household within `scope`; outside it, the same as missing.
    pub async fn household(
        &self,
        record_id: &str,
        scope: &Scope,
    ) -> DbResult<Option<StoredHousehold>> {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM households h JOIN household_versions v
             ON v.record_id = h.record_id AND v.content_hash = h.content_hash
             WHERE h.record_id = "
        ));
        sql.bind(Arg::Text(record_id.to_string()));
        scope.restrict(&mut sql, "h", false);
        let row = sql.query(self.backend).fetch_optional(self.pool()).await?;
        row.as_ref().map(stored).transpose()
    }

    /// The next records of a stage job, in `record_id` order after `cursor`.
    pub async fn stage_batch(
        &self,
        statuses: &[&str],
        cursor: &str,
        scope: &Scope,
        limit: i64,
    ) -> DbResult<Vec<StoredHousehold>> {
        // The next ids of each status in the order of the `(status,
        // record_id)` index, then the bodies of the first `limit` of them:
        // a plain `status IN (...) ORDER BY record_id` would sort every
        // remaining record of the stage, bodies and all, for every batch.
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM households h JOIN household_versions v
             ON v.record_id = h.record_id AND v.content_hash = h.content_hash
             WHERE h.record_id IN ("
        ));
        for (i, status) in statuses.iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push(
                "SELECT record_id FROM (SELECT s.record_id FROM households s WHERE s.status = ",
            )
            .bind(Arg::Text((*status).to_string()))
            .push(" AND s.record_id > ")
            .bind(Arg::Text(cursor.to_string()));
            scope.restrict(&mut sql, "s", false);
            sql.push(" ORDER BY s.record_id LIMIT ")
                .bind(Arg::Int(limit))
                .push(&format!(") next{i}"));
        }
        if statuses.is_empty() {
            sql.push("NULL");
        }
        sql.push(") ORDER BY h.record_id LIMIT ")
            .bind(Arg::Int(limit));
        let rows = sql.query(self.backend).fetch_all(self.pool()).await?;
        rows.iter().map(stored).collect()
    }

    /// How many records a stage job will see.
    pub async fn count_stage(&self, statuses: &[&str], scope: &Scope) -> DbResult<i64> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM households h WHERE 1 = 1");
        status_in(&mut sql, "h", statuses);
        scope.restrict(&mut sql, "h", false);
        let row = sql.query(self.backend).fetch_one(self.pool()).await?;
        row.try_get(0)
    }

    /// Counts by status within `scope`.
    pub async fn status_counts(&self, scope: &Scope) -> DbResult<Vec<(String, i64)>> {
        let mut sql = Sql::new("SELECT h.status, COUNT(*) FROM households h WHERE 1 = 1");
        scope.restrict(&mut sql, "h", false);
        sql.push(" GROUP BY h.status ORDER BY h.status");
        let rows = sql.query(self.backend).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Every status change of a record, oldest first.
    pub async fn history(&self, record_id: &str) -> DbResult<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, from_status, to_status, reasons, content_hash, ruleset_hash, job_id
             FROM events WHERE record_id = $1 ORDER BY id",
        )
        .bind(record_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let reasons: String = r.try_get(5)?;
                Ok(Event {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    from_status: r.try_get(3)?,
                    to_status: r.try_get(4)?,
                    reasons: serde_json::from_str(&reasons).unwrap_or(serde_json::Value::Null),
                    content_hash: r.try_get(6)?,
                    ruleset_hash: r.try_get(7)?,
                    job_id: r.try_get(8)?,
                })
            })
            .collect()
    }

    /// One stored version of a record's content.
    pub async fn version_body(&self, record_id: &str, hash: &str) -> DbResult<Option<String>> {
        sqlx::query_scalar(
            "SELECT body FROM household_versions WHERE record_id = $1 AND content_hash = $2",
        )
        .bind(record_id.to_string())
        .bind(hash.to_string())
        .fetch_optional(self.pool())
        .await
    }
}

fn status_in(sql: &mut Sql, alias: &str, statuses: &[&str]) {
    sql.push(&format!(" AND {alias}.status IN ("));
    for (i, s) in statuses.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Arg::Text((*s).to_string()));
    }
    if statuses.is_empty() {
        sql.push("NULL");
    }
    sql.push(")");
}

enum Proposal {
    Stored,
    Unchanged,
    OutOfScope,
}

/// Stores one proposal, unless it is outside the caller's scope or the same
/// content was already there.
async fn propose_one(
    tx: &mut Tx,
    p: &Proposed,
    actor: &str,
    job_id: i64,
    scope: &Scope,
) -> DbResult<Proposal> {
    if !scope.contains_region(&p.region) {
        return Ok(Proposal::OutOfScope);
    }
    let current: Option<(String, String, String)> =
        sqlx::query("SELECT status, content_hash, region FROM households WHERE record_id = $1")
            .bind(p.record_id.clone())
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()?;
    if current
        .as_ref()
        .is_some_and(|(_, _, region)| !scope.contains_region(region))
    {
        return Ok(Proposal::OutOfScope);
    }
    if current
        .as_ref()
        .is_some_and(|(_, hash, _)| *hash == p.content_hash)
    {
        return Ok(Proposal::Unchanged);
    }
    let now = now_ms();
    sqlx::query(
        "INSERT INTO household_versions (record_id, content_hash, body, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (record_id, content_hash) DO NOTHING",
    )
    .bind(p.record_id.clone())
    .bind(p.content_hash.clone())
    .bind(p.body.clone())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let from = current.map(|(status, _, _)| status);
    let reasons = if from.is_some() {
        r#"{"note":"corrected and proposed again"}"#
    } else {
        "{}"
    };
    // The event's id orders proposals registry-wide: the QC stage returns
    // the record proposed later.
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO events (record_id, at, actor, from_status, to_status, reasons, content_hash, ruleset_hash, job_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8) RETURNING id",
    )
    .bind(p.record_id.clone())
    .bind(now)
    .bind(actor.to_string())
    .bind(from.clone())
    .bind(PROPOSED)
    .bind(reasons)
    .bind(p.content_hash.clone())
    .bind(job_id)
    .fetch_one(&mut **tx)
    .await?;
    if from.is_some() {
        sqlx::query(
            "UPDATE households SET region = $2, status = $3, content_hash = $4, proposal_seq = $5,
             reasons = '[]', period = NULL, updated_at = $6 WHERE record_id = $1",
        )
        .bind(p.record_id.clone())
        .bind(p.region.clone())
        .bind(PROPOSED)
        .bind(p.content_hash.clone())
        .bind(seq)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM household_people WHERE record_id = $1")
            .bind(p.record_id.clone())
            .execute(&mut **tx)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO households (record_id, region, status, content_hash, proposal_seq, reasons, period, updated_at)
             VALUES ($1, $2, $3, $4, $5, '[]', NULL, $6)",
        )
        .bind(p.record_id.clone())
        .bind(p.region.clone())
        .bind(PROPOSED)
        .bind(p.content_hash.clone())
        .bind(seq)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    for person in &p.people {
        sqlx::query(
            "INSERT INTO household_people (record_id, path, nik, kk_number) VALUES ($1, $2, $3, $4)",
        )
        .bind(p.record_id.clone())
        .bind(person.path.clone())
        .bind(person.nik.clone())
        .bind(person.kk_number.clone())
        .execute(&mut **tx)
        .await?;
    }
    Ok(Proposal::Stored)
}

/// Events per insert of [`change_statuses`]: 9 values each, well under
/// SQLite's 32,766 parameters and PostgreSQL's 65,535.
const CHANGES_PER_STATEMENT: usize = 500;

/// Applies status changes and appends their events for a whole batch: an
/// update per record (each applies only while its record is still in its
/// `from` state with that content; otherwise nothing is written for it),
/// then one multi-row insert of the events of the records that changed.
/// Returns the ids of those records.
pub async fn change_statuses(
    tx: &mut Tx,
    changes: &[Change<'_>],
) -> DbResult<std::collections::HashSet<String>> {
    let mut changed = std::collections::HashSet::new();
    let now = now_ms();
    for chunk in changes.chunks(CHANGES_PER_STATEMENT) {
        // One prepared statement per record (the same text, so the
        // connection's statement cache keeps it): an `UPDATE ... FROM` a
        // table of values is planned by SQLite as a scan of `households`
        // per batch, far slower than these index lookups.
        let mut done = std::collections::HashSet::new();
        for c in chunk {
            let updated = sqlx::query(
                "UPDATE households SET status = $1, reasons = $2, period = $3, updated_at = $4
                 WHERE record_id = $5 AND content_hash = $6 AND status = $7",
            )
            .bind(c.to.to_string())
            .bind(c.reasons.clone())
            .bind(c.period.map(str::to_string))
            .bind(now)
            .bind(c.record_id.to_string())
            .bind(c.content_hash.to_string())
            .bind(c.from.to_string())
            .execute(&mut **tx)
            .await?;
            if updated.rows_affected() > 0 {
                done.insert(c.record_id.to_string());
            }
        }
        let applied: Vec<&Change<'_>> = chunk
            .iter()
            .filter(|c| done.contains(c.record_id))
            .collect();
        if !applied.is_empty() {
            let mut sql = Sql::new(
                "INSERT INTO events (record_id, at, actor, from_status, to_status, reasons, content_hash, ruleset_hash, job_id) VALUES ",
            );
            for (i, c) in applied.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(")
                    .bind(Arg::Text(c.record_id.to_string()))
                    .push(", ")
                    .bind(Arg::Int(now))
                    .push(", ")
                    .bind(Arg::Text(c.actor.to_string()))
                    .push(", ")
                    .bind(Arg::Text(c.from.to_string()))
                    .push(", ")
                    .bind(Arg::Text(c.to.to_string()))
                    .push(", ")
                    .bind(Arg::Text(c.reasons.clone()))
                    .push(", ")
                    .bind(Arg::Text(c.content_hash.to_string()))
                    .push(", ")
                    .bind(
                        c.ruleset_hash
                            .map_or(Arg::NullText, |h| Arg::Text(h.to_string())),
                    )
                    .push(", ")
                    .bind(c.job_id.map_or(Arg::NullInt, Arg::Int))
                    .push(")");
            }
            sql.query(super::backend_of(tx)).execute(&mut **tx).await?;
        }
        changed.extend(done);
    }
    Ok(changed)
}
