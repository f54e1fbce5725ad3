//! Every language limit of `dsl/src/limits.rs`, at the limit and one past
//! it: at the limit the whole pipeline (parse, check, interpreter, wasm
//! codegen with validation and a run in wasmi, formatter, dropping every
//! tree) works in a thread with a 1 MiB stack, the playground's on wasm32;
//! one past it gives the limit's code. Also: README.md's "Limits" table
//! agrees with `LIMITS`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use layak_dsl::diagnostic::{Diagnostic, has_errors};
use layak_dsl::limits::{
    LIMITS, MAX_CRITERIA, MAX_FILE_BYTES, MAX_FILES, MAX_NESTING, MAX_STRING_BYTES,
};
use layak_dsl::record::decode_line;
use layak_dsl::wasm::compile_module_within;
use layak_dsl::{Sources, compile, fmt};

/// The stack of a wasm32 playground: what every pass must fit in.
const STACK: usize = 1024 * 1024;

/// A one-record schema and a ruleset whose criterion requires `x()`.
const PRELUDE: &str = "record Household key id { id: text }\nsubject household: Household\n\
ruleset limits {\n  stage verification\n  for each household\n  criterion HOLDS blocking {\n    require x()\n\
    message id \"tidak\"\n    message en \"no\"\n  }\n}\n";

/// Runs `f` on a thread with the playground's stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Every pass over one rule file: the diagnostics, and for a program that
/// compiles the interpreter's and wasmi's decision on one household (the
/// same, or this panics), and the formatter's output (a fixed point).
fn pipeline(text: String) -> (Vec<Diagnostic>, Option<String>) {
    on_small_stack(move || {
        let mut sources = Sources::new();
        let id = sources.add("limits.lyk", text.clone());
        let (program, diags) = compile(&sources);
        let formatted = fmt::format_source(id, &text).ok();
        if let Some(f) = &formatted {
            assert_eq!(
                fmt::format_source(id, f).ok().as_ref(),
                Some(f),
                "not idempotent"
            );
        }
        let Some(program) = program else {
            return (diags, None);
        };
        let household = decode_line(&program.schema, r#"{"id": "1"}"#).unwrap();
        let ctx = common::context(&program, "2025-10-01", &[]);
        let mut runner = common::Runner::new(&program);
        common::compare(
            &mut runner,
            &program,
            std::slice::from_ref(&household),
            &ctx,
        )
        .unwrap();
        let decision = layak_dsl::eval::evaluate(&program, &household, &ctx);
        (diags, Some(format!("{:?}", decision.summary())))
    })
}

fn codes(diags: &[Diagnostic]) -> Vec<&'static str> {
    diags.iter().map(|d| d.code).collect()
}

/// A boolean expression exactly `depth` levels deep, of each shape.
fn nested(shape: &str, depth: usize) -> String {
    let n = depth - 1;
    match shape {
        "paren" => format!("{}true{}", "(".repeat(n), ")".repeat(n)),
        "not" => format!("{}true", "not ".repeat(n)),
        "and" => vec!["true"; depth].join(" and "),
        "or" => vec!["true"; depth].join(" or "),
        "eq" => vec!["true"; depth].join(" == "),
        "ne" => format!("{} == true", vec!["true"; depth - 1].join(" != ")),
        "add" => format!("{} > 0", vec!["1"; depth - 1].join(" + ")),
        "sub" => format!("{} < 1", vec!["1"; depth - 1].join(" - ")),
        "mul" => format!("{} == 1", vec!["1"; depth - 1].join(" * ")),
        "div" => format!("{} == 1", vec!["1"; depth - 1].join(" / ")),
        "rem" => format!("{} == 0", vec!["1"; depth - 1].join(" % ")),
        "coalesce" => vec!["true"; depth].join(" ?? "),
        "neg" => format!("{}1 < 0", "-".repeat(depth - 2)),
        "if" => format!(
            "{}true{}",
            "if true then ".repeat(n),
            " else false".repeat(n)
        ),
        "if_cond" => format!(
            "{}true{}",
            "if ".repeat(n),
            " then true else false".repeat(n)
        ),
        "call" => format!(
            "{}1{} > 0",
            "max(".repeat(depth - 2),
            ", 1)".repeat(depth - 2)
        ),
        "list" => format!(
            "count(v in {}1{}) > 0",
            "[".repeat(depth - 3),
            "]".repeat(depth - 3)
        ),
        // The innermost list, `[true]`, is two levels.
        "agg" => format!(
            "{}true{}",
            (0..depth - 2)
                .map(|i| format!("any(v{i} in [true]: "))
                .collect::<String>(),
            ")".repeat(depth - 2)
        ),
        _ => unreachable!(),
    }
}

const SHAPES: &[&str] = &[
    "paren", "not", "and", "or", "eq", "ne", "add", "sub", "mul", "div", "rem", "coalesce", "neg",
    "if", "if_cond", "call", "list", "agg",
];

fn def(body: &str) -> String {
    format!("{PRELUDE}def x(): bool = {body}\n")
}

