//! `layak impact`: the same population under two rule versions (or one
//! version with parameter overrides), and what changes between them:
//! subjects that become eligible or stop being eligible, amounts that
//! change, by programme, province, regency and desil, with examples.
//!
//! "Before" is the baseline (`--rules` with `--param`); "after" is the
//! changed side (`--against` rules, default the same, with `--param` and
//! then `--against-param`). A subject is compared by programme and path
//! (`families[0]`, `families[0].members[2]`); one that exists on one side
//! only (a returned record, a subject filter that changed) counts as not
//! eligible on the other.

use std::collections::BTreeMap;

use layak_dsl::decision::{
    CriterionOutcome, Eligibility, HouseholdDecision, Messages, Outcome, Status, SubjectDecision,
};
use layak_dsl::eval::{Lang, format_money};
use layak_dsl::ir::Per;
use serde::Serialize;

use crate::pipeline::{Evaluator, Line, LineError};
use crate::stats::per_name;

pub mod report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    NewlyEligible,
    NewlyIneligible,
    AmountChanged,
}

/// Counts and money of the changes in one group.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Tally {
    pub newly_eligible: u64,
    pub newly_ineligible: u64,
    pub amount_changed: u64,
    /// Change of the money paid, per year (monthly amounts times 12).
    pub delta_per_year: i64,
}

impl Tally {
    fn add(&mut self, kind: Kind, delta_per_year: i64) {
        match kind {
            Kind::NewlyEligible => self.newly_eligible += 1,
            Kind::NewlyIneligible => self.newly_ineligible += 1,
            Kind::AmountChanged => self.amount_changed += 1,
        }
        self.delta_per_year = self.delta_per_year.saturating_add(delta_per_year);
    }

    fn merge(&mut self, o: &Tally) {
        self.newly_eligible += o.newly_eligible;
        self.newly_ineligible += o.newly_ineligible;
        self.amount_changed += o.amount_changed;
        self.delta_per_year = self.delta_per_year.saturating_add(o.delta_per_year);
    }

    pub fn changes(&self) -> u64 {
        self.newly_eligible + self.newly_ineligible + self.amount_changed
    }
}

/// One programme, with its totals on both sides.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ProgrammeImpact {
    pub per: &'static str,
    pub eligible_before: u64,
    pub eligible_after: u64,
    /// Money per `per` over the eligible subjects.
    pub amount_before: i64,
    pub amount_after: i64,
    #[serde(flatten)]
    pub changes: Tally,
}

/// A subject's state on one side.
#[derive(Debug, Clone, Serialize)]
pub struct State {
    /// `eligible`, `not_eligible`, `undetermined`, or `not_a_subject`
    /// (the record was returned, or the subject filter did not select it).
    pub eligibility: &'static str,
    pub amount: Option<i64>,
}

/// A criterion whose outcome differs between the sides, with its message
/// as the changed side gives it.
#[derive(Debug, Clone, Serialize)]
pub struct Flip {
    pub code: String,
    pub before: Outcome,
    pub after: Outcome,
    pub message: Messages,
}

#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub record_id: String,
    pub programme: String,
    pub subject: String,
    pub kind: Kind,
    pub per: &'static str,
    pub before: State,
    pub after: State,
    /// Why: the criteria that flipped; when none did, a sentence on what
    /// else changed (the status or the benefit).
    pub flipped: Vec<Flip>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Messages>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Impact {
    pub households: u64,
    pub malformed: u64,
    /// Households the engine could not evaluate on either side (a wasm
    /// limit fired); `layak run` lists them with their error codes.
    pub not_evaluated: u64,
    pub households_changed: u64,
    pub verified_to_returned: u64,
    pub returned_to_verified: u64,
    pub programmes: BTreeMap<String, ProgrammeImpact>,
    /// By `desa_code` digits 1-2.
    pub provinces: BTreeMap<String, Tally>,
    /// By `desa_code` digits 1-4.
    pub regencies: BTreeMap<String, Tally>,
    /// By the subject's family desil (`null` when unranked).
    pub desil: BTreeMap<String, Tally>,
    /// The first examples of each kind, in input order.
    pub examples: Vec<Example>,
}

