//! The interpreter on real programs: the shipped rules on the sample
//! households (`docs/domain.md`, "The sample households"), and the evaluation corpus
//! (`corpus/eval/`): small rule programs with households whose decisions are
//! snapshotted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken fixture"
)]

mod common;

use std::path::{Path, PathBuf};

use layak_dsl::date::Date;
use layak_dsl::decision::{Eligibility, HouseholdDecision, Status, SubjectDecision};
use layak_dsl::diagnostic::render_terminal;
use layak_dsl::eval::{EvalContext, evaluate, parse_override};
use layak_dsl::ir::Program;
use layak_dsl::record::decode_line;
use layak_dsl::{Sources, compile};

use common::{add_files, sample, shipped_rules};

/// Compiles without any diagnostic, warnings included.
fn build(sources: &Sources) -> Program {
    let (program, diagnostics) = compile(sources);
    let rendered = render_terminal(sources, &diagnostics, false);
    assert!(diagnostics.is_empty(), "{rendered}");
    program.unwrap()
}

fn decide(program: &Program, line: &str, as_of: &str, overrides: &[&str]) -> HouseholdDecision {
    let household = decode_line(&program.schema, line).unwrap();
    let mut ctx = EvalContext::new(Date::parse(as_of).unwrap());
    for spec in overrides {
        let (name, lit) = parse_override(program, spec).unwrap();
        ctx.overrides.insert(name, lit);
    }
    evaluate(program, &household, &ctx)
}

// ---- the shipped rules -------------------------------------------------------

/// `PROGRAMME who: amount` for each eligible subject (`who` is the label,
/// else the key), `PROGRAMME who: not eligible` or `: undetermined`.
fn amounts(d: &HouseholdDecision) -> Vec<String> {
    let line = |programme: &str, s: &SubjectDecision| {
        let who = s.label.clone().unwrap_or_else(|| s.subject.clone());
        let what = match (s.eligibility, s.amount) {
            (Eligibility::Eligible, Some(n)) => n.to_string(),
            (Eligibility::Eligible, None) => "eligible".to_string(),
            (Eligibility::NotEligible, _) => "not eligible".to_string(),
            (Eligibility::Undetermined, _) => "undetermined".to_string(),
        };
        format!("{programme} {who}: {what}")
    };
    d.programmes
        .iter()
        .flat_map(|(p, subjects)| subjects.iter().map(move |s| line(p, s)))
        .collect()
}

struct Expected {
    id: &'static str,
    status: Status,
    failures: &'static [&'static str],
    warnings: &'static [&'static str],
    amounts: &'static [&'static str],
}