#[test]
fn nesting_at_the_limit_works_everywhere_and_one_past_is_e0901() {
    for shape in SHAPES {
        let (diags, decision) = pipeline(def(&nested(shape, MAX_NESTING)));
        assert!(!has_errors(&diags), "{shape} at the limit: {diags:#?}");
        assert!(decision.is_some(), "{shape}");
        let (diags, _) = pipeline(def(&nested(shape, MAX_NESTING + 1)));
        assert_eq!(codes(&diags), ["E0901"], "{shape} past the limit");
    }
}

#[test]
fn an_else_if_ladder_of_500_arms_is_one_level() {
    let arms: String = (0..500)
        .map(|i| format!("if len(h.id) == {i} then {} else ", i % 2 == 1))
        .collect();
    let text = PRELUDE.replace("x()", "y(household)")
        + &format!("def y(h: Household): bool = {arms}false\n");
    let (diags, decision) = pipeline(text);
    assert!(!has_errors(&diags), "{diags:#?}");
    // The household's id has one character: arm 1, `true`.
    assert_eq!(decision, pipeline(def("true")).1);
    assert_ne!(decision, pipeline(def("false")).1);
}

#[test]
fn a_file_at_the_size_limit_parses_and_one_byte_more_is_e0902() {
    // Already formatted, so that formatting does not make it larger.
    let mut text = fmt::format_source(layak_dsl::FileId(0), &def("true")).unwrap();
    text.push_str(&"/".repeat(MAX_FILE_BYTES - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), MAX_FILE_BYTES);
    let (diags, _) = pipeline(text.clone());
    assert!(!has_errors(&diags), "{diags:#?}");
    text.push('\n');
    let (diags, _) = pipeline(text);
    assert_eq!(codes(&diags), ["E0902"]);
}

#[test]
fn a_string_at_the_size_limit_is_read_and_one_byte_more_is_e0905() {
    let at = |n: usize| def(&format!("len(\"{}\") > 0", "x".repeat(n)));
    let (diags, decision) = pipeline(at(MAX_STRING_BYTES));
    assert!(!has_errors(&diags), "{diags:#?}");
    assert!(decision.is_some());
    let (diags, _) = pipeline(at(MAX_STRING_BYTES + 1));
    assert_eq!(codes(&diags), ["E0905"]);
}

#[test]
fn files_at_the_limit_compile_and_one_more_is_e0903() {
    let compile_n = |n: usize| {
        let mut sources = Sources::new();
        sources.add("main.lyk", def("true"));
        for i in 1..n {
            sources.add(format!("f{i}.lyk"), format!("def d{i}(): int = {i}\n"));
        }
        compile(&sources).1
    };
    assert!(!has_errors(&compile_n(MAX_FILES)));
    assert_eq!(codes(&compile_n(MAX_FILES + 1)), ["E0903"]);
}

/// `n` criteria in one ruleset.
fn criteria(n: usize) -> String {
    let mut text = String::from(
        "record Household key id { id: text }\nsubject household: Household\n\
         ruleset many {\n  stage verification\n  for each household\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "  criterion C{i} blocking {{ require true message id \"t\" message en \"n\" }}\n"
        ));
    }
    text.push_str("}\n");
    text
}

#[test]
fn criteria_at_the_limit_compile_and_run_and_one_more_is_e0904() {
    let (diags, decision) = pipeline(criteria(MAX_CRITERIA));
    assert!(!has_errors(&diags), "{:#?}", &diags[..diags.len().min(3)]);
    assert!(decision.is_some());
    let (diags, _) = pipeline(criteria(MAX_CRITERIA + 1));
    assert_eq!(codes(&diags), ["E0904"]);
}

#[test]
fn a_module_past_its_budget_is_e0906() {
    let mut sources = Sources::new();
    sources.add("limits.lyk", def("true"));
    let program = compile(&sources).0.unwrap();
    let size = layak_dsl::wasm::compile_module(&program).len();
    assert!(compile_module_within(&program, size).is_ok());
    let d = compile_module_within(&program, size - 1).unwrap_err();
    assert_eq!(d.code, "E0906");
}

#[test]
fn bytes_that_are_not_utf8_are_e0006() {
    let mut sources = Sources::new();
    let mut bytes = def("true").into_bytes();
    bytes.extend([b'/', b'/', 0xff, 0xfe, b'\n']);
    sources.add_bytes("limits.lyk", &bytes);
    let (program, diags) = compile(&sources);
    assert!(program.is_none());
    assert_eq!(codes(&diags), ["E0006"]);
}

#[test]
fn the_readme_table_lists_every_language_limit() {
    let readme = std::fs::read_to_string(common::workspace().join("README.md")).unwrap();
    for limit in LIMITS {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", limit.name)))
            .unwrap_or_else(|| panic!("README.md has no row for `{}`", limit.name));
        assert!(row.contains(limit.code), "{row}");
        let value = limit.value.to_string();
        let grouped = group(limit.value);
        assert!(
            row.contains(&value) || row.contains(&grouped),
            "{row}: {value}"
        );
    }
}

fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
