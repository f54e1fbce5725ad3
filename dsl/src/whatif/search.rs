//! The search: candidate changes for a target, each decided by evaluating
//! the changed household; one field first, then pairs.

use std::collections::BTreeSet;

use super::change::{self, Change, Edit, Instance, Step};
use super::uses::{self, Uses};
use super::{CodeWhatIf, CriterionWhatIf, Offer, OfferResult, SubjectWhatIf};
use crate::decision::{
    CriterionOutcome, Eligibility, HouseholdDecision, Outcome, Status, SubjectDecision,
};
use crate::eval::{EvalContext, evaluate};
use crate::ir::{ExprId, Lit, Program, Severity, Stage, Type};
use crate::value::Value;

/// At most this many offers per target.
const MAX_OFFERS: usize = 8;
/// For pairs: at most this many candidates per field, and in all.
const PAIR_PER_FIELD: usize = 3;
const PAIR_POOL: usize = 24;

/// Evaluations left for one search.
pub(crate) struct Budget {
    left: u32,
    pub used: u32,
    pub reached: bool,
}

impl Budget {
    pub fn new(budget: u32) -> Budget {
        Budget {
            left: budget,
            used: 0,
            reached: false,
        }
    }

    /// Takes one evaluation; false (and noted) when none is left but the
    /// one kept for [`Budget::take_last`].
    pub fn take(&mut self) -> bool {
        if self.left <= 1 {
            self.reached = true;
            return false;
        }
        self.left -= 1;
        self.used += 1;
        true
    }

    /// Takes one evaluation, the last one included: the changes found,
    /// together, are still checked when the search used the rest.
    pub fn take_last(&mut self) -> bool {
        if self.left == 0 {
            self.reached = true;
            return false;
        }
        self.left -= 1;
        self.used += 1;
        true
    }
}

/// What an offer must achieve.
enum Goal<'a> {
    /// A returned record's blocking code clears, and no other blocking
    /// code appears.
    Code(&'a str),
    /// A subject's criterion passes (`decide`: is no longer undetermined),
    /// the record staying verified.
    Criterion {
        programme: &'a str,
        path: &'a str,
        code: &'a str,
        decide: bool,
    },
    /// An undetermined subject is decided.
    Subject { programme: &'a str, path: &'a str },
}

/// A candidate: the edit to make and how it is shown.
#[derive(Clone)]
struct Candidate {
    edit: Edit,
    change: Change,
}

pub(crate) struct Searcher<'a> {
    program: &'a Program,
    household: &'a Value,
    ctx: &'a EvalContext,
    base: &'a HouseholdDecision,
    params: &'a [Option<Lit>],
    instances: Vec<Instance<'a>>,
    /// What the whole program does with each field.
    pub uses: Uses,
}

