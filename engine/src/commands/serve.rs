//! `layak serve`: the register service.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ServeArgs;
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
    let playground = args.playground.clone().or_else(|| {
        let default = std::path::PathBuf::from("web-playground/dist");
        default.is_dir().then_some(default)
    });
    let database = match (&args.database, args.demo) {
        (Some(db), _) => db.clone(),
        (None, true) => std::env::temp_dir()
            .join("layak-demo.db")
            .to_string_lossy()
            .into_owned(),
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
        rate_limit: args.rate_limit,
        rate_burst: args.rate_burst,
        compile_budget: std::time::Duration::try_from_secs_f64(args.compile_budget).map_err(
            |_| anyhow::anyhow!("--compile-budget must be a number of seconds, 0 or more"),
        )?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let state = AppState::new(config).await?;
        tracing::info!(database = %state.config.database, "register opened");
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
                // Printed once, like `layak token create`; a new demo run
                // revokes them.
                let _ = writeln!(out, "demo tokens (one per role):");
                for (role, scope, secret) in &demo_tokens {
                    let _ = writeln!(out, "  {:<18} {:<16} {secret}", role.name(), scope);
                }
                let admin = demo_tokens.first().map_or("", |(_, _, s)| s.as_str());
                let _ = writeln!(
                    out,
                    "try:  curl -H 'authorization: Bearer {admin}' http://{addr}/v1/register\n      \
                     curl -H 'authorization: Bearer {admin}' \
                     'http://{addr}/v1/programmes/PKH/beneficiaries?period={}'",
                    http::demo::PERIOD
                );
            }
            let _ = out.flush();
        })
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}
