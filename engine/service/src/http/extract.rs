//! Request parts read with problem+json errors: a JSON body, a path
//! segment, query parameters. Handlers take axum's raw extractors wrapped
//! in `Result` and pass them through here, so no rejection escapes as text.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use serde::de::DeserializeOwned;

use super::problem::{ApiResult, Problem, rejection};

/// A JSON body: 400 `INVALID_JSON` for bytes that are not JSON, 422
/// `INVALID_REQUEST` for JSON of the wrong shape, 413 for a body over the
/// limit.
pub fn json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let bytes = self::bytes(body)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => Problem::unprocessable("INVALID_REQUEST", e.to_string()),
            Category::Io | Category::Syntax | Category::Eof => {
                Problem::bad_request("INVALID_JSON", format!("the body is not JSON: {e}"))
            }
        }
    })
}

/// A body of any kind: 413 for one over the limit.
pub fn bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|r| {
        let status = r.status();
        rejection(status, "INVALID_BODY", r.body_text())
    })
}

pub fn path(p: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    p.map(|Path(s)| s).map_err(|r| {
        let status = r.status();
        rejection(status, "INVALID_PATH", r.body_text())
    })
}

pub fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(t)| t).map_err(|r| {
        let status = r.status();
        rejection(status, "INVALID_QUERY", r.body_text())
    })
}

/// A path segment that must be a number (a job id).
pub fn id(p: Result<Path<String>, PathRejection>) -> ApiResult<i64> {
    let text = path(p)?;
    text.parse()
        .map_err(|_| Problem::not_found("NOT_FOUND", format!("`{text}` is not an id")))
}

/// A page size from a `limit` query parameter: 100 by default, 1 to 1000.
pub fn page_limit(limit: Option<i64>) -> ApiResult<i64> {
    let limit = limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(Problem::unprocessable(
            "INVALID_LIMIT",
            format!("`limit` is 1 to 1000, found {limit}"),
        ))
    }
}
