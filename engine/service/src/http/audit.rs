//! `GET /v1/audit`: the audit trail for auditors, oldest first, in pages.
//! Each entry carries its hash and the hash of the entry before, so a copy
//! can be checked independently of this service (`layak audit verify` does
//! it on the database).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use crate::store::access::{Audit, AuditEntry};

use super::auth::Caller;
use super::problem::{ApiResult, Problem};
use super::{AppState, extract};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Continue after this `seq` (the previous page's `next`).
    pub after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The `after` of the next page; `null` on the last.
    pub next: Option<i64>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<Json<AuditPage>> {
    let query = extract::query(query)?;
    let limit = extract::page_limit(query.limit)?;
    let entries = state
        .store
        .audit_page(query.after.unwrap_or(0), limit)
        .await?;
    // Reading the trail is itself recorded: who looked, and how much.
    state
        .store
        .audit(&Audit {
            actor: caller.actor(),
            action: "read",
            target: "audit trail".to_string(),
            records: i64::try_from(entries.len()).unwrap_or(i64::MAX),
        })
        .await?;
    let next = (entries.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(Json(AuditPage { entries, next }))
}
