//! `/v1/households`: the proposal stage (one household or an NDJSON stream
//! of any length) and a record with its history and latest decisions.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::store::Scope;
use crate::store::access::Audit;
use crate::store::decisions::DecisionRow;
use crate::store::households::{Event, ProposeCounts, Proposed, Rejected};
use crate::store::jobs::{self, JobError};

use super::auth::Caller;
use super::evaluate::context;
use super::problem::{ApiResult, Problem};
use super::rules::Compiled;
use super::{AppState, extract, intake, today};

/// Households per committed batch of an upload.
const UPLOAD_BATCH: usize = 1000;
/// Errors listed in the answer to an upload (all are in the job's errors).
const ERRORS_SHOWN: usize = 100;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalResult {
    /// The upload's job: `GET /v1/jobs/{id}/errors` lists every rejected line.
    pub job_id: i64,
    pub received: u64,
    #[serde(flatten)]
    pub counts: ProposeCountsSchema,
    pub rejected: u64,
    /// The first rejected inputs, each with the JSON path of every error.
    pub errors: Vec<JobError>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposeCountsSchema {
    /// New or corrected records, now `PROPOSED`.
    pub stored: u64,
    /// Sent again with the same content: nothing changed.
    pub unchanged: u64,
}

/// One input of an upload.
struct Input {
    line: i64,
    bytes: Result<Vec<u8>, String>,
}

struct Upload {
    state: AppState,
    caller: Caller,
    scope: Scope,
    compiled: Arc<Compiled>,
    job_id: i64,
    pending: Vec<Input>,
    received: u64,
    counts: ProposeCounts,
    rejected: u64,
    errors: Vec<JobError>,
}

impl Upload {
    async fn push(&mut self, input: Input) -> ApiResult<()> {
        self.received += 1;
        self.pending.push(input);
        if self.pending.len() >= UPLOAD_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Checks the pending inputs off the async threads and commits them.
    async fn flush(&mut self) -> ApiResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let inputs = std::mem::take(&mut self.pending);
        let compiled = Arc::clone(&self.compiled);
        let (ok, rejected) = tokio::task::spawn_blocking(move || check_all(&compiled, inputs))
            .await
            .map_err(|e| Problem::internal(&e))?;
        let (counts, out_of_scope) = self
            .state
            .store
            .propose(
                &ok,
                &rejected,
                self.caller.actor(),
                self.job_id,
                &self.scope,
            )
            .await?;
        self.counts.stored += counts.stored;
        self.counts.unchanged += counts.unchanged;
        self.rejected += (rejected.len() + out_of_scope.len()) as u64;
        let mut all: Vec<Rejected> = rejected.into_iter().chain(out_of_scope).collect();
        all.sort_by_key(|r| r.line);
        for r in all {
            if self.errors.len() < ERRORS_SHOWN {
                self.errors.push(JobError {
                    line: Some(r.line),
                    record_id: r.record_id,
                    errors: r.errors,
                });
            }
        }
        Ok(())
    }

    fn result(self) -> ProposalResult {
        ProposalResult {
            job_id: self.job_id,
            received: self.received,
            counts: ProposeCountsSchema {
                stored: self.counts.stored,
                unchanged: self.counts.unchanged,
            },
            rejected: self.rejected,
            errors: self.errors,
        }
    }
}

fn check_all(compiled: &Compiled, inputs: Vec<Input>) -> (Vec<Proposed>, Vec<Rejected>) {
    let mut ok = Vec::with_capacity(inputs.len());
    let mut rejected = Vec::new();
    for input in inputs {
        let json = input.bytes.and_then(|bytes| {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|e| format!("invalid JSON: {e}"))
        });
        let outcome = match &json {
            Ok(json) => intake::check(&compiled.program.schema, json)
                .map_err(|errors| intake::errors_json(json, &errors)),
            Err(message) => Err(serde_json::json!([{"path": "$", "message": message}])),
        };
        match outcome {
            Ok(mut p) => {
                p.line = input.line;
                ok.push(p);
            }
            Err(errors) => rejected.push(Rejected {
                line: input.line,
                record_id: json.ok().and_then(|j| {
                    j.get("record_id")
                        .and_then(|v| v.as_str())
                        .map(|s| s.chars().take(intake::MAX_RECORD_ID).collect())
                }),
                errors,
            }),
        }
    }
    (ok, rejected)
}

