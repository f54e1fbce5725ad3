//! The hostile rule corpus (`dsl/tests/corpus/hostile/`, and a few large
//! generated cases) through the real binary: `layak check` and `layak fmt
//! --check` on each case next to a copy of the shipped rules, in a temp
//! rules directory. Each must answer with exit code 0 (legitimate rules) or
//! 1 with a diagnostic code, never crash (a signal, a stack overflow's abort,
//! or an exit code past the CLI's own).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use crate::serve_common::{TempDir, root};

/// A case's files: (path, bytes).
pub(crate) type Files = Vec<(String, Vec<u8>)>;

/// `layak ARGS`: the exit code (`None` for a signal) and stderr.
fn layak(args: &[&Path], sub: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_layak"))
        .args(sub)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("layak starts");
    if let Some(signal) = out.status.signal() {
        panic!("layak {sub:?} died of signal {signal}");
    }
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    (out.status.code(), text)
}

/// The cases: (name, files as (relative path, bytes)).
pub(crate) fn cases() -> Vec<(String, Files)> {
    let dir = root().join("dsl/tests/corpus/hostile");
    let mut cases = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let files = if path.is_dir() {
            std::fs::read_dir(&path)
                .unwrap()
                .map(|e| {
                    let p = e.unwrap().path();
                    let n = p.file_name().unwrap().to_string_lossy().to_string();
                    (format!("{name}/{n}"), std::fs::read(&p).unwrap())
                })
                .collect()
        } else {
            vec![(name.clone(), std::fs::read(&path).unwrap())]
        };
        cases.push((name, files));
    }
    let evil = |body: String| {
        vec![(
            "evil.lyk".to_string(),
            format!("import \"schema.lyk\"\ndef x(): int = {body}\n").into_bytes(),
        )]
    };
    // The issue's reproduction, and the other shapes that overflowed.
    cases.push(("chain".into(), evil(vec!["1"; 10_000].join(" + "))));
    cases.push(("and_chain".into(), evil(vec!["true"; 10_000].join(" and "))));
    cases.push((
        "parens".into(),
        evil(format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000))),
    ));
    cases.push((
        "calls".into(),
        evil(format!("{}1{}", "max(".repeat(40), ", 1)".repeat(40))),
    ));
    cases.push((
        "ifs".into(),
        evil(format!(
            "{}1{}",
            "if true then ".repeat(10_000),
            " else 0".repeat(10_000)
        )),
    ));
    let ladder: String = (0..500)
        .map(|i| format!("if 1 == {i} then {i}\n  else "))
        .collect();
    cases.push(("ladder".into(), evil(format!("{ladder}-1"))));
    cases.push((
        "string".into(),
        evil(format!("len(\"{}\")", "x".repeat(1_000_000))),
    ));
    cases
}

#[test]
fn check_and_fmt_answer_every_hostile_case_with_a_code() {
    let shipped = root().join("rules");
    for (name, files) in cases() {
        let dir = TempDir::new("hostile-rules");
        for entry in std::fs::read_dir(&shipped).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "lyk") {
                std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
            }
        }
        let mut written = Vec::new();
        for (rel, bytes) in &files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            written.push(path);
        }
        let (code, out) = layak(&[dir.path()], &["check"]);
        match code {
            Some(0) => assert!(!out.contains("error["), "{name}: exit 0 with errors: {out}"),
            Some(1) => assert!(
                out.contains("error[E"),
                "{name}: exit 1 without a code: {out}"
            ),
            other => panic!(
                "{name}: `layak check` exit {other:?}: {}",
                &out[..out.len().min(2000)]
            ),
        }
        let paths: Vec<&Path> = written.iter().map(|p| p.as_path()).collect();
        let (code, out) = layak(&paths, &["fmt", "--check"]);
        match code {
            Some(0) => {}
            Some(1) => assert!(
                out.contains("error[E") || out.contains("is not formatted"),
                "{name}: fmt exit 1 without a reason: {}",
                &out[..out.len().min(2000)]
            ),
            other => panic!(
                "{name}: `layak fmt --check` exit {other:?}: {}",
                &out[..out.len().min(2000)]
            ),
        }
    }
}

#[test]
fn the_issue_chain_is_e0901_through_layak_check() {
    let dir = TempDir::new("hostile-chain");
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "lyk") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let chain = vec!["1"; 10_000].join(" + ");
    std::fs::write(
        dir.path().join("evil.lyk"),
        format!("import \"schema.lyk\"\ndef x(): int = {chain}\n"),
    )
    .unwrap();
    let (code, out) = layak(&[dir.path()], &["check"]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("error[E0901]"),
        "{}",
        &out[..out.len().min(2000)]
    );
}
