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
        /// `wasm`: the rules compiled to WebAssembly, sandboxed; `interp`:
        /// the reference interpreter. Both give the same bytes.
        #[arg(long, value_enum, default_value_t = Engine::Wasm)]
        engine: Engine,
        #[command(flatten)]
        what_if: WhatIfArgs,
    },
    /// Write synthetic households (NDJSON), reproducible from the seed.
    Gen {
        /// How many households.
        #[arg(long)]
        households: u64,
        /// The seed: the same seed gives the same bytes on every machine.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Ages are drawn relative to this date, YYYY-MM-DD.
        #[arg(long, default_value = "2025-10-01")]
        as_of: String,
        /// The output file (default: stdout).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Evaluate an NDJSON file of households in parallel; summary lines out.
    Run(RunArgs),
    /// Compare two rule versions, or one with parameter overrides, over a
    /// population: who becomes (in)eligible and how much money moves.
    Impact(ImpactArgs),
    /// Run the register service (HTTP API over SQLite or PostgreSQL).
    Serve(ServeArgs),
    /// Create, revoke and list the service's API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Rulesets on a running service: store and activate a rules directory.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Check the service's audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Measure the shipped rules over a generated population: native Rust,
    /// interpreter, wasm, end to end and the parse floor, in one run.
    Bench(BenchArgs),
    /// Run the language server (LSP over stdin and stdout) for editors:
    /// diagnostics, hover, definitions, references, rename, completion,
    /// symbols, semantic tokens, formatting and quick fixes. Editors start
    /// it; see README.md, "Editors".
    Lsp,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "LAYAK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// The database: a SQLite file path (created if missing) or a
    /// `postgres://USER:PASSWORD@HOST:PORT/DB` URL (default `layak.db`; with `--demo`, a file in a fresh temporary
    /// directory of this run, removed when the service stops).
    #[arg(long, env = "LAYAK_DATABASE")]
    pub database: Option<String>,
    /// Serve these static files at `/playground` (default
    /// `web-playground/dist`; looked up per request, so it may be built
    /// after the service started).
    #[arg(long, env = "LAYAK_PLAYGROUND")]
    pub playground: Option<PathBuf>,
    /// Largest JSON request body, in bytes (NDJSON uploads stream).
    #[arg(long, env = "LAYAK_MAX_BODY", default_value_t = 16 << 20)]
    pub max_body: usize,
    /// Largest NDJSON line, in bytes.
    #[arg(long, env = "LAYAK_MAX_LINE", default_value_t = 1 << 20)]
    pub max_line: usize,
    /// Households per committed batch of a stage job.
    #[arg(long, env = "LAYAK_JOB_BATCH", default_value_t = 512)]
    pub job_batch: usize,
    /// Evaluation threads of a stage job, and of `/v1/evaluate` (default:
    /// every core).
    #[arg(long, env = "LAYAK_THREADS")]
    pub threads: Option<usize>,
    /// Seconds a replica holds a running stage job or upload without
    /// renewing it (it renews every third of this while it lives): when a
    /// replica dies, another on the same database takes its job over this
    /// long after.
    #[arg(long, env = "LAYAK_JOB_LEASE", default_value_t = 10.0)]
    pub job_lease: f64,
    /// Evaluations of `/v1/evaluate` that may wait for a thread; past it,
    /// 503 `EVALUATION_BUSY` with `Retry-After`.
    #[arg(long, env = "LAYAK_EVAL_QUEUE", default_value_t = layak_service::http::pool::DEFAULT_QUEUE)]
    pub eval_queue: usize,
    /// Load the shipped rules and a generated population, and run them
    /// through the pipeline (only into an empty register).
    #[arg(long)]
    pub demo: bool,
    /// The rules `--demo` loads.
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,
    /// How many households `--demo` generates.
    #[arg(long, default_value_t = 2000)]
    pub demo_households: u64,
    /// Requests a second per token, on average (0: no limit).
    #[arg(long, env = "LAYAK_RATE_LIMIT", default_value_t = 50.0)]
    pub rate_limit: f64,
    /// Requests a token may send at once before the rate applies.
    #[arg(long, env = "LAYAK_RATE_BURST", default_value_t = 200)]
    pub rate_burst: u32,
    /// Seconds an uploaded ruleset may take to compile, waiting in the
    /// compile queue included; past it the upload gets E0907.
    #[arg(long, env = "LAYAK_COMPILE_BUDGET", default_value_t = 60.0)]
    pub compile_budget: f64,
}

