//! Stored ruleset versions and their activations per stage.
//!
//! A version is immutable: its sources and their content hash never change,
//! so a decision stamped with a hash can be re-derived (and explained) at
//! any later time.

use serde::{Deserialize, Serialize};
use sqlx::Row as _;

use super::{DbResult, Store, now_ms};

/// One source file of a ruleset: a `.lyk` rule file or a `.txt` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RulesetRow {
    pub id: i64,
    pub hash: String,
    pub note: Option<String>,
    /// RFC 3339 (UTC).
    #[serde(serialize_with = "crate::wire::ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    pub created_by: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Activation {
    pub id: i64,
    pub stage: String,
    pub ruleset_id: i64,
    pub ruleset_hash: String,
    /// `YYYY-MM-DD` (stored as yyyymmdd).
    #[serde(serialize_with = "crate::wire::ser_date")]
    #[schema(value_type = String, format = Date)]
    pub effective_from: i64,
    #[serde(serialize_with = "crate::wire::ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    pub actor: String,
}

fn ruleset_row(row: &sqlx::any::AnyRow) -> DbResult<RulesetRow> {
    Ok(RulesetRow {
        id: row.try_get("id")?,
        hash: row.try_get("hash")?,
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}

impl Store {
    /// Stores a version, or finds the one with the same hash. The boolean
    /// says whether it was new.
    pub async fn insert_ruleset(
        &self,
        hash: &str,
        sources: &[SourceFile],
        note: Option<&str>,
        actor: &str,
    ) -> DbResult<(RulesetRow, bool)> {
        if let Some(row) = self.ruleset_by_hash(hash).await? {
            return Ok((row, false));
        }
        let sources = serde_json::to_string(sources).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let (hash, note, actor) = (
            hash.to_string(),
            note.map(str::to_string),
            actor.to_string(),
        );
        crate::store::write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO rulesets (hash, sources, note, created_at, created_by)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO NOTHING",
            )
            .bind(hash.clone())
            .bind(sources)
            .bind(note)
            .bind(now_ms())
            .bind(actor)
            .execute(&mut **tx)
            .await?;
            Ok(())
        })?;
        let row = self
            .ruleset_by_hash(&hash)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok((row, true))
    }

    pub async fn ruleset_by_hash(&self, hash: &str) -> DbResult<Option<RulesetRow>> {
        let row = sqlx::query(
            "SELECT id, hash, note, created_at, created_by FROM rulesets WHERE hash = $1",
        )
        .bind(hash.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(ruleset_row).transpose()
    }

    /// A version by number or by hash (a hash prefix of 8 or more hex
    /// digits also finds it when only one version has it).
    pub async fn find_ruleset(&self, reference: &str) -> DbResult<Option<RulesetRow>> {
        if let Ok(id) = reference.parse::<i64>() {
            let row = sqlx::query(
                "SELECT id, hash, note, created_at, created_by FROM rulesets WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
            return row.as_ref().map(ruleset_row).transpose();
        }
        if reference.len() < 8 || !reference.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT id, hash, note, created_at, created_by FROM rulesets WHERE hash LIKE $1 LIMIT 2",
        )
        .bind(format!("{}%", reference.to_ascii_lowercase()))
        .fetch_all(self.pool())
        .await?;
        match rows.as_slice() {
            [one] => Ok(Some(ruleset_row(one)?)),
            _ => Ok(None),
        }
    }

    pub async fn ruleset_sources(&self, hash: &str) -> DbResult<Option<Vec<SourceFile>>> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT sources FROM rulesets WHERE hash = $1")
                .bind(hash.to_string())
                .fetch_optional(self.pool())
                .await?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| sqlx::Error::Decode(e.into())))
            .transpose()
    }

    pub async fn list_rulesets(&self) -> DbResult<Vec<RulesetRow>> {
        let rows =
            sqlx::query("SELECT id, hash, note, created_at, created_by FROM rulesets ORDER BY id")
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(ruleset_row).collect()
    }

    pub async fn activate(
        &self,
        ruleset_id: i64,
        stage: &str,
        effective_from: i64,
        actor: &str,
    ) -> DbResult<i64> {
        let (stage, actor) = (stage.to_string(), actor.to_string());
        crate::store::write_tx!(self, |tx| {
            sqlx::query_scalar(
                "INSERT INTO activations (stage, ruleset_id, effective_from, created_at, actor)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(stage)
            .bind(ruleset_id)
            .bind(effective_from)
            .bind(now_ms())
            .bind(actor)
            .fetch_one(&mut **tx)
            .await
        })
    }

    pub async fn activations(&self) -> DbResult<Vec<Activation>> {
        let rows = sqlx::query(
            "SELECT a.id, a.stage, a.ruleset_id, r.hash, a.effective_from, a.created_at, a.actor
             FROM activations a JOIN rulesets r ON r.id = a.ruleset_id ORDER BY a.id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Activation {
                    id: row.try_get(0)?,
                    stage: row.try_get(1)?,
                    ruleset_id: row.try_get(2)?,
                    ruleset_hash: row.try_get(3)?,
                    effective_from: row.try_get(4)?,
                    created_at: row.try_get(5)?,
                    actor: row.try_get(6)?,
                })
            })
            .collect()
    }

    /// What changes when a version is activated (activations are only ever
    /// added): the rows and the newest id. The service's cache of active
    /// versions is dropped when it changes.
    pub async fn activations_stamp(&self) -> DbResult<(i64, i64)> {
        let row = sqlx::query("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM activations")
            .fetch_one(self.pool())
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// The version in force for `stage` on `date` (yyyymmdd): the latest
    /// effective date not after it, and of those the latest activation.
    pub async fn active_ruleset(&self, stage: &str, date: i64) -> DbResult<Option<String>> {
        sqlx::query_scalar(
            "SELECT r.hash FROM activations a JOIN rulesets r ON r.id = a.ruleset_id
             WHERE a.stage = $1 AND a.effective_from <= $2
             ORDER BY a.effective_from DESC, a.id DESC LIMIT 1",
        )
        .bind(stage.to_string())
        .bind(date)
        .fetch_optional(self.pool())
        .await
    }
}
