//! API tokens (stored only as the SHA-256 of the secret) and the audit
//! trail: append-only, each entry chained to the one before by a hash, so
//! that an edited, inserted or deleted entry is found by [`Store::verify_audit`].

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;

use super::{Arg, DbResult, Sql, Store, Tx, now_ms};

/// A stored token: everything but the secret, which is never stored.
#[derive(Debug, Clone, Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub region: Option<String>,
    pub programme: Option<String>,
    #[serde(serialize_with = "crate::wire::ser_time")]
    pub created_at: i64,
    #[serde(serialize_with = "crate::wire::ser_opt_time")]
    pub revoked_at: Option<i64>,
}

/// See [`Store::token_stamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenStamp([i64; 4]);

/// What a new token is for.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub name: Option<&'a str>,
    pub role: &'a str,
    pub region: Option<&'a str>,
    pub programme: Option<&'a str>,
}

/// The SHA-256 of a token's secret, hex: what the tokens table keeps.
pub fn token_hash(secret: &str) -> String {
    layak_host::hex::encode(&Sha256::digest(secret.as_bytes()))
}

const TOKEN_COLUMNS: &str = "id, name, role, region, programme, created_at, revoked_at";

fn token(row: &sqlx::any::AnyRow) -> DbResult<TokenRow> {
    Ok(TokenRow {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        role: row.try_get(2)?,
        region: row.try_get(3)?,
        programme: row.try_get(4)?,
        created_at: row.try_get(5)?,
        revoked_at: row.try_get(6)?,
    })
}

/// One entry of the audit trail.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    /// RFC 3339 (UTC) with milliseconds; the chain hashes it as milliseconds
    /// since the Unix epoch (the same instant as an integer).
    #[serde(serialize_with = "crate::wire::ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    /// The token (`name#id`) or `system`.
    pub actor: String,
    /// `read`, `export`, `change` or `evaluate`.
    pub action: String,
    /// What was touched: `household H1`, `households list`, `export PKH
    /// 2025-10`, `verification job 3`, ... (record ids, never NIKs or names).
    pub target: String,
    /// How many records.
    pub records: i64,
    pub prev_hash: String,
    pub entry_hash: String,
}

/// An entry to append: the chain fields are filled in by [`append`].
#[derive(Debug, Clone)]
pub struct Audit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: String,
    pub records: i64,
}

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// `sha256(prev_hash || canonical fields)`: the fields as a JSON array, so
/// that no choice of text in one field can imitate another.
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    target: &str,
    records: i64,
) -> String {
    let fields = serde_json::json!([seq, at, actor, action, target, records]).to_string();
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(fields.as_bytes());
    layak_host::hex::encode(&hasher.finalize())
}

/// Appends an entry inside a write transaction (the store's one write lock
/// orders the chain), so a change and its audit entry commit together.
pub async fn append(tx: &mut Tx, entry: &Audit<'_>) -> DbResult<()> {
    append_all(tx, std::slice::from_ref(entry)).await
}

/// Rows of one multi-row `INSERT` into the audit trail (8 values each: well
/// under SQLite's and PostgreSQL's limits on bound values).
const INSERT_ROWS: usize = 256;

