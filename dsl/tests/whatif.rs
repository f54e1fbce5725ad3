//! Counterfactuals on the shipped rules and the sample households
//! (`docs/domain.md`, "The sample households"), and on small programs for
//! what the samples do not show (an undetermined outcome).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on a broken fixture"
)]

mod common;

use layak_dsl::Sources;
use layak_dsl::date::Date;
use layak_dsl::decision::{Eligibility, Status};
use layak_dsl::eval::{EvalContext, Lang, evaluate, parse_override};
use layak_dsl::ir::Program;
use layak_dsl::record::decode_line;
use layak_dsl::whatif::{self, Offer, Options, Trigger, WhatIf, text};

use common::{build, sample, shipped_rules};

fn what_if(program: &Program, line: &str, as_of: &str, overrides: &[&str]) -> WhatIf {
    what_if_with(program, line, as_of, overrides, &Options::default())
}

fn what_if_with(
    program: &Program,
    line: &str,
    as_of: &str,
    overrides: &[&str],
    options: &Options,
) -> WhatIf {
    let household = decode_line(&program.schema, line).unwrap();
    let mut ctx = EvalContext::new(Date::parse(as_of).unwrap());
    for spec in overrides {
        let (name, lit) = parse_override(program, spec).unwrap();
        ctx.overrides.insert(name, lit);
    }
    let decision = evaluate(program, &household, &ctx);
    whatif::what_if(program, &household, &ctx, &decision, options)
}

/// `path = value` for each change of an offer, and its result as
/// `eligible 900000`, `not_eligible`, `VERIFIED` or `RETURNED A, B`.
fn brief(offer: &Offer) -> String {
    let changes: Vec<String> = offer
        .changes
        .iter()
        .map(|c| format!("{} = {}", c.path, c.to))
        .collect();
    let r = &offer.result;
    let result = match (r.eligibility, r.amount) {
        (Some(Eligibility::Eligible), Some(a)) => format!("eligible {a}"),
        (Some(e), _) => format!("{e:?}"),
        (None, _) if r.status == Status::Verified => "VERIFIED".to_string(),
        (None, _) => format!("RETURNED {}", r.returned_by.join(", ")),
    };
    format!("{}: {result}", changes.join(" & "))
}

/// The offers for one criterion of one programme's subject (by label or key).
fn offers(w: &WhatIf, programme: &str, who: &str, code: &str) -> Vec<String> {
    let subject = w.programmes[programme]
        .iter()
        .find(|s| s.label.as_deref() == Some(who) || s.subject == who)
        .unwrap_or_else(|| panic!("no {programme} subject {who}"));
    let criterion = subject.criteria.iter().find(|c| c.code == code).unwrap();
    criterion.offers.iter().map(brief).collect()
}

#[test]
fn h1_dimas_turning_seven_ends_the_early_childhood_component() {
    let program = shipped_rules();
    let w = what_if(&program, &sample("H1"), "2025-10-01", &[]);
    assert!(w.programmes.is_empty(), "H1 is eligible everywhere");
    let first = &w.time.changes[0];
    assert_eq!(first.date.to_string(), "2028-05-20");
    assert_eq!(
        first.because,
        [Trigger::Birthday {
            path: "families[0].members[2]".into(),
            who: Some("Dimas".into()),
            age: 7
        }]
    );
    let pkh = &first.subjects[0];
    assert_eq!(pkh.programme, "PKH");
    assert_eq!(pkh.from.unwrap().amount, Some(6_900_000));
    assert_eq!(pkh.to.unwrap().amount, Some(3_900_000));
    assert_eq!(pkh.components[0].who, "Dimas");
    assert_eq!(
        (pkh.components[0].from, pkh.components[0].to),
        (Some(3_000_000), Some(0))
    );
    assert_eq!(w.time.horizon.to_string(), "2030-10-01");
    let en = text::render(&w, Lang::En);
    assert!(
        en.contains("On 2028-05-20 (Dimas turns 7):\n      PKH 3310011203150001: eligible, Rp 3,900,000 per year, was eligible, Rp 6,900,000 per year"),
        "{en}"
    );
}

