//! `layak`: the command-line entry point. Only wiring lives here.

use std::process::ExitCode;

use clap::Parser as _;

mod cli;
mod commands;

// Evaluation allocates many small, short-lived values per household (parsed
// JSON, decoded records, explanation trees); mimalloc serves them markedly
// faster than glibc's allocator across threads (`layak bench`, stage d).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
