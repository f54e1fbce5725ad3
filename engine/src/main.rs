//! `layak`: the command-line entry point. Only wiring lives here.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = layak_engine::cli::Cli::parse();
    match layak_engine::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
