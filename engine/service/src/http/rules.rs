//! Compiled ruleset versions, shared by requests and jobs.
//!
//! A version is compiled once and kept by its content hash. Activation is a
//! row in the database, remembered by stage and date ([`RuleCache`]'s
//! active cache, checked every 250 ms): a new activation takes effect with
//! no restart, on this service at once and on other replicas within a
//! second, and a job keeps the version it started with (its hash is stored
//! on the job).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use layak_dsl::eval::EvalContext;
use layak_dsl::ir::Program;
use layak_dsl::{Diagnostic, Sources};
use layak_host::engine::Engine;
use layak_host::pipeline::Evaluator;
use sha2::{Digest as _, Sha256};

use crate::store::Store;
use crate::store::rulesets::SourceFile;

use super::compiler::{Built, Compiler};
use super::problem::{ApiResult, Problem};

/// One compiled version: the program (schema, explanations) and its wasm
/// modules loaded in the process's sandboxed runtime: the household
/// evaluation (verification and determination) and, when the rules have
/// `stage qc` rulesets, the quality-control stage's.
pub struct Compiled {
    pub hash: String,
    pub program: Arc<Program>,
    engine: Engine,
    qc: Option<Engine>,
}

impl Compiled {
    /// A version from its modules, loaded ([`super::compiler`] builds them).
    pub fn new(
        hash: String,
        program: Arc<Program>,
        engine: Engine,
        qc: Option<Engine>,
    ) -> Compiled {
        Compiled {
            hash,
            program,
            engine,
            qc,
        }
    }

    /// The evaluator of this version in `ctx`: the one place that chooses
    /// the engine, for the stage jobs, `/v1/evaluate` and `/v1/impact`
    /// alike.
    pub fn evaluator<'a>(&'a self, ctx: &'a EvalContext) -> Evaluator<'a> {
        Evaluator {
            engine: &self.engine,
            ctx,
        }
    }

    /// Whether the rules have `stage qc` rulesets.
    pub fn has_qc(&self) -> bool {
        self.qc.is_some()
    }

    /// The evaluator of the quality-control stage, when the rules have one.
    pub fn qc_evaluator<'a>(&'a self, ctx: &'a EvalContext) -> Option<Evaluator<'a>> {
        self.qc.as_ref().map(|engine| Evaluator { engine, ctx })
    }
}

/// What compiling sources gave.
pub struct Compilation {
    pub hash: String,
    pub program: Option<Program>,
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

/// The content hash of a version: sha256 over the files sorted by name,
/// each as its length-prefixed name and text.
pub fn sources_hash(files: &[SourceFile]) -> String {
    let mut sorted: Vec<&SourceFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut hasher = Sha256::new();
    for f in sorted {
        hasher.update((f.name.len() as u64).to_le_bytes());
        hasher.update(f.name.as_bytes());
        hasher.update((f.text.len() as u64).to_le_bytes());
        hasher.update(f.text.as_bytes());
    }
    layak_host::hex::encode(&hasher.finalize())
}

pub fn compile(files: &[SourceFile]) -> Compilation {
    let mut sorted: Vec<&SourceFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut sources = Sources::new();
    for f in sorted {
        sources.add(f.name.clone(), f.text.clone());
    }
    let (program, diagnostics) = layak_dsl::compile(&sources);
    Compilation {
        hash: sources_hash(files),
        program,
        sources,
        diagnostics,
    }
}

/// Reads a rules directory (as `layak check` would) into source files named
/// relative to the directory.
pub fn read_dir(dir: &std::path::Path) -> anyhow::Result<Vec<SourceFile>> {
    let files = layak_host::load::collect_files(&[dir.to_path_buf()])?;
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let rel = path.strip_prefix(dir).unwrap_or(&path);
        out.push(SourceFile {
            name: layak_host::load::source_name(rel),
            text,
        });
    }
    Ok(out)
}

/// Compiled versions by hash, which version is active for a stage on a
/// date, and the compiler that makes them.
pub struct RuleCache {
    compiled: Mutex<HashMap<String, Arc<Compiled>>>,
    active: Mutex<ActiveCache>,
    compiler: Compiler,
}

/// The active version by stage and date, remembered so that an evaluation
/// does not read the activations for each request. Dropped when this
/// service activates a version ([`RuleCache::forget_active`]) and when the
/// activations table's stamp changes ([`RuleCache::refresh_active`], every
/// 250 ms: an activation on another replica); trusted only while its last
/// check is younger than [`super::auth::TOKEN_STALE`].
#[derive(Default)]
struct ActiveCache {
    by_date: HashMap<(String, i64), String>,
    stamp: Option<(i64, i64)>,
    checked: Option<Instant>,
    /// Bumped when the map is dropped, so that a lookup that raced it does
    /// not put back what was dropped.
    generation: u64,
}

