//! Command-line arguments (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "layak",
    version,
    about = "Rules-as-code for Indonesia's social-welfare register"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check rule files: syntax, names, types against the schema.
    Check {
        /// Rule files or directories (default: `rules`).
        paths: Vec<PathBuf>,
        /// Output format for diagnostics.
        #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
        format: DiagFormat,
    },
    /// Run the rule tests (`*.toml` under `tests/` beside the rules).
    Test {
        /// Test files or directories (default: `rules/tests`).
        paths: Vec<PathBuf>,
    },
    /// Format rule files in place, keeping comments.
    Fmt {
        /// Rule files or directories (default: `rules`).
        paths: Vec<PathBuf>,
        /// Only report files that are not formatted, with a diff; change nothing.
        #[arg(long)]
        check: bool,
    },
    /// Evaluate NDJSON households from stdin; one JSON line per household on stdout.
    Eval {
        /// The rules directory.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// The evaluation date, YYYY-MM-DD.
        #[arg(long)]
        as_of: String,
        /// Override a dated parameter: NAME=VALUE (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Add the explanation tree to each output line.
        #[arg(long)]
        explain: bool,
        /// `summary`: the stable shape for diffing and other systems;
        /// `full`: every decision with its explanation; `text`: a readable report.
        #[arg(long, value_enum, default_value_t = EvalFormat::Summary)]
        format: EvalFormat,
        /// Language of `--format text`.
        #[arg(long, value_enum, default_value_t = Lang::En)]
        lang: Lang,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalFormat {
    Summary,
    Full,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Id,
    En,
}
