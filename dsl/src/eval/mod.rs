//! The reference interpreter over the IR: simple and obviously right, not
//! fast. It is the oracle for the wasm compiler; both must produce the same
//! [`HouseholdDecision`], explanations included, so everything below is part
//! of the output format.
//!
//! # Values
//!
//! A value during evaluation is either present or *undetermined*, carrying
//! the sorted set of reasons: paths of missing data relative to the
//! household (`families[0].members[2].birth_date`, `region.address`,
//! `verval` when the whole `verval` record is absent), `params.NAME` for a
//! parameter with no entry in force at `as_of` and no override, and these
//! computation problems:
//!
//! | reason | cause |
//! |---|---|
//! | `error: division by zero` | `/` or `%` by zero |
//! | `error: overflow` | an int or money result outside 64 bits (`+ - * /`, negation, `sum`, `sum_top`); `to_int` of too many digits |
//! | `error: not a number` | `to_int` of a text that is not `-`? followed by ASCII digits |
//! | `error: not a date` | `date(y, m, d)` of a day the calendar does not have |
//! | `error: no elements` | `min`/`max` aggregate over no element |
//! | `error: override of the wrong type` | an override whose literal does not have the parameter's type |
//! | `error: internal` | a program breaking the IR's invariants (never a checked one) |
//!
//! `%` never overflows: `i64::MIN % -1` is 0.
//!
//! # Operators
//!
//! Strict operators (arithmetic, comparison, `in`, builtins, list literals,
//! field access) evaluate every operand and are undetermined with the union
//! of their operands' reasons when any is. The exceptions:
//! - `and`/`or`/`not` are Kleene's: `false and U` is `false`, `true or U` is
//!   `true`, `U and U` is undetermined with the union;
//! - `present(e)` is never undetermined; `a ?? b` is `b` when `a` is
//!   undetermined (for any reason, errors included);
//! - `if` evaluates only the branch it takes (an undetermined condition makes
//!   it undetermined with the condition's reasons); `match` only its arm;
//! - a projection `list.field` skips elements whose field is absent.
//!
//! Aggregates: `any` is the Kleene OR over the elements of
//! `filter and body`, `all` the Kleene AND of `not filter or body`; an
//! undetermined result carries the union of the undetermined elements'
//! reasons. For `count`, `filter`, `sum`, `min`, `max` and `sum_top` an
//! element whose filter is undetermined, or (passing the filter) whose body
//! is undetermined, makes the aggregate undetermined with the union over all
//! elements. `sum` of nothing is 0; `sum_top(n)` sums the `n` largest values
//! (none when `n <= 0`), the earlier element winning among equal values;
//! `min`/`max` of nothing is `error: no elements`.
//!
//! # A household
//!
//! Subject instances come from the schema: the household is the root
//! (path `""`); a child subject's instances are the elements of its parent
//! instance's list field, in record order (`families[0]`,
//! `families[0].members[1]`). For each instance a ruleset binds its subject
//! locals to the chain (household, family, member), evaluates its `let`s in
//! order, then its filter and criteria.
//!
//! A criterion without `for` is passed, failed or undetermined as its
//! requirement is true, false or undetermined; `on missing fail|pass` turns
//! undetermined into failed or passed, and the missing reasons are listed
//! either way. Its message (both languages) and hole values are always
//! given. A `for` criterion checks each element of its list whose filter is
//! true; an element whose filter is undetermined is undetermined itself
//! (`on missing` applies to it too). `checked` counts the elements whose
//! filter is true or undetermined; `elements` lists those that failed or are
//! undetermined with their message, hole values, key, label and missing
//! reasons (an element that is not a record has the path `[i]`, its index in
//! the list). The criterion failed when any element failed, else is
//! undetermined when any element is, else passed; its `missing` is the union
//! over its elements. When the list itself is undetermined nothing is checked
//! (`checked` 0) and the criterion is undetermined (or as `on missing` says).
//! A `reason` code is shown only with a failure.
//!
//! Verification rulesets run first, in program order, each over every
//! instance of its subject (one [`RulesetOutcome`] per instance). `failures`
//! and `warnings` are the codes of failed blocking and warning criteria,
//! each once, in rule order (rulesets in program order, criteria in ruleset
//! order, whichever instance failed); `undetermined` lists each
//! undetermined code once, in the same order, with the union of its missing
//! reasons. The record is `RETURNED` when anything failed blocking or a
//! blocking criterion is undetermined, else `VERIFIED`. `record_id` is the
//! root record's key (empty when absent).
//!
//! Determination rulesets run only on a verified record, in program order.
//! An instance whose filter is false is not a subject; one whose filter is
//! undetermined gets an undetermined decision with the filter's reasons and
//! no criteria. Otherwise eligibility is not eligible (amount 0) when any
//! criterion failed, else undetermined (no amount; `missing` is the union of
//! the undetermined criteria's) when any is undetermined, else eligible with
//! the benefit as amount (undetermined when the benefit is; eligible with no
//! amount when the ruleset has no benefit, then `per` is `year`). The
//! benefit is always computed for the explanation; for a `sum`, `sum_top`,
//! `max` or `min` benefit each element passing the filter is listed with its
//! value and whether it counted (all of them for `sum`, the chosen ones for
//! the others, none when the total is undetermined). A decision's `subject`
//! is its record's key when declared and present, else its path.
//!
//! Parameters take the override when one is given, else the entry with the
//! latest `from` not after `as_of`. Overrides naming no parameter are
//! ignored ([`parse_override`] rejects them).
//!
//! Messages render text as is, int in decimal, money as `Rp 1.500.000` (id)
//! and `Rp 1,500,000` (en, negative `-Rp 1.500`), dates ISO, enums by
//! variant name, bool as `ya`/`tidak` and `yes`/`no`, lists joined by `, `,
//! records by key, label or path, and undetermined values as `(tidak ada)`
//! and `(missing)`. Hole values are JSON: numbers for int and money,
//! strings for text, dates, enums (variant name) and records (path), bools,
//! arrays, `null` when undetermined.

