//! The `layak run` projection of `layak bench`: the real binary, in a
//! process of its own, over a generated file, timed and watched for its
//! peak resident memory, then projected to the national register.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// Households in the national register (about 75 million).
pub const NATIONAL: u64 = 75_000_000;

/// What one `layak run` of the projection measured.
#[derive(Debug, Clone)]
pub struct Projection {
    pub households: u64,
    pub threads: usize,
    pub elapsed: Duration,
    /// The peak resident set of the `layak run` process (`VmHWM`, read
    /// every few milliseconds while it runs), in bytes.
    pub peak_rss: u64,
}

impl Projection {
    /// The time `layak run` would take over [`NATIONAL`] households at
    /// this rate.
    pub fn national(&self) -> Duration {
        let per = self.elapsed.as_secs_f64() / self.households.max(1) as f64;
        Duration::from_secs_f64(per * NATIONAL as f64)
    }
}

/// What to run: `layak` is the binary (the one running `layak bench`).
pub struct Ask<'a> {
    pub layak: &'a Path,
    pub rules: &'a Path,
    pub households: u64,
    pub seed: u64,
    pub threads: usize,
    pub as_of: &'a str,
}

/// Generates the households into a temporary directory with `layak gen`,
/// then times `layak run` over them, as a user would run it.
pub fn measure(ask: &Ask<'_>) -> Result<Projection> {
    let dir = std::env::temp_dir().join(format!("layak-bench-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let measured = measure_in(ask, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    measured
}

fn measure_in(ask: &Ask<'_>, dir: &Path) -> Result<Projection> {
    let input = dir.join("households.ndjson");
    let output = dir.join("decisions.ndjson");
    let status = Command::new(ask.layak)
        .args(["gen", "--households", &ask.households.to_string()])
        .args(["--seed", &ask.seed.to_string(), "--as-of", ask.as_of])
        .arg("--output")
        .arg(&input)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("starting `layak gen`")?;
    if !status.success() {
        bail!("`layak gen` failed ({status})");
    }
    let started = Instant::now();
    let mut child = Command::new(ask.layak)
        .arg("run")
        .arg("--rules")
        .arg(ask.rules)
        .args(["--as-of", ask.as_of, "--threads", &ask.threads.to_string()])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting `layak run`")?;
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peak_rss = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        peak_rss = peak_rss.max(high_water_mark(&status_file).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    // Exit 3: some generated lines are malformed on purpose.
    if !matches!(status.code(), Some(0 | 3)) {
        bail!("`layak run` failed ({status})");
    }
    Ok(Projection {
        households: ask.households,
        threads: ask.threads,
        elapsed,
        peak_rss,
    })
}

/// `VmHWM` of a process's `/proc/PID/status`, in bytes.
fn high_water_mark(status: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(status).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