/// The results of the sample households (`docs/domain.md`), as of 2025-10-01.
const EXPECTED: &[Expected] = &[
    Expected {
        id: "H1",
        status: Status::Verified,
        failures: &[],
        warnings: &[],
        amounts: &[
            "PBI_JK Budi: 42000",
            "PBI_JK Sri: 42000",
            "PBI_JK Dimas: 42000",
            "PBI_JK Ayu: 42000",
            "PIP Ayu: 450000",
            "PKH 3310011203150001: 6900000",
            "SEMBAKO 3310011203150001: 200000",
        ],
    },
    Expected {
        id: "H2",
        status: Status::Verified,
        failures: &[],
        warnings: &[],
        amounts: &[
            "PBI_JK Siti: 42000",
            "PBI_JK Painem: 42000",
            "PBI_JK Rudi: 42000",
            "PBI_JK Rina: 42000",
            "PBI_JK Bayu: 42000",
            "PBI_JK Joko: 42000",
            "PIP Rudi: 750000",
            "PIP Rina: 1800000",
            "PKH 3310021506180002: 9800000",
            "SEMBAKO 3310021506180002: 200000",
        ],
    },
    Expected {
        id: "H3",
        status: Status::Verified,
        failures: &[],
        warnings: &[],
        amounts: &[
            "PBI_JK Lestari: 42000",
            "PBI_JK Sukardi: 42000",
            "PBI_JK Andi: 42000",
            "PIP Andi: not eligible",
            "PKH 3310031004200003: not eligible",
            "SEMBAKO 3310031004200003: not eligible",
        ],
    },
    Expected {
        id: "H4",
        status: Status::Returned,
        failures: &["NIK_PLACEHOLDER", "DUKCAPIL_MATCH", "COMPLETENESS"],
        warnings: &["NIK_CONSISTENCY"],
        amounts: &[],
    },
    Expected {
        id: "H5",
        status: Status::Returned,
        failures: &["ONE_LIVING_HEAD"],
        warnings: &[],
        amounts: &[],
    },
    Expected {
        id: "H6",
        status: Status::Verified,
        failures: &[],
        warnings: &["MEMBER_NOT_LIVING"],
        amounts: &[
            "PBI_JK Hendra: not eligible",
            "PBI_JK Maya: not eligible",
            "PBI_JK Kevin: not eligible",
            "PIP Kevin: not eligible",
            "PKH 3310061701100006: not eligible",
            "SEMBAKO 3310061701100006: not eligible",
        ],
    },
    Expected {
        id: "H7",
        status: Status::Verified,
        failures: &[],
        warnings: &[],
        amounts: &[
            "PBI_JK Parno: 42000",
            "PBI_JK Nanik: 42000",
            "PIP Nanik: 375000",
            "PKH 3309010507120007: 1500000",
            "SEMBAKO 3309010507120007: 200000",
        ],
    },
];

#[test]
fn sample_households_match_the_domain() {
    let program = shipped_rules();
    for e in EXPECTED {
        let d = decide(&program, &sample(e.id), "2025-10-01", &[]);
        assert_eq!(d.record_id, e.id);
        assert_eq!(d.status, e.status, "{}", e.id);
        assert_eq!(d.failures, e.failures, "{}", e.id);
        assert_eq!(d.warnings, e.warnings, "{}", e.id);
        assert!(d.undetermined.is_empty(), "{}: {:?}", e.id, d.undetermined);
        assert_eq!(amounts(&d), e.amounts, "{}", e.id);
    }
}

#[test]
fn sample_summaries() {
    let program = shipped_rules();
    let summaries: Vec<_> = ["H1", "H2", "H3", "H4", "H5", "H6", "H7"]
        .iter()
        .map(|id| decide(&program, &sample(id), "2025-10-01", &[]).summary())
        .collect();
    insta::assert_json_snapshot!("eval_samples_summary", summaries);
}

/// The explanations of a returned record (H4) and of PKH's capped components
/// (H2), in full.
#[test]
fn sample_explanations() {
    let program = shipped_rules();
    let h4 = decide(&program, &sample("H4"), "2025-10-01", &[]);
    insta::assert_json_snapshot!("eval_h4_verification", h4.verification);
    let h2 = decide(&program, &sample("H2"), "2025-10-01", &[]);
    insta::assert_json_snapshot!("eval_h2_pkh", h2.programmes["PKH"]);
}

#[test]
fn h2_pkh_drops_the_smallest_component() {
    let program = shipped_rules();
    let d = decide(&program, &sample("H2"), "2025-10-01", &[]);
    let benefit = d.programmes["PKH"][0].benefit.as_ref().unwrap();
    let items: Vec<(Option<&str>, Option<i64>, bool)> = benefit
        .items
        .iter()
        .map(|i| (i.label.as_deref(), i.value, i.counted))
        .collect();
    assert_eq!(
        items,
        [
            (Some("Siti"), Some(0), false),
            (Some("Painem"), Some(2_400_000), true),
            (Some("Rudi"), Some(1_500_000), false),
            (Some("Rina"), Some(2_000_000), true),
            (Some("Bayu"), Some(3_000_000), true),
            (Some("Joko"), Some(2_400_000), true),
        ]
    );
}