impl Impact {
    /// Adds a later part of the population (input order matters only for
    /// which examples are kept).
    pub fn merge(&mut self, o: Impact, examples: usize) {
        self.households += o.households;
        self.malformed += o.malformed;
        self.not_evaluated += o.not_evaluated;
        self.households_changed += o.households_changed;
        self.verified_to_returned += o.verified_to_returned;
        self.returned_to_verified += o.returned_to_verified;
        for (k, p) in o.programmes {
            let into = self.programmes.entry(k).or_default();
            into.per = p.per;
            into.eligible_before += p.eligible_before;
            into.eligible_after += p.eligible_after;
            into.amount_before = into.amount_before.saturating_add(p.amount_before);
            into.amount_after = into.amount_after.saturating_add(p.amount_after);
            into.changes.merge(&p.changes);
        }
        for (into, from) in [
            (&mut self.provinces, o.provinces),
            (&mut self.regencies, o.regencies),
            (&mut self.desil, o.desil),
        ] {
            for (k, t) in from {
                into.entry(k).or_default().merge(&t);
            }
        }
        for e in o.examples {
            self.keep_example(e, examples);
        }
    }

    fn keep_example(&mut self, e: Example, per_kind: usize) {
        if self.examples.iter().filter(|x| x.kind == e.kind).count() < per_kind {
            self.examples.push(e);
        }
    }
}

/// Compares one batch of lines; malformed lines are counted (`layak run`
/// reports them in detail).
/// One slice of lines under both sides (work for [`crate::pipeline::run_with`]).
/// A line malformed on either side counts as malformed; one the sandbox
/// stopped on either side as not evaluated.
pub fn compare_lines(
    before: &Evaluator<'_>,
    after: &Evaluator<'_>,
    lines: &[Line],
    examples: usize,
) -> Impact {
    let mut impact = Impact::default();
    let outcomes = before
        .evaluate_lines(lines)
        .into_iter()
        .zip(after.evaluate_lines(lines));
    for (line, (b, a)) in lines.iter().zip(outcomes) {
        match (b, a) {
            (Ok(b), Ok(a)) => household(&mut impact, line, &b, &a, examples),
            (Err(LineError::Malformed(_)), _) | (_, Err(LineError::Malformed(_))) => {
                impact.malformed += 1;
            }
            _ => impact.not_evaluated += 1,
        }
    }
    impact
}

