//! Access control: bearer tokens, roles, the caller's scope, and the
//! per-token rate limit.
//!
//! Every route of the table ([`super::routes::table`]) is wrapped in
//! [`guard`] with the [`Permission`] it needs: a public route answers
//! anyone; any other needs a live token (401 `UNAUTHENTICATED` otherwise),
//! within its rate (429 `RATE_LIMITED`), whose role has the permission (403
//! `FORBIDDEN`). The handler then gets the [`Caller`], whose
//! [`Caller::scope_for`] limits every read of stored records; a record
//! outside the scope is answered as missing (404), never 403.
//!
//! Tokens are checked from memory ([`TokenCache`]): a request does not read
//! the database to know its caller, and a revocation reaches every process
//! on the database within a second.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::store::access::{TokenRow, TokenStamp, token_hash};
use crate::store::jobs::JobOwner;
use crate::store::{DbResult, Scope, Store};

use super::AppState;
use super::problem::{ApiResult, Problem};
use super::routes::Permission;

/// The roles of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, in every region.
    Admin,
    /// Rulesets (store, activate), stateless evaluation and impact.
    PolicyAuthor,
    /// Quality control, determination, the register and exports, in every
    /// region.
    MinistryReviewer,
    /// Proposal, verification, the register and jobs, within its region
    /// prefix.
    DistrictOperator,
    /// Its programme's beneficiary lists (subjects masked) and stateless
    /// evaluation.
    ProgrammePartner,
    /// The audit trail.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::PolicyAuthor,
        Role::MinistryReviewer,
        Role::DistrictOperator,
        Role::ProgrammePartner,
        Role::Auditor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::PolicyAuthor => "policy_author",
            Role::MinistryReviewer => "ministry_reviewer",
            Role::DistrictOperator => "district_operator",
            Role::ProgrammePartner => "programme_partner",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == text)
    }

    /// The one table of what each role may do.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::PolicyAuthor => matches!(
                permission,
                Public | ReadRules | AuthorRules | Evaluate | Impact
            ),
            Role::MinistryReviewer => matches!(
                permission,
                Public | ReadRules | Review | ReadRegister | Jobs | Export | Evaluate
            ),
            Role::DistrictOperator => matches!(
                permission,
                Public | ReadRules | Propose | Verify | ReadRegister | Jobs | Evaluate
            ),
            Role::ProgrammePartner => matches!(permission, Public | ReadRules | Export | Evaluate),
            Role::Auditor => matches!(permission, Public | Audit),
        }
    }

    /// Whether the role's exports show NIKs and family cards in full.
    pub fn sees_identities(self) -> bool {
        !matches!(self, Role::ProgrammePartner)
    }
}

/// Checks the scope given to a new token: a district operator needs a
/// region, a programme partner a programme; the admin and the auditor take
/// neither (their work is not per region).
pub fn check_token_scope(
    role: Role,
    region: Option<&str>,
    programme: Option<&str>,
) -> Result<(), String> {
    if let Some(r) = region
        && (r.is_empty() || r.len() > 10 || !r.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!(
            "a region is a prefix of a 10-digit desa_code (`33`, `3310`), found `{r}`"
        ));
    }
    if let Some(p) = programme
        && (p.is_empty()
            || p.len() > 32
            || !p
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
    {
        return Err(format!(
            "a programme is a code like `PKH` or `PBI_JK`, found `{p}`"
        ));
    }
    match role {
        Role::DistrictOperator if region.is_none() => {
            Err("a district_operator token needs --region".to_string())
        }
        Role::ProgrammePartner if programme.is_none() => {
            Err("a programme_partner token needs --programme".to_string())
        }
        Role::Admin | Role::Auditor if region.is_some() || programme.is_some() => Err(format!(
            "a {} token takes no --region or --programme",
            role.name()
        )),
        Role::PolicyAuthor | Role::MinistryReviewer | Role::DistrictOperator
            if programme.is_some() =>
        {
            Err(format!("a {} token takes no --programme", role.name()))
        }
        _ => Ok(()),
    }
}

/// A new token's secret: 32 random bytes from the OS, `layak_<64 hex>`.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("layak_{}", layak_host::hex::encode(&bytes)))
}

/// Who is calling: the token behind the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub region: Option<String>,
    pub programme: Option<String>,
    actor: String,
}

impl Caller {
    fn from_row(row: TokenRow) -> Option<Caller> {
        let role = Role::parse(&row.role)?;
        Some(Caller {
            actor: format!("{}#{}", row.name, row.id),
            id: row.id,
            name: row.name,
            role,
            region: row.region,
            programme: row.programme,
        })
    }

    /// What events, jobs and the audit trail record: `name#id`.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The caller's scope, further limited to the region a request asks
    /// for. A requested region that does not overlap the caller's is
    /// answered as a missing one (404 `REGION_NOT_FOUND`); a wider one is
    /// narrowed to the caller's.
    pub fn scope_for(&self, requested: Option<&str>) -> ApiResult<Scope> {
        if let (Some(mine), Some(asked)) = (self.region.as_deref(), requested)
            && !asked.starts_with(mine)
            && !mine.starts_with(asked)
        {
            return Err(Problem::not_found(
                "REGION_NOT_FOUND",
                format!("no region `{asked}` in the register"),
            ));
        }
        Ok(Scope {
            regions: self.region.iter().cloned().collect(),
            programme: self.programme.clone(),
        }
        .and_region(requested))
    }

    /// What a job this caller creates acts as, and where it is visible.
    pub fn job_owner(&self) -> JobOwner<'_> {
        JobOwner {
            actor: &self.actor,
            scope_region: self.region.as_deref(),
        }
    }

    /// The caller's whole scope.
    pub fn scope(&self) -> Scope {
        Scope {
            regions: self.region.iter().cloned().collect(),
            programme: self.programme.clone(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, Response> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| unauthenticated("this endpoint needs a token"))
    }
}