#[test]
fn lower_elderly_age_makes_sukardi_a_component_but_h3_stays_not_eligible() {
    let program = shipped_rules();
    let pkh = |overrides: &[&str]| {
        let d = decide(&program, &sample("H3"), "2025-10-01", overrides);
        d.programmes["PKH"][0].clone()
    };
    let sukardi = |s: &SubjectDecision| {
        let benefit = s.benefit.as_ref().unwrap();
        let item = benefit
            .items
            .iter()
            .find(|i| i.label.as_deref() == Some("Sukardi"))
            .unwrap();
        (item.value, item.counted, benefit.computed)
    };
    let before = pkh(&[]);
    assert_eq!(before.eligibility, Eligibility::NotEligible);
    assert_eq!(sukardi(&before), (Some(0), true, Some(2_000_000)));

    let after = pkh(&["PKH_ELDERLY_MIN_AGE=60"]);
    assert_eq!(after.eligibility, Eligibility::NotEligible);
    assert_eq!(after.amount, Some(0));
    assert_eq!(sukardi(&after), (Some(2_400_000), true, Some(4_400_000)));
    let failed: Vec<&str> = after
        .criteria
        .iter()
        .filter(|c| c.outcome == layak_dsl::decision::Outcome::Failed)
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(failed, ["DESIL"]);
    let d = decide(
        &program,
        &sample("H3"),
        "2025-10-01",
        &["PKH_ELDERLY_MIN_AGE=60"],
    );
    let param = d
        .params
        .iter()
        .find(|p| p.name == "PKH_ELDERLY_MIN_AGE")
        .unwrap();
    assert!(param.overridden);
    assert_eq!(param.value, serde_json::json!(60));
}

#[test]
fn sma_pip_amount_depends_on_the_date() {
    let program = shipped_rules();
    let pip = |as_of: &str| {
        let d = decide(&program, &sample("H2"), as_of, &[]);
        let rina = d.programmes["PIP"]
            .iter()
            .find(|s| s.label.as_deref() == Some("Rina"))
            .unwrap()
            .clone();
        (
            rina.amount,
            d.params
                .into_iter()
                .find(|p| p.name == "PIP_SMA")
                .unwrap()
                .from,
        )
    };
    assert_eq!(
        pip("2025-10-01"),
        (Some(1_800_000), Date::parse("2024-01-01"))
    );
    assert_eq!(pip("2023-10-01").1, Date::parse("2020-01-01"));
}

// ---- the corpus ----------------------------------------------------------------

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/eval")
}

fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".lyk").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// Compiles a case with the shared schema and tables.
fn case_program(name: &str) -> Program {
    let dir = corpus_dir();
    let mut sources = Sources::new();
    add_files(&mut sources, &dir.join("_shared"), "", ".lyk");
    add_files(&mut sources, &dir.join("_shared/tables"), "tables", ".txt");
    let file = format!("{name}.lyk");
    sources.add(
        file.clone(),
        std::fs::read_to_string(dir.join(&file)).unwrap(),
    );
    build(&sources)
}

/// The `// run: as_of=YYYY-MM-DD NAME=VALUE ...` lines of a case; one run
/// at 2025-10-01 when there are none.
fn runs(text: &str) -> Vec<(String, Vec<String>)> {
    let runs: Vec<(String, Vec<String>)> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("// run:"))
        .map(|spec| {
            let mut as_of = "2025-10-01".to_string();
            let mut overrides = Vec::new();
            for token in spec.split_whitespace() {
                match token.strip_prefix("as_of=") {
                    Some(date) => as_of = date.to_string(),
                    None => overrides.push(token.to_string()),
                }
            }
            (as_of, overrides)
        })
        .collect();
    if runs.is_empty() {
        vec![("2025-10-01".to_string(), Vec::new())]
    } else {
        runs
    }
}

