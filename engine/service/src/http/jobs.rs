//! `/v1/jobs`: queue a stage job (verification, quality control,
//! determination), follow it, list its errors, cancel it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::store::Scope;
use crate::store::access::Audit;
use crate::store::households::{DETERMINED, PROPOSED, QC_PASSED, VERIFIED};
use crate::store::jobs::{self, Job, JobError};
use crate::store::now_ms;

use super::auth::Caller;
use super::evaluate::context;
use super::problem::{ApiResult, Problem};
use super::rules::Compiled;
use super::{AppState, extract, parse_date};

/// The statuses each stage job works on.
pub fn statuses(kind: &str) -> &'static [&'static str] {
    match kind {
        "verification" => &[PROPOSED],
        "qc" => &[VERIFIED],
        "determination" => &[QC_PASSED, DETERMINED],
        _ => &[],
    }
}

/// The records a job works on: its region, which the request handler set
/// within the caller's scope ([`region_within`]).
pub fn job_scope(params: &serde_json::Value) -> Scope {
    Scope::all().and_region(params.get("region").and_then(|r| r.as_str()))
}

/// The region a job of this caller covers: the requested one within the
/// caller's (404 when they do not overlap), the caller's own when none or
/// a wider one was asked for.
fn region_within(caller: &Caller, requested: Option<&String>) -> ApiResult<Option<String>> {
    check_region(requested)?;
    let scope = caller.scope_for(requested.map(String::as_str))?;
    Ok(scope.region().map(str::to_string))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    #[serde(flatten)]
    pub job: Job,
    /// Records per second since the job started.
    pub rate: Option<f64>,
    /// Seconds left at that rate.
    pub eta_seconds: Option<f64>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> JobView {
        let end = job.finished_at.unwrap_or_else(now_ms);
        let rate = job.started_at.and_then(|start| {
            let secs = (end - start) as f64 / 1000.0;
            (secs > 0.0).then(|| job.done as f64 / secs)
        });
        let eta_seconds = rate
            .filter(|r| *r > 0.0 && job.finished_at.is_none())
            .map(|r| (job.total - job.done).max(0) as f64 / r);
        JobView {
            job,
            rate,
            eta_seconds,
        }
    }
}