#[test]
fn h3_turns_with_desil_4_and_andi_with_a_kip_card() {
    let program = shipped_rules();
    let w = what_if(&program, &sample("H3"), "2025-10-01", &[]);
    let desil = "families[0].desil = 4";
    assert_eq!(
        offers(&w, "PKH", "3310031004200003", "DESIL"),
        [format!("{desil}: eligible 2000000")]
    );
    assert_eq!(
        offers(&w, "SEMBAKO", "3310031004200003", "DESIL"),
        [format!("{desil}: eligible 200000")]
    );
    assert_eq!(
        offers(&w, "PIP", "Andi", "DESIL_OR_KIP"),
        [
            format!("{desil}: eligible 900000"),
            "families[0].members[2].school.has_kip = true: eligible 900000".to_string(),
        ]
    );
    // PBI-JK's limit is desil 5: all three are covered already.
    assert!(!w.programmes.contains_key("PBI_JK"));
}

#[test]
fn h4_each_returned_code_with_the_change_that_clears_it() {
    let program = shipped_rules();
    let w = what_if(&program, &sample("H4"), "2025-10-01", &[]);
    let codes: Vec<&str> = w.record.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["NIK_PLACEHOLDER", "DUKCAPIL_MATCH", "COMPLETENESS"]);
    let first: Vec<String> = w.record.iter().map(|c| brief(&c.offers[0])).collect();
    assert_eq!(
        first,
        [
            "families[0].members[2].nik = \"3310041010790002\": RETURNED DUKCAPIL_MATCH, COMPLETENESS",
            "families[0].members[2].dukcapil = \"matched\": RETURNED NIK_PLACEHOLDER, COMPLETENESS",
            "families[0].members[0].mother_name = \"Ibu Yuni\": RETURNED NIK_PLACEHOLDER, DUKCAPIL_MATCH",
        ]
    );
    let nik = &w.record[0].offers[0].changes[0];
    assert!(nik.example && !nik.given, "{nik:?}");
    assert!(w.record[2].offers[0].changes[0].given);
    let together = w.record_together.as_ref().unwrap();
    assert_eq!(together.changes.len(), 3);
    assert_eq!(together.result.status, Status::Verified);
    // No offer makes a blocking criterion fail: Wawan, the only head,
    // never leaves.
    for code in &w.record {
        for offer in &code.offers {
            assert!(
                !offer
                    .changes
                    .iter()
                    .any(|c| c.path == "families[0].members[0].presence"),
                "{offer:?}"
            );
        }
    }
}

#[test]
fn h6_needs_several_changes_together_for_pkh() {
    let program = shipped_rules();
    let w = what_if(&program, &sample("H6"), "2025-10-01", &[]);
    assert_eq!(
        offers(&w, "PKH", "3310061701100006", "DESIL"),
        ["families[0].desil = 4: NotEligible"]
    );
    // Hendra is a civil servant by his work status and by his flag: only
    // both changed clear NO_ASN.
    assert_eq!(
        offers(&w, "PKH", "3310061701100006", "NO_ASN"),
        [
            "families[0].members[0].external_flags = [] & families[0].members[0].work.status = 4: NotEligible"
        ]
    );
    let pkh = &w.programmes["PKH"][0];
    assert_eq!(
        brief(pkh.together.as_ref().unwrap()).rsplit(": ").next(),
        Some("eligible 900000")
    );
    assert_eq!(
        offers(&w, "PIP", "Kevin", "DESIL_OR_KIP"),
        [
            "families[0].desil = 4: eligible 450000",
            "families[0].members[3].school.has_kip = true: eligible 450000"
        ]
    );
    assert_eq!(
        offers(&w, "PBI_JK", "Hendra", "DESIL"),
        ["families[0].desil = 5: eligible 42000"]
    );
    assert!(w.time.changes.is_empty());
}

