//! The route table: every endpoint, its handler and the permission it
//! needs. The router is built from it (each route behind
//! [`super::auth::guard`] with its permission), a test checks the OpenAPI
//! document against it, and the role matrix test is generated from it, so
//! a route cannot be added without being covered.

use axum::http::Method;
use axum::routing::{MethodRouter, get, post};

use super::{AppState, audit, evaluate, export, households, jobs, openapi, rulesets};

/// What a caller must be allowed to do to use a route;
/// [`super::auth::Role::allows`] maps roles to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Health and the API description: no token needed.
    Public,
    /// Read ruleset versions and activations.
    ReadRules,
    /// Store ruleset versions and activate them (policy authors).
    AuthorRules,
    /// Propose households (district operators, within their region).
    Propose,
    /// Run verification (district operators, within their region).
    Verify,
    /// Run quality control and determination (the ministry).
    Review,
    /// Read stored households, their history and decisions.
    ReadRegister,
    /// Follow and cancel jobs.
    Jobs,
    /// Export a programme's beneficiary list (programme partners).
    Export,
    /// Stateless evaluation for other systems.
    Evaluate,
    /// What-if over the stored register (policy authors).
    Impact,
    /// Read the audit trail (auditors).
    Audit,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    /// axum and OpenAPI syntax: `/v1/jobs/{id}`.
    pub path: &'static str,
    pub permission: Permission,
}

fn route(method: Method, path: &'static str, permission: Permission) -> Route {
    Route {
        method,
        path,
        permission,
    }
}

/// Every route with its handler.
pub fn table() -> Vec<(Route, MethodRouter<AppState>)> {
    use Permission::*;
    vec![
        (route(Method::GET, "/health", Public), get(health)),
        (
            route(Method::GET, "/openapi.json", Public),
            get(openapi::document),
        ),
        (
            route(Method::POST, "/v1/rulesets", AuthorRules),
            post(rulesets::create),
        ),
        (
            route(Method::GET, "/v1/rulesets", ReadRules),
            get(rulesets::list),
        ),
        (
            route(Method::GET, "/v1/rulesets/{id}", ReadRules),
            get(rulesets::show),
        ),
        (
            route(Method::POST, "/v1/rulesets/{id}/activate", AuthorRules),
            post(rulesets::activate),
        ),
        (
            route(Method::POST, "/v1/households", Propose),
            post(households::propose),
        ),
        (
            route(Method::GET, "/v1/households", ReadRegister),
            get(households::list),
        ),
        (
            route(Method::GET, "/v1/households/{id}", ReadRegister),
            get(households::show),
        ),
        (
            route(Method::GET, "/v1/register", ReadRegister),
            get(households::counts),
        ),
        (
            route(Method::POST, "/v1/jobs/verification", Verify),
            post(jobs::verification),
        ),
        (route(Method::POST, "/v1/jobs/qc", Review), post(jobs::qc)),
        (
            route(Method::POST, "/v1/jobs/determination", Review),
            post(jobs::determination),
        ),
        (route(Method::GET, "/v1/jobs", Jobs), get(jobs::list)),
        (route(Method::GET, "/v1/jobs/{id}", Jobs), get(jobs::show)),
        (
            route(Method::GET, "/v1/jobs/{id}/errors", Jobs),
            get(jobs::errors),
        ),
        (
            route(Method::POST, "/v1/jobs/{id}/cancel", Jobs),
            post(jobs::cancel),
        ),
        (
            route(
                Method::GET,
                "/v1/programmes/{programme}/beneficiaries",
                Export,
            ),
            get(export::beneficiaries),
        ),
        (
            route(Method::POST, "/v1/evaluate", Evaluate),
            post(evaluate::evaluate),
        ),
        (
            route(Method::POST, "/v1/impact", Impact),
            post(evaluate::impact),
        ),
        (route(Method::GET, "/v1/audit", Audit), get(audit::list)),
    ]
}

/// The routes alone, for the OpenAPI check and the role matrix.
pub fn list() -> Vec<Route> {
    table().into_iter().map(|(r, _)| r).collect()
}

#[utoipa::path(get, path = "/health", tag = "service", security(()),
    responses((status = 200, description = "the service and its database answer", body = Object)))]
pub async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<axum::Json<serde_json::Value>, super::problem::Problem> {
    sqlx::query("SELECT 1").execute(state.store.pool()).await?;
    Ok(axum::Json(
        serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
    ))
}
