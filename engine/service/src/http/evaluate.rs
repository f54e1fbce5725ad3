//! Stateless evaluation for other systems (`POST /v1/evaluate`: households
//! in a JSON body, or a stream of them as NDJSON, [`stream`]) and the
//! what-if over the stored register (`POST /v1/impact`).
//!
//! Evaluation runs on the service's evaluation threads ([`super::pool`]),
//! never on the async runtime's, and the request's audit entry is appended
//! by the group commit ([`crate::store::appender`]): the answer leaves only
//! once the entry is committed.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest as _, FromRequestParts as _, Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use layak_dsl::eval::EvalContext;
use layak_dsl::ir::Program;
use layak_host::context::ContextError;
use layak_host::impact::report::Header;
use layak_host::impact::{Impact, compare_lines};
use layak_host::output::{SummaryLine, WhatIfAsk};
use layak_host::pipeline::{self, Line, LineError, Options, Source};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::store::access::Audit;
use crate::store::appender::PendingAudit;
use crate::store::households::{DETERMINED, PROPOSED, QC_PASSED, RETURNED, VERIFIED};

use super::auth::Caller;
use super::problem::{ApiResult, Problem};
use super::{AppState, extract, intake, parse_date};

mod stream;

pub use stream::{MAX_STREAM_LINES, STREAM_IDLE};

/// The most households one evaluation request may carry.
pub const MAX_HOUSEHOLDS: usize = 10_000;

/// The evaluation context of a request: `as_of` and parameter overrides
/// (`{"PKH_ELDERLY_MIN_AGE": 60}`, values as numbers or strings).
pub fn context(
    program: &Program,
    as_of: &str,
    params: &BTreeMap<String, serde_json::Value>,
) -> ApiResult<EvalContext> {
    parse_date("as_of", as_of)?;
    let specs: Vec<String> = params
        .iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(s) => format!("{name}={s}"),
            other => format!("{name}={other}"),
        })
        .collect();
    layak_host::context::context(program, as_of, &specs).map_err(|e| match e {
        ContextError::Date(_) => Problem::unprocessable(
            "INVALID_DATE",
            format!("`as_of` must be a date written YYYY-MM-DD, found `{as_of}`"),
        ),
        ContextError::Param { spec, message } => {
            let name = spec.split('=').next().unwrap_or(&spec).to_string();
            Problem::unprocessable("INVALID_PARAM", format!("parameter `{name}`: {message}"))
        }
    })
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Explain {
    /// The summary line of `layak eval --format summary`.
    #[default]
    None,
    /// The summary line with its `explanation` (`layak eval --explain`).
    Summary,
    /// The whole decision (`layak eval --format full`).
    Full,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// One household...
    #[schema(value_type = Option<Object>)]
    pub household: Option<Box<RawValue>>,
    /// ...or many (at most 10,000).
    #[schema(value_type = Option<Vec<Object>>)]
    pub households: Option<Vec<Box<RawValue>>>,
    /// YYYY-MM-DD.
    pub as_of: String,
    /// A version number or hash; default: the version active for
    /// determination on `as_of`.
    pub ruleset: Option<String>,
    /// Parameter overrides, `{"PKH_ELDERLY_MIN_AGE": 60}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub explain: Explain,
    /// Add `what_if` to each decision: what would turn it (counterfactuals,
    /// up to 200 evaluations per subject, so at most 100 households).
    #[serde(default)]
    pub what_if: bool,
}

/// The most households a request with `what_if` may carry.
pub const MAX_WHAT_IF_HOUSEHOLDS: usize = 100;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EvaluateResponse {
    pub ruleset: String,
    pub as_of: String,
    /// One per household, in order, in the CLI's formats.
    #[schema(value_type = Vec<Object>)]
    pub decisions: Vec<serde_json::Value>,
}

