//! Decisions of the determination stage (one row per programme, period and
//! subject), the parameter sets they used, the registry-wide checks of the
//! quality-control stage, and the beneficiary lists of the use stage.

use serde::Serialize;
use sqlx::Row as _;

use super::households::{DETERMINED, QC_PASSED, VERIFIED};
use super::{Arg, DbResult, Scope, Sql, Store, Tx};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionRow {
    pub record_id: String,
    pub period: String,
    pub programme: String,
    /// The family's `kk_number` or the member's `nik`.
    pub subject: String,
    pub region: String,
    /// `null` when undetermined.
    pub eligible: Option<bool>,
    /// Rupiah per `per`; 0 when not eligible, `null` when undetermined.
    pub amount: Option<i64>,
    pub per: String,
    /// Criteria that failed or were undetermined, and missing data.
    #[schema(value_type = Object)]
    pub reasons: serde_json::Value,
    /// `YYYY-MM-DD` (stored as yyyymmdd).
    #[serde(serialize_with = "crate::wire::ser_date")]
    #[schema(value_type = String, format = Date)]
    pub as_of: i64,
    pub ruleset_hash: String,
    pub params_hash: String,
    pub content_hash: String,
    pub job_id: i64,
}

/// A registry fact: another active record, proposed before the one being
/// checked, that holds the same NIK or family card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// `nik` or `kk`.
    pub kind: &'static str,
    /// The record being checked.
    pub record_id: String,
    /// The person's place in it (`families[0].members[2]`).
    pub path: String,
    pub other_record: String,
}

/// Rows per `INSERT` statement (14 values each): well under SQLite's
/// 32,766 parameters and PostgreSQL's 65,535, and few statements per batch
/// (a household has about nine rows).
const ROWS_PER_INSERT: usize = 512;

/// Records per `DELETE` of [`replace_decisions_of`].
const RECORDS_PER_DELETE: usize = 1000;

const DECISION_COLUMNS: &str = "record_id, period, programme, subject, region, eligible, amount, per, reasons, as_of, ruleset_hash, params_hash, content_hash, job_id";

fn decision(row: &sqlx::any::AnyRow, offset: usize) -> DbResult<DecisionRow> {
    let eligible: Option<i64> = row.try_get(offset + 5)?;
    let reasons: String = row.try_get(offset + 8)?;
    Ok(DecisionRow {
        record_id: row.try_get(offset)?,
        period: row.try_get(offset + 1)?,
        programme: row.try_get(offset + 2)?,
        subject: row.try_get(offset + 3)?,
        region: row.try_get(offset + 4)?,
        eligible: eligible.map(|e| e != 0),
        amount: row.try_get(offset + 6)?,
        per: row.try_get(offset + 7)?,
        reasons: serde_json::from_str(&reasons).unwrap_or(serde_json::Value::Null),
        as_of: row.try_get(offset + 9)?,
        ruleset_hash: row.try_get(offset + 10)?,
        params_hash: row.try_get(offset + 11)?,
        content_hash: row.try_get(offset + 12)?,
        job_id: row.try_get(offset + 13)?,
    })
}

