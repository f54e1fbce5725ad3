//! The register service (`layak serve`): the pipeline of `docs/domain.md`
//! over HTTP on SQLite or PostgreSQL, and stateless evaluation for other
//! systems.
//!
//! Only this module knows about HTTP and JSON bodies. The route table
//! ([`routes::table`]) is the one list of every endpoint with the
//! permission it needs; the router (each route behind [`auth::guard`]), the
//! OpenAPI check and the role matrix test are all built from it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tokio::sync::Notify;

use crate::store::Store;
use crate::store::appender::AuditAppender;

pub mod audit;
pub mod auth;
pub mod compiler;
pub mod demo;
pub mod evaluate;
pub mod export;
pub mod extract;
pub mod households;
pub mod intake;
pub mod jobs;
pub mod openapi;
pub mod pool;
pub mod privacy;
pub mod problem;
pub mod routes;
pub mod rules;
pub mod rulesets;

use problem::Problem;
use rules::RuleCache;

/// How the service is set up (flags and environment variables of
/// `layak serve`).
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: String,
    /// Static files served at `/playground`, looked up per request (the
    /// directory may be built after the service started).
    pub playground: Option<PathBuf>,
    /// Largest JSON body in bytes; NDJSON uploads stream and have no total
    /// limit, only a per-line one.
    pub max_body: usize,
    /// Largest NDJSON line in bytes.
    pub max_line: usize,
    /// Households per committed batch of a stage job.
    pub job_batch: usize,
    /// Evaluation threads of a stage job.
    pub threads: usize,
    /// How long a replica holds a running job without renewing it: another
    /// replica takes a job over this long after its replica died.
    pub job_lease: std::time::Duration,
    /// Requests a second per token on average (0: no limit).
    pub rate_limit: f64,
    /// Requests a token may send at once before the rate applies.
    pub rate_burst: u32,
    /// How long an uploaded ruleset may take to compile, queue included
    /// ([`compiler`]).
    pub compile_budget: std::time::Duration,
    /// Evaluations of `/v1/evaluate` waiting for a thread, at most
    /// ([`pool`]); past it, 503 `EVALUATION_BUSY`.
    pub eval_queue: usize,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub rules: Arc<RuleCache>,
    pub config: Arc<Config>,
    /// Wakes the job worker when a job is queued.
    pub jobs_ready: Arc<Notify>,
    /// The per-token rate limit.
    pub limiter: Arc<auth::RateLimiter>,
    /// The live tokens, in memory ([`auth::TokenCache`]).
    pub tokens: Arc<auth::TokenCache>,
    /// The group commit of audit entries ([`AuditAppender`]).
    pub audit: Arc<AuditAppender>,
    /// Where `/v1/evaluate` evaluates ([`pool`]).
    pub pool: Arc<pool::EvalPool>,
}

impl AppState {
    pub async fn new(config: Config) -> anyhow::Result<AppState> {
        let store = Arc::new(
            Store::open_explained(&config.database)
                .await?
                .with_job_lease(config.job_lease),
        );
        // The audit appender runs beside the requests for as long as the
        // runtime does; the token cache's refresh starts with the listener
        // (`serve`), after anything done before it (the demo's tokens).
        let tokens = Arc::new(auth::TokenCache::default());
        let audit = Arc::new(AuditAppender::start(Arc::clone(&store)));
        let pool = Arc::new(pool::EvalPool::start(config.threads, config.eval_queue)?);
        Ok(AppState {
            store,
            tokens,
            audit,
            pool,
            rules: Arc::new(RuleCache::new(compiler::Compiler::start(
                config.compile_budget,
            )?)),
            limiter: Arc::new(auth::RateLimiter::new(config.rate_limit, config.rate_burst)),
            config: Arc::new(config),
            jobs_ready: Arc::new(Notify::new()),
        })
    }
}

/// The actor of work the service does on its own (the demo's loading);
/// requests act as their token ([`auth::Caller::actor`]), jobs as the
/// caller who queued them.
pub const SYSTEM: &str = crate::store::SYSTEM;

/// The whole router: the route table, the playground, and problem+json for
/// everything that matches nothing.
pub fn router(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for (route, handler) in routes::table() {
        let guard = auth::Guard {
            state: state.clone(),
            permission: route.permission,
        };
        router = router.route(
            route.path,
            handler.route_layer(axum::middleware::from_fn_with_state(guard, auth::guard)),
        );
    }
    let playground = state.config.playground.clone();
    let mut router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body))
        .with_state(state);
    // The page's URLs are relative, so it must be loaded from
    // `/playground/`: `/playground` redirects there. The directory is
    // looked at per request, so a playground built after the service
    // started is served at once.
    router = router
        .nest_service(
            "/playground",
            axum::routing::any(playground_files).with_state(Arc::new(playground)),
        )
        .layer(axum::middleware::from_fn(playground_slash));
    router.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |_: Box<dyn std::any::Any + Send>| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "the service could not complete the request; it was logged",
            )
            .into_response()
        },
    ))
}

