//! The register's storage: one code path over sqlx's `Any` driver, so an
//! embedded SQLite file and a PostgreSQL server run the same queries.
//!
//! Portable SQL only: `$1` placeholders (SQLite reads them by number too),
//! `INSERT ... RETURNING id`, `ON CONFLICT DO NOTHING`, integers for money
//! (rupiah), times (milliseconds since the epoch) and dates (yyyymmdd), and
//! a NULL bound with its column's type ([`Arg::NullInt`], [`Arg::NullText`]:
//! PostgreSQL refuses a text NULL for a BIGINT column). Each backend has its
//! own migrations (`engine/service/migrations/{sqlite,postgres}`), embedded
//! in the binary; on PostgreSQL the text columns that are ordered, compared
//! by range or matched with `LIKE` compare bytes (`COLLATE "C"`), as
//! SQLite's do, so pages, cursors and listings come in the same order.
//!
//! Writes go through [`Store::begin_write`] (the [`write_tx!`] macro), one
//! transaction at a time: in this process behind a mutex (SQLite has one
//! writer anyway, and a deferred SQLite transaction that reads before it
//! writes could otherwise fail with `SQLITE_BUSY` instead of waiting), and on
//! PostgreSQL also across processes (`layak token create` beside a running
//! service) by a transaction-scoped advisory lock, so the audit trail's
//! read-the-head-then-append is never raced on either backend.
//!
//! Every query that reads stored records for a caller goes through
//! [`Scope::restrict`], the one place where access control adds the
//! caller's region prefix and programme.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyArguments, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, AssertSqlSafe, SqlSafeStr as _, Transaction};
use tokio::sync::{Mutex, MutexGuard};

/// Runs a block (ending in `Ok(..)`) in one write transaction bound to
/// `$tx`, committed when the block gives `Ok`, rolled back on `Err`; the
/// whole is a [`DbResult`].
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:block) => {
        async {
            let mut write = $store.begin_write().await?;
            let value: $crate::store::DbResult<_> = {
                let $tx: &mut $crate::store::Tx = &mut write.tx;
                $body
            };
            let value = value?;
            write.commit().await?;
            Ok::<_, sqlx::Error>(value)
        }
        .await
    };
}
pub(crate) use write_tx;

pub mod access;
pub mod appender;
pub mod decisions;
pub mod households;
pub mod jobs;
pub mod rulesets;

pub type Tx = Transaction<'static, Any>;

/// The actor of work the service does on its own (events, jobs, audit).
pub const SYSTEM: &str = "system";
pub type DbResult<T> = Result<T, sqlx::Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The key of the PostgreSQL advisory lock every write transaction holds
/// (`pg_advisory_xact_lock`): the one-writer rule of SQLite, across every
/// process on the database. Any fixed number would do; this one spells
/// "layak" in ASCII.
const WRITE_LOCK_KEY: i64 = 0x6c_61_79_61_6b;

pub struct Store {
    pool: AnyPool,
    backend: Backend,
    write_lock: Mutex<()>,
    /// This process among the replicas on the database: the owner of the
    /// jobs it runs ([`jobs`]).
    replica: String,
    /// How long a job's lease lasts without a heartbeat, in milliseconds.
    job_lease_ms: i64,
    /// SQLite: the WAL checkpoint, run after a commit at most every
    /// [`CHECKPOINT_EVERY_MS`] on a connection of its own (see
    /// [`Store::checkpoint_soon`]).
    checkpoint: Arc<Checkpoint>,
}

/// When the last WAL checkpoint started, and whether one is running.
#[derive(Debug, Default)]
struct Checkpoint {
    started_ms: AtomicI64,
    running: AtomicBool,
}

/// How often at most a SQLite WAL checkpoint starts.
const CHECKPOINT_EVERY_MS: i64 = 1000;

