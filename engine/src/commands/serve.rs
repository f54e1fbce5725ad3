//! `layak serve`: the register service.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use crate::cli::ServeArgs;
use layak_service::http::auth::Role;
use layak_service::http::{self, AppState, Config};

pub fn run(args: &ServeArgs) -> Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAYAK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(super::stderr_is_terminal())
        .try_init();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    // The default is kept even when it does not exist yet: the service
    // looks for the files per request, so building the playground later
    // needs no restart.
    let playground = Some(
        args.playground
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from("web-playground/dist")),
    );
    // A demo without `--database` gets a database of its own in a fresh
    // directory, removed when the service stops: two demos on one machine
    // (two users, or two terminals) never share a register or revoke each
    // other's tokens.
    let mut demo_dir = None;
    let database = match (&args.database, args.demo) {
        (Some(db), _) => db.clone(),
        (None, true) => {
            let dir = tempfile::Builder::new()
                .prefix("layak-demo-")
                .tempdir()
                .context("creating the demo's directory in the temp dir")?;
            let db = dir
                .path()
                .join("register.db")
                .to_string_lossy()
                .into_owned();
            demo_dir = Some(dir);
            db
        }
        (None, false) => "layak.db".to_string(),
    };
    let config = Config {
        listen: args.listen,
        database,
        playground,
        max_body: args.max_body,
        max_line: args.max_line,
        job_batch: args.job_batch,
        threads,
        job_lease: std::time::Duration::try_from_secs_f64(args.job_lease)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| anyhow::anyhow!("--job-lease must be a number of seconds above 0"))?,
        rate_limit: args.rate_limit,
        rate_burst: args.rate_burst,
        compile_budget: std::time::Duration::try_from_secs_f64(args.compile_budget).map_err(
            |_| anyhow::anyhow!("--compile-budget must be a number of seconds, 0 or more"),
        )?,
        eval_queue: args.eval_queue,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let database = layak_service::store::redacted_url(&config.database);
    runtime.block_on(async {
        let state = AppState::new(config).await?;
        tracing::info!(
            database = %database,
            "register opened"
        );
        let mut demo_tokens = Vec::new();
        if args.demo {
            http::demo::load(&state, &args.rules, args.demo_households).await?;
            demo_tokens = http::demo::tokens(&state).await?;
        }
        http::serve(state, |addr| {
            // The first line on stdout: scripts and tests read the port here.
            let mut out = std::io::stdout();
            let _ = writeln!(out, "layak serve: listening on http://{addr}");
            if !demo_tokens.is_empty() {
                let _ = write_demo(&mut out, addr, &database, demo_dir.is_some(), &demo_tokens);
            }
            let _ = out.flush();
        })
        .await
    })?;
    // The demo's directory goes with the service.
    drop(demo_dir);
    Ok(ExitCode::SUCCESS)
}

/// What a demo prints after the listening line: where its database is, and
/// its tokens as shell variables, ready to paste into another terminal for
/// README's walkthrough (`$B`, `$ADMIN`, `$OPERATOR`, ...). The tokens are
/// printed once, like `layak token create`.
fn write_demo(
    out: &mut impl Write,
    addr: std::net::SocketAddr,
    database: &str,
    temporary: bool,
    tokens: &[(Role, String, String)],
) -> std::io::Result<()> {
    if temporary {
        writeln!(
            out,
            "demo database: {database} (this run's own; removed when the service stops)"
        )?;
    } else {
        writeln!(out, "demo database: {database}")?;
    }
    writeln!(
        out,
        "demo tokens, one per role (paste these lines into another terminal):"
    )?;
    writeln!(out, "export B=http://{addr}")?;
    for (role, scope, secret) in tokens {
        let var = format!("{}={secret}", http::demo::variable(*role));
        writeln!(out, "export {var:<80} # {}, {scope}", role.name())?;
    }
    writeln!(
        out,
        "try:  curl -H \"authorization: Bearer $ADMIN\" $B/v1/register\n      \
         curl -H \"authorization: Bearer $ADMIN\" \"$B/v1/programmes/PKH/beneficiaries?period={}&region=33\"",
        http::demo::PERIOD
    )
}