fn household(
    impact: &mut Impact,
    line: &Line,
    b: &HouseholdDecision,
    a: &HouseholdDecision,
    examples: usize,
) {
    impact.households += 1;
    match (b.status, a.status) {
        (Status::Verified, Status::Returned) => impact.verified_to_returned += 1,
        (Status::Returned, Status::Verified) => impact.returned_to_verified += 1,
        _ => {}
    }
    // The region and desil of a change come from the input line, parsed
    // only when something changed.
    let mut json: Option<serde_json::Value> = None;
    let mut changed = b.status != a.status;
    let names: std::collections::BTreeSet<&String> =
        b.programmes.keys().chain(a.programmes.keys()).collect();
    for name in names {
        let bs = b.programmes.get(name).map_or(&[][..], Vec::as_slice);
        let as_ = a.programmes.get(name).map_or(&[][..], Vec::as_slice);
        let programme = impact.programmes.entry(name.clone()).or_default();
        for s in bs {
            programme.per = per_name(s.per);
            if s.eligibility == Eligibility::Eligible {
                programme.eligible_before += 1;
                programme.amount_before = programme
                    .amount_before
                    .saturating_add(s.amount.unwrap_or(0));
            }
        }
        for s in as_ {
            programme.per = per_name(s.per);
            if s.eligibility == Eligibility::Eligible {
                programme.eligible_after += 1;
                programme.amount_after =
                    programme.amount_after.saturating_add(s.amount.unwrap_or(0));
            }
        }
        let mut paths: Vec<&str> = bs.iter().chain(as_).map(|s| s.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        for path in paths {
            let sb = bs.iter().find(|s| s.path == path);
            let sa = as_.iter().find(|s| s.path == path);
            let Some((kind, delta, per)) = change(sb, sa) else {
                continue;
            };
            changed = true;
            let json: &serde_json::Value = json.get_or_insert_with(|| {
                line.text
                    .as_deref()
                    .ok()
                    .and_then(|t| serde_json::from_str(t).ok())
                    .unwrap_or_default()
            });
            let desa = json
                .pointer("/region/desa_code")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let per_year = match per {
                Per::Year => delta,
                Per::Month => delta.saturating_mul(12),
            };
            let programme = impact.programmes.entry(name.clone()).or_default();
            programme.changes.add(kind, per_year);
            let province = desa.get(..2).unwrap_or(desa).to_string();
            let regency = desa.get(..4).unwrap_or(desa).to_string();
            impact
                .provinces
                .entry(province)
                .or_default()
                .add(kind, per_year);
            impact
                .regencies
                .entry(regency)
                .or_default()
                .add(kind, per_year);
            impact
                .desil
                .entry(desil_of(json, path))
                .or_default()
                .add(kind, per_year);
            let subject = sa.or(sb).map(|s| s.subject.clone()).unwrap_or_default();
            let example = example(b, a, name, subject, kind, per, sb, sa);
            impact.keep_example(example, examples);
        }
    }
    if changed {
        impact.households_changed += 1;
    }
}

/// What changed for one subject: the kind, the money delta per its period.
fn change(b: Option<&SubjectDecision>, a: Option<&SubjectDecision>) -> Option<(Kind, i64, Per)> {
    let paid = |s: Option<&SubjectDecision>| {
        s.filter(|s| s.eligibility == Eligibility::Eligible)
            .map(|s| s.amount.unwrap_or(0))
    };
    let per = a.or(b).map_or(Per::Year, |s| s.per);
    match (paid(b), paid(a)) {
        (None, Some(n)) => Some((Kind::NewlyEligible, n, per)),
        (Some(n), None) => Some((Kind::NewlyIneligible, -n, per)),
        (Some(x), Some(y)) if x != y => Some((Kind::AmountChanged, y.saturating_sub(x), per)),
        _ => None,
    }
}

/// The desil of the family a subject path lies in (`families[i]...`).
fn desil_of(json: &serde_json::Value, path: &str) -> String {
    let index = path
        .strip_prefix("families[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|i| i.parse::<usize>().ok());
    index
        .and_then(|i| json.get("families")?.get(i)?.get("desil")?.as_i64())
        .map_or_else(|| "null".to_string(), |d| d.to_string())
}

fn state(s: Option<&SubjectDecision>) -> State {
    match s {
        None => State {
            eligibility: "not_a_subject",
            amount: None,
        },
        Some(s) => State {
            eligibility: match s.eligibility {
                Eligibility::Eligible => "eligible",
                Eligibility::NotEligible => "not_eligible",
                Eligibility::Undetermined => "undetermined",
            },
            amount: s.amount,
        },
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one example's facts, from one place"
)]
fn example(
    b: &HouseholdDecision,
    a: &HouseholdDecision,
    programme: &str,
    subject: String,
    kind: Kind,
    per: Per,
    sb: Option<&SubjectDecision>,
    sa: Option<&SubjectDecision>,
) -> Example {
    let no_criteria: &[CriterionOutcome] = &[];
    let cb = sb.map_or(no_criteria, |s| s.criteria.as_slice());
    let ca = sa.map_or(no_criteria, |s| s.criteria.as_slice());
    let flipped: Vec<Flip> = ca
        .iter()
        .filter_map(|c| {
            let old = cb.iter().find(|o| o.code == c.code)?;
            (old.outcome != c.outcome).then(|| Flip {
                code: c.code.clone(),
                before: old.outcome,
                after: c.outcome,
                message: message_of(c),
            })
        })
        .collect();
    let note = if b.status != a.status {
        let codes = if a.status == Status::Returned {
            &a.failures
        } else {
            &b.failures
        };
        Some(Messages {
            id: format!(
                "status rumah tangga berubah ({}), kode: {}",
                if a.status == Status::Returned {
                    "kini dikembalikan"
                } else {
                    "kini terverifikasi"
                },
                codes.join(", ")
            ),
            en: format!(
                "the household's status changed (now {}), codes: {}",
                if a.status == Status::Returned {
                    "returned"
                } else {
                    "verified"
                },
                codes.join(", ")
            ),
        })
    } else if flipped.is_empty() {
        let computed = |s: Option<&SubjectDecision>, lang| {
            s.and_then(|s| s.benefit.as_ref())
                .and_then(|b| b.computed)
                .map_or_else(|| "-".to_string(), |n| format_money(n, lang))
        };
        Some(Messages {
            id: format!(
                "manfaat yang dihitung berubah dari {} menjadi {}",
                computed(sb, Lang::Id),
                computed(sa, Lang::Id)
            ),
            en: format!(
                "the computed benefit changed from {} to {}",
                computed(sb, Lang::En),
                computed(sa, Lang::En)
            ),
        })
    } else {
        None
    };
    Example {
        record_id: a.record_id.clone(),
        programme: programme.to_string(),
        subject,
        kind,
        per: per_name(per),
        before: state(sb),
        after: state(sa),
        flipped,
        note,
    }
}

/// A criterion's message: its own, or that of its first listed element.
fn message_of(c: &CriterionOutcome) -> Messages {
    c.message
        .clone()
        .or_else(|| c.elements.first().map(|e| e.message.clone()))
        .unwrap_or_else(|| Messages {
            id: c.code.clone(),
            en: c.code.clone(),
        })
}
