//! Errors as `application/problem+json` (RFC 9457), each with a stable
//! `code` that clients can branch on. Every rejection of the HTTP layer
//! (bad JSON, a body over the limit, a bad path or query) becomes one, so
//! no bad input ever gets a bare text answer or a 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:layak:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: Box<str>,
    pub title: &'static str,
    pub status: u16,
    /// The stable code, e.g. `INVALID_JSON`, `RULES_INVALID`.
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Extension members: `errors` (JSON paths), `diagnostics`, ...
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: Box<serde_json::Map<String, serde_json::Value>>,
    /// Seconds for a `Retry-After` header (a busy compiler).
    #[serde(skip)]
    #[schema(ignore)]
    pub retry_after: Option<u32>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:layak:problem:{}", code.to_ascii_lowercase()).into(),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            code,
            detail: Some(detail.into()),
            extra: Box::default(),
            retry_after: None,
        }
    }

    /// 503: the service cannot take this now; `Retry-After: seconds`.
    pub fn unavailable(code: &'static str, detail: impl Into<String>, seconds: u32) -> Problem {
        Problem {
            retry_after: Some(seconds),
            ..Problem::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
        }
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Problem {
        self.extra.insert(
            key.to_string(),
            serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
        );
        self
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, code, detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, code, detail)
    }

    /// A failure of the service itself (the database); the detail is logged,
    /// not sent.
    pub fn internal(err: &dyn std::fmt::Display) -> Problem {
        let error = super::privacy::mask_digits(&err.to_string());
        tracing::error!(%error, "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "the service could not complete the request; it was logged",
        )
    }
}

impl From<sqlx::Error> for Problem {
    fn from(err: sqlx::Error) -> Problem {
        Problem::internal(&err)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// An axum rejection (its status kept) as a problem.
pub fn rejection(status: StatusCode, code: &'static str, text: String) -> Problem {
    let status = if status.is_server_error() {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "BODY_TOO_LARGE"
    } else {
        code
    };
    Problem::new(status, code, text)
}

pub type ApiResult<T> = Result<T, Problem>;
