//! `layak test`: run rule tests, print a diff for each failure and the
//! coverage of every criterion.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use layak_dsl::ir::Program;
use layak_host::engine::Engine;

use layak_host::load::load_program;
use layak_host::ruletest::{Suite, TestResult, TestStage, coverage};

pub fn run(paths: &[PathBuf]) -> Result<ExitCode> {
    let mut files = Vec::new();
    for path in paths {
        collect_toml(path, &mut files)?;
    }
    files.sort();
    if files.is_empty() {
        bail!(
            "no rule tests (`*.toml`) found in {}",
            layak_host::load::display_paths(paths)
        );
    }
    let mut out = std::io::stdout().lock();
    // Rule tests run on the reference interpreter: the oracle the compiled
    // engine is checked against.
    let mut programs: BTreeMap<PathBuf, Arc<Program>> = BTreeMap::new();
    let mut engines: BTreeMap<(PathBuf, Option<TestStage>), Engine> = BTreeMap::new();
    let mut results: Vec<TestResult> = Vec::new();
    for file in &files {
        let suite = Suite::load(file)?;
        let dir = suite
            .rules_dir
            .canonicalize()
            .unwrap_or_else(|_| suite.rules_dir.clone());
        if !programs.contains_key(&dir) {
            programs.insert(dir.clone(), Arc::new(load_program(&suite.rules_dir)?));
        }
        let key = (dir.clone(), suite.spec.stage);
        if !engines.contains_key(&key)
            && let Some(program) = programs.get(&dir)
        {
            let program = match suite.spec.stage {
                None => Arc::clone(program),
                Some(TestStage::Qc) => Arc::new(program.quality_control().with_context(|| {
                    format!(
                        "`{}` tests the qc stage, but the rules have no `stage qc` ruleset",
                        file.display()
                    )
                })?),
            };
            engines.insert(key.clone(), Engine::interpreter(program));
        }
        let Some(engine) = engines.get(&key) else {
            continue;
        };
        for result in suite.run(engine) {
            match &result.failure {
                None => writeln!(out, "test {} ... ok", result.name)?,
                Some(why) => {
                    writeln!(
                        out,
                        "test {} ... FAILED ({})",
                        result.name,
                        result.file.display()
                    )?;
                    for line in why.lines() {
                        writeln!(out, "    {line}")?;
                    }
                }
            }
            results.push(result);
        }
    }

    for program in programs.values() {
        let cov = coverage(program, results.iter().filter_map(|r| r.decision.as_ref()));
        writeln!(
            out,
            "\ncoverage per criterion (passed / failed / undetermined):"
        )?;
        let mut never_failed = 0;
        for ((ruleset, code), c) in &cov {
            let note = if c.failed == 0 && c.passed == 0 {
                never_failed += 1;
                "  <- never evaluated"
            } else if c.failed == 0 {
                never_failed += 1;
                "  <- never fails in a test"
            } else if c.passed == 0 {
                "  <- never passes in a test"
            } else {
                ""
            };
            writeln!(
                out,
                "  {ruleset:<10} {code:<26} {:>4} {:>4} {:>4}{note}",
                c.passed, c.failed, c.undetermined
            )?;
        }
        let covered = cov.len() - never_failed;
        writeln!(
            out,
            "{covered} of {} criteria fail in at least one test",
            cov.len()
        )?;
    }

    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    let passed = results.len() - failed;
    writeln!(out, "\n{passed} passed, {failed} failed")?;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn collect_toml(path: &PathBuf, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_file() {
        out.push(path.clone());
        return Ok(());
    }
    let entries =
        std::fs::read_dir(path).with_context(|| format!("reading `{}`", path.display()))?;
    for entry in entries {
        let p = entry?.path();
        if p.is_dir() {
            collect_toml(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
    Ok(())
}