/// The register's database, as `layak serve` takes it.
#[derive(Debug, clap::Args)]
pub struct DatabaseArg {
    /// A SQLite file path or a `postgres://` URL.
    #[arg(long, env = "LAYAK_DATABASE", default_value = "layak.db")]
    pub database: String,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once on stdout; only its SHA-256 is
    /// stored.
    Create {
        /// What the token may do.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new([
            "admin", "policy_author", "ministry_reviewer", "district_operator",
            "programme_partner", "auditor",
        ]))]
        role: String,
        /// A prefix of the `desa_code` the token is limited to (`3310`);
        /// required for `district_operator`.
        #[arg(long)]
        region: Option<String>,
        /// The programme the token is limited to (`PKH`); required for
        /// `programme_partner`.
        #[arg(long)]
        programme: Option<String>,
        /// A name for the audit trail and events (default: the role).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Revoke a token by its id (see `layak token list`).
    Revoke {
        id: i64,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        db: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Store a rules directory on a service (`POST /v1/rulesets`) and
    /// activate the stored version; the service's diagnostics are printed
    /// as `layak check` prints them.
    Push(PushArgs),
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The rules directory, read as `layak check DIR` reads it.
    #[arg(default_value = "rules")]
    pub dir: PathBuf,
    /// The service's base URL, e.g. `http://127.0.0.1:8080`.
    #[arg(long, value_parser = parse_server)]
    pub server: String,
    /// An API token that may author rules (`admin` or `policy_author`).
    #[arg(long, env = "LAYAK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Activate the stored version for a stage (`verification`, `qc` or
    /// `determination`) from a date, after storing it (repeatable, in
    /// order).
    #[arg(long, value_name = "STAGE:YYYY-MM-DD", value_parser = parse_activation)]
    pub activate: Vec<Activation>,
    /// A note stored with the version (what changed, and why).
    #[arg(long)]
    pub note: Option<String>,
}

/// One `--activate STAGE:YYYY-MM-DD`.
#[derive(Debug, Clone)]
pub struct Activation {
    pub stage: String,
    pub effective_from: String,
}

fn parse_server(text: &str) -> Result<String, String> {
    if text.starts_with("http://") || text.starts_with("https://") {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not an http URL; write `http://{text}`"
        ))
    }
}

