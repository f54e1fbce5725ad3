//! `layak fmt`: rewrite rule files in their canonical layout.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use layak_dsl::diagnostic::render_terminal;

use layak_host::load::{collect_files, source_name};

pub fn run(paths: &[PathBuf], check: bool) -> Result<ExitCode> {
    let files: Vec<PathBuf> = collect_files(paths)?
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "lyk"))
        .collect();
    let mut err = std::io::stderr().lock();
    let mut unformatted = 0;
    let mut broken = 0;
    for file in &files {
        let bytes = std::fs::read(file).with_context(|| format!("reading `{}`", file.display()))?;
        let mut sources = layak_dsl::Sources::new();
        let id = sources.add_bytes(source_name(file), &bytes);
        let text = sources.get(id).map(|f| f.text.clone()).unwrap_or_default();
        let not_utf8 = sources
            .get(id)
            .and_then(|f| layak_dsl::limits::not_utf8(id, f));
        let formatted = match not_utf8 {
            Some(d) => Err(vec![d]),
            None => layak_dsl::fmt::format_source(id, &text),
        };
        match formatted {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                unformatted += 1;
                if check {
                    writeln!(err, "`{}` is not formatted:", file.display())?;
                    let diff = similar::TextDiff::from_lines(&text, &formatted);
                    write!(
                        err,
                        "{}",
                        diff.unified_diff().header(
                            &source_name(file),
                            &format!("{} (formatted)", source_name(file))
                        )
                    )?;
                } else {
                    // Write to a sibling file first so a crash never leaves half a rule file.
                    let tmp = file.with_extension("lyk.fmt-tmp");
                    std::fs::write(&tmp, &formatted)
                        .with_context(|| format!("writing `{}`", tmp.display()))?;
                    std::fs::rename(&tmp, file)
                        .with_context(|| format!("replacing `{}`", file.display()))?;
                    writeln!(err, "formatted `{}`", file.display())?;
                }
            }
            Err(diagnostics) => {
                broken += 1;
                write!(
                    err,
                    "{}",
                    render_terminal(&sources, &diagnostics, super::stderr_is_terminal())
                )?;
            }
        }
    }
    if check && unformatted > 0 {
        writeln!(
            err,
            "{unformatted} of {} files need `layak fmt`",
            files.len()
        )?;
    }
    Ok(if broken > 0 || (check && unformatted > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
