//! `layak impact`.
use std::process::ExitCode;
pub fn run(_args: &crate::cli::ImpactArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("todo")
}