fn check_region(region: Option<&String>) -> ApiResult<()> {
    match region {
        Some(r) if r.is_empty() || r.len() > 10 || !r.chars().all(|c| c.is_ascii_digit()) => {
            Err(Problem::unprocessable(
                "INVALID_REGION",
                format!("`region` is a prefix of a 10-digit desa_code, found `{r}`"),
            ))
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    /// YYYY-MM-DD: the date the integrity rules are evaluated at.
    pub as_of: String,
    /// Only proposed records whose `desa_code` starts with this.
    pub region: Option<String>,
    /// A version number or hash; default: active for verification on `as_of`.
    pub ruleset: Option<String>,
}

#[utoipa::path(post, path = "/v1/jobs/verification", tag = "pipeline", request_body = VerificationRequest,
    responses((status = 202, description = "queued", body = JobView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn verification(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    let req: VerificationRequest = extract::json(body)?;
    let region = region_within(&caller, req.region.as_ref())?;
    let compiled = version(&state, req.ruleset.as_deref(), "verification", &req.as_of).await?;
    let params = serde_json::json!({"as_of": req.as_of, "region": region});
    queue(
        &state,
        &caller,
        "verification",
        params,
        Some(&compiled.hash),
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QcRequest {
    /// YYYY-MM-DD: the date the quality-control rules are evaluated at.
    pub as_of: String,
    /// Only verified records whose `desa_code` starts with this.
    pub region: Option<String>,
    /// A version number or hash; default: active for `qc` on `as_of`.
    pub ruleset: Option<String>,
}

#[utoipa::path(post, path = "/v1/jobs/qc", tag = "pipeline", request_body = QcRequest,
    responses((status = 202, description = "queued", body = JobView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn qc(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    let req: QcRequest = extract::json(body)?;
    let region = region_within(&caller, req.region.as_ref())?;
    let compiled = version(&state, req.ruleset.as_deref(), "qc", &req.as_of).await?;
    if !compiled.has_qc() {
        return Err(Problem::unprocessable(
            "NO_QC_RULES",
            "the ruleset has no `stage qc` ruleset; add the quality-control rules (rules/qc.lyk)",
        ));
    }
    let params = serde_json::json!({"as_of": req.as_of, "region": region});
    queue(&state, &caller, "qc", params, Some(&compiled.hash)).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeterminationRequest {
    /// The period decided, e.g. `2025-10` or `2025-Q4`.
    pub period: String,
    /// YYYY-MM-DD: the date eligibility is evaluated at.
    pub as_of: String,
    pub region: Option<String>,
    /// A version number or hash; default: active for determination on `as_of`.
    pub ruleset: Option<String>,
    /// Parameter overrides, `{"PKH_ELDERLY_MIN_AGE": 60}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: BTreeMap<String, serde_json::Value>,
}

#[utoipa::path(post, path = "/v1/jobs/determination", tag = "pipeline", request_body = DeterminationRequest,
    responses((status = 202, description = "queued", body = JobView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn determination(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    let req: DeterminationRequest = extract::json(body)?;
    let region = region_within(&caller, req.region.as_ref())?;
    if !valid_period(&req.period) {
        return Err(Problem::unprocessable(
            "INVALID_PERIOD",
            format!(
                "`period` is 1 to 16 letters, digits and dashes (`2025-10`), found `{}`",
                req.period
            ),
        ));
    }
    let compiled = version(&state, req.ruleset.as_deref(), "determination", &req.as_of).await?;
    // Checked now, so a bad parameter is the request's error, not the job's.
    context(&compiled.program, &req.as_of, &req.params)?;
    let params = serde_json::json!({
        "period": req.period, "as_of": req.as_of, "region": region, "params": req.params,
    });
    queue(
        &state,
        &caller,
        "determination",
        params,
        Some(&compiled.hash),
    )
    .await
}

/// The ruleset version a job runs: the one the request names, or the one
/// active for `stage` on `as_of`.
async fn version(
    state: &AppState,
    reference: Option<&str>,
    stage: &str,
    as_of: &str,
) -> ApiResult<Arc<Compiled>> {
    let date = parse_date("as_of", as_of)?;
    state
        .rules
        .resolve(&state.store, reference, stage, i64::from(date.yyyymmdd()))
        .await
}

pub fn valid_period(p: &str) -> bool {
    !p.is_empty() && p.len() <= 16 && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

async fn queue(
    state: &AppState,
    caller: &Caller,
    kind: &str,
    params: serde_json::Value,
    ruleset: Option<&str>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    let total = state
        .store
        .count_stage(statuses(kind), &job_scope(&params))
        .await?;
    let job = state
        .store
        .create_job(
            kind,
            jobs::QUEUED,
            &params,
            ruleset,
            total,
            caller.job_owner(),
        )
        .await?;
    tracing::info!(job = job.id, kind, total, "job queued");
    state.jobs_ready.notify_one();
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

#[utoipa::path(get, path = "/v1/jobs", tag = "jobs",
    responses((status = 200, description = "the latest 100 jobs, newest first", body = Vec<JobView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<JobView>>> {
    let jobs = state.store.jobs_in(100, &caller.scope()).await?;
    Ok(Json(jobs.into_iter().map(JobView::from).collect()))
}

/// A job the caller's scope contains; any other is missing.
async fn find(
    state: &AppState,
    caller: &Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Job> {
    let id = extract::id(id)?;
    state
        .store
        .job_in(id, &caller.scope())
        .await?
        .ok_or_else(|| Problem::not_found("JOB_NOT_FOUND", format!("no job {id}")))
}

#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path)),
    responses((status = 200, body = JobView),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(find(&state, &caller, id).await?.into()))
}

#[utoipa::path(get, path = "/v1/jobs/{id}/errors", tag = "jobs",
    params(("id" = i64, Path)),
    responses((status = 200, description = "the first 10,000 errors", body = Vec<JobError>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn errors(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Vec<JobError>>> {
    let job = find(&state, &caller, id).await?;
    let errors = state.store.job_errors(job.id, 10_000).await?;
    state
        .store
        .audit(&Audit {
            actor: caller.actor(),
            action: "read",
            target: format!("errors of job {}", job.id),
            records: i64::try_from(errors.len()).unwrap_or(i64::MAX),
        })
        .await?;
    Ok(Json(errors))
}

#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", tag = "jobs",
    params(("id" = i64, Path)),
    responses((status = 200, description = "cancelled; batches already committed stay", body = JobView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the job had already ended (`JOB_ENDED`)", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<JobView>> {
    let job = find(&state, &caller, id).await?;
    if !state.store.cancel_job(job.id).await? {
        return Err(Problem::conflict(
            "JOB_ENDED",
            format!("job {} has already ended ({})", job.id, job.state),
        ));
    }
    tracing::info!(job = job.id, "job cancelled");
    let job = state.store.job(job.id).await?.unwrap_or(job);
    Ok(Json(job.into()))
}
