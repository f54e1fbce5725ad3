//! Differential tests over generated programs: random well-typed rule
//! programs, written as Layak source so the whole pipeline (parse, check,
//! IR) is exercised, with random households for their schema. Every program
//! must compile without errors (anything else is a bug of the generator),
//! its module must pass `wasmparser::validate`, and the module (run by
//! wasmi) and the reference interpreter must give byte-identical decisions,
//! explanations and summaries.
//!
//! The generator draws every decision from a list of numbers (a "choice
//! stream", as Hypothesis does): proptest shrinks the list, and a shorter
//! list or smaller numbers give a smaller program, because choice 0 is
//! always the simplest option and an exhausted stream reads as zeros.
//!
//! `PROPTEST_CASES` sets the number of programs (default 400, a few seconds
//! in the debug build); each program runs on a batch of one to five
//! households.
//!
//! The schema declares some records `open` and some fields `ignored`, and
//! households carry fields their records do not name (`extras.rs`): plain
//! unknown ones, misspellings of a field the object lacks, look-alikes of
//! one it has. The decoder must report exactly the expected errors and
//! count exactly the expected unknown fields, and a household that decodes
//! must decode to what it would without its extra fields, so the module and
//! the interpreter see the same values.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken fixture"
)]

#[path = "wasm_programs/choices.rs"]
mod choices;
mod common;
#[path = "wasm_programs/extras.rs"]
mod extras;
#[path = "wasm_programs/generator.rs"]
mod generator;
#[path = "wasm_programs/schema.rs"]
mod schema;

use std::collections::BTreeMap;

use layak_dsl::date::Date;
use layak_dsl::decision::HouseholdDecision;
use layak_dsl::diagnostic::{has_errors, render_terminal};
use layak_dsl::eval::{EvalContext, evaluate, parse_override};
use layak_dsl::record::{UnknownFields, decode_json, decode_json_with};
use layak_dsl::wasm::compile_module;
use layak_dsl::{Sources, compile};
use proptest::prelude::*;
use serde_json::json;

use choices::{Choices, choices};
use extras::{Expected, add_extra_fields};
use generator::program_source;
use schema::{AS_OF, DIGIT_TABLE, HOUSEHOLD, OVERRIDES, TABLE, json_record};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400)
}

/// What one case gave: the decisions, and how many households were
/// malformed by a misspelt field and how many unknown fields were counted.
struct Outcome {
    decisions: Vec<HouseholdDecision>,
    misspelt: usize,
    unknown: UnknownFields,
}

