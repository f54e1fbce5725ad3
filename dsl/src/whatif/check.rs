//! Checking what a [`WhatIf`] promises against fresh evaluations: each
//! offer's changes applied to the household's JSON (as a form or a
//! corrected proposal would), decoded and evaluated; each date ahead
//! evaluated with the record unchanged.

use super::search::{find, record_result, subject_result};
use super::{Offer, OfferResult, Verdict, WhatIf, apply_to_json};
use crate::eval::{EvalContext, evaluate};
use crate::ir::Program;
use crate::record::decode_json;

/// Every broken promise, worded; empty when all hold.
pub fn check_promises(
    program: &Program,
    household: &serde_json::Value,
    ctx: &EvalContext,
    w: &WhatIf,
) -> Vec<String> {
    let mut broken = Vec::new();
    let record_offers = w
        .record
        .iter()
        .flat_map(|c| c.offers.iter().map(move |o| (c.code.as_str(), o)))
        .chain(w.record_together.iter().map(|o| ("(together)", o)));
    for (code, offer) in record_offers {
        for (changed, label) in variants(household, offer) {
            let got = changed.and_then(|json| {
                let household =
                    decode_json(&program.schema, &json).map_err(|e| format!("{e:?}"))?;
                Ok(record_result(&evaluate(program, &household, ctx)))
            });
            compare(&mut broken, &format!("{code} {label}"), got, &offer.result);
        }
    }
    for (programme, subjects) in &w.programmes {
        for subject in subjects {
            let offers = subject
                .criteria
                .iter()
                .flat_map(|c| c.offers.iter().map(move |o| (c.code.as_str(), o)))
                .chain(subject.together.iter().map(|o| ("(together)", o)));
            for (code, offer) in offers {
                for (changed, label) in variants(household, offer) {
                    let got = changed.and_then(|json| {
                        let household =
                            decode_json(&program.schema, &json).map_err(|e| format!("{e:?}"))?;
                        let d = evaluate(program, &household, ctx);
                        find(&d, programme, &subject.path)
                            .map(|s| subject_result(&d, s))
                            .ok_or_else(|| "the subject is gone".to_string())
                    });
                    let what = format!("{programme} {} {code} {label}", subject.path);
                    compare(&mut broken, &what, got, &offer.result);
                }
            }
        }
    }
    let household_value = decode_json(&program.schema, household);
    for change in &w.time.changes {
        let Ok(value) = &household_value else {
            broken.push("the household does not decode".to_string());
            break;
        };
        let at = EvalContext {
            as_of: change.date,
            overrides: ctx.overrides.clone(),
        };
        let d = evaluate(program, value, &at);
        if let Some(status) = &change.status
            && status.to != d.status
        {
            broken.push(format!(
                "{}: status {:?}, promised {:?}",
                change.date, d.status, status.to
            ));
        }
        for shift in &change.subjects {
            let got = d
                .programmes
                .get(&shift.programme)
                .and_then(|s| s.iter().find(|s| s.subject == shift.subject))
                .map(|s| Verdict {
                    eligibility: s.eligibility,
                    amount: s.amount,
                });
            if got != shift.to {
                broken.push(format!(
                    "{} {} {}: {got:?}, promised {:?}",
                    change.date, shift.programme, shift.subject, shift.to
                ));
            }
        }
    }
    broken
}

/// The household with the offer's changes, and once more with each
/// alternative value in place of the first change's.
fn variants(
    household: &serde_json::Value,
    offer: &Offer,
) -> Vec<(Result<serde_json::Value, String>, String)> {
    let apply = |changes: &[super::Change]| {
        let mut json = household.clone();
        for c in changes {
            apply_to_json(&mut json, c)?;
        }
        Ok(json)
    };
    let mut out = vec![(apply(&offer.changes), brief(&offer.changes))];
    for alternative in &offer.alternatives {
        let mut changes = offer.changes.clone();
        if let Some(first) = changes.first_mut() {
            first.to = alternative.to.clone();
        }
        out.push((apply(&changes), brief(&changes)));
    }
    out
}

fn brief(changes: &[super::Change]) -> String {
    changes
        .iter()
        .map(|c| format!("{} = {}", c.path, c.to))
        .collect::<Vec<_>>()
        .join(" & ")
}

fn compare(
    broken: &mut Vec<String>,
    what: &str,
    got: Result<OfferResult, String>,
    promised: &OfferResult,
) {
    match got {
        Ok(got) if got == *promised => {}
        Ok(got) => broken.push(format!("{what}: got {got:?}, promised {promised:?}")),
        Err(e) => broken.push(format!("{what}: {e}")),
    }
}