mod criteria;
mod expr;

use std::rc::Rc;

use crate::decision::assemble::{self, Codes, Parts};
use crate::decision::{Eligibility, HouseholdDecision, Outcome, RulesetOutcome, SubjectDecision};
use crate::ev::{Ev, Rec, V};
use crate::explain;
use crate::ir::{Program, Ruleset, Stage, SubjectId};
use crate::value::{Record, Value};

pub use crate::context::{EvalContext, parse_override};
pub use crate::ev::reason;
pub use crate::explain::Lang;
pub use crate::explain::money as format_money;

use expr::{Frame, Interp, Tri, bind};

/// One instance of a subject: the records of its chain, root first.
struct Instance<'h> {
    chain: Vec<V<'h>>,
    path: String,
}

/// Evaluates every ruleset of the program on one decoded household.
pub fn evaluate(program: &Program, household: &Value, ctx: &EvalContext) -> HouseholdDecision {
    let empty = Record::default();
    let record = match household {
        Value::Record(record) => record,
        _ => &empty,
    };
    let (param_values, params) = crate::context::resolve(program, ctx.as_of, &ctx.overrides);
    let interp = Interp::new(program, ctx.as_of, param_values);
    let root = program
        .schema
        .root()
        .and_then(|s| program.schema.subjects.get(s.index()))
        .map(|s| Rec {
            record,
            id: s.record,
            path: Rc::from(""),
        });
    let record_id = root
        .as_ref()
        .and_then(|r| explain::key_label(program, r).0)
        .unwrap_or_default();

    let mut verification = Vec::new();
    for (k, ruleset) in program.rulesets.iter().enumerate() {
        if ruleset.stage != Stage::Verification {
            continue;
        }
        for instance in instances(&interp, root.as_ref(), ruleset.subject) {
            let mut frame = ruleset_frame(&interp, ruleset, &instance);
            let criteria = ruleset
                .criteria
                .iter()
                .map(|c| criteria::criterion(&interp, &mut frame, c))
                .collect();
            let outcome = RulesetOutcome {
                ruleset: ruleset.name.clone(),
                path: instance.path,
                criteria,
            };
            verification.push((k, outcome));
        }
    }

    let mut subjects = Vec::new();
    if Codes::of(program, &verification).status() == crate::decision::Status::Verified {
        for (k, ruleset) in program.rulesets.iter().enumerate() {
            if ruleset.stage != Stage::Determination {
                continue;
            }
            for instance in instances(&interp, root.as_ref(), ruleset.subject) {
                if let Some(decision) = determine(&interp, ruleset, &instance) {
                    subjects.push((k, decision));
                }
            }
        }
    }

    assemble::household(
        program,
        Parts {
            record_id,
            as_of: ctx.as_of,
            verification,
            subjects,
            params,
        },
    )
}