/// Stages and dates remembered at most (requests name any `as_of`).
const ACTIVE_ENTRIES: usize = 4096;

impl RuleCache {
    pub fn new(compiler: Compiler) -> RuleCache {
        RuleCache {
            compiled: Mutex::default(),
            active: Mutex::default(),
            compiler,
        }
    }

    fn active(&self) -> std::sync::MutexGuard<'_, ActiveCache> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops what is remembered of active versions (a version was just
    /// activated).
    pub fn forget_active(&self) {
        let mut active = self.active();
        active.by_date.clear();
        active.generation = active.generation.wrapping_add(1);
    }

    /// Checks the activations table's stamp; drops what is remembered when
    /// it changed.
    pub async fn refresh_active(&self, store: &Store) -> crate::store::DbResult<()> {
        let started = Instant::now();
        let stamp = store.activations_stamp().await?;
        let mut active = self.active();
        if active.stamp != Some(stamp) {
            active.by_date.clear();
            active.generation = active.generation.wrapping_add(1);
            active.stamp = Some(stamp);
        }
        active.checked = Some(started);
        Ok(())
    }

    /// The hash of the version active for `stage` on `date`, from memory
    /// when the cache is fresh.
    async fn active_hash(
        &self,
        store: &Store,
        stage: &str,
        date: i64,
    ) -> crate::store::DbResult<Option<String>> {
        let key = (stage.to_string(), date);
        let generation = {
            let active = self.active();
            let fresh = active
                .checked
                .is_some_and(|t| t.elapsed() < super::auth::TOKEN_STALE);
            if fresh && let Some(hash) = active.by_date.get(&key) {
                return Ok(Some(hash.clone()));
            }
            active.generation
        };
        let hash = store.active_ruleset(stage, date).await?;
        if let Some(hash) = &hash {
            let mut active = self.active();
            if active.generation == generation {
                if active.by_date.len() >= ACTIVE_ENTRIES {
                    active.by_date.clear();
                }
                active.by_date.insert(key, hash.clone());
            }
        }
        Ok(hash)
    }

    /// The compiler: uploads go through it ([`Compiler::upload`]).
    pub fn compiler(&self) -> &Compiler {
        &self.compiler
    }

    /// Keeps a compiled version by its hash.
    pub fn keep(&self, compiled: Compiled) -> Arc<Compiled> {
        let compiled = Arc::new(compiled);
        self.compiled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(compiled.hash.clone(), Arc::clone(&compiled));
        compiled
    }

    /// The compiled version with this hash, compiled from the store on
    /// first use.
    pub async fn get(self: &Arc<Self>, store: &Store, hash: &str) -> ApiResult<Arc<Compiled>> {
        if let Some(c) = self
            .compiled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hash)
        {
            return Ok(Arc::clone(c));
        }
        let Some(files) = store.ruleset_sources(hash).await? else {
            return Err(Problem::not_found(
                "RULESET_NOT_FOUND",
                format!("no ruleset version has the hash `{hash}`"),
            ));
        };
        match self.compiler.stored(files).await?.0 {
            Built::Ready(compiled, _) => Ok(self.keep(compiled)),
            Built::Invalid(_) => Err(Problem::internal(&format!(
                "stored ruleset {hash} no longer compiles"
            ))),
        }
    }

    /// The version a request names (a number or a hash), or else the one
    /// active for `stage` on `date` (yyyymmdd).
    pub async fn resolve(
        self: &Arc<Self>,
        store: &Store,
        reference: Option<&str>,
        stage: &str,
        date: i64,
    ) -> ApiResult<Arc<Compiled>> {
        let hash = match reference {
            Some(r) => match store.find_ruleset(r).await? {
                Some(row) => row.hash,
                None => {
                    return Err(Problem::not_found(
                        "RULESET_NOT_FOUND",
                        format!("no ruleset version `{r}`; list them with GET /v1/rulesets"),
                    ));
                }
            },
            None => match self.active_hash(store, stage, date).await? {
                Some(hash) => hash,
                None => {
                    return Err(Problem::conflict(
                        "NO_ACTIVE_RULESET",
                        format!(
                            "no ruleset is active for the {stage} stage on {}; \
                             activate one with POST /v1/rulesets/{{id}}/activate",
                            date_text(date)
                        ),
                    ));
                }
            },
        };
        self.get(store, &hash).await
    }
}

/// `20251001` as `2025-10-01`.
pub fn date_text(yyyymmdd: i64) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        yyyymmdd / 10000,
        yyyymmdd / 100 % 100,
        yyyymmdd % 100
    )
}