/// One run of a case, serialised in field order.
#[derive(serde::Serialize)]
struct Run {
    run: String,
    decisions: Vec<HouseholdDecision>,
}

#[test]
fn corpus() {
    let names = case_names();
    assert!(names.len() >= 10, "only {} cases", names.len());
    for name in names {
        let program = case_program(&name);
        let text = std::fs::read_to_string(corpus_dir().join(format!("{name}.lyk"))).unwrap();
        let households =
            std::fs::read_to_string(corpus_dir().join(format!("{name}.ndjson"))).unwrap();
        let mut out = Vec::new();
        for (as_of, overrides) in runs(&text) {
            let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
            let decisions: Vec<HouseholdDecision> = households
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|line| decide(&program, line, &as_of, &overrides))
                .collect();
            let mut run = format!("as_of={as_of}");
            for o in &overrides {
                run.push(' ');
                run.push_str(o);
            }
            out.push(Run { run, decisions });
        }
        insta::assert_json_snapshot!(format!("eval_corpus_{name}"), out);
    }
}

// ---- robustness ----------------------------------------------------------------

/// JSON pointers of every value in a document.
fn pointers(value: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                pointers(v, format!("{at}/{k}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// Applies one damaging edit to the value at `pointer`.
/// Ops 8 and up delete or null out, the damage real data has most.
fn damage(doc: &mut serde_json::Value, pointer: &str, op: u8) {
    use serde_json::json;
    let op = if op >= 8 { op % 2 } else { op };
    if op == 0 {
        if let Some((parent, key)) = pointer.rsplit_once('/')
            && let Some(serde_json::Value::Object(map)) = doc.pointer_mut(parent)
        {
            map.remove(key);
        }
        return;
    }
    let replacement = match op {
        1 => json!(null),
        2 => json!(0),
        3 => json!("x"),
        4 => json!(true),
        5 => json!("2025-02-30"),
        6 => json!([]),
        7 => json!(i64::MAX),
        _ => json!("2025-10-02"),
    };
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = replacement;
    }
}

static RULES: std::sync::LazyLock<Program> = std::sync::LazyLock::new(shipped_rules);

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

    /// Damaged households never make the decoder or the interpreter panic,
    /// and every decision is consistent with itself.
    #[test]
    fn damaged_samples_decide_consistently(
        which in 0_usize..7,
        edits in proptest::collection::vec((0_usize..100_000, 0_u8..14), 0..6),
    ) {
        let id = format!("H{}", which + 1);
        let mut doc: serde_json::Value = serde_json::from_str(&sample(&id)).unwrap();
        for (at, op) in edits {
            let mut all = Vec::new();
            pointers(&doc, String::new(), &mut all);
            if let Some(pointer) = all.get(at % all.len()).cloned() {
                damage(&mut doc, &pointer, op);
            }
        }
        let Ok(household) = layak_dsl::record::decode_json(&RULES.schema, &doc) else {
            return Ok(());
        };
        let ctx = EvalContext::new(Date::parse("2025-10-01").unwrap());
        let d = evaluate(&RULES, &household, &ctx);
        let blocking_undetermined = d.verification.iter().flat_map(|r| &r.criteria).any(|c| {
            c.outcome == layak_dsl::decision::Outcome::Undetermined
                && c.severity == layak_dsl::ir::Severity::Blocking
        });
        let returned = !d.failures.is_empty() || blocking_undetermined;
        proptest::prop_assert_eq!(d.status == Status::Returned, returned);
        proptest::prop_assert!(!returned || d.programmes.is_empty());
        for s in d.programmes.values().flatten() {
            match s.eligibility {
                Eligibility::Eligible => proptest::prop_assert!(s.amount.is_some() && s.missing.is_empty()),
                Eligibility::NotEligible => proptest::prop_assert_eq!(s.amount, Some(0)),
                Eligibility::Undetermined => proptest::prop_assert!(s.amount.is_none() && !s.missing.is_empty()),
            }
        }
    }
}