/// How long a job's lease lasts unless [`Store::with_job_lease`] says
/// otherwise.
pub const DEFAULT_JOB_LEASE: std::time::Duration = std::time::Duration::from_secs(10);

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "register",
        include_str!("../../migrations/sqlite/0001_register.sql"),
    ),
    (
        2,
        "access",
        include_str!("../../migrations/sqlite/0002_access.sql"),
    ),
    (
        3,
        "replicas",
        include_str!("../../migrations/sqlite/0003_replicas.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "register",
        include_str!("../../migrations/postgres/0001_register.sql"),
    ),
    (
        2,
        "access",
        include_str!("../../migrations/postgres/0002_access.sql"),
    ),
    (
        3,
        "replicas",
        include_str!("../../migrations/postgres/0003_replicas.sql"),
    ),
];

/// A database URL from what the user gave: a URL as is, or a file path for
/// SQLite (created when missing).
pub fn database_url(given: &str) -> String {
    if given.contains("://") || given.starts_with("sqlite:") {
        given.to_string()
    } else {
        format!("sqlite://{given}?mode=rwc")
    }
}

/// The database as logs and the demo's banner show it: a URL's password
/// replaced by `***` (a PostgreSQL URL may carry one), anything else as
/// given.
pub fn redacted_url(given: &str) -> String {
    let Some((scheme, rest)) = given.split_once("://") else {
        return given.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => given.to_string(),
        },
        None => given.to_string(),
    }
}

/// Why `given` could not be opened, in one line for a person: the database
/// as [`redacted_url`] shows it, the driver's or the server's message (once,
/// without sqlx's repeated source), and what to check.
pub fn open_error(given: &str, err: &sqlx::Error) -> anyhow::Error {
    let shown = redacted_url(given);
    let url = database_url(given);
    let message = match err.as_database_error() {
        Some(db) => db.message().to_string(),
        None => err.to_string(),
    };
    let message = match message.split_once(": ") {
        // sqlx prints a wrapped error as "outer: inner" where the outer
        // repeats the inner.
        Some((outer, inner)) if outer.ends_with(inner) || outer == inner => outer.to_string(),
        _ => message,
    };
    let hint = if matches!(err, sqlx::Error::Tls(_)) {
        "this build connects to PostgreSQL without TLS: use `sslmode=disable` (or leave `sslmode` out) on a trusted network"
    } else if matches!(err, sqlx::Error::Configuration(_)) && !url.starts_with("postgres") {
        "give a SQLite file path or a `postgres://USER:PASSWORD@HOST:PORT/DB` URL"
    } else if url.starts_with("postgres") {
        "check that the server runs and answers at that address, that the database exists (`createdb`), and that the user may create tables in it"
    } else {
        "check that the file's directory exists and is writable"
    };
    anyhow::anyhow!("cannot open the database `{shown}`: {message}\nhelp: {hint}")
}

impl Store {
    /// [`Store::open`], its error explained by [`open_error`].
    pub async fn open_explained(given: &str) -> anyhow::Result<Store> {
        Store::open(given).await.map_err(|e| open_error(given, &e))
    }

