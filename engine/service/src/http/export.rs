//! The use stage: a programme's beneficiary list for a period and region,
//! streamed as NDJSON or CSV page by page (keyset pagination on the
//! decision id), so a national list never sits in memory.

use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::store::Scope;
use crate::store::access::Audit;
use crate::store::decisions::DecisionRow;

use super::auth::Caller;
use super::jobs::valid_period;
use super::privacy::mask_nik;
use super::problem::{ApiResult, Problem};
use super::{AppState, extract};

const PAGE: i64 = 2000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BeneficiariesQuery {
    /// The determined period, e.g. `2025-10`.
    pub period: String,
    /// A prefix of the `desa_code`: province (2 digits), regency (4),
    /// district (6) or village (10).
    pub region: Option<String>,
    /// `ndjson` (default) or `csv`; `Accept: text/csv` also asks for CSV.
    pub format: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Ndjson,
    Csv,
}

const CSV_HEADER: &str =
    "record_id,programme,period,subject,region,amount,per,as_of,ruleset_hash\n";

#[utoipa::path(get, path = "/v1/programmes/{programme}/beneficiaries", tag = "pipeline",
    params(("programme" = String, Path, description = "PKH, SEMBAKO, PBI_JK, PIP, ..."), BeneficiariesQuery),
    responses((status = 200, description = "one eligible subject a line: NDJSON of the decision rows, or CSV", content_type = "application/x-ndjson"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn beneficiaries(
    State(state): State<AppState>,
    caller: Caller,
    programme: Result<Path<String>, PathRejection>,
    query: Result<Query<BeneficiariesQuery>, QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let programme = extract::path(programme)?;
    let query = extract::query(query)?;
    if !valid_period(&query.period) {
        return Err(Problem::unprocessable(
            "INVALID_PERIOD",
            format!("`period` is like `2025-10`, found `{}`", query.period),
        ));
    }
    if let Some(r) = &query.region
        && (r.len() > 10 || !r.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(Problem::unprocessable(
            "INVALID_REGION",
            format!("`region` is a prefix of a 10-digit desa_code, found `{r}`"),
        ));
    }
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    let format = match query.format.as_deref() {
        Some("csv") => Format::Csv,
        Some("ndjson") => Format::Ndjson,
        None if wants_csv => Format::Csv,
        None => Format::Ndjson,
        Some(other) => {
            return Err(Problem::unprocessable(
                "INVALID_FORMAT",
                format!("`format` is `ndjson` or `csv`, found `{other}`"),
            ));
        }
    };
    // A partner's list is its programme's: any other is, to it, missing.
    if caller.programme.as_ref().is_some_and(|p| *p != programme) {
        return Err(Problem::not_found(
            "PROGRAMME_NOT_FOUND",
            format!("no programme `{programme}` in the register"),
        ));
    }
    let scope = caller.scope_for(query.region.as_deref())?;
    let mask = !caller.role.sees_identities();
    // The trail is written before any row leaves: no audit, no export.
    let rows = state
        .store
        .count_beneficiaries(&programme, &query.period, &scope)
        .await?;
    state
        .store
        .audit(&Audit {
            actor: caller.actor(),
            action: "export",
            target: format!(
                "beneficiaries {programme} {} region {}",
                query.period,
                scope.region().unwrap_or("all")
            ),
            records: rows,
        })
        .await?;
    tracing::info!(programme = %programme, period = %query.period, rows, mask, "beneficiary export");
    struct Page {
        state: AppState,
        programme: String,
        period: String,
        scope: Scope,
        after: i64,
        first: bool,
        done: bool,
    }
    let start = Page {
        state,
        programme,
        period: query.period,
        scope,
        after: 0,
        first: true,
        done: false,
    };
    let stream = futures_util::stream::unfold(start, move |mut page| async move {
        if page.done {
            return None;
        }
        let mut out = Vec::new();
        if page.first && format == Format::Csv {
            out.extend_from_slice(CSV_HEADER.as_bytes());
        }
        page.first = false;
        let rows = page
            .state
            .store
            .beneficiaries(&page.programme, &page.period, &page.scope, page.after, PAGE)
            .await;
        match rows {
            Ok(rows) => {
                if rows.len() < usize::try_from(PAGE).unwrap_or(usize::MAX) {
                    page.done = true;
                }
                for (id, row) in &rows {
                    page.after = *id;
                    write_row(&mut out, row, format, mask);
                }
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(out)), page))
            }
            Err(e) => {
                tracing::error!(error = %e, "beneficiary export stopped");
                // The status line is gone; ending the body early is the only
                // signal left, and the client sees a truncated transfer.
                page.done = true;
                Some((Err(std::io::Error::other("export failed")), page))
            }
        }
    });
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Ndjson => "application/x-ndjson",
    };
    let mut response = Body::from_stream(stream).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

/// One row; `mask`: the subject (a NIK or a family card) as
/// `3310********0001`, for roles that pay or report but do not identify
/// people.
fn write_row(out: &mut Vec<u8>, row: &DecisionRow, format: Format, mask: bool) {
    let subject = if mask {
        mask_nik(&row.subject)
    } else {
        row.subject.clone()
    };
    match format {
        Format::Ndjson => {
            let line = serde_json::json!({
                "record_id": row.record_id, "programme": row.programme, "period": row.period,
                "subject": subject, "region": row.region, "amount": row.amount, "per": row.per,
                "as_of": crate::wire::date(row.as_of), "ruleset_hash": row.ruleset_hash,
            });
            out.extend_from_slice(line.to_string().as_bytes());
            out.push(b'\n');
        }
        Format::Csv => {
            let amount = row.amount.map(|a| a.to_string()).unwrap_or_default();
            let fields = [
                row.record_id.as_str(),
                row.programme.as_str(),
                row.period.as_str(),
                subject.as_str(),
                row.region.as_str(),
                amount.as_str(),
                row.per.as_str(),
            ];
            for f in fields {
                out.extend_from_slice(csv_field(f).as_bytes());
                out.push(b',');
            }
            let as_of = crate::wire::date(row.as_of);
            out.extend_from_slice(format!("{as_of},{}\n", row.ruleset_hash).as_bytes());
        }
    }
}

/// RFC 4180 quoting when needed.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
