//! `/v1/rulesets`: store a version (or get its diagnostics), list, show,
//! and activate a version for a stage from an effective date.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::store::rulesets::{Activation, RulesetRow, SourceFile};

use super::compiler::{Built, rules_invalid};
use super::problem::{ApiResult, Problem};
use super::rules::Compilation;
use super::{AppState, extract, parse_date};

mod archive;

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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CreateQuery {
    /// The note of a version sent as a tar archive (the JSON form carries
    /// its own `note`).
    pub note: Option<String>,
}

/// The media type of a tar archive of the rules directory.
pub const TAR: &str = "application/x-tar";

#[utoipa::path(post, path = "/v1/rulesets", tag = "rulesets",
    params(CreateQuery),
    request_body(description = "the rule files as JSON (`application/json`), or the rules directory \
        as a tar archive (`application/x-tar`, as `tar -C rules -c .` or the playground's \
        \"Download rules\" make it): its `.lyk` and `.txt` files are read as `layak check` \
        reads a directory, skipping `tests/` and every other entry; an archive of one folder \
        (`rules/...`) is read as that folder",
        content((CreateRuleset = "application/json"), ("application/x-tar"))),
    responses(
        (status = 201, description = "stored", body = RulesetCreated),
        (status = 200, description = "the same sources were already stored", body = RulesetCreated),
        (status = 413, description = "the body is larger than `--max-body` (`BODY_TOO_LARGE`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the rules have errors (`RULES_INVALID`, with `diagnostics`; E0907 when compiling them takes longer than `--compile-budget`), or a file name or count is refused, or the archive is not a tar of a rules directory (`INVALID_REQUEST`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the compile queue is full (`COMPILER_BUSY`, with `Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: super::auth::Caller,
    query: Result<Query<CreateQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<RulesetCreated>)> {
    let query = extract::query(query)?;
    let req = if is_tar(&headers) {
        let bytes = extract::bytes(body)?;
        let files = archive::read_files(&bytes)
            .map_err(|detail| Problem::unprocessable("INVALID_REQUEST", detail))?;
        CreateRuleset {
            files,
            note: query.note,
        }
    } else {
        let req: CreateRuleset = extract::json(body)?;
        match (req.note, query.note) {
            (Some(_), Some(_)) => {
                return Err(Problem::unprocessable(
                    "INVALID_REQUEST",
                    "the note is given twice: in the body and as `?note=`",
                ));
            }
            (body_note, query_note) => CreateRuleset {
                files: req.files,
                note: body_note.or(query_note),
            },
        }
    };
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
    if let Some(bad) = req.files.iter().find_map(|f| bad_name(&f.name)) {
        return Err(Problem::unprocessable("INVALID_REQUEST", bad));
    }
    // Compiled off the request path, within the compile budget
    // (`compiler.rs`); stored only when every pass passed, the module
    // included.
    let (built, files) = state.rules.compiler().upload(req.files).await?;
    let (compiled, compilation) = match built {
        Built::Ready(compiled, compilation) => (compiled, compilation),
        Built::Invalid(compilation) => {
            return Err(rules_invalid(json_diagnostics(&compilation)));
        }
    };
    let diagnostics = json_diagnostics(&compilation);
    let (row, created) = state
        .store
        .insert_ruleset(
            &compilation.hash,
            &files,
            req.note.as_deref(),
            caller.actor(),
        )
        .await?;
    state.rules.keep(compiled);
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

/// Whether the body is a tar archive (`content-type: application/x-tar`,
/// parameters aside); anything else is read as JSON.
fn is_tar(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(TAR))
}

/// The diagnostics of a compilation, in the JSON of `layak check --format
/// json`.
fn json_diagnostics(c: &Compilation) -> Vec<layak_dsl::diagnostic::JsonDiagnostic> {
    c.diagnostics
        .iter()
        .map(|d| layak_dsl::diagnostic::to_json(&c.sources, d))
        .collect()
}

/// Why a file name cannot name a rule file or table: it must be a relative
/// path of `/`-separated parts, none empty, `.` or `..`, with no `\`, `:`
/// or control character, at most 255 bytes. Names are only keys
/// (imports and tables are looked up among the uploaded files, nothing is
/// read from or written to disk), but a name that would escape a rules
/// directory is refused, as `layak check` could never have read it.
fn bad_name(name: &str) -> Option<String> {
    let shown: String = name.chars().take(80).flat_map(char::escape_debug).collect();
    let parts_ok = name
        .split('/')
        .all(|part| !part.is_empty() && part != "." && part != "..");
    let chars_ok = !name
        .chars()
        .any(|c| c.is_control() || c == '\\' || c == ':');
    (name.len() > 255 || !parts_ok || !chars_ok).then(|| {
        format!("the file name `{shown}` is not a relative path inside the rules directory")
    })
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
    // This service uses it from the next request; other replicas within a
    // refresh of their caches.
    state.rules.forget_active();
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