    /// Connects, sets SQLite up for a service (WAL, so readers never wait for
    /// the writer) and runs the migrations.
    pub async fn open(url: &str) -> DbResult<Store> {
        sqlx::any::install_default_drivers();
        let url = database_url(url);
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        if backend == Backend::Postgres {
            // One plain connection first: a refused or unreachable server
            // fails at once with the system's reason, where the pool would
            // retry until its timeout and say only that it timed out.
            use sqlx::Connection as _;
            sqlx::AnyConnection::connect(&url).await?.close().await?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // NORMAL is safe in WAL mode against a process crash
                        // (kill -9): only a power loss can undo the last
                        // commits, never corrupt the file.
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        // Not in the committing transaction: SQLite's
                        // automatic checkpoint copies the WAL into the
                        // database and syncs it inside whichever commit
                        // crosses 1,000 pages, which then takes tens of
                        // milliseconds while every writer waits behind it.
                        // `Store::checkpoint_soon` runs it beside them.
                        sqlx::query("PRAGMA wal_autocheckpoint = 0")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        let store = Store {
            pool,
            backend,
            write_lock: Mutex::new(()),
            checkpoint: Arc::default(),
            replica: replica_id(),
            job_lease_ms: lease_ms(DEFAULT_JOB_LEASE),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> DbResult<()> {
        let list = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        let migrations = list
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect();
        let migrator = Migrator::with_migrations(migrations);
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| sqlx::Error::Migrate(Box::new(e)))
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This store with another job lease (`layak serve --job-lease`).
    #[must_use]
    pub fn with_job_lease(mut self, lease: std::time::Duration) -> Store {
        self.job_lease_ms = lease_ms(lease);
        self
    }

    /// This process's replica id: `<pid>-<8 random hex digits>`, what a
    /// job's `owner` names.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// The job lease in milliseconds.
    pub fn job_lease_ms(&self) -> i64 {
        self.job_lease_ms
    }

    /// Starts the one write transaction; use it through [`write_tx!`],
    /// which commits when the body returns `Ok`. On PostgreSQL it waits for
    /// the database-wide write lock too, released at commit or rollback; on
    /// SQLite the transaction is `IMMEDIATE`, so it takes the file's write
    /// lock at once (waiting up to the busy timeout for another process,
    /// such as a second replica or `layak token`), rather than reading
    /// first and failing with `SQLITE_BUSY` when it comes to write.
    pub async fn begin_write(&self) -> DbResult<WriteTx<'_>> {
        let guard = self.write_lock.lock().await;
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        Ok(WriteTx {
            _guard: guard,
            tx,
            store: self,
        })
    }

    /// SQLite: starts a passive WAL checkpoint on a connection of its own
    /// unless one ran in the last [`CHECKPOINT_EVERY_MS`] or is running. A
    /// passive checkpoint takes no write lock: writers go on committing to
    /// the WAL while it copies, and the sync it ends with is its own.
    fn checkpoint_soon(&self) {
        if self.backend != Backend::Sqlite {
            return;
        }
        let now = now_ms();
        let last = self.checkpoint.started_ms.load(Ordering::Relaxed);
        if now - last < CHECKPOINT_EVERY_MS || self.checkpoint.running.swap(true, Ordering::AcqRel)
        {
            return;
        }
        self.checkpoint.started_ms.store(now, Ordering::Relaxed);
        let (pool, checkpoint) = (self.pool.clone(), Arc::clone(&self.checkpoint));
        tokio::spawn(async move {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "WAL checkpoint failed; the next commit tries again");
            }
            checkpoint.running.store(false, Ordering::Release);
        });
    }
}

/// A write transaction holding the process's write lock. Dropped without
/// [`WriteTx::commit`], it rolls back.
pub struct WriteTx<'s> {
    _guard: MutexGuard<'s, ()>,
    pub tx: Tx,
    store: &'s Store,
}

impl WriteTx<'_> {
    pub async fn commit(self) -> DbResult<()> {
        let WriteTx { _guard, tx, store } = self;
        tx.commit().await?;
        drop(_guard);
        store.checkpoint_soon();
        Ok(())
    }
}

/// A replica id unique to this process: its pid (so a person, or a test,
/// can tell which process holds a job) and random digits (pids repeat
/// across hosts and restarts).
fn replica_id() -> String {
    let mut bytes = [0u8; 4];
    // Without randomness the pid and the clock still tell processes apart.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = u32::try_from(now_ms() & 0xffff_ffff)
            .unwrap_or(0)
            .to_be_bytes();
    }
    format!("{}-{}", std::process::id(), layak_host::hex::encode(&bytes))
}

fn lease_ms(lease: std::time::Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// Milliseconds since the Unix epoch: the stamp of events and jobs.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A bound value of a [`Sql`] statement. A NULL carries its column's
/// type: PostgreSQL checks it (SQLite binds both alike).
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    NullText,
    NullInt,
}

