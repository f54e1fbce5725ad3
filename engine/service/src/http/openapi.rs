//! The OpenAPI document, generated from the handlers' annotations and
//! served at `/openapi.json`. A test checks that it lists every route of the
//! route table with the right method.

use axum::Json;
use utoipa::OpenApi;

use super::{audit, evaluate, export, households, jobs, problem, routes, rulesets};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Layak register service",
        description = "The pipeline of the social-welfare register (proposal, verification, \
            quality control, determination, use) and stateless evaluation. Every error is \
            `application/problem+json` with a stable `code`."
    ),
    paths(
        routes::health,
        document,
        rulesets::create,
        rulesets::list,
        rulesets::show,
        rulesets::activate,
        households::propose,
        households::list,
        households::show,
        households::counts,
        jobs::verification,
        jobs::qc,
        jobs::determination,
        jobs::list,
        jobs::show,
        jobs::errors,
        jobs::cancel,
        export::beneficiaries,
        evaluate::evaluate,
        evaluate::impact,
        audit::list,
    ),
    components(schemas(problem::Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// Every endpoint but `/health` and this document takes
/// `authorization: Bearer layak_...` (see `layak token create`).
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[utoipa::path(get, path = "/openapi.json", tag = "service", security(()),
    responses((status = 200, description = "this document", body = Object)))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