/// One case: the program, its households and the context, from their choice
/// streams. Returns what it gave, or what went wrong with everything needed
/// to reproduce it.
fn run_case(program: &[u32], households: &[u32], context: &[u32]) -> Result<Outcome, String> {
    let source = program_source(program);
    let mut sources = Sources::new();
    sources.add("main.lyk".to_string(), source.clone());
    sources.add("tables/codes.txt".to_string(), TABLE.to_string());
    sources.add("tables/none.txt".to_string(), "# no codes\n".to_string());
    sources.add("tables/digits.txt".to_string(), DIGIT_TABLE.to_string());
    let (checked, diagnostics) = compile(&sources);
    if has_errors(&diagnostics) {
        return Err(format!(
            "the generator wrote an ill-typed program:\n{}\n{source}",
            render_terminal(&sources, &diagnostics, false)
        ));
    }
    let program = checked.unwrap();
    let bytes = compile_module(&program);
    if let Err(e) = wasmparser::validate(&bytes) {
        return Err(format!("invalid module: {e}\n{source}"));
    }

    let mut c = Choices::new(households);
    let mut docs = Vec::new();
    let mut values = Vec::new();
    let mut misspelt = 0;
    let mut unknown = UnknownFields::default();
    let mut expected = Expected::default();
    for _ in 0..1 + c.below(5) {
        let mut doc = json_record(&mut c, HOUSEHOLD);
        doc["record_id"] = json!(*c.pick(&["H1", "H2", "", "é"]));
        let clean = decode_json(&program.schema, &doc).unwrap_or_else(|e| panic!("{doc}: {e:?}"));
        let mut extras = Expected::default();
        add_extra_fields(&mut c, &mut doc, HOUSEHOLD, "$", "", &mut extras);
        match decode_json_with(&program.schema, &doc, &mut unknown) {
            Ok(value) if extras.errors.is_empty() => {
                if value != clean {
                    return Err(format!(
                        "extra fields changed what the rules see:\n{doc}\n{source}"
                    ));
                }
                for (path, (count, hint)) in extras.counted {
                    let entry = expected.counted.entry(path).or_insert((0, hint));
                    entry.0 += count;
                }
                values.push(value);
                docs.push(doc);
            }
            Ok(_) => {
                return Err(format!(
                    "decoded despite {:?}:\n{doc}\n{source}",
                    extras.errors
                ));
            }
            Err(errors) => {
                let mut got: Vec<String> = errors.iter().map(ToString::to_string).collect();
                got.sort();
                extras.errors.sort();
                if got != extras.errors {
                    return Err(format!(
                        "decode errors {got:?}, expected {:?}:\n{doc}\n{source}",
                        extras.errors
                    ));
                }
                misspelt += 1;
            }
        }
    }
    let counted: BTreeMap<String, (u64, Option<String>)> = unknown
        .iter()
        .map(|(path, u)| (path.to_string(), (u.count, u.hint.clone())))
        .collect();
    if counted != expected.counted {
        return Err(format!(
            "unknown fields counted {counted:?}, expected {:?}\n{source}",
            expected.counted
        ));
    }

    let mut c = Choices::new(context);
    let as_of = *c.pick(AS_OF);
    let mut ctx = EvalContext::new(Date::parse(as_of).unwrap());
    let mut overrides = Vec::new();
    for _ in 0..c.below(3) {
        let spec = *c.pick(OVERRIDES);
        let (name, lit) = parse_override(&program, spec).unwrap();
        ctx.overrides.insert(name, lit);
        overrides.push(spec);
    }

    let mut runner = common::Runner::new(&program);
    match common::compare(&mut runner, &program, &values, &ctx) {
        Ok(_) => Ok(Outcome {
            decisions: values.iter().map(|v| evaluate(&program, v, &ctx)).collect(),
            misspelt,
            unknown,
        }),
        Err(e) => {
            let lines: Vec<String> = docs.iter().map(ToString::to_string).collect();
            Err(format!(
                "{e}\n--- program\n{source}\n--- households\n{}\n--- as_of {as_of}, overrides {overrides:?}",
                lines.join("\n")
            ))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_programs_agree(
        program in choices(3000),
        households in choices(600),
        context in choices(8),
    ) {
        if let Err(e) = run_case(&program, &households, &context) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// Cases from a fixed seed, for the checks on the generator itself.
fn deterministic_cases(n: usize) -> Vec<(Vec<u32>, Vec<u32>, Vec<u32>)> {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut draw = |max| choices(max).new_tree(&mut runner).unwrap().current();
    (0..n).map(|_| (draw(3000), draw(600), draw(8))).collect()
}

/// The generator reaches every outcome: a change that made its programs
/// trivial (every criterion passing, no benefit items, no computation
/// errors) would leave the property above testing little.
#[test]
fn generated_programs_reach_every_outcome() {
    let mut seen = std::collections::BTreeSet::new();
    for (program, households, context) in deterministic_cases(150) {
        let outcome = run_case(&program, &households, &context).unwrap();
        if outcome.misspelt > 0 {
            seen.insert("misspelt field".to_string());
        }
        for (_, u) in outcome.unknown.iter() {
            let kind = if u.hint.is_some() {
                "near miss counted"
            } else {
                "unknown field counted"
            };
            seen.insert(kind.to_string());
        }
        for d in outcome.decisions {
            seen.insert(format!("{:?}", d.status));
            let criteria = d
                .verification
                .iter()
                .flat_map(|r| &r.criteria)
                .chain(d.programmes.values().flatten().flat_map(|s| &s.criteria));
            for c in criteria {
                seen.insert(format!("{:?}", c.outcome));
                if !c.elements.is_empty() {
                    seen.insert("for elements".into());
                }
                for m in &c.missing {
                    let kind = if m.starts_with("error") || m.starts_with("params") {
                        m.as_str()
                    } else {
                        "missing field"
                    };
                    seen.insert(kind.to_string());
                }
            }
            for s in d.programmes.values().flatten() {
                seen.insert(format!("{:?}", s.eligibility));
                if s.benefit.as_ref().is_some_and(|b| !b.items.is_empty()) {
                    seen.insert("benefit items".into());
                }
            }
        }
    }
    for want in [
        "Verified",
        "Returned",
        "Passed",
        "Failed",
        "Undetermined",
        "Eligible",
        "NotEligible",
        "for elements",
        "benefit items",
        "missing field",
        "params.P_BOOL",
        "error: division by zero",
        "error: overflow",
        "error: not a number",
        "error: not a date",
        "error: no elements",
        "misspelt field",
        "near miss counted",
        "unknown field counted",
    ] {
        assert!(seen.contains(want), "no `{want}` in {seen:?}");
    }
}

/// `cargo test -p layak-dsl --test wasm_programs -- --ignored --nocapture`
/// prints a few generated programs, to see what the generator writes.
#[test]
#[ignore = "prints examples; it checks nothing"]
fn show_generated_programs() {
    for (program, _, _) in deterministic_cases(3) {
        println!("{}\n", program_source(&program));
    }
}