#[utoipa::path(post, path = "/v1/evaluate", tag = "evaluation",
    params(stream::StreamQuery),
    request_body(description = "`application/json`: an `EvaluateRequest` (one household, or up to 10,000). \
        `application/x-ndjson`: a stream of households, one a line (at most 1,000,000 lines, each within \
        `--max-line`), with `as_of` and the options in the query; the answer streams back as it is evaluated.",
        content(
            (EvaluateRequest = "application/json"),
            (String = "application/x-ndjson"),
        )),
    responses(
        (status = 200, description = "`application/json`: the decisions. `application/x-ndjson` (for an NDJSON \
            body): one line per input line, in input order, the bytes `layak run` writes: a decided line is its \
            summary line (with `explanation` when `explain=summary`, the whole decision when `explain=full`), a \
            line without a decision the object of `layak run`'s error file (`line`, `record_id`, and `errors` \
            with JSON paths, or the sandbox's `code`, `message` and `hint`). A stream cut short by a limit or a \
            failure ends with `{\"error\": {\"code\", \"message\"}}` and no clean end of the body.",
            content((EvaluateResponse = "application/json"), (String = "application/x-ndjson"))),
        (status = 422, description = "a household is malformed (`INVALID_HOUSEHOLD`, with `errors`: index, record id, JSON paths), or a parameter (`INVALID_PARAM`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no ruleset active on `as_of`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "every evaluation thread is busy and the queue is full, or every stream place is taken (`EVALUATION_BUSY`, with `Retry-After`)", body = Problem, content_type = "application/problem+json")))]
pub async fn evaluate(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> ApiResult<Response> {
    let ndjson = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-ndjson"));
    if ndjson {
        let (mut parts, body) = request.into_parts();
        let query = Query::<Vec<(String, String)>>::from_request_parts(&mut parts, &state).await;
        return stream::evaluate(state, caller, extract::query(query)?, body).await;
    }
    let body = Bytes::from_request(request, &state).await;
    Ok(evaluate_json(state, caller, body).await?.into_response())
}

/// `POST /v1/evaluate` with a JSON body.
async fn evaluate_json(
    state: AppState,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<EvaluateResponse>> {
    let req: EvaluateRequest = extract::json(body)?;
    let households = match (req.household, req.households) {
        (Some(one), None) => vec![one],
        (None, Some(many)) => many,
        _ => {
            return Err(Problem::unprocessable(
                "INVALID_REQUEST",
                "give exactly one of `household` and `households`",
            ));
        }
    };
    if households.len() > MAX_HOUSEHOLDS {
        return Err(Problem::unprocessable(
            "TOO_MANY_HOUSEHOLDS",
            format!(
                "at most {MAX_HOUSEHOLDS} households per request; use the register's jobs for more"
            ),
        ));
    }
    if req.what_if && households.len() > MAX_WHAT_IF_HOUSEHOLDS {
        return Err(Problem::unprocessable(
            "TOO_MANY_HOUSEHOLDS",
            format!(
                "at most {MAX_WHAT_IF_HOUSEHOLDS} households per request with `what_if`: each costs up to 200 evaluations per subject"
            ),
        ));
    }
    let date = parse_date("as_of", &req.as_of)?;
    let compiled = state
        .rules
        .resolve(
            &state.store,
            req.ruleset.as_deref(),
            "determination",
            i64::from(date.yyyymmdd()),
        )
        .await?;
    let ctx = context(&compiled.program, &req.as_of, &req.params)?;
    let explain = req.explain;
    let what_if = req.what_if;
    let hash = compiled.hash.clone();
    let count = i64::try_from(households.len()).unwrap_or(i64::MAX);
    let threads = state.config.threads.max(1);
    let run = move || -> ApiResult<Vec<serde_json::Value>> {
        let lines: Vec<Line> = households
            .iter()
            .zip(1..)
            .map(|(raw, no)| Line {
                no,
                text: Ok(raw.get().to_string()),
            })
            .collect();
        let options = Options {
            threads,
            batch_lines: pipeline::SLICE,
        };
        let evaluator = compiled.evaluator(&ctx);
        // Summaries alone come from the decide path, which builds no
        // explanation.
        if explain == Explain::None && !what_if {
            let outcomes = pipeline::decide_all(&evaluator, lines, &options)
                .map_err(|e| Problem::internal(&e))?;
            malformed(&households, &outcomes)?;
            return outcomes
                .into_iter()
                .map(|outcome| match outcome {
                    Ok(summary) => serde_json::to_value(summary).map_err(|e| Problem::internal(&e)),
                    Err(e) => Err(failed(&e)),
                })
                .collect();
        }
        // The texts again for the counterfactuals (decoded once more there).
        let kept: Vec<Line> = if what_if { lines.clone() } else { Vec::new() };
        let outcomes = pipeline::evaluate_all(&evaluator, lines, &options)
            .map_err(|e| Problem::internal(&e))?;
        malformed(&households, &outcomes)?;
        let ask = what_if.then(|| WhatIfAsk {
            program: &compiled.program,
            ctx: &ctx,
            options: layak_dsl::whatif::Options::default(),
        });
        outcomes
            .iter()
            .enumerate()
            .map(|(i, outcome)| match outcome {
                Ok(decision) => {
                    let mut value = render(decision, explain)?;
                    if let (Some(ask), Some(line), Some(map)) =
                        (&ask, kept.get(i), value.as_object_mut())
                    {
                        let found = ask.for_line(line, decision);
                        map.insert(
                            "what_if".to_string(),
                            serde_json::to_value(found).map_err(|e| Problem::internal(&e))?,
                        );
                    }
                    Ok(value)
                }
                Err(e) => Err(failed(e)),
            })
            .collect()
    };
    // Nothing is stored, but personal data passed through: recorded, in the
    // appender's next group commit, before the answer leaves. The entry is
    // committed while the households are evaluated, once the pool has
    // queued them (a request refused with 503 writes none), so an answer of
    // 422 is recorded too.
    let submitted = state.pool.submit(run)?;
    let entry = PendingAudit {
        actor: caller.actor().to_string(),
        action: "evaluate",
        target: "households sent for evaluation".to_string(),
        records: count,
    };
    let (decisions, audited) = tokio::join!(submitted.answer(), state.audit.append(entry));
    let decisions = decisions??;
    audited.map_err(|e| Problem::internal(&e))?;
    Ok(Json(EvaluateResponse {
        ruleset: hash,
        as_of: req.as_of,
        decisions,
    }))
}

/// 422 `INVALID_HOUSEHOLD` with every household that does not match the
/// record schema: nothing is evaluated then.
fn malformed<T>(households: &[Box<RawValue>], outcomes: &[Result<T, LineError>]) -> ApiResult<()> {
    let mut errors = Vec::new();
    for (index, (raw, outcome)) in households.iter().zip(outcomes).enumerate() {
        if let Err(LineError::Malformed(e)) = outcome {
            let json: serde_json::Value = serde_json::from_str(raw.get()).unwrap_or_default();
            errors.push(serde_json::json!({
                "index": index,
                "record_id": json.get("record_id").and_then(|v| v.as_str()),
                "errors": intake::errors_json(&json, e),
            }));
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(Problem::unprocessable(
        "INVALID_HOUSEHOLD",
        "households do not match the record schema; nothing was evaluated",
    )
    .with("errors", errors))
}

/// 422 `EVALUATION_FAILED`: the engine stopped on a household.
fn failed(e: &LineError) -> Problem {
    Problem::unprocessable(
        "EVALUATION_FAILED",
        format!("the engine stopped on a household: {e}"),
    )
    .with("code", e.code())
}

fn render(
    decision: &layak_dsl::decision::HouseholdDecision,
    explain: Explain,
) -> ApiResult<serde_json::Value> {
    let value = match explain {
        Explain::None => serde_json::to_value(decision.summary()),
        Explain::Full => serde_json::to_value(decision),
        Explain::Summary => serde_json::to_value(SummaryLine::new(decision, true)),
    };
    value.map_err(|e| Problem::internal(&e))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactRequest {
    /// YYYY-MM-DD.
    pub as_of: String,
    /// The baseline version; default: active for determination on `as_of`.
    pub ruleset: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// The changed version; default: the baseline.
    pub against: Option<String>,
    /// Overrides of the changed side only.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub against_params: BTreeMap<String, serde_json::Value>,
    /// Only households whose `desa_code` starts with this.
    pub region: Option<String>,
    /// Example households per kind of change (default 5, at most 100).
    pub examples: Option<usize>,
}

#[utoipa::path(post, path = "/v1/impact", tag = "evaluation", request_body = ImpactRequest,
    responses((status = 200, description = "the JSON of `layak impact --format json` over the stored register", body = Object),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn impact(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let req: ImpactRequest = extract::json(body)?;
    let date = i64::from(parse_date("as_of", &req.as_of)?.yyyymmdd());
    if req.against.is_none() && req.against_params.is_empty() {
        return Err(Problem::unprocessable(
            "NOTHING_TO_COMPARE",
            "give `against` (a ruleset version) or `against_params`",
        ));
    }
    let before = state
        .rules
        .resolve(&state.store, req.ruleset.as_deref(), "determination", date)
        .await?;
    let after = match &req.against {
        Some(r) => {
            state
                .rules
                .resolve(&state.store, Some(r), "determination", date)
                .await?
        }
        None => Arc::clone(&before),
    };
    let before_ctx = context(&before.program, &req.as_of, &req.params)?;
    let mut changed = req.params.clone();
    changed.extend(req.against_params.clone());
    let after_ctx = context(&after.program, &req.as_of, &changed)?;
    let examples = req.examples.unwrap_or(5).min(100);
    let scope = caller.scope_for(req.region.as_deref())?;
    let statuses = [PROPOSED, VERIFIED, RETURNED, QC_PASSED, DETERMINED];
    let mut impact = Impact::default();
    let mut cursor = String::new();
    let mut line_no = 0u64;
    loop {
        let batch = state
            .store
            .stage_batch(&statuses, &cursor, &scope, 1000)
            .await?;
        let Some(last) = batch.last() else { break };
        cursor = last.record_id.clone();
        let lines: Vec<Line> = batch
            .into_iter()
            .map(|h| {
                line_no += 1;
                Line {
                    no: line_no,
                    text: Ok(h.body),
                }
            })
            .collect();
        let (before, after) = (Arc::clone(&before), Arc::clone(&after));
        let (before_ctx, after_ctx) = (before_ctx.clone(), after_ctx.clone());
        let options = Options {
            threads: state.config.threads.max(1),
            batch_lines: pipeline::SLICE,
        };
        let part = tokio::task::spawn_blocking(move || {
            let b = before.evaluator(&before_ctx);
            let a = after.evaluator(&after_ctx);
            let mut part = Impact::default();
            pipeline::run_with(
                Source::Lines(lines),
                &options,
                &|_| {},
                |slice| compare_lines(&b, &a, slice, examples),
                |slice| {
                    part.merge(slice, examples);
                    Ok(())
                },
            )
            .map(|()| part)
        })
        .await
        .map_err(|e| Problem::internal(&e))?
        .map_err(|e| Problem::internal(&e))?;
        impact.merge(part, examples);
    }
    let describe = |hash: &str, params: &BTreeMap<String, serde_json::Value>| {
        let mut s = format!("ruleset {}", hash.get(..12).unwrap_or(hash));
        if !params.is_empty() {
            let list: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!(" with {}", list.join(", ")));
        }
        s
    };
    let header = Header {
        as_of: req.as_of.clone(),
        before: describe(&before.hash, &req.params),
        after: describe(&after.hash, &changed),
    };
    state
        .store
        .audit(&Audit {
            actor: caller.actor(),
            action: "read",
            target: format!("impact region {}", scope.region().unwrap_or("all")),
            records: i64::try_from(line_no).unwrap_or(i64::MAX),
        })
        .await?;
    let text =
        layak_host::impact::report::json(&header, &impact).map_err(|e| Problem::internal(&e))?;
    let value = serde_json::from_str(&text).map_err(|e| Problem::internal(&e))?;
    Ok(Json(value))
}
