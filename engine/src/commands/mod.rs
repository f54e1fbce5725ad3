//! One function per `layak` subcommand. Each returns the process exit code:
//! 0 success, 1 the check/test/format found problems, 2 usage or I/O error
//! (returned as `Err`), 3 some input lines were malformed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{Cli, Command};

mod audit;
#[cfg(feature = "bench")]
mod bench;
mod check;
mod eval;
mod fmt;
mod r#gen;
mod impact;
mod rules;
pub mod run;
mod serve;
mod test;
mod token;

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check { paths, format } => check::run(&default_paths(paths, "rules"), format),
        Command::Test { paths } => test::run(&default_paths(paths, "rules/tests")),
        Command::Fmt { paths, check } => fmt::run(&default_paths(paths, "rules"), check),
        Command::Eval {
            rules,
            as_of,
            params,
            explain,
            format,
            lang,
            engine,
            what_if,
        } => eval::run(&eval::Options {
            rules,
            as_of,
            params,
            explain,
            format,
            lang,
            engine,
            what_if,
        }),
        Command::Gen {
            households,
            seed,
            as_of,
            output,
        } => r#gen::run(households, seed, &as_of, output.as_ref()),
        Command::Run(args) => run::run(&args),
        Command::Impact(args) => impact::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Token(command) => token::run(&command),
        Command::Rules(command) => rules::run(&command),
        Command::Audit(command) => audit::run(&command),
        Command::Bench(args) => bench(&args),
        Command::Lsp => {
            layak_lsp::serve_stdio()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(feature = "bench")]
fn bench(args: &crate::cli::BenchArgs) -> Result<ExitCode> {
    bench::run(args)
}

#[cfg(not(feature = "bench"))]
fn bench(_args: &crate::cli::BenchArgs) -> Result<ExitCode> {
    anyhow::bail!(
        "this `layak` was built without the benchmarks; run \
         `cargo run --release -p layak --features bench -- bench`"
    )
}

fn default_paths(paths: Vec<PathBuf>, default: &str) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(default)]
    } else {
        paths
    }
}

/// A progress bar over the input's bytes, drawn only on a terminal.
fn progress(len: Option<u64>) -> ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match len {
        Some(len) => ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {bytes} read, {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

/// Whether stderr is a terminal, for colour.
fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