#[utoipa::path(post, path = "/v1/households", tag = "pipeline",
    request_body(description = "one household (`application/json`: an object, or an array of them) \
        or NDJSON (`application/x-ndjson`, one household a line, any length: it is streamed and committed \
        in batches)", content = Object),
    responses(
        (status = 200, description = "stored; rejected lines are listed with the JSON path of every error", body = ProposalResult),
        (status = 422, description = "the one household sent as JSON is malformed (`INVALID_HOUSEHOLD`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no ruleset is active for verification (`NO_ACTIVE_RULESET`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn propose(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<ProposalResult>> {
    let compiled = state
        .rules
        .resolve(&state.store, None, "verification", today())
        .await?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let job = state
        .store
        .create_job(
            "proposal",
            jobs::RUNNING,
            &serde_json::json!({"format": if is_json { "json" } else { "ndjson" }}),
            Some(&compiled.hash),
            0,
            caller.job_owner(),
        )
        .await?;
    let mut upload = Upload {
        state: state.clone(),
        scope: caller.scope(),
        caller,
        compiled,
        job_id: job.id,
        pending: Vec::new(),
        received: 0,
        counts: ProposeCounts::default(),
        rejected: 0,
        errors: Vec::new(),
    };
    let outcome = if is_json {
        read_json(&mut upload, body).await
    } else {
        read_ndjson(&mut upload, body).await
    };
    let outcome = match outcome {
        Ok(()) => upload.flush().await,
        Err(e) => Err(e),
    };
    if let Err(problem) = outcome {
        state
            .store
            .finish_job(job.id, jobs::INTERRUPTED, problem.detail.as_deref())
            .await?;
        return Err(problem);
    }
    state.store.finish_job(job.id, jobs::DONE, None).await?;
    let result = upload.result();
    tracing::info!(
        job = result.job_id,
        stored = result.counts.stored,
        unchanged = result.counts.unchanged,
        rejected = result.rejected,
        "proposals received"
    );
    if is_json && result.received == 1 && result.rejected == 1 {
        let errors = result
            .errors
            .first()
            .map(|e| e.errors.clone())
            .unwrap_or_default();
        return Err(Problem::unprocessable(
            "INVALID_HOUSEHOLD",
            "the household does not match the record schema; nothing was stored",
        )
        .with("errors", errors));
    }
    Ok(Json(result))
}

async fn read_json(upload: &mut Upload, body: Body) -> ApiResult<()> {
    let limit = upload.state.config.max_body;
    let bytes: Bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BODY_TOO_LARGE",
            format!("a JSON body is at most {limit} bytes; send many households as NDJSON"),
        )
    })?;
    let json: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Problem::bad_request("INVALID_JSON", format!("the body is not JSON: {e}")))?;
    let items = match json {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    for (i, item) in items.into_iter().enumerate() {
        let bytes = serde_json::to_vec(&item).map_err(|e| e.to_string());
        let line = i64::try_from(i).unwrap_or(i64::MAX).saturating_add(1);
        upload.push(Input { line, bytes }).await?;
    }
    Ok(())
}

/// Splits the streamed body into lines without holding more than one
/// partial line (at most `max_line` bytes) at a time.
async fn read_ndjson(upload: &mut Upload, body: Body) -> ApiResult<()> {
    let max_line = upload.state.config.max_line;
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut line_no: i64 = 0;
    let mut overlong = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Problem::bad_request(
                "BODY_INCOMPLETE",
                format!("the body ended early: {e}; what was committed is stored"),
            )
        })?;
        let mut rest: &[u8] = &chunk;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            let (head, tail) = rest.split_at(pos);
            rest = tail.get(1..).unwrap_or_default();
            line_no += 1;
            if overlong {
                overlong = false;
                buf.clear();
                upload.push(too_long(line_no, max_line)).await?;
                continue;
            }
            buf.extend_from_slice(head);
            let line = std::mem::take(&mut buf);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if line.len() > max_line {
                upload.push(too_long(line_no, max_line)).await?;
                continue;
            }
            upload
                .push(Input {
                    line: line_no,
                    bytes: Ok(line),
                })
                .await?;
        }
        if !overlong {
            buf.extend_from_slice(rest);
            if buf.len() > max_line {
                overlong = true;
                buf.clear();
            }
        }
    }
    line_no += 1;
    if overlong {
        upload.push(too_long(line_no, max_line)).await?;
    } else if !buf.iter().all(u8::is_ascii_whitespace) {
        let line = std::mem::take(&mut buf);
        upload
            .push(Input {
                line: line_no,
                bytes: Ok(line),
            })
            .await?;
    }
    Ok(())
}