#[test]
fn a_budget_reached_is_said() {
    let program = shipped_rules();
    let options = Options {
        budget: 6,
        ..Options::default()
    };
    let w = what_if_with(&program, &sample("H6"), "2025-10-01", &[], &options);
    let pkh = &w.programmes["PKH"][0];
    assert!(pkh.budget_reached);
    for lang in [Lang::Id, Lang::En] {
        let text = text::render(&w, lang);
        assert!(
            text.contains("(Pencarian berhenti") || text.contains("(The search stopped"),
            "{text}"
        );
    }
}

#[test]
fn parameters_not_yet_in_force_are_named_and_their_date_found() {
    let program = shipped_rules();
    let w = what_if(&program, &sample("H2"), "2023-10-01", &[]);
    let rudi = w.programmes["PIP"]
        .iter()
        .find(|s| s.label.as_deref() == Some("Rudi"))
        .unwrap();
    assert_eq!(rudi.eligibility, Eligibility::Undetermined);
    assert_eq!(rudi.missing_params, ["PIP_SMP"]);
    let change = w
        .time
        .changes
        .iter()
        .find(|c| c.date.to_string() == "2025-01-01")
        .unwrap();
    assert!(
        change
            .because
            .iter()
            .any(|b| matches!(b, Trigger::Parameter { name, .. } if name == "PIP_SMP"))
    );
    let rudi = change
        .subjects
        .iter()
        .find(|s| s.label.as_deref() == Some("Rudi") && s.programme == "PIP")
        .unwrap();
    assert_eq!(rudi.to.unwrap().amount, Some(750_000));
}

/// A rule that needs a field the record may lack: the undetermined outcome
/// is decided by giving it, with both answers.
#[test]
fn an_undetermined_outcome_with_both_answers() {
    let mut sources = Sources::new();
    sources.add(
        "r.lyk",
        r#"
        record Household key id { id: text, income: int?, members: int? }
        subject household: Household
        ruleset aid {
          stage determination
          programme AID
          for each household
          criterion POOR {
            require household.income < 1000
            message id "penghasilan {household.income}"
            message en "income {household.income}"
          }
          benefit Rp 100 * (household.members ?? 1) per month
        }
        "#,
    );
    let program = build(&sources);
    let w = what_if(&program, r#"{"id": "A", "members": 3}"#, "2025-10-01", &[]);
    assert_eq!(
        offers(&w, "AID", "A", "POOR"),
        ["income = 999: eligible 300", "income = 1000: NotEligible"]
    );
    let en = text::render(&w, Lang::En);
    assert!(
        en.contains("POOR is decided with income = 999 (now missing): eligible, Rp 300 per month."),
        "{en}"
    );
    assert!(
        en.contains("POOR is decided with income = 1000 (now missing): not eligible (POOR)."),
        "{en}"
    );
}

/// Every offer, applied to the household's JSON and evaluated, gives the
/// result it promised (the property test does this over generated
/// households).
#[test]
fn every_offer_on_the_samples_keeps_its_promise() {
    let program = shipped_rules();
    for id in ["H1", "H2", "H3", "H4", "H5", "H6", "H7"] {
        for as_of in ["2025-10-01", "2023-10-01"] {
            let line = sample(id);
            let w = what_if(&program, &line, as_of, &[]);
            let ctx = EvalContext::new(Date::parse(as_of).unwrap());
            let failures = common_check(&program, &line, &ctx, &w);
            assert!(failures.is_empty(), "{id} {as_of}: {failures:#?}");
        }
    }
}

fn common_check(program: &Program, line: &str, ctx: &EvalContext, w: &WhatIf) -> Vec<String> {
    whatif::check_promises(program, &serde_json::from_str(line).unwrap(), ctx, w)
}

#[test]
fn text_snapshots_h3_h4() {
    let program = shipped_rules();
    for id in ["H3", "H4"] {
        let w = what_if(&program, &sample(id), "2025-10-01", &[]);
        for (lang, name) in [(Lang::Id, "id"), (Lang::En, "en")] {
            insta::assert_snapshot!(format!("{id}_{name}"), text::render(&w, lang));
        }
    }
}
