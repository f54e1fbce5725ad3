//! Helpers shared by the evaluation and differential tests (`eval.rs`,
//! `wasm_diff.rs`, `wasm_programs.rs`): reading rule files, building a program from sources, evaluation
//! contexts, and running a compiled module in-process with wasmi against
//! the reference interpreter.
#![allow(
    dead_code,
    reason = "each test crate that includes this module uses a different part of it"
)]

use std::path::{Path, PathBuf};

use layak_dsl::date::Date;
use layak_dsl::decision::HouseholdDecision;
use layak_dsl::decision::Summary;
use layak_dsl::diagnostic::render_terminal;
use layak_dsl::eval::{EvalContext, evaluate, parse_override};
use layak_dsl::ir::Program;
use layak_dsl::value::Value;
use layak_dsl::wasm::{
    Names, compile_module, decode_results, decode_summaries, encode_batch, names_of_batch,
};
use layak_dsl::{Sources, compile};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn add_files(sources: &mut Sources, dir: &Path, prefix: &str, ext: &str) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    names.sort();
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        let full = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        sources.add(full, text);
    }
}

/// The shipped rules: `rules/*.lyk` and `rules/tables/*.txt`, named as the
/// CLI names them.
pub fn shipped_rules() -> Program {
    build(&shipped_sources())
}

/// The shipped rules' sources, as [`shipped_rules`] reads them.
pub fn shipped_sources() -> Sources {
    let mut sources = Sources::new();
    add_files(&mut sources, &workspace().join("rules"), "rules", ".lyk");
    add_files(
        &mut sources,
        &workspace().join("rules/tables"),
        "rules/tables",
        ".txt",
    );
    sources
}

/// A sample household's line (`rules/tests/samples.ndjson`) by record id.
pub fn sample(id: &str) -> String {
    let text = std::fs::read_to_string(workspace().join("rules/tests/samples.ndjson")).unwrap();
    let needle = format!("\"record_id\": \"{id}\"");
    text.lines()
        .find(|l| l.contains(&needle))
        .unwrap()
        .to_string()
}

pub fn build(sources: &Sources) -> Program {
    let (program, diagnostics) = compile(sources);
    let rendered = render_terminal(sources, &diagnostics, false);
    assert!(program.is_some(), "{rendered}");
    program.unwrap()
}

pub fn context(program: &Program, as_of: &str, overrides: &[&str]) -> EvalContext {
    let mut ctx = EvalContext::new(Date::parse(as_of).unwrap());
    for spec in overrides {
        let (name, lit) = parse_override(program, spec).unwrap();
        ctx.overrides.insert(name, lit);
    }
    ctx
}

/// A compiled module, instantiated once and reused for many batches.
pub struct Runner {
    store: wasmi::Store<()>,
    memory: wasmi::Memory,
    alloc: wasmi::TypedFunc<i32, i32>,
    evaluate: wasmi::TypedFunc<(i32, i32), i32>,
    decide: wasmi::TypedFunc<(i32, i32), i32>,
    result_len: wasmi::TypedFunc<(), i32>,
}