/// Appends `entries` in order inside one write transaction: the head is
/// read once, each entry chained to the one before, and the rows inserted a
/// few hundred per statement. The group commit of
/// [`super::appender::AuditAppender`] writes this way.
pub async fn append_all(tx: &mut Tx, entries: &[Audit<'_>]) -> DbResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let last: Option<(i64, String)> =
        sqlx::query("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
            .transpose()?;
    let (mut seq, mut prev) = match last {
        Some((seq, hash)) => (seq, hash),
        None => (0, GENESIS.to_string()),
    };
    let at = now_ms();
    for chunk in entries.chunks(INSERT_ROWS) {
        let mut sql = Sql::new(
            "INSERT INTO audit (seq, at, actor, action, target, records, prev_hash, entry_hash) VALUES ",
        );
        for (i, entry) in chunk.iter().enumerate() {
            seq = seq.saturating_add(1);
            let hash = entry_hash(
                &prev,
                seq,
                at,
                entry.actor,
                entry.action,
                &entry.target,
                entry.records,
            );
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(Arg::Int(seq)).push(", ");
            sql.bind(Arg::Int(at)).push(", ");
            sql.bind(Arg::Text(entry.actor.to_string())).push(", ");
            sql.bind(Arg::Text(entry.action.to_string())).push(", ");
            sql.bind(Arg::Text(entry.target.clone())).push(", ");
            sql.bind(Arg::Int(entry.records)).push(", ");
            sql.bind(Arg::Text(std::mem::replace(&mut prev, hash.clone())))
                .push(", ");
            sql.bind(Arg::Text(hash)).push(")");
        }
        sql.query(super::backend_of(tx)).execute(&mut **tx).await?;
    }
    Ok(())
}

const AUDIT_COLUMNS: &str = "seq, at, actor, action, target, records, prev_hash, entry_hash";

fn audit_entry(row: &sqlx::any::AnyRow) -> DbResult<AuditEntry> {
    Ok(AuditEntry {
        seq: row.try_get(0)?,
        at: row.try_get(1)?,
        actor: row.try_get(2)?,
        action: row.try_get(3)?,
        target: row.try_get(4)?,
        records: row.try_get(5)?,
        prev_hash: row.try_get(6)?,
        entry_hash: row.try_get(7)?,
    })
}

/// What [`Store::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Every entry links to the one before: how many, and the last hash
    /// (keep it elsewhere to detect a truncated tail later).
    Intact { entries: i64, head: String },
    /// The first entry that does not fit, and why.
    Broken { seq: i64, reason: String },
}

impl Store {
    /// Stores a new token for `secret` (only its hash); returns its row.
    pub async fn create_token(&self, secret: &str, new: &NewToken<'_>) -> DbResult<TokenRow> {
        let hash = token_hash(secret);
        let now = now_ms();
        let (role, region, programme) = (
            new.role.to_string(),
            new.region.map(str::to_string),
            new.programme.map(str::to_string),
        );
        let name = new.name.map(str::to_string);
        let id: i64 = crate::store::write_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tokens (name, hash, role, region, programme, created_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, NULL) RETURNING id",
            )
            .bind(name.clone().unwrap_or_else(|| role.clone()))
            .bind(hash)
            .bind(role.clone())
            .bind(region)
            .bind(programme)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
            append(
                tx,
                &Audit {
                    actor: "cli",
                    action: "token",
                    target: format!("created token {id} ({role})"),
                    records: 0,
                },
            )
            .await?;
            Ok(id)
        })?;
        self.token(id).await?.ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn token(&self, id: i64) -> DbResult<Option<TokenRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(token).transpose()
    }

    /// The live (not revoked) token whose secret hashes to `hash`.
    pub async fn live_token(&self, hash: &str) -> DbResult<Option<TokenRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1 AND revoked_at IS NULL"
        )))
        .bind(hash.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(token).transpose()
    }

    /// What changes when a token is revoked, created or deleted, read in
    /// one cheap query over the small tokens table: the rows, the revoked
    /// rows, the latest revocation and the newest id. The service's token
    /// cache reloads the live tokens when it changes.
    pub async fn token_stamp(&self) -> DbResult<TokenStamp> {
        let row = sqlx::query(
            "SELECT COUNT(*), COUNT(revoked_at), COALESCE(MAX(revoked_at), 0), COALESCE(MAX(id), 0)
             FROM tokens",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(TokenStamp([
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        ]))
    }

    /// Every live (not revoked) token with the hash of its secret.
    pub async fn live_tokens(&self) -> DbResult<Vec<(String, TokenRow)>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS}, hash FROM tokens WHERE revoked_at IS NULL"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(7)?, token(row)?)))
            .collect()
    }

    pub async fn tokens(&self) -> DbResult<Vec<TokenRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token).collect()
    }

    /// Revokes a token; false when there is no such live token.
    pub async fn revoke_token(&self, id: i64) -> DbResult<bool> {
        crate::store::write_tx!(self, |tx| {
            let done = sqlx::query(
                "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
            let revoked = done.rows_affected() > 0;
            if revoked {
                append(
                    tx,
                    &Audit {
                        actor: "cli",
                        action: "token",
                        target: format!("revoked token {id}"),
                        records: 0,
                    },
                )
                .await?;
            }
            Ok(revoked)
        })
    }

    /// Appends one audit entry in its own transaction.
    pub async fn audit(&self, entry: &Audit<'_>) -> DbResult<()> {
        crate::store::write_tx!(self, |tx| {
            append(tx, entry).await?;
            Ok(())
        })
    }

    /// A page of the audit trail, oldest first, after `after`.
    pub async fn audit_page(&self, after: i64, limit: i64) -> DbResult<Vec<AuditEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(audit_entry).collect()
    }

    /// Walks the whole chain: each entry's seq follows the one before, its
    /// `prev_hash` is that entry's hash, and its own hash is recomputed from
    /// its fields.
    pub async fn verify_audit(&self) -> DbResult<Verified> {
        let mut expected_seq = 1;
        let mut prev = GENESIS.to_string();
        loop {
            let page = self.audit_page(expected_seq - 1, 1000).await?;
            if page.is_empty() {
                return Ok(Verified::Intact {
                    entries: expected_seq - 1,
                    head: prev,
                });
            }
            for e in page {
                if e.seq != expected_seq {
                    return Ok(Verified::Broken {
                        seq: e.seq,
                        reason: format!("entry {expected_seq} is missing (deleted)"),
                    });
                }
                if e.prev_hash != prev {
                    return Ok(Verified::Broken {
                        seq: e.seq,
                        reason: "its prev_hash is not the hash of the entry before (an entry was deleted or changed)".to_string(),
                    });
                }
                let hash = entry_hash(
                    &e.prev_hash,
                    e.seq,
                    e.at,
                    &e.actor,
                    &e.action,
                    &e.target,
                    e.records,
                );
                if hash != e.entry_hash {
                    return Ok(Verified::Broken {
                        seq: e.seq,
                        reason: "its fields do not match its hash (the entry was edited)"
                            .to_string(),
                    });
                }
                prev = e.entry_hash;
                expected_seq += 1;
            }
        }
    }
}
