//! Changes with time alone: the dates ahead on which the decision differs
//! with no change to the record. Candidate dates are the birthdays at each
//! age the rules compare (`age(m) <= 6` changes at 7) and the dates dated
//! parameters take effect; the household is evaluated at each, in order,
//! and a date is reported when its decision differs from the one before.

use std::collections::BTreeMap;

use super::change;
use super::search::Budget;
use super::uses::Uses;
use super::{ComponentShift, Shift, SubjectShift, Time, TimeChange, Trigger, Verdict};
use crate::date::Date;
use crate::decision::{HouseholdDecision, SubjectDecision};
use crate::eval::{EvalContext, evaluate};
use crate::ir::{Lit, Program, Type};
use crate::value::Value;

pub(crate) fn ahead(
    program: &Program,
    household: &Value,
    ctx: &EvalContext,
    decision: &HouseholdDecision,
    uses: &Uses,
    horizon_years: u32,
    budget: &mut Budget,
) -> Time {
    let horizon = anniversary(ctx.as_of, i64::from(horizon_years)).unwrap_or(ctx.as_of);
    let mut dates: BTreeMap<Date, Vec<Trigger>> = BTreeMap::new();
    let within = |d: Date| d > ctx.as_of && d <= horizon;

    for instance in change::instances(program, household) {
        let Some(def) = program.schema.records.get(instance.rid.index()) else {
            continue;
        };
        for (f, field) in def.fields.iter().enumerate() {
            let aged = uses
                .fields
                .get(&(instance.rid, f as u32))
                .is_some_and(|u| u.age);
            let Some(Value::Date(born)) = instance.record.and_then(|r| r.field(f as u32)) else {
                continue;
            };
            if !aged || field.ty != Type::Date {
                continue;
            }
            for &age in uses.ages.iter().filter(|a| **a > 0) {
                if let Some(d) = anniversary(*born, age).filter(|d| within(*d)) {
                    dates.entry(d).or_default().push(Trigger::Birthday {
                        path: instance.path.clone(),
                        who: instance.owner.clone(),
                        age,
                    });
                }
            }
        }
    }
    for param in &program.params {
        if ctx.overrides.contains_key(&param.name) {
            continue;
        }
        for entry in param.entries.iter().filter(|e| within(e.from)) {
            dates
                .entry(entry.from)
                .or_default()
                .push(Trigger::Parameter {
                    name: param.name.clone(),
                    value: lit_json(program, &entry.value),
                });
        }
    }

    let mut changes = Vec::new();
    let mut before = decision.clone();
    for (date, because) in dates {
        if !budget.take() {
            break;
        }
        let at = EvalContext {
            as_of: date,
            overrides: ctx.overrides.clone(),
        };
        let after = evaluate(program, household, &at);
        let status = (after.status != before.status).then_some(Shift {
            from: before.status,
            to: after.status,
        });
        let subjects = shifts(&before, &after);
        if status.is_some() || !subjects.is_empty() {
            changes.push(TimeChange {
                date,
                because,
                status,
                subjects,
            });
        }
        before = after;
    }
    Time {
        horizon,
        changes,
        budget_reached: budget.reached,
    }
}

/// The same day `years` later (a 29 February becomes the 1 March, the day
/// completed years count it reached).
fn anniversary(date: Date, years: i64) -> Option<Date> {
    let year = i64::from(date.year()).checked_add(years)?;
    let (month, day) = (i64::from(date.month()), i64::from(date.day()));
    Date::from_ymd(year, month, day).or_else(|| Date::from_ymd(year, 3, 1))
}

fn lit_json(program: &Program, lit: &Lit) -> serde_json::Value {
    use serde_json::Value as J;
    match lit {
        Lit::Bool(b) => J::Bool(*b),
        Lit::Int(n) | Lit::Money(n) => J::from(*n),
        Lit::Text(t) => J::String(t.clone()),
        Lit::Date(d) => J::String(d.to_string()),
        Lit::Enum(e, i) => program
            .schema
            .enums
            .get(e.index())
            .and_then(|e| e.variants.get(*i as usize))
            .map_or(J::from(*i), |v| J::String(v.name.clone())),
    }
}

/// Subjects whose eligibility or amount differs, by programme and path.
fn shifts(before: &HouseholdDecision, after: &HouseholdDecision) -> Vec<SubjectShift> {
    let (old, new) = (index(before), index(after));
    let mut keys: Vec<Key<'_>> = old.keys().chain(new.keys()).copied().collect();
    keys.sort();
    keys.dedup();
    let verdict = |s: &SubjectDecision| Verdict {
        eligibility: s.eligibility,
        amount: s.amount,
    };
    let mut out = Vec::new();
    for key in keys {
        let (from, to) = (old.get(&key).copied(), new.get(&key).copied());
        if from.map(verdict) == to.map(verdict) {
            continue;
        }
        let Some(any) = to.or(from) else { continue };
        out.push(SubjectShift {
            programme: key.0.to_string(),
            subject: any.subject.clone(),
            label: any.label.clone(),
            from: from.map(verdict),
            to: to.map(verdict),
            per: any.per,
            components: components(from, to),
        });
    }
    out
}

type Key<'d> = (&'d str, &'d str);

fn index(d: &HouseholdDecision) -> BTreeMap<Key<'_>, &SubjectDecision> {
    d.programmes
        .iter()
        .flat_map(|(p, subjects)| {
            subjects
                .iter()
                .map(move |s| ((p.as_str(), s.path.as_str()), s))
        })
        .collect()
}

fn components(from: Option<&SubjectDecision>, to: Option<&SubjectDecision>) -> Vec<ComponentShift> {
    let items = |s: Option<&SubjectDecision>| {
        s.and_then(|s| s.benefit.as_ref())
            .map(|b| b.items.clone())
            .unwrap_or_default()
    };
    let (old, new) = (items(from), items(to));
    let mut out = Vec::new();
    for item in &new {
        let before = old
            .iter()
            .find(|o| o.path == item.path)
            .and_then(|o| o.value);
        if before != item.value {
            out.push(ComponentShift {
                who: item
                    .label
                    .clone()
                    .or_else(|| item.key.clone())
                    .unwrap_or_else(|| item.path.clone()),
                from: before,
                to: item.value,
            });
        }
    }
    out
}