impl Runner {
    pub fn new(program: &Program) -> Runner {
        let bytes = compile_module(program);
        wasmparser::validate(&bytes).expect("the module validates");
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, &bytes[..]).unwrap();
        let mut store = wasmi::Store::new(&engine, ());
        let linker = wasmi::Linker::<()>::new(&engine);
        let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
        let abi = instance
            .get_typed_func::<(), i32>(&store, "abi_version")
            .unwrap()
            .call(&mut store, ())
            .unwrap();
        assert_eq!(abi as u32, layak_dsl::wasm::ABI_VERSION);
        Runner {
            memory: instance.get_memory(&store, "memory").unwrap(),
            alloc: instance.get_typed_func(&store, "alloc").unwrap(),
            evaluate: instance.get_typed_func(&store, "evaluate").unwrap(),
            decide: instance.get_typed_func(&store, "decide").unwrap(),
            result_len: instance.get_typed_func(&store, "result_len").unwrap(),
            store,
        }
    }

    /// The explain path (`evaluate`): whole decisions.
    pub fn run(
        &mut self,
        program: &Program,
        households: &[Value],
        ctx: &EvalContext,
    ) -> Vec<HouseholdDecision> {
        let bytes = self.call(program, households, ctx, true);
        decode_results(program, households, ctx, &bytes).unwrap()
    }

    /// The decide path (`decide`): summaries only.
    pub fn run_summaries(
        &mut self,
        program: &Program,
        households: &[Value],
        ctx: &EvalContext,
    ) -> Vec<Summary> {
        let bytes = self.call(program, households, ctx, false);
        // What names the records, read from the batch's bytes as `layak
        // run` reads it, must be what the households themselves give.
        let names = names_of_batch(program, &encode_batch(program, households, ctx)).unwrap();
        let of_values: Vec<Names> = households.iter().map(|h| Names::of(program, h)).collect();
        assert_eq!(format!("{names:?}"), format!("{of_values:?}"));
        decode_summaries(program, &names, ctx, &bytes).unwrap()
    }

    fn call(
        &mut self,
        program: &Program,
        households: &[Value],
        ctx: &EvalContext,
        explain: bool,
    ) -> Vec<u8> {
        let batch = encode_batch(program, households, ctx);
        let ptr = self
            .alloc
            .call(&mut self.store, batch.len() as i32)
            .unwrap();
        assert!(ptr > 0);
        self.memory
            .write(&mut self.store, ptr as usize, &batch)
            .unwrap();
        let export = if explain { self.evaluate } else { self.decide };
        let result = export
            .call(&mut self.store, (ptr, batch.len() as i32))
            .unwrap();
        assert!(result > 0, "evaluate failed with {result}");
        let len = self.result_len.call(&mut self.store, ()).unwrap() as usize;
        let data = self.memory.data(&self.store);
        data[result as usize..result as usize + len].to_vec()
    }
}

/// Compares the module with the interpreter on every household, byte for
/// byte: the full decision (explanations included) and the summary line of
/// the explain path (`evaluate`), and the summary of the decide path
/// (`decide`).
/// Returns how many households were compared, or the first difference.
pub fn compare(
    runner: &mut Runner,
    program: &Program,
    households: &[Value],
    ctx: &EvalContext,
) -> Result<usize, String> {
    let from_wasm = runner.run(program, households, ctx);
    let decided = runner.run_summaries(program, households, ctx);
    if decided.len() != households.len() {
        return Err(format!(
            "{} summaries for {} households",
            decided.len(),
            households.len()
        ));
    }
    if from_wasm.len() != households.len() {
        return Err(format!(
            "{} decisions for {} households",
            from_wasm.len(),
            households.len()
        ));
    }
    for (i, (household, wasm)) in households.iter().zip(&from_wasm).enumerate() {
        let interpreted = evaluate(program, household, ctx);
        let expected = serde_json::to_string(&interpreted).unwrap();
        let actual = serde_json::to_string(wasm).unwrap();
        if expected != actual {
            let e: serde_json::Value = serde_json::from_str(&expected).unwrap();
            let a: serde_json::Value = serde_json::from_str(&actual).unwrap();
            let (e, a) = (
                serde_json::to_string_pretty(&e).unwrap(),
                serde_json::to_string_pretty(&a).unwrap(),
            );
            return Err(format!(
                "household {i} differs{}\n--- interpreter\n{e}\n--- wasm\n{a}",
                first_difference(&e, &a)
            ));
        }
        let expected = serde_json::to_string(&interpreted.summary()).unwrap();
        let actual = serde_json::to_string(&wasm.summary()).unwrap();
        if expected != actual {
            return Err(format!(
                "household {i}: summaries differ\n--- interpreter\n{expected}\n--- wasm\n{actual}"
            ));
        }
        let decided = serde_json::to_string(&decided.get(i)).unwrap();
        if expected != decided {
            return Err(format!(
                "household {i}: the decide path's summary differs\n--- interpreter\n{expected}\n--- decide\n{decided}"
            ));
        }
    }
    Ok(households.len())
}

/// Where two pretty-printed documents first differ, with a few lines of
/// context from each: the whole documents can run to hundreds of lines.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let at = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let around = |lines: &[&str]| {
        lines
            .iter()
            .skip(at.saturating_sub(6))
            .take(10)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        " first at line {}\n--- interpreter, there\n{}\n--- wasm, there\n{}",
        at + 1,
        around(&e),
        around(&a)
    )
}

/// [`compare`], failing the test on a difference.
pub fn same(
    runner: &mut Runner,
    program: &Program,
    households: &[Value],
    ctx: &EvalContext,
    what: &str,
) -> usize {
    match compare(runner, program, households, ctx) {
        Ok(n) => n,
        Err(e) => panic!("{what}: {e}"),
    }
}
