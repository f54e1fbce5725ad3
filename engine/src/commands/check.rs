//! `layak check`: report every diagnostic in the given rules.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use layak_dsl::diagnostic::{Level, render_terminal, to_json};

use crate::cli::DiagFormat;
use layak_host::load::load_rules;

pub fn run(paths: &[PathBuf], format: DiagFormat) -> Result<ExitCode> {
    let (sources, _program, diagnostics) = load_rules(paths)?;
    let errors = diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    match format {
        DiagFormat::Human => {
            let mut err = std::io::stderr().lock();
            write!(
                err,
                "{}",
                render_terminal(&sources, &diagnostics, super::stderr_is_terminal())
            )?;
            let files = sources
                .iter()
                .filter(|(_, f)| f.name.ends_with(".lyk"))
                .count();
            writeln!(
                err,
                "checked {} in {}: {}, {}",
                plural(files, "rule file"),
                layak_host::load::display_paths(paths),
                plural(errors, "error"),
                plural(warnings, "warning")
            )?;
        }
        DiagFormat::Json => {
            let json: Vec<_> = diagnostics.iter().map(|d| to_json(&sources, d)).collect();
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
