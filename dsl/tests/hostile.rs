//! The hostile corpus: rule text written to break the compiler. Each case,
//! the files of `corpus/hostile/` (a file `NAME.lyk`, or a directory `NAME/`
//! of files, read as bytes) and the generated ones below (chains of 10,000
//! terms of every operator, deep brackets, 500-arm `else if` ladders, 10,000
//! criteria, a 1 MB string), goes through every pass on a 1 MiB stack (the
//! playground's wasm32 stack): parse and check, the formatter (idempotent, or
//! refused with a diagnostic), and, when it compiles, code generation with
//! validation and the interpreter against wasmi on a few households. Its
//! diagnostics (code, place, message, help) are snapshotted.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken corpus"
)]

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use layak_dsl::diagnostic::has_errors;
use layak_dsl::record::decode_line;
use layak_dsl::{Sources, compile, fmt};

/// A case's files: (path, bytes).
type Files = Vec<(String, Vec<u8>)>;

/// A schema and a ruleset that calls `x(household)`, for generated cases.
const PRELUDE: &str = "record Household key id { id: text }\nsubject household: Household\n\
ruleset hostile {\n  stage verification\n  for each household\n  criterion HOLDS blocking {\n    \
require x(household)\n    message id \"tidak\"\n    message en \"no\"\n  }\n}\n";

fn def(body: &str) -> Vec<u8> {
    format!("{PRELUDE}def x(h: Household): bool = {body}\n").into_bytes()
}

/// A chain of `n` terms joined by `op`, typed so that it would check.
fn chain(op: &str, n: usize) -> String {
    let (term, tail) = match op {
        "and" | "or" | "??" | "==" | "!=" => ("true", ""),
        "<" | "<=" | ">" | ">=" => ("1", ""),
        _ => ("1", " > 0"),
    };
    format!("{}{tail}", vec![term; n].join(&format!(" {op} ")))
}

/// The generated cases, by name.
fn generated() -> Vec<(String, Vec<u8>)> {
    let mut cases = Vec::new();
    let ops = [
        ("add", "+"),
        ("sub", "-"),
        ("mul", "*"),
        ("div", "/"),
        ("rem", "%"),
        ("and", "and"),
        ("or", "or"),
        ("coalesce", "??"),
        ("eq", "=="),
        ("ne", "!="),
        ("lt", "<"),
        ("le", "<="),
        ("gt", ">"),
        ("ge", ">="),
    ];
    for (name, op) in ops {
        cases.push((format!("chain_{name}_10000"), def(&chain(op, 10_000))));
    }
    // The issue's reproduction, verbatim but for the schema.
    cases.push((
        "chain_issue_13".into(),
        format!(
            "{PRELUDE}def x(h: Household): bool = true\ndef y(): int = {}\n",
            vec!["1"; 10_000].join(" + ")
        )
        .into_bytes(),
    ));
    let n = 10_000;
    cases.push((
        "in_list_chain_10000".into(),
        def(&format!("{}true{}", "true in [".repeat(n), "]".repeat(n))),
    ));
    cases.push((
        "not_10000".into(),
        def(&format!("{}true", "not ".repeat(n))),
    ));
    cases.push(("neg_10000".into(), def(&format!("{}1 > 0", "-".repeat(n)))));
    cases.push((
        "field_10000".into(),
        def(&format!("len(h{}) > 0", ".id".repeat(n))),
    ));
    cases.push((
        "parens_10000".into(),
        def(&format!("{}true{}", "(".repeat(n), ")".repeat(n))),
    ));
    cases.push(("parens_unclosed_10000".into(), def(&"(".repeat(n))));
    cases.push((
        "if_then_10000".into(),
        def(&format!(
            "{}true{}",
            "if true then ".repeat(n),
            " else false".repeat(n)
        )),
    ));
    cases.push((
        "if_cond_10000".into(),
        def(&format!(
            "{}true{}",
            "if ".repeat(n),
            " then true else false".repeat(n)
        )),
    ));
    cases.push((
        "calls_10000".into(),
        def(&format!("{}1{} > 0", "max(".repeat(n), ", 1)".repeat(n))),
    ));
    cases.push((
        "aggregates_1000".into(),
        def(&format!(
            "{}true{}",
            (0..1000)
                .map(|i| format!("any(v{i} in [true]: "))
                .collect::<String>(),
            ")".repeat(1000)
        )),
    ));
    cases.push((
        "lists_10000".into(),
        def(&format!(
            "count(v in {}1{}) > 0",
            "[".repeat(n),
            "]".repeat(n)
        )),
    ));
    cases.push((
        "hole_parens_10000".into(),
        format!(
            "{}def x(h: Household): bool = true\n",
            PRELUDE.replace(
                "\"no\"",
                &format!("\"no {{{}h.id{}}}\"", "(".repeat(n), ")".repeat(n))
            )
        )
        .into_bytes(),
    ));
    // Legitimate: a ladder of 500 arms, on the length of the id.
    let ladder: String = (0..500)
        .map(|i| format!("if len(h.id) == {i} then {}\n  else ", i % 3 == 1))
        .collect();
    cases.push(("ladder_500".into(), def(&format!("{ladder}false"))));
    let ladder: String = (0..500)
        .map(|i| format!("if len(h.id) == {i} then {i}\n  else "))
        .collect();
    cases.push((
        "ladder_500_int".into(),
        def(&format!("({ladder}-1) % 2 == 1")),
    ));
    let mut many = String::from(PRELUDE.split("ruleset").next().unwrap());
    many.push_str("ruleset many {\n  stage verification\n  for each household\n");
    for i in 0..10_000 {
        writeln!(
            many,
            "  criterion C{i} blocking {{ require len(household.id) != {i} message id \"t\" message en \"n\" }}"
        )
        .unwrap();
    }
    many.push_str("}\n");
    cases.push(("criteria_10000".into(), many.into_bytes()));
    cases.push((
        "string_1mb".into(),
        def(&format!("len(\"{}\") > 0", "x".repeat(1_000_000))),
    ));
    cases.push(("file_2mb".into(), {
        let mut text = def("true");
        text.extend(std::iter::repeat_n(b'\n', 2 << 20));
        text
    }));
    cases
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/hostile")
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

/// The corpus files: each a case of one file, or a directory of files.
fn from_files() -> Vec<(String, Files)> {
    read_dir_sorted(&corpus_dir())
        .into_iter()
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let files = if path.is_dir() {
                read_dir_sorted(&path)
                    .into_iter()
                    .map(|f| {
                        let n = f.file_name().unwrap().to_string_lossy().to_string();
                        (n, std::fs::read(&f).unwrap())
                    })
                    .collect()
            } else {
                vec![(name, std::fs::read(&path).unwrap())]
            };
            (stem, files)
        })
        .collect()
}