async fn not_found() -> Problem {
    Problem::not_found(
        "NOT_FOUND",
        "no such endpoint; the API is described at /openapi.json",
    )
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "this endpoint does not take that method; see /openapi.json",
    )
}

async fn playground_slash(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request.uri().path() == "/playground" {
        return axum::response::Redirect::permanent("/playground/").into_response();
    }
    next.run(request).await
}

/// A file of the playground, or the page that says how to build it when
/// `dir` has no `index.html` (yet).
async fn playground_files(
    axum::extract::State(dir): axum::extract::State<Arc<Option<PathBuf>>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let Some(dir) = dir.as_ref().as_ref() else {
        return playground_missing(None);
    };
    if !dir.join("index.html").is_file() {
        return playground_missing(Some(dir));
    }
    let mut files =
        tower_http::services::ServeDir::new(dir.as_path()).append_index_html_on_directories(true);
    match files.try_call(request).await {
        Ok(response) => response.map(axum::body::Body::new),
        Err(e) => {
            tracing::warn!(error = %e, "reading a playground file");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "the playground's file could not be read; it was logged",
            )
            .into_response()
        }
    }
}

/// The 404 page of an unbuilt playground: the command that builds it.
fn playground_missing(dir: Option<&std::path::Path>) -> axum::response::Response {
    let looked = dir.map_or_else(
        || "no playground directory (<code>--playground DIR</code>) is set".to_string(),
        |d| {
            format!(
                "<code>{}</code> has no <code>index.html</code>",
                html_escape(&d.display().to_string())
            )
        },
    );
    (
        StatusCode::NOT_FOUND,
        [("content-type", "text/html; charset=utf-8")],
        format!(
            "<!doctype html><meta charset=utf-8><title>Layak playground not built</title>\
             <h1>The playground is not built</h1>\
             <p>{looked}. Build it from the repository's root with</p>\
             <pre>./scripts/playground-build</pre>\
             <p>It writes <code>web-playground/dist</code>, the directory <code>layak serve</code> \
             serves by default (another with <code>--playground DIR</code>); it needs Node.js 18.15 \
             or newer with npm (see <code>web-playground/README.md</code>). Then reload this page: \
             the service finds the files without a restart.</p>"
        ),
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn serve(state: AppState, on_listen: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(state.config.listen).await?;
    let addr = listener.local_addr()?;
    let interrupted = state.store.interrupt_uploads().await?;
    if interrupted > 0 {
        tracing::warn!(jobs = interrupted, "uploads cut off by the last stop");
    }
    tokio::spawn(crate::jobs::run(state.clone()));
    if let Err(e) = state.tokens.refresh(&state.store).await {
        tracing::warn!(error = %e, "reading the tokens; they are read per request until it works");
    }
    tokio::spawn(refresh_caches(state.clone()));
    on_listen(addr);
    tracing::info!(%addr, "listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

/// Keeps what requests read from memory in step with the database, every
/// [`auth::TOKEN_REFRESH`], for as long as the service runs: the live
/// tokens ([`auth::TokenCache`]) and which rule version is active
/// ([`RuleCache::refresh_active`]). Each looks at a cheap stamp of its
/// table and reloads only when it changed, so a revocation or an
/// activation by another process reaches this one within a second.
async fn refresh_caches(state: AppState) {
    let mut tick = tokio::time::interval(auth::TOKEN_REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        let tokens = state.tokens.refresh(&state.store).await;
        let active = state.rules.refresh_active(&state.store).await;
        match tokens.and(active) {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "refreshing the token and ruleset caches failed; requests read the database until it works again");
            }
            Err(_) => {}
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// A date in a request, `YYYY-MM-DD`, as yyyymmdd.
pub fn parse_date(field: &str, text: &str) -> Result<layak_dsl::date::Date, Problem> {
    layak_dsl::date::Date::parse(text).ok_or_else(|| {
        Problem::unprocessable(
            "INVALID_DATE",
            format!("`{field}` must be a date written YYYY-MM-DD, found `{text}`"),
        )
    })
}

/// Today's date, for resolving the ruleset in force when a request names no
/// date (proposal intake).
pub fn today() -> i64 {
    let days = crate::store::now_ms() / 86_400_000;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    y * 10_000 + m * 100 + d
}
