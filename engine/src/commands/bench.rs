//! `layak bench`: the benchmark table of the shipped rules (see
//! `layak_bench::harness`). Built only with the `bench` feature, so the
//! shipped binary does not carry the native baseline.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use layak_dsl::date::Date;

use layak_bench::harness::{self, Options};
use layak_host::load::load_program;

use crate::cli::BenchArgs;

pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    let Some(as_of) = Date::parse(&args.as_of) else {
        bail!(
            "`--as-of {}` is not a date; write it as YYYY-MM-DD",
            args.as_of
        );
    };
    let program = Arc::new(load_program(&args.rules)?);
    let threads = args
        .threads
        .filter(|n| *n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1);
    let opts = Options {
        households: args.households,
        seed: args.seed,
        runs: args.runs,
        threads,
        interp_households: args.interp_households,
        as_of,
        rules: args.rules.clone(),
        run_households: args.run_households,
        layak: std::env::current_exe().ok(),
    };
    // A spinner saying which stage runs, on a terminal only.
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    } else {
        ProgressBar::hidden()
    };
    let report = harness::run(&program, &opts, &|what| bar.set_message(what.to_string()))?;
    bar.finish_and_clear();
    print!("{}", harness::table(&report));
    Ok(ExitCode::SUCCESS)
}
