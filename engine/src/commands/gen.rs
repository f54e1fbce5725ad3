//! `layak gen`: synthetic households, reproducible from a seed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use layak_gen::{Options, Ymd, generate};
use layak_host::output::AtomicFile;

pub fn run(households: u64, seed: u64, as_of: &str, output: Option<&PathBuf>) -> Result<ExitCode> {
    let Some(reference) = Ymd::parse(as_of) else {
        bail!("`--as-of {as_of}` is not a date; write it as YYYY-MM-DD");
    };
    let opts = Options {
        households,
        seed,
        reference,
    };
    let bar = bar(households);
    let progress = |n| bar.set_position(n);
    match output {
        Some(path) => {
            let mut file = AtomicFile::create(path)?;
            let mut sink = Sink(&mut file, None);
            generate(&opts, &mut sink, progress)
                .map_err(|e| sink.1.take().unwrap_or_else(|| e.into()))?;
            file.commit()?;
        }
        None => {
            let stdout = std::io::stdout().lock();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout);
            let written = generate(&opts, &mut out, progress).and_then(|()| out.flush());
            if let Err(e) = written {
                // The reader went away (`| head`): stop quietly.
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e).context("writing the households");
                }
            }
        }
    }
    bar.finish_and_clear();
    Ok(ExitCode::SUCCESS)
}

fn bar(households: u64) -> ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    ProgressBar::with_draw_target(Some(households), ProgressDrawTarget::stderr()).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} households, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

/// `io::Write` over an [`AtomicFile`], keeping its error's context.
struct Sink<'a>(&'a mut AtomicFile, Option<anyhow::Error>);

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.write_all(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                let io = std::io::Error::other(e.to_string());
                self.1 = Some(e);
                Err(io)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