fn unauthenticated(detail: &str) -> Response {
    let mut response =
        Problem::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", detail).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"layak\""),
    );
    response
}

/// What [`guard`] needs for one route.
#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    pub permission: Permission,
}

/// The middleware in front of every route of the table.
pub async fn guard(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    if guard.permission == Permission::Public {
        return next.run(request).await;
    }
    let secret = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| t.starts_with("layak_") && t.len() <= 128)
        .map(str::to_string);
    let Some(secret) = secret else {
        return unauthenticated("send a token: `authorization: Bearer layak_...`");
    };
    let caller = match guard
        .state
        .tokens
        .caller(&guard.state.store, &token_hash(&secret))
        .await
    {
        Ok(caller) => caller,
        Err(e) => return Problem::from(e).into_response(),
    };
    let Some(caller) = caller else {
        return unauthenticated("the token is not known or was revoked");
    };
    if let Err(retry_after) = guard.state.limiter.check(caller.id) {
        let mut response = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("too many requests for this token; retry in {retry_after} s"),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    if !caller.role.allows(guard.permission) {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!("a {} token may not use this endpoint", caller.role.name()),
        )
        .into_response();
    }
    // Record ids are in some paths; never a NIK or a name (query strings
    // carry only regions, periods, statuses and cursors).
    tracing::debug!(
        token = caller.id,
        role = caller.role.name(),
        method = %request.method(),
        path = %request.uri().path(),
        "request"
    );
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// How often [`TokenCache::refresh`] runs (and the cache of active rule
/// versions is checked): a revoked token is refused on every replica within
/// about this long (and always within one second).
pub const TOKEN_REFRESH: Duration = Duration::from_millis(250);

/// How old the last successful refresh may be before the cache is not
/// trusted and each request looks its token up in the database again (the
/// database is unreachable, or the refresh task is starved).
pub const TOKEN_STALE: Duration = Duration::from_millis(750);

/// The live tokens, by the SHA-256 of their secret, held in memory so that
/// a request does not read the database to know its caller.
///
/// A background task (`super::refresh_caches`) reads the tokens table's
/// [`TokenStamp`] every [`TOKEN_REFRESH`] (one cheap query); when it changed
/// (a token revoked, created or deleted, by this process, `layak token` or
/// another replica), the live tokens are loaded again and replace the map,
/// so a revoked token is refused within a refresh and a query on every
/// replica. A token the map does not hold is looked up in the database, so
/// a token created a moment ago works at once; an unknown secret is never
/// remembered, so it is looked up each time, as before the cache. The cache
/// is used only while its last refresh is younger than [`TOKEN_STALE`].
pub struct TokenCache {
    inner: RwLock<CacheState>,
}

struct CacheState {
    callers: HashMap<String, Caller>,
    stamp: Option<TokenStamp>,
    /// When the last successful refresh started (what it read is at least
    /// this fresh).
    checked: Option<Instant>,
    /// Bumped whenever the map is replaced, so a database lookup that
    /// started before a reload does not put back a token the reload
    /// dropped.
    generation: u64,
}

impl Default for TokenCache {
    fn default() -> TokenCache {
        TokenCache {
            inner: RwLock::new(CacheState {
                callers: HashMap::new(),
                stamp: None,
                checked: None,
                generation: 0,
            }),
        }
    }
}

impl TokenCache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, CacheState> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, CacheState> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The caller whose secret hashes to `hash`, if its token is live.
    pub async fn caller(&self, store: &Store, hash: &str) -> DbResult<Option<Caller>> {
        let generation = {
            let state = self.read();
            let fresh = state.checked.is_some_and(|t| t.elapsed() < TOKEN_STALE);
            if fresh && let Some(caller) = state.callers.get(hash) {
                return Ok(Some(caller.clone()));
            }
            state.generation
        };
        let Some(caller) = store.live_token(hash).await?.and_then(Caller::from_row) else {
            return Ok(None);
        };
        let mut state = self.write();
        if state.generation == generation {
            state.callers.insert(hash.to_string(), caller.clone());
        }
        Ok(Some(caller))
    }

    /// Checks the tokens table once: reloads the live tokens when its stamp
    /// changed.
    pub async fn refresh(&self, store: &Store) -> DbResult<()> {
        let started = Instant::now();
        // The stamp first, then the rows: a change between the two is seen
        // again by the next refresh.
        let stamp = store.token_stamp().await?;
        if self.read().stamp == Some(stamp) {
            self.write().checked = Some(started);
            return Ok(());
        }
        let rows = store.live_tokens().await?;
        let callers: HashMap<String, Caller> = rows
            .into_iter()
            .filter_map(|(hash, row)| Caller::from_row(row).map(|c| (hash, c)))
            .collect();
        let mut state = self.write();
        state.callers = callers;
        state.stamp = Some(stamp);
        state.checked = Some(started);
        state.generation = state.generation.wrapping_add(1);
        Ok(())
    }
}

/// A token bucket per token: `rate` requests a second on average, bursts
/// of up to `burst`. In memory: a restart refills every bucket.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` 0 turns the limit off.
    pub fn new(rate: f64, burst: u32) -> RateLimiter {
        RateLimiter {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the token's bucket, or says in how many
    /// whole seconds one will be there.
    pub fn check(&self, token: i64) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (level, last) = buckets.entry(token).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.rate;
        *level = (*level + refill).min(self.burst);
        *last = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *level) / self.rate).ceil();
            // At least one second, and a bounded number (rate > 0).
            Err(if wait.is_finite() && wait >= 1.0 {
                wait.min(86_400.0) as u64
            } else {
                1
            })
        }
    }
}