fn parse_activation(text: &str) -> Result<Activation, String> {
    const STAGES: [&str; 3] = ["verification", "qc", "determination"];
    let (stage, date) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not STAGE:YYYY-MM-DD"))?;
    if !STAGES.contains(&stage) {
        return Err(format!(
            "the stage is `verification`, `qc` or `determination`, found `{stage}`"
        ));
    }
    if layak_dsl::date::Date::parse(date).is_none() {
        return Err(format!("`{date}` is not a date YYYY-MM-DD"));
    }
    Ok(Activation {
        stage: stage.to_string(),
        effective_from: date.to_string(),
    })
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain of the audit trail; exit 1 naming the first
    /// entry that was edited, inserted or follows a deleted one.
    Verify {
        #[command(flatten)]
        db: DatabaseArg,
        /// An entry recorded earlier outside the database (`SEQ:HASH`, as
        /// printed after "head"): it must still be there, unchanged, so a
        /// truncated or recomputed trail is found too (repeatable).
        #[arg(long, value_name = "SEQ:HASH")]
        anchor: Vec<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The rules directory (the native baseline is the shipped rules).
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,
    /// How many generated households.
    #[arg(long, default_value_t = 1_000_000)]
    pub households: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Runs of each stage; the table gives the median.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Threads of the end-to-end and parse stages (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Households the interpreter stage takes (it is ~100x slower).
    #[arg(long, default_value_t = 20_000)]
    pub interp_households: u64,
    /// Households of the `layak run` projection (generated into a
    /// temporary file, run by this binary in a process of its own, timed
    /// with its peak memory); 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    pub run_households: u64,
    /// The evaluation date, YYYY-MM-DD.
    #[arg(long, default_value = "2025-10-01")]
    pub as_of: String,
}

/// The evaluation engine of the batch commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// The reference interpreter.
    Interp,
    /// The rules compiled to one WebAssembly module, run in the sandboxed
    /// wasmtime runtime (fuel, memory and stack limits).
    Wasm,
}

impl Engine {
    pub fn kind(self) -> layak_host::engine::EngineKind {
        match self {
            Engine::Interp => layak_host::engine::EngineKind::Interp,
            Engine::Wasm => layak_host::engine::EngineKind::Wasm,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The rules directory.
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,
    /// The evaluation date, YYYY-MM-DD.
    #[arg(long)]
    pub as_of: String,
    /// NDJSON households; `-` for stdin.
    #[arg(long, default_value = "-")]
    pub input: PathBuf,
    /// Summary lines, in input order (written to a temporary file and
    /// renamed at the end).
    #[arg(long)]
    pub output: PathBuf,
    /// Override a dated parameter: NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Malformed input lines (default: `<output>.errors.ndjson`).
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Worker threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Add the explanation tree to each output line.
    #[arg(long)]
    pub explain: bool,
    /// `wasm` (sandboxed compiled rules) or `interp` (the reference
    /// interpreter); both give the same bytes.
    #[arg(long, value_enum, default_value_t = Engine::Wasm)]
    pub engine: Engine,
    /// Add to each line what would turn its decision (`what_if`):
    /// counterfactuals cost evaluations, so a run computes them only when
    /// asked.
    #[arg(long)]
    pub what_if: bool,
    #[command(flatten)]
    pub what_if_bounds: WhatIfBounds,
}

/// `layak eval`: counterfactuals come with `--explain` and `--format
/// text|full` unless `--no-what-if`.
#[derive(Debug, clap::Args)]
pub struct WhatIfArgs {
    /// Leave out what would turn each decision (counterfactuals, shown by
    /// default with `--explain` and `--format text|full`).
    #[arg(long)]
    pub no_what_if: bool,
    #[command(flatten)]
    pub bounds: WhatIfBounds,
}

/// The bounds of the counterfactual search.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct WhatIfBounds {
    /// Evaluations per subject (and per returned record) the search of
    /// counterfactuals may spend; a search that reaches it says so.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub what_if_budget: u32,
    /// How many years ahead to look for changes with time alone.
    #[arg(long, default_value_t = 5, value_name = "YEARS")]
    pub horizon_years: u32,
}

impl WhatIfBounds {
    pub fn options(self) -> layak_dsl::whatif::Options {
        layak_dsl::whatif::Options {
            budget: self.what_if_budget,
            horizon_years: self.horizon_years,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ImpactArgs {
    /// The rules as they are (the baseline).
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,
    /// The changed rules directory (default: the baseline's rules).
    #[arg(long, value_name = "DIR")]
    pub against: Option<PathBuf>,
    /// A parameter override for the changed side only: NAME=VALUE (repeatable).
    #[arg(long = "against-param", value_name = "NAME=VALUE")]
    pub against_params: Vec<String>,
    /// A parameter override for both sides: NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// NDJSON households; `-` for stdin.
    #[arg(long, default_value = "-")]
    pub input: PathBuf,
    /// The evaluation date, YYYY-MM-DD.
    #[arg(long)]
    pub as_of: String,
    /// `table`: readable; `json`: for machines.
    #[arg(long, value_enum, default_value_t = ImpactFormat::Table)]
    pub format: ImpactFormat,
    /// Language of the example explanations.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// How many example households to show.
    #[arg(long, default_value_t = 5)]
    pub examples: usize,
    /// Rows per region breakdown in the table (JSON has every row).
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Worker threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// `wasm` (sandboxed compiled rules) or `interp` (the reference
    /// interpreter); both give the same bytes.
    #[arg(long, value_enum, default_value_t = Engine::Wasm)]
    pub engine: Engine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImpactFormat {
    Table,
    Json,
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

impl From<Lang> for layak_dsl::eval::Lang {
    fn from(lang: Lang) -> layak_dsl::eval::Lang {
        match lang {
            Lang::Id => layak_dsl::eval::Lang::Id,
            Lang::En => layak_dsl::eval::Lang::En,
        }
    }
}
