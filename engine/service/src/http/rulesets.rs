//! `/v1/rulesets`: store a version (or get its diagnostics), list, show,
//! and activate a version for a stage from an effective date.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::store::rulesets::{Activation, RulesetRow, SourceFile};

use super::problem::{ApiResult, Problem};
use super::{AppState, extract, parse_date, rules};

/// The stages a version can be activated for.
pub const STAGES: [&str; 3] = ["verification", "qc", "determination"];

/// The most files and bytes one version may have.
const MAX_FILES: usize = 512;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRuleset {
    /// Every `.lyk` rule file and `.txt` table, named as the rules import
    /// them (`schema.lyk`, `tables/regions.txt`).
    pub files: Vec<SourceFile>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RulesetCreated {
    #[serde(flatten)]
    pub ruleset: RulesetRow,
    /// False when the same sources were stored before.
    pub created: bool,
    /// Warnings, in the JSON of `layak check --format json`.
    #[schema(value_type = Vec<Object>)]
    pub diagnostics: Vec<layak_dsl::diagnostic::JsonDiagnostic>,
}

#[utoipa::path(post, path = "/v1/rulesets", tag = "rulesets", request_body = CreateRuleset,
    responses(
        (status = 201, description = "stored", body = RulesetCreated),
        (status = 200, description = "the same sources were already stored", body = RulesetCreated),
        (status = 422, description = "the rules have errors (`RULES_INVALID`, with `diagnostics`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: super::auth::Caller,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<RulesetCreated>)> {
    let req: CreateRuleset = extract::json(body)?;
    if req.files.is_empty() || req.files.len() > MAX_FILES {
        return Err(Problem::unprocessable(
            "INVALID_REQUEST",
            format!("a ruleset has 1 to {MAX_FILES} files"),
        ));
    }
    let mut names: Vec<&str> = req.files.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
        return Err(Problem::unprocessable(
            "INVALID_REQUEST",
            "two files have the same name",
        ));
    }
    let files = req.files;
    let compilation = tokio::task::spawn_blocking(move || {
        let c = rules::compile(&files);
        (c, files)
    })
    .await
    .map_err(|e| Problem::internal(&e))?;
    let (compilation, files) = compilation;
    let diagnostics: Vec<_> = compilation
        .diagnostics
        .iter()
        .map(|d| layak_dsl::diagnostic::to_json(&compilation.sources, d))
        .collect();
    let Some(program) = compilation.program else {
        return Err(Problem::unprocessable(
            "RULES_INVALID",
            "the rules have errors; nothing was stored",
        )
        .with("diagnostics", diagnostics));
    };
    let (row, created) = state
        .store
        .insert_ruleset(
            &compilation.hash,
            &files,
            req.note.as_deref(),
            caller.actor(),
        )
        .await?;
    let rules = std::sync::Arc::clone(&state.rules);
    let hash = compilation.hash.clone();
    tokio::task::spawn_blocking(move || rules.insert(&hash, program))
        .await
        .map_err(|e| Problem::internal(&e))?
        .map_err(|e| Problem::internal(&e))?;
    tracing::info!(ruleset = row.id, hash = %row.hash, created, "ruleset stored");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(RulesetCreated {
            ruleset: row,
            created,
            diagnostics,
        }),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RulesetList {
    pub rulesets: Vec<RulesetRow>,
    pub activations: Vec<Activation>,
}

#[utoipa::path(get, path = "/v1/rulesets", tag = "rulesets",
    responses((status = 200, body = RulesetList)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<RulesetList>> {
    Ok(Json(RulesetList {
        rulesets: state.store.list_rulesets().await?,
        activations: state.store.activations().await?,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RulesetDetail {
    #[serde(flatten)]
    pub ruleset: RulesetRow,
    pub files: Vec<SourceFile>,
    pub activations: Vec<Activation>,
}

#[utoipa::path(get, path = "/v1/rulesets/{id}", tag = "rulesets",
    params(("id" = String, Path, description = "version number or content hash (8+ hex digits)")),
    responses((status = 200, body = RulesetDetail),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<RulesetDetail>> {
    let row = find(&state, &extract::path(id)?).await?;
    let files = state
        .store
        .ruleset_sources(&row.hash)
        .await?
        .unwrap_or_default();
    let activations = state
        .store
        .activations()
        .await?
        .into_iter()
        .filter(|a| a.ruleset_id == row.id)
        .collect();
    Ok(Json(RulesetDetail {
        ruleset: row,
        files,
        activations,
    }))
}

async fn find(state: &AppState, reference: &str) -> ApiResult<RulesetRow> {
    state.store.find_ruleset(reference).await?.ok_or_else(|| {
        Problem::not_found(
            "RULESET_NOT_FOUND",
            format!("no ruleset version `{reference}`"),
        )
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activate {
    /// `verification` or `determination`.
    pub stage: String,
    /// YYYY-MM-DD: jobs and evaluations with an `as_of` on or after this
    /// date use this version (until a later activation).
    pub effective_from: String,
}

#[utoipa::path(post, path = "/v1/rulesets/{id}/activate", tag = "rulesets", request_body = Activate,
    params(("id" = String, Path, description = "version number or content hash")),
    responses((status = 201, body = Activation),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn activate(
    State(state): State<AppState>,
    caller: super::auth::Caller,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Activation>)> {
    let reference = extract::path(id)?;
    let req: Activate = extract::json(body)?;
    if !STAGES.contains(&req.stage.as_str()) {
        return Err(Problem::unprocessable(
            "INVALID_STAGE",
            format!(
                "`stage` is `verification`, `qc` or `determination`, found `{}`",
                req.stage
            ),
        ));
    }
    let date = parse_date("effective_from", &req.effective_from)?;
    let row = find(&state, &reference).await?;
    let id = state
        .store
        .activate(
            row.id,
            &req.stage,
            i64::from(date.yyyymmdd()),
            caller.actor(),
        )
        .await?;
    tracing::info!(ruleset = row.id, stage = %req.stage, from = %date, "ruleset activated");
    let activation = state
        .store
        .activations()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| Problem::internal(&"the activation just stored is missing"))?;
    Ok((StatusCode::CREATED, Json(activation)))
}