/// Stores a parameter set once.
pub async fn put_param_set(tx: &mut Tx, hash: &str, body: &str) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO param_sets (hash, body) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
    )
    .bind(hash.to_string())
    .bind(body.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces the decisions of records for a period: a determination run
/// again for the same period leaves exactly one row per programme and
/// subject. One `DELETE` per thousand records, then the rows inserted many
/// per statement.
pub async fn replace_decisions_of(
    tx: &mut Tx,
    record_ids: &[&str],
    period: &str,
    rows: &[DecisionRow],
) -> DbResult<()> {
    for chunk in record_ids.chunks(RECORDS_PER_DELETE) {
        let mut sql = Sql::new("DELETE FROM decisions WHERE period = ");
        sql.bind(Arg::Text(period.to_string()))
            .push(" AND record_id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Text((*id).to_string()));
        }
        sql.push(")");
        sql.query(super::backend_of(tx)).execute(&mut **tx).await?;
    }
    insert_decisions(tx, rows).await
}

/// Inserts many rows, several per statement.
pub async fn insert_decisions(tx: &mut Tx, rows: &[DecisionRow]) -> DbResult<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut sql = Sql::new(&format!(
            "INSERT INTO decisions ({DECISION_COLUMNS}) VALUES "
        ));
        for (i, d) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(Arg::Text(d.record_id.clone()))
                .push(", ")
                .bind(Arg::Text(d.period.clone()))
                .push(", ")
                .bind(Arg::Text(d.programme.clone()))
                .push(", ")
                .bind(Arg::Text(d.subject.clone()))
                .push(", ")
                .bind(Arg::Text(d.region.clone()))
                .push(", ")
                .bind(d.eligible.map_or(Arg::NullInt, |e| Arg::Int(i64::from(e))))
                .push(", ")
                .bind(d.amount.map_or(Arg::NullInt, Arg::Int))
                .push(", ")
                .bind(Arg::Text(d.per.clone()))
                .push(", ")
                .bind(Arg::Text(d.reasons.to_string()))
                .push(", ")
                .bind(Arg::Int(d.as_of))
                .push(", ")
                .bind(Arg::Text(d.ruleset_hash.clone()))
                .push(", ")
                .bind(Arg::Text(d.params_hash.clone()))
                .push(", ")
                .bind(Arg::Text(d.content_hash.clone()))
                .push(", ")
                .bind(Arg::Int(d.job_id))
                .push(")");
        }
        sql.query(super::backend_of(tx)).execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// A record's decisions of its latest determined period.
    pub async fn latest_decisions(
        &self,
        record_id: &str,
        scope: &Scope,
    ) -> DbResult<Vec<DecisionRow>> {
        let mut sql = Sql::new(&format!(
            "SELECT {DECISION_COLUMNS} FROM decisions d WHERE d.record_id = "
        ));
        sql.bind(Arg::Text(record_id.to_string()))
            .push(" AND d.period = (SELECT MAX(period) FROM decisions WHERE record_id = ")
            .bind(Arg::Text(record_id.to_string()))
            .push(")");
        scope.restrict(&mut sql, "d", true);
        sql.push(" ORDER BY d.id");
        let rows = sql.query(self.backend).fetch_all(self.pool()).await?;
        rows.iter().map(|r| decision(r, 0)).collect()
    }

    /// One page of a programme's beneficiaries, after decision id `after`.
    pub async fn beneficiaries(
        &self,
        programme: &str,
        period: &str,
        scope: &Scope,
        after: i64,
        limit: i64,
    ) -> DbResult<Vec<(i64, DecisionRow)>> {
        let mut sql = Sql::new(&format!(
            "SELECT d.id, {} FROM decisions d WHERE d.programme = ",
            DECISION_COLUMNS
                .split(", ")
                .map(|c| format!("d.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        sql.bind(Arg::Text(programme.to_string()))
            .push(" AND d.period = ")
            .bind(Arg::Text(period.to_string()))
            .push(" AND d.eligible = 1 AND d.id > ")
            .bind(Arg::Int(after));
        scope.restrict(&mut sql, "d", true);
        sql.push(" ORDER BY d.id LIMIT ").bind(Arg::Int(limit));
        let rows = sql.query(self.backend).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, decision(r, 1)?)))
            .collect()
    }

    /// How many rows [`Store::beneficiaries`] will give in all.
    pub async fn count_beneficiaries(
        &self,
        programme: &str,
        period: &str,
        scope: &Scope,
    ) -> DbResult<i64> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM decisions d WHERE d.programme = ");
        sql.bind(Arg::Text(programme.to_string()))
            .push(" AND d.period = ")
            .bind(Arg::Text(period.to_string()))
            .push(" AND d.eligible = 1");
        scope.restrict(&mut sql, "d", true);
        let row = sql.query(self.backend).fetch_one(self.pool()).await?;
        row.try_get(0)
    }

    pub async fn params_body(&self, hash: &str) -> DbResult<Option<String>> {
        sqlx::query_scalar("SELECT body FROM param_sets WHERE hash = $1")
            .bind(hash.to_string())
            .fetch_optional(self.pool())
            .await
    }
}

impl Store {
    /// The registry facts of the quality-control stage for a batch of
    /// records, in one query per kind: for each person of a record (as
    /// `household_people` indexes them: living members with a real NIK),
    /// every other active record (verified or further) proposed before it
    /// that holds the same NIK (`nik`) or family-card number (`kk`).
    pub async fn registry_facts(&self, records: &[String]) -> DbResult<Vec<Fact>> {
        let mut out = Vec::new();
        if records.is_empty() {
            return Ok(out);
        }
        for (kind, column) in [("nik", "nik"), ("kk", "kk_number")] {
            // The joins start from the batch's people: `CROSS JOIN` fixes
            // SQLite's join order (PostgreSQL plans it as an inner join).
            // Left to itself SQLite started from every active record by
            // status, half a second a batch on 100,000 records.
            let mut sql = Sql::new(
                "SELECT p.record_id, p.path, o.record_id FROM household_people p
                 CROSS JOIN households me CROSS JOIN household_people o CROSS JOIN households h
                 WHERE p.record_id IN (",
            );
            for (i, id) in records.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Arg::Text(id.clone()));
            }
            sql.push(&format!(
                ") AND p.{column} IS NOT NULL AND me.record_id = p.record_id
                   AND o.{column} = p.{column} AND o.record_id <> p.record_id
                   AND h.record_id = o.record_id AND h.proposal_seq < me.proposal_seq
                   AND h.status IN ("
            ));
            sql.bind(Arg::Text(VERIFIED.to_string()))
                .push(", ")
                .bind(Arg::Text(QC_PASSED.to_string()))
                .push(", ")
                .bind(Arg::Text(DETERMINED.to_string()));
            sql.push(") ORDER BY p.record_id, p.path, o.record_id");
            for row in sql.query(self.backend).fetch_all(self.pool()).await? {
                out.push(Fact {
                    kind,
                    record_id: row.try_get(0)?,
                    path: row.try_get(1)?,
                    other_record: row.try_get(2)?,
                });
            }
        }
        Ok(out)
    }
}