/// A statement built from parts, with `$n` placeholders numbered as values
/// are bound, for the queries whose conditions depend on the request.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    /// The text without its placeholders.
    text: String,
    args: Vec<Arg>,
    /// Where each argument's placeholder goes in `text`.
    marks: Vec<usize>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
            marks: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Sql {
        self.args.push(arg);
        self.marks.push(self.text.len());
        self
    }

    /// The statement for `backend`: placeholders `$1`, `$2`, ... on
    /// PostgreSQL and anonymous `?` on SQLite, where sqlx looks each
    /// numbered one up by name in a list as long as the statement's
    /// parameters (a quadratic cost: a 512-row insert of 7,168 parameters
    /// spent 72% of a determination there).
    pub fn query(&self, backend: Backend) -> Query<'static, Any, AnyArguments> {
        let mut text = String::with_capacity(self.text.len() + 6 * self.marks.len());
        let mut from = 0;
        for (n, &at) in self.marks.iter().enumerate() {
            text.push_str(self.text.get(from..at).unwrap_or_default());
            match backend {
                Backend::Sqlite => text.push('?'),
                Backend::Postgres => {
                    let _ = write!(text, "${}", n + 1);
                }
            }
            from = at;
        }
        text.push_str(self.text.get(from..).unwrap_or_default());
        let mut q = sqlx::query(AssertSqlSafe(text));
        for arg in &self.args {
            q = match arg {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(i) => q.bind(*i),
                Arg::NullText => q.bind(None::<String>),
                Arg::NullInt => q.bind(None::<i64>),
            };
        }
        q
    }
}

/// The backend of a connection (a transaction's, for one).
pub fn backend_of(conn: &sqlx::AnyConnection) -> Backend {
    if conn.backend_name() == "SQLite" {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

/// Which stored records a caller may see: the caller's token scope, and
/// the narrower region a request asks for. Every read of stored records
/// passes through [`Scope::restrict`], so a record outside the scope is, to
/// the caller, the same as a missing one.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only records whose `desa_code` starts with every one of these (the
    /// caller's prefix and the request's).
    pub regions: Vec<String>,
    /// Only decisions of this programme.
    pub programme: Option<String>,
}

impl Scope {
    pub fn all() -> Scope {
        Scope::default()
    }

    /// This scope further limited to records under `prefix`.
    #[must_use]
    pub fn and_region(mut self, prefix: Option<&str>) -> Scope {
        if let Some(p) = prefix {
            self.regions.push(p.to_string());
        }
        self
    }

    /// Whether a region code lies within the scope.
    pub fn contains_region(&self, region: &str) -> bool {
        self.regions.iter().all(|p| region.starts_with(p.as_str()))
    }

    /// The most specific region prefix of the scope, if any (what a job
    /// created within it covers).
    pub fn region(&self) -> Option<&str> {
        self.regions
            .iter()
            .max_by_key(|p| p.len())
            .map(String::as_str)
    }

    /// Appends ` AND ...` conditions on `{alias}.region` (and
    /// `{alias}.programme` when `programme_column`).
    pub fn restrict(&self, sql: &mut Sql, alias: &str, programme_column: bool) {
        self.restrict_column(sql, &format!("{alias}.region"));
        if programme_column && let Some(p) = &self.programme {
            sql.push(&format!(" AND {alias}.programme = "))
                .bind(Arg::Text(p.clone()));
        }
    }

    /// Appends ` AND {column} LIKE prefix%` for each region prefix.
    pub fn restrict_column(&self, sql: &mut Sql, column: &str) {
        for prefix in &self.regions {
            sql.push(&format!(" AND {column} LIKE "))
                .bind(Arg::Text(like_prefix(prefix)));
        }
    }
}

/// `prefix%`, for region codes (digits only, so nothing to escape; other
/// characters never match a stored code).
pub fn like_prefix(prefix: &str) -> String {
    let clean: String = prefix.chars().filter(char::is_ascii_digit).collect();
    if clean.len() == prefix.len() {
        format!("{clean}%")
    } else {
        // A prefix with a non-digit matches no region code.
        "-".to_string()
    }
}

#[cfg(test)]
mod tests;