impl<'a> Searcher<'a> {
    pub fn new(
        program: &'a Program,
        household: &'a Value,
        ctx: &'a EvalContext,
        base: &'a HouseholdDecision,
        params: &'a [Option<Lit>],
    ) -> Searcher<'a> {
        let roots: Vec<ExprId> = program
            .rulesets
            .iter()
            .flat_map(uses::ruleset_roots)
            .collect();
        let params_owned = params.to_vec();
        Searcher {
            program,
            household,
            ctx,
            base,
            params,
            instances: change::instances(program, household),
            uses: uses::collect(program, &roots, &params_owned),
        }
    }

    // ---- targets -------------------------------------------------------------

    /// A returned record: per open blocking code, what clears it; then the
    /// first change of each together.
    pub fn record(&self, budget: &mut Budget) -> (Vec<CodeWhatIf>, Option<Offer>) {
        let mut out = Vec::new();
        for ruleset in &self.program.rulesets {
            if ruleset.stage != Stage::Verification {
                continue;
            }
            for criterion in &ruleset.criteria {
                if criterion.severity != Severity::Blocking
                    || out.iter().any(|c: &CodeWhatIf| c.code == criterion.code)
                {
                    continue;
                }
                let open: Vec<&CriterionOutcome> = self
                    .base
                    .verification
                    .iter()
                    .filter(|r| r.ruleset == ruleset.name)
                    .flat_map(|r| r.criteria.iter().map(move |c| (r, c)))
                    .filter(|(_, c)| c.code == criterion.code && c.outcome != Outcome::Passed)
                    .map(|(_, c)| c)
                    .collect();
                let Some(first) = open.first() else {
                    continue;
                };
                let anchors: Vec<String> = self
                    .base
                    .verification
                    .iter()
                    .filter(|r| r.ruleset == ruleset.name)
                    .flat_map(|r| {
                        r.criteria
                            .iter()
                            .filter(|c| c.code == criterion.code && c.outcome != Outcome::Passed)
                            .flat_map(move |c| {
                                if c.elements.is_empty() {
                                    vec![r.path.clone()]
                                } else {
                                    c.elements.iter().map(|e| e.path.clone()).collect()
                                }
                            })
                    })
                    .collect();
                let missing: Vec<String> = open
                    .iter()
                    .flat_map(|c| c.missing.iter().cloned())
                    .collect();
                let mut roots = vec![criterion.require];
                if let Some(each) = &criterion.each {
                    roots.push(each.list);
                    roots.extend(each.filter);
                }
                roots.extend(ruleset.lets.iter().map(|l| l.value));
                let decide = first.outcome == Outcome::Undetermined;
                let singles = self.singles(&roots, &anchors, &missing, decide);
                let offers = self.search(&Goal::Code(&criterion.code), singles, budget);
                out.push(CodeWhatIf {
                    code: criterion.code.clone(),
                    outcome: first.outcome,
                    offers,
                });
            }
        }
        let together = self.together(out.iter().map(|c| c.offers.first()), budget, |d| {
            (d.status == Status::Verified).then(|| self.record_result(d))
        });
        (out, together)
    }

    /// A subject not eligible or undetermined: per failed or undetermined
    /// criterion, what makes it pass (or decides it).
    pub fn subject(
        &self,
        programme: &str,
        subject: &SubjectDecision,
        budget: &mut Budget,
    ) -> SubjectWhatIf {
        let mut out = SubjectWhatIf {
            subject: subject.subject.clone(),
            path: subject.path.clone(),
            label: subject.label.clone(),
            eligibility: subject.eligibility,
            criteria: Vec::new(),
            together: None,
            missing_params: subject
                .missing
                .iter()
                .filter_map(|m| m.strip_prefix("params."))
                .map(str::to_string)
                .collect(),
            budget_reached: false,
        };
        let Some(ruleset) = self.program.rulesets.iter().find(|r| {
            r.stage == Stage::Determination
                && r.programme_name() == programme
                && r.name == subject.ruleset
        }) else {
            return out;
        };
        let anchors = [subject.path.clone()];
        let lets: Vec<ExprId> = ruleset.lets.iter().map(|l| l.value).collect();
        for outcome in &subject.criteria {
            if outcome.outcome == Outcome::Passed {
                continue;
            }
            let Some(criterion) = ruleset.criteria.iter().find(|c| c.code == outcome.code) else {
                continue;
            };
            let mut roots = vec![criterion.require];
            if let Some(each) = &criterion.each {
                roots.push(each.list);
                roots.extend(each.filter);
            }
            roots.extend(&lets);
            let decide = outcome.outcome == Outcome::Undetermined;
            let singles = self.singles(&roots, &anchors, &outcome.missing, decide);
            let goal = Goal::Criterion {
                programme,
                path: &subject.path,
                code: &outcome.code,
                decide,
            };
            let offers = self.search(&goal, singles, budget);
            out.criteria.push(CriterionWhatIf {
                code: outcome.code.clone(),
                outcome: outcome.outcome,
                offers,
            });
        }
        // Undetermined with every criterion decided: its filter or benefit.
        if subject.eligibility == Eligibility::Undetermined
            && subject
                .criteria
                .iter()
                .all(|c| c.outcome != Outcome::Undetermined)
        {
            let mut roots: Vec<ExprId> = ruleset.filter.into_iter().collect();
            roots.extend(ruleset.benefit.as_ref().map(|b| b.amount));
            roots.extend(&lets);
            let singles = self.singles(&roots, &anchors, &subject.missing, true);
            let goal = Goal::Subject {
                programme,
                path: &subject.path,
            };
            let offers = self.search(&goal, singles, budget);
            out.criteria.push(CriterionWhatIf {
                code: String::new(),
                outcome: Outcome::Undetermined,
                offers,
            });
        }
        let failed: Vec<&CriterionWhatIf> = out
            .criteria
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .collect();
        let one_suffices = failed.iter().any(|c| {
            c.offers
                .iter()
                .any(|o| o.result.eligibility == Some(Eligibility::Eligible))
        });
        if failed.len() > 1 && !one_suffices {
            out.together = self.together(failed.iter().map(|c| c.offers.first()), budget, |d| {
                let s = find(d, programme, &subject.path)?;
                (d.status == Status::Verified && s.eligibility == Eligibility::Eligible)
                    .then(|| self.subject_result(d, s))
            });
        }
        out.budget_reached = budget.reached;
        out
    }

    // ---- candidates ----------------------------------------------------------

    /// One-field candidates: every field the expressions read, on every
    /// record in scope of the anchors, with the values the rules suggest.
    /// With `decide`, only the missing fields named (an undetermined
    /// outcome is decided by giving what it lacked). Fields named in
    /// `missing` come first, then other missing fields, then the rest.
    fn singles(
        &self,
        roots: &[ExprId],
        anchors: &[String],
        missing: &[String],
        decide: bool,
    ) -> Vec<Candidate> {
        let read = uses::collect(self.program, roots, &self.params.to_vec());
        let mut out: Vec<(u8, Candidate)> = Vec::new();
        for instance in &self.instances {
            if !anchors.iter().any(|a| change::in_scope(&instance.path, a)) {
                continue;
            }
            for (&(rid, f), _) in read
                .fields
                .range((instance.rid, 0)..=(instance.rid, u32::MAX))
            {
                let Some(field) = self
                    .program
                    .schema
                    .records
                    .get(rid.index())
                    .and_then(|r| r.fields.get(f as usize))
                else {
                    continue;
                };
                let current = instance.record.and_then(|r| r.field(f));
                let path = crate::ev::join(&instance.path, &field.name);
                let named = missing
                    .iter()
                    .any(|m| *m == path || change::in_scope(&path, m) && m.len() <= path.len());
                if decide && !named {
                    continue;
                }
                let rank = match (named, current.is_none()) {
                    (true, _) => 0,
                    (false, true) => 1,
                    (false, false) => 2,
                };
                let texts = self.texts_of(rid, f);
                let texts: Vec<&str> = texts
                    .iter()
                    .map(String::as_str)
                    .filter(|t| !matches!(current, Some(Value::Text(c)) if c == t))
                    .collect();
                let all_texts = self.texts_of(rid, f);
                let all_texts: Vec<&str> = all_texts.iter().map(String::as_str).collect();
                let empty = Default::default();
                let field_use = self.uses.fields.get(&(rid, f)).unwrap_or(&empty);
                let values = change::candidates(
                    self.program,
                    field,
                    current,
                    field_use,
                    &self.uses.ages,
                    self.ctx.as_of,
                    &texts,
                    &all_texts,
                );
                let example = matches!(field.ty, Type::Text);
                for value in values {
                    let mut steps = instance.steps.clone();
                    steps.push(Step::Field(f, field.name.clone()));
                    let edit = Edit {
                        steps,
                        value,
                        was_missing: current.is_none(),
                    };
                    let mut shown = change::describe(self.program, instance, field, current, &edit);
                    shown.example = example;
                    out.push((
                        rank,
                        Candidate {
                            edit,
                            change: shown,
                        },
                    ));
                }
            }
        }
        out.sort_by_key(|(rank, _)| *rank);
        out.into_iter().map(|(_, c)| c).collect()
    }

    /// The present text values of one field across the household.
    fn texts_of(&self, rid: crate::ir::RecordId, f: u32) -> Vec<String> {
        let mut out: Vec<String> = self
            .instances
            .iter()
            .filter(|i| i.rid == rid)
            .filter_map(|i| match i.record.and_then(|r| r.field(f)) {
                Some(Value::Text(t)) => Some(t.clone()),
                _ => None,
            })
            .collect();
        out.dedup();
        out
    }

    // ---- search --------------------------------------------------------------

    /// Single changes first (per field, one offer per distinct result, the
    /// nearest value first); pairs of fields only when no single change
    /// does it.
    fn search(&self, goal: &Goal<'_>, singles: Vec<Candidate>, budget: &mut Budget) -> Vec<Offer> {
        let mut offers: Vec<Offer> = Vec::new();
        for candidate in &singles {
            if offers.len() >= MAX_OFFERS {
                break;
            }
            let Some(decision) = self.evaluate(std::slice::from_ref(&candidate.edit), budget)
            else {
                break;
            };
            let Some(result) = self.judge(goal, &decision) else {
                continue;
            };
            // The same field giving the same result: an alternative value.
            if let Some(same) = offers.iter_mut().find(|o| {
                o.result == result
                    && o.changes.len() == 1
                    && o.changes.first().map(|c| &c.path) == Some(&candidate.change.path)
            }) {
                if matches!(candidate.change.to, serde_json::Value::Number(_))
                    && candidate.change.to_variant.is_none()
                {
                    // Numbers: the nearest is enough.
                    continue;
                }
                same.alternatives.push(super::Alternative {
                    to: candidate.change.to.clone(),
                    to_variant: candidate.change.to_variant.clone(),
                });
                continue;
            }
            offers.push(Offer {
                changes: vec![candidate.change.clone()],
                alternatives: Vec::new(),
                result,
            });
        }
        if !offers.is_empty() || budget.reached {
            return offers;
        }
        // Pairs: the first few values of each field, fields in order.
        let mut pool: Vec<&Candidate> = Vec::new();
        for candidate in &singles {
            let same = pool
                .iter()
                .filter(|c| c.change.path == candidate.change.path)
                .count();
            if same < PAIR_PER_FIELD && pool.len() < PAIR_POOL {
                pool.push(candidate);
            }
        }
        // Two fields of the same owner (a member's work status and flags)
        // first; pairs across owners only when none does it.
        for same_owner in [true, false] {
            'pairs: for (i, a) in pool.iter().enumerate() {
                for b in pool.iter().skip(i + 1) {
                    if a.change.path == b.change.path
                        || (a.change.owner == b.change.owner) != same_owner
                    {
                        continue;
                    }
                    if offers.len() >= MAX_OFFERS {
                        break 'pairs;
                    }
                    let edits = [a.edit.clone(), b.edit.clone()];
                    let Some(decision) = self.evaluate(&edits, budget) else {
                        break 'pairs;
                    };
                    let Some(result) = self.judge(goal, &decision) else {
                        continue;
                    };
                    // The same two fields with the same result: one offer.
                    let paths = [&a.change.path, &b.change.path];
                    if offers.iter().any(|o| {
                        o.result == result
                            && o.changes.iter().map(|c| &c.path).eq(paths.iter().copied())
                    }) {
                        continue;
                    }
                    offers.push(Offer {
                        changes: vec![a.change.clone(), b.change.clone()],
                        alternatives: Vec::new(),
                        result,
                    });
                }
            }
            if !offers.is_empty() || budget.reached {
                break;
            }
        }
        offers
    }

    /// The changes of several offers together (a field changed twice keeps
    /// the first), kept when `accept` gives a result.
    fn together<'o>(
        &self,
        firsts: impl Iterator<Item = Option<&'o Offer>>,
        budget: &mut Budget,
        accept: impl Fn(&HouseholdDecision) -> Option<OfferResult>,
    ) -> Option<Offer> {
        let firsts: Vec<&Offer> = firsts.collect::<Option<Vec<_>>>()?;
        if firsts.len() < 2 {
            return None;
        }
        let mut changes: Vec<Change> = Vec::new();
        for offer in firsts {
            for c in &offer.changes {
                if !changes.iter().any(|k| k.path == c.path) {
                    changes.push(c.clone());
                }
            }
        }
        let mut json = self.household_json();
        for c in &changes {
            change::apply_to_json(&mut json, c).ok()?;
        }
        let household = crate::record::decode_json(&self.program.schema, &json).ok()?;
        if !budget.take_last() {
            return None;
        }
        let decision = evaluate(self.program, &household, self.ctx);
        accept(&decision).map(|result| Offer {
            changes,
            alternatives: Vec::new(),
            result,
        })
    }

    fn household_json(&self) -> serde_json::Value {
        let ty = self
            .program
            .schema
            .root()
            .and_then(|s| self.program.schema.subjects.get(s.index()))
            .map(|s| Type::Record(s.record))
            .unwrap_or(Type::Bool);
        change::to_json(self.program, &ty, self.household)
    }

    fn evaluate(&self, edits: &[Edit], budget: &mut Budget) -> Option<HouseholdDecision> {
        if !budget.take() {
            return None;
        }
        let changed = change::apply(self.program, self.household, edits);
        Some(evaluate(self.program, &changed, self.ctx))
    }

    // ---- judging -------------------------------------------------------------

    fn judge(&self, goal: &Goal<'_>, d: &HouseholdDecision) -> Option<OfferResult> {
        match goal {
            Goal::Code(code) => {
                let before = open_codes(self.base);
                let after = open_codes(d);
                (!after.contains(*code) && after.is_subset(&before)).then(|| self.record_result(d))
            }
            Goal::Criterion {
                programme,
                path,
                code,
                decide,
            } => {
                if d.status != Status::Verified {
                    return None;
                }
                let s = find(d, programme, path)?;
                let outcome = s.criteria.iter().find(|c| c.code == *code)?.outcome;
                let ok = if *decide {
                    outcome != Outcome::Undetermined
                } else {
                    outcome == Outcome::Passed
                };
                ok.then(|| self.subject_result(d, s))
            }
            Goal::Subject { programme, path } => {
                if d.status != Status::Verified {
                    return None;
                }
                let s = find(d, programme, path)?;
                (s.eligibility != Eligibility::Undetermined).then(|| self.subject_result(d, s))
            }
        }
    }

    fn record_result(&self, d: &HouseholdDecision) -> OfferResult {
        record_result(d)
    }

    fn subject_result(&self, d: &HouseholdDecision, s: &SubjectDecision) -> OfferResult {
        subject_result(d, s)
    }
}