/// Every pass over one case, described for its snapshot.
fn run(files: Vec<(String, Vec<u8>)>) -> String {
    let stack = std::thread::Builder::new().stack_size(1024 * 1024);
    stack
        .spawn(move || run_on_this_stack(&files))
        .unwrap()
        .join()
        .unwrap()
}

fn run_on_this_stack(files: &[(String, Vec<u8>)]) -> String {
    let mut sources = Sources::new();
    let ids: Vec<_> = files
        .iter()
        .map(|(name, bytes)| sources.add_bytes(name.as_str(), bytes))
        .collect();
    let (program, diags) = compile(&sources);
    let mut out = String::new();
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    writeln!(out, "codes: {}", codes.join(" ")).unwrap();
    for d in &diags {
        let file = sources.get(d.span.file).unwrap();
        let (line, col) = file.line_col(d.span.start as usize);
        writeln!(out, "{} {}:{line}:{col}: {}", d.code, file.name, d.message).unwrap();
        if let Some(help) = &d.help {
            writeln!(out, "  help: {help}").unwrap();
        }
    }
    for id in ids {
        let file = sources.get(id).unwrap();
        let verdict = match fmt::format_source(id, &file.text) {
            _ if file.not_utf8_at.is_some() => "not formatted (not UTF-8)".to_string(),
            Ok(formatted) => {
                let again = fmt::format_source(id, &formatted);
                assert_eq!(
                    again.as_ref(),
                    Ok(&formatted),
                    "{}: not idempotent",
                    file.name
                );
                "formatted, idempotent".to_string()
            }
            Err(d) => {
                assert!(has_errors(&d));
                format!("refused: {}", d[0].code)
            }
        };
        writeln!(out, "fmt {}: {verdict}", file.name).unwrap();
    }
    let Some(program) = program else {
        assert!(has_errors(&diags));
        return out;
    };
    let module = layak_dsl::wasm::compile_module_checked(&program).unwrap();
    wasmparser::validate(&module).unwrap();
    writeln!(out, "module: validates").unwrap();
    if program.schema.root().is_none() {
        writeln!(out, "no subject: nothing to evaluate").unwrap();
        return out;
    }
    let households: Vec<_> = (0..6)
        .map(|n| {
            let line = format!(r#"{{"id": "{}"}}"#, "7".repeat(n));
            decode_line(&program.schema, &line).unwrap()
        })
        .collect();
    let ctx = common::context(&program, "2025-10-01", &[]);
    let mut runner = common::Runner::new(&program);
    let compared = common::compare(&mut runner, &program, &households, &ctx).unwrap();
    let outcomes: Vec<String> = households
        .iter()
        .map(|h| {
            let d = layak_dsl::eval::evaluate(&program, h, &ctx);
            let s = d.summary();
            format!("{:?}{:?}", s.status, s.failures)
        })
        .collect();
    writeln!(
        out,
        "wasm and interpreter agree on {compared} households: {}",
        outcomes.join(" ")
    )
    .unwrap();
    out
}

#[test]
fn hostile_files() {
    for (name, files) in from_files() {
        insta::assert_snapshot!(format!("hostile_{name}"), run(files));
    }
}

#[test]
fn hostile_generated() {
    for (name, text) in generated() {
        insta::assert_snapshot!(
            format!("hostile_{name}"),
            run(vec![(format!("{name}.lyk"), text)])
        );
    }
}
