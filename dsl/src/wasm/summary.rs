//! The result block of the `decide` export straight into [`Summary`]s: the
//! codes, the status and the programme entries, without the explanation
//! tree (no messages, hole values, elements or benefit items, which that
//! export does not compute). `decode_results(..).summary()` and
//! `decode_summaries` give the same summaries for the same households
//! (`dsl/tests/wasm_diff.rs` checks both against the interpreter).

use std::collections::BTreeMap;

use super::decode::{AbiError, open, outcome, subject_of, unexpected};
use super::encode::{Names, Placed};
use super::layout::{ELIGIBLE, NOT_ELIGIBLE, event};
use crate::context::EvalContext;
use crate::decision::assemble::Codes;
use crate::decision::{CriterionOutcome, Outcome, RulesetOutcome, Status, Summary, SummaryEntry};
use crate::ir::{Per, Program, Stage};

/// The summaries of a batch from the result block of `decide` (or of
/// `evaluate`: the explanation's events are skipped), given the names of
/// the households the batch was encoded from ([`Names::of`] each, or
/// `names_of_batch`).
pub fn decode_summaries(
    program: &Program,
    households: &[Names],
    _ctx: &EvalContext,
    result: &[u8],
) -> Result<Vec<Summary>, AbiError> {
    let (block, mut next) = open(result)?;
    let mut out = Vec::with_capacity(households.len());
    for (h, names) in households.iter().enumerate() {
        if next == 0 {
            return unexpected("end of the trace");
        }
        let first = block.event(next)?;
        if first.kind != event::HOUSEHOLD || first.a != h as i32 {
            return unexpected(format!("event {} instead of household {h}", first.kind));
        }
        next = first.next;
        let recs = names.records();
        let record_id = recs
            .first()
            .and_then(|r| r.key(program))
            .unwrap_or_default();
        let mut verification: Vec<(usize, RulesetOutcome)> = Vec::new();
        let mut subjects: Vec<(usize, SummaryEntry)> = Vec::new();
        let mut current: Option<(usize, i32)> = None;
        let mut status = None;
        while next != 0 {
            let e = block.event(next)?;
            if e.kind == event::HOUSEHOLD {
                break;
            }
            next = e.next;
            match e.kind {
                event::INSTANCE => {
                    let k = e.a as usize;
                    let Some(ruleset) = program.rulesets.get(k) else {
                        return unexpected(format!("ruleset {k}"));
                    };
                    current = Some((k, e.b));
                    if ruleset.stage == Stage::Verification {
                        verification.push((
                            k,
                            RulesetOutcome {
                                ruleset: String::new(),
                                path: String::new(),
                                criteria: Vec::new(),
                            },
                        ));
                    }
                }
                event::CRITERION => {
                    // Only verification codes reach the summary.
                    let Some((k, _)) = current else {
                        return unexpected("a criterion outside an instance");
                    };
                    let Some(ruleset) = program.rulesets.get(k) else {
                        return unexpected(format!("ruleset {k}"));
                    };
                    if ruleset.stage != Stage::Verification {
                        continue;
                    }
                    let Some(c) = ruleset.criteria.get(e.a as usize) else {
                        return unexpected(format!("criterion {}", e.a));
                    };
                    let result = outcome(e.b)?;
                    // Only an undetermined code lists its missing data.
                    let missing = if result == Outcome::Undetermined {
                        block
                            .missing(program, recs, e.v as u32)?
                            .into_iter()
                            .collect()
                    } else {
                        Vec::new()
                    };
                    match verification.last_mut() {
                        Some((vk, r)) if *vk == k => r.criteria.push(CriterionOutcome {
                            code: c.code.clone(),
                            severity: c.severity,
                            outcome: result,
                            reason: None,
                            message: None,
                            values: Vec::new(),
                            checked: None,
                            elements: Vec::new(),
                            missing,
                        }),
                        _ => return unexpected("a criterion outside its instance"),
                    }
                }
                event::SKIP => current = None,
                event::FILTER_UNDETERMINED | event::DECISION => {
                    let Some((k, recnum)) = current.take() else {
                        return unexpected("a decision outside an instance");
                    };
                    let Some(ruleset) = program.rulesets.get(k) else {
                        return unexpected(format!("ruleset {k}"));
                    };
                    let missing_ptr = if e.kind == event::DECISION { e.c } else { e.a };
                    let subject = subject_of(program, recs, recnum, 0)?;
                    let (eligible, amount) = if e.kind == event::DECISION {
                        let eligible = match e.a {
                            ELIGIBLE => Some(true),
                            NOT_ELIGIBLE => Some(false),
                            _ => None,
                        };
                        (eligible, (e.b != 0).then_some(e.v))
                    } else {
                        (None, None)
                    };
                    subjects.push((
                        k,
                        SummaryEntry {
                            subject,
                            eligible,
                            amount,
                            per: ruleset.benefit.as_ref().map_or(Per::Year, |b| b.per),
                            missing: block
                                .missing(program, recs, missing_ptr as u32)?
                                .into_iter()
                                .collect(),
                        },
                    ));
                }
                event::STATUS => {
                    status = Some(if e.a != 0 {
                        Status::Verified
                    } else {
                        Status::Returned
                    });
                }
                event::HOLE | event::ELEMENT | event::BENEFIT_ITEM | event::BENEFIT => {}
                kind => return unexpected(format!("event kind {kind}")),
            }
        }
        let Some(status) = status else {
            return unexpected("household without a status");
        };
        let codes = Codes::of(program, &verification);
        // As in `decode_results`: the module's status and the codes' agree.
        if codes.status() != status {
            return unexpected("a status the verification codes do not give");
        }
        let programmes = (status == Status::Verified).then(|| {
            let mut programmes: BTreeMap<String, Vec<SummaryEntry>> = BTreeMap::new();
            for ruleset in program
                .rulesets
                .iter()
                .filter(|r| r.stage == Stage::Determination)
            {
                programmes.entry(ruleset.programme_name()).or_default();
            }
            for (k, entry) in subjects {
                if let Some(ruleset) = program.rulesets.get(k) {
                    programmes
                        .entry(ruleset.programme_name())
                        .or_default()
                        .push(entry);
                }
            }
            programmes
        });
        out.push(Summary {
            record_id,
            status,
            failures: codes.failures,
            warnings: codes.warnings,
            undetermined: codes.undetermined,
            programmes,
        });
    }
    Ok(out)
}