/// What a record offer promises: the status and the codes still open.
pub(crate) fn record_result(d: &HouseholdDecision) -> OfferResult {
    OfferResult {
        status: d.status,
        returned_by: open_in_order(d),
        eligibility: None,
        amount: None,
        per: None,
        failing: Vec::new(),
    }
}

/// What a subject offer promises: its eligibility, amount and the criteria
/// still failing.
pub(crate) fn subject_result(d: &HouseholdDecision, s: &SubjectDecision) -> OfferResult {
    OfferResult {
        status: d.status,
        returned_by: Vec::new(),
        eligibility: Some(s.eligibility),
        amount: s.amount,
        per: Some(s.per),
        failing: s
            .criteria
            .iter()
            .filter(|c| c.outcome != Outcome::Passed)
            .map(|c| c.code.clone())
            .collect(),
    }
}

/// Blocking codes failed or undetermined.
fn open_codes(d: &HouseholdDecision) -> BTreeSet<String> {
    open_in_order(d).into_iter().collect()
}

/// Blocking codes failed or undetermined, each once, in rule order.
fn open_in_order(d: &HouseholdDecision) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in d.verification.iter().flat_map(|r| &r.criteria) {
        if c.severity == Severity::Blocking
            && c.outcome != Outcome::Passed
            && !out.contains(&c.code)
        {
            out.push(c.code.clone());
        }
    }
    out
}

pub(crate) fn find<'d>(
    d: &'d HouseholdDecision,
    programme: &str,
    path: &str,
) -> Option<&'d SubjectDecision> {
    d.programmes.get(programme)?.iter().find(|s| s.path == path)
}