/// Every instance of a subject, in record order.
fn instances<'h>(
    interp: &Interp<'_, 'h>,
    root: Option<&Rec<'h>>,
    subject: SubjectId,
) -> Vec<Instance<'h>> {
    let schema = &interp.program.schema;
    let Some(root) = root else {
        return Vec::new();
    };
    let chain = schema.chain(subject);
    let starts_at_root = chain
        .first()
        .and_then(|s| schema.subjects.get(s.index()))
        .is_some_and(|s| s.parent.is_none());
    if !starts_at_root {
        return Vec::new();
    }
    let mut current = vec![Instance {
        chain: vec![V::Rec(root.clone())],
        path: String::new(),
    }];
    for sub in chain.iter().skip(1) {
        let Some((_, field)) = schema.subjects.get(sub.index()).and_then(|s| s.parent) else {
            return Vec::new();
        };
        let mut next = Vec::new();
        for instance in &current {
            let Some(V::Rec(parent)) = instance.chain.last() else {
                continue;
            };
            if let Ev::Val(V::List(items)) = interp.field(parent, field) {
                for item in items.iter() {
                    if let V::Rec(rec) = item {
                        let mut chain = instance.chain.clone();
                        chain.push(item.clone());
                        next.push(Instance {
                            chain,
                            path: rec.path.to_string(),
                        });
                    }
                }
            }
        }
        current = next;
    }
    current
}

/// A ruleset's frame for one instance: subject locals bound, `let`s
/// evaluated.
fn ruleset_frame<'h>(
    interp: &Interp<'_, 'h>,
    ruleset: &Ruleset,
    instance: &Instance<'h>,
) -> Frame<'h> {
    let mut frame: Frame<'h> = vec![None; ruleset.frame_size as usize];
    for (local, value) in ruleset.subject_locals.iter().zip(&instance.chain) {
        bind(&mut frame, *local, Ev::Val(value.clone()));
    }
    for l in &ruleset.lets {
        let value = interp.eval(&mut frame, l.value);
        bind(&mut frame, l.local, value);
    }
    frame
}

/// A determination ruleset's decision for one instance; `None` when the
/// instance is not a subject (its filter is false).
fn determine<'h>(
    interp: &Interp<'_, 'h>,
    ruleset: &Ruleset,
    instance: &Instance<'h>,
) -> Option<SubjectDecision> {
    let mut frame = ruleset_frame(interp, ruleset, instance);
    let (key, label) = match instance.chain.last() {
        Some(V::Rec(rec)) => explain::key_label(interp.program, rec),
        _ => (None, None),
    };
    let mut decision = SubjectDecision::new(ruleset, instance.path.clone(), key, label);
    if let Some(filter) = ruleset.filter {
        match Tri::of(interp.eval(&mut frame, filter)) {
            Tri::T => {}
            Tri::F => return None,
            Tri::U(missing) => {
                decision.missing = missing.into_iter().collect();
                return Some(decision);
            }
        }
    }
    decision.criteria = ruleset
        .criteria
        .iter()
        .map(|c| criteria::criterion(interp, &mut frame, c))
        .collect();
    decision.benefit = ruleset
        .benefit
        .as_ref()
        .map(|b| criteria::benefit(interp, &mut frame, b.amount));

    if decision
        .criteria
        .iter()
        .any(|c| c.outcome == Outcome::Failed)
    {
        decision.eligibility = Eligibility::NotEligible;
        decision.amount = Some(0);
    } else if decision
        .criteria
        .iter()
        .any(|c| c.outcome == Outcome::Undetermined)
    {
        let mut missing: Vec<String> = decision
            .criteria
            .iter()
            .filter(|c| c.outcome == Outcome::Undetermined)
            .flat_map(|c| c.missing.iter().cloned())
            .collect();
        missing.sort();
        missing.dedup();
        decision.missing = missing;
    } else {
        match &decision.benefit {
            None => decision.eligibility = Eligibility::Eligible,
            Some(b) => match b.computed {
                Some(amount) => {
                    decision.eligibility = Eligibility::Eligible;
                    decision.amount = Some(amount);
                }
                None => decision.missing = b.missing.clone(),
            },
        }
    }
    Some(decision)
}