fn too_long(line: i64, max: usize) -> Input {
    Input {
        line,
        bytes: Err(format!("the line is longer than {max} bytes")),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShowQuery {
    /// Re-derive the explanation of the latest decision (default true).
    pub explain: Option<bool>,
    /// Add what would turn that decision (`what_if`, counterfactuals; they
    /// cost evaluations, so only on request; default false).
    pub what_if: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    pub record_id: String,
    pub status: String,
    pub region: String,
    /// The reasons of the last status change: codes and messages.
    #[schema(value_type = Object)]
    pub reasons: serde_json::Value,
    pub period: Option<String>,
    pub content_hash: String,
    /// RFC 3339 (UTC).
    #[serde(serialize_with = "crate::wire::ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
    /// The household as stored.
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
    /// Every status change, oldest first.
    pub history: Vec<Event>,
    /// The decisions of the latest determined period.
    pub decisions: Vec<DecisionRow>,
    /// The latest evaluation's full decision with its explanation tree,
    /// re-derived from the stored version, ruleset hash, `as_of` and
    /// parameters (versions are immutable, evaluation is deterministic).
    #[schema(value_type = Object)]
    pub explanation: Option<serde_json::Value>,
    /// With `?what_if=true`: what would turn the latest decision
    /// (`layak eval --explain`'s `what_if`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub what_if: Option<serde_json::Value>,
}

#[utoipa::path(get, path = "/v1/households/{id}", tag = "pipeline",
    params(("id" = String, Path, description = "record_id"), ShowQuery),
    responses((status = 200, body = HouseholdView),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<ShowQuery>, QueryRejection>,
) -> ApiResult<Json<HouseholdView>> {
    let record_id = extract::path(id)?;
    let query = extract::query(query)?;
    let scope = caller.scope();
    let Some(h) = state.store.household(&record_id, &scope).await? else {
        return Err(Problem::not_found(
            "HOUSEHOLD_NOT_FOUND",
            format!("no household `{record_id}` in the register"),
        ));
    };
    state
        .store
        .audit(&Audit {
            actor: caller.actor(),
            action: "read",
            target: format!("household {record_id}"),
            records: 1,
        })
        .await?;
    let history = state.store.history(&record_id).await?;
    let decisions = state.store.latest_decisions(&record_id, &scope).await?;
    let what_if = query.what_if.unwrap_or(false);
    let (explanation, what_if) = if query.explain.unwrap_or(true) || what_if {
        let (explanation, found) = explain_latest(&state, &record_id, &history, what_if).await?;
        (explanation.filter(|_| query.explain.unwrap_or(true)), found)
    } else {
        (None, None)
    };
    Ok(Json(HouseholdView {
        record_id: h.record_id,
        status: h.status,
        region: h.region,
        reasons: serde_json::from_str(&h.reasons).unwrap_or(serde_json::Value::Null),
        period: h.period,
        content_hash: h.content_hash,
        updated_at: h.updated_at,
        record: serde_json::from_str(&h.body).unwrap_or(serde_json::Value::Null),
        history,
        decisions,
        explanation,
        what_if,
    }))
}

/// Re-runs the latest evaluation that changed the record's status; with
/// `what_if`, also what would turn it.
async fn explain_latest(
    state: &AppState,
    record_id: &str,
    history: &[Event],
    what_if: bool,
) -> ApiResult<(Option<serde_json::Value>, Option<serde_json::Value>)> {
    let Some((event, ruleset, job_id)) = history.iter().rev().find_map(|e| {
        let ruleset = e.ruleset_hash.as_deref()?;
        Some((e, ruleset, e.job_id?))
    }) else {
        return Ok((None, None));
    };
    let Some(job) = state.store.job(job_id).await? else {
        return Ok((None, None));
    };
    let Some(body) = state
        .store
        .version_body(record_id, &event.content_hash)
        .await?
    else {
        return Ok((None, None));
    };
    let compiled = state.rules.get(&state.store, ruleset).await?;
    let as_of = job
        .params
        .get("as_of")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let params: BTreeMap<String, serde_json::Value> = job
        .params
        .get("params")
        .and_then(|p| serde_json::from_value(p.clone()).ok())
        .unwrap_or_default();
    let ctx = context(&compiled.program, as_of, &params)?;
    let found = tokio::task::spawn_blocking(move || {
        let line = layak_host::pipeline::Line {
            no: 1,
            text: Ok(body),
        };
        let decision = compiled
            .evaluator(&ctx)
            .evaluate_lines(std::slice::from_ref(&line))
            .into_iter()
            .next()?
            .ok()?;
        let found = what_if.then(|| {
            layak_host::output::WhatIfAsk {
                program: &compiled.program,
                ctx: &ctx,
                options: layak_dsl::whatif::Options::default(),
            }
            .for_line(&line, &decision)
        });
        Some((decision, found.flatten()))
    })
    .await
    .map_err(|e| Problem::internal(&e))?;
    Ok(match found {
        Some((decision, w)) => (
            serde_json::to_value(decision).ok(),
            w.and_then(|w| serde_json::to_value(w).ok()),
        ),
        None => (None, None),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegisterCounts {
    /// Households by status.
    pub households: BTreeMap<String, i64>,
}

#[utoipa::path(get, path = "/v1/register", tag = "pipeline",
    responses((status = 200, body = RegisterCounts)))]
pub async fn counts(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<RegisterCounts>> {
    let counts = state.store.status_counts(&caller.scope()).await?;
    Ok(Json(RegisterCounts {
        households: counts.into_iter().collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this status (`PROPOSED`, `VERIFIED`, `RETURNED`, `QC_PASSED`,
    /// `DETERMINED`).
    pub status: Option<String>,
    /// A prefix of the `desa_code`.
    pub region: Option<String>,
    /// Continue after this `record_id` (the previous page's `next`).
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdSummary {
    pub record_id: String,
    pub status: String,
    pub region: String,
    #[schema(value_type = Object)]
    pub reasons: serde_json::Value,
    pub period: Option<String>,
    /// RFC 3339 (UTC).
    #[serde(serialize_with = "crate::wire::ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdPage {
    pub households: Vec<HouseholdSummary>,
    /// The `after` of the next page; `null` on the last.
    pub next: Option<String>,
}

/// Every status of a record.
pub const ALL_STATUSES: [&str; 5] = [
    crate::store::households::PROPOSED,
    crate::store::households::VERIFIED,
    crate::store::households::RETURNED,
    crate::store::households::QC_PASSED,
    crate::store::households::DETERMINED,
];

#[utoipa::path(get, path = "/v1/households", tag = "pipeline", params(ListQuery),
    responses((status = 200, body = HouseholdPage),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<HouseholdPage>> {
    let query = extract::query(query)?;
    let statuses: Vec<&str> = match query.status.as_deref() {
        None => ALL_STATUSES.to_vec(),
        Some(s) => match ALL_STATUSES.iter().find(|x| **x == s) {
            Some(x) => vec![*x],
            None => {
                return Err(Problem::unprocessable(
                    "INVALID_STATUS",
                    format!(
                        "`status` is one of {}, found `{s}`",
                        ALL_STATUSES.join(", ")
                    ),
                ));
            }
        },
    };
    if let Some(r) = &query.region
        && (r.len() > 10 || !r.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(Problem::unprocessable(
            "INVALID_REGION",
            format!("`region` is a prefix of a 10-digit desa_code, found `{r}`"),
        ));
    }
    let limit = extract::page_limit(query.limit)?;
    let scope = caller.scope_for(query.region.as_deref())?;
    let rows = state
        .store
        .stage_batch(
            &statuses,
            query.after.as_deref().unwrap_or(""),
            &scope,
            limit,
        )
        .await?;
    let next = (rows.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| rows.last().map(|h| h.record_id.clone()))
        .flatten();
    state
        .store
        .audit(&Audit {
            actor: caller.actor(),
            action: "read",
            target: "households list".to_string(),
            records: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        })
        .await?;
    Ok(Json(HouseholdPage {
        households: rows
            .into_iter()
            .map(|h| HouseholdSummary {
                reasons: serde_json::from_str(&h.reasons).unwrap_or(serde_json::Value::Null),
                record_id: h.record_id,
                status: h.status,
                region: h.region,
                period: h.period,
                updated_at: h.updated_at,
            })
            .collect(),
        next,
    }))
}
