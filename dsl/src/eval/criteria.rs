//! One criterion for one subject instance, and the benefit explanation.

use super::expr::{Frame, Interp, Tri};
use crate::ast::AggKind;
use crate::decision::{
    BenefitExplanation, BenefitItem, CriterionOutcome, ElementOutcome, HoleValue, Messages, Outcome,
};
use crate::ev::{Ev, Missing, V, reason};
use crate::explain::{Lang, key_label, render, to_json};
use crate::ir::{Criterion, Expr, ExprId, OnMissing, Template, TemplatePart};

/// A requirement's truth as an outcome, with what was missing (kept even
/// when `on missing` decides the outcome).
fn outcome_of(truth: Tri, on_missing: Option<OnMissing>) -> (Outcome, Missing) {
    match truth {
        Tri::T => (Outcome::Passed, Missing::new()),
        Tri::F => (Outcome::Failed, Missing::new()),
        Tri::U(missing) => {
            let outcome = match on_missing {
                Some(OnMissing::Fail) => Outcome::Failed,
                Some(OnMissing::Pass) => Outcome::Passed,
                None => Outcome::Undetermined,
            };
            (outcome, missing)
        }
    }
}

pub fn criterion<'h>(
    interp: &Interp<'_, 'h>,
    frame: &mut Frame<'h>,
    c: &Criterion,
) -> CriterionOutcome {
    let mut result = CriterionOutcome {
        code: c.code.clone(),
        severity: c.severity,
        outcome: Outcome::Passed,
        reason: None,
        message: None,
        values: Vec::new(),
        checked: None,
        elements: Vec::new(),
        missing: Vec::new(),
    };
    let missing = match &c.each {
        None => {
            let (outcome, missing) =
                outcome_of(Tri::of(interp.eval(frame, c.require)), c.on_missing);
            let (msg, values) = message(interp, frame, &c.message_id, &c.message_en);
            result.outcome = outcome;
            result.message = Some(msg);
            result.values = values;
            missing
        }
        Some(each) => {
            let items = match interp.eval(frame, each.list) {
                Ev::Val(V::List(items)) => Ok(items),
                Ev::Val(_) => Err(Missing::from([reason::INTERNAL.to_string()])),
                Ev::Und(m) => Err(m),
            };
            match items {
                Err(m) => {
                    // The list itself is unknown: nothing could be checked.
                    let (outcome, missing) = outcome_of(Tri::U(m), c.on_missing);
                    result.outcome = outcome;
                    result.checked = Some(0);
                    missing
                }
                Ok(items) => {
                    let mut missing = Missing::new();
                    let mut checked = 0_u32;
                    for (index, element) in items.iter().enumerate() {
                        let truth = match interp.filter(frame, each.var, element, each.filter) {
                            Tri::F => continue,
                            Tri::T => Tri::of(interp.eval(frame, c.require)),
                            u @ Tri::U(_) => u,
                        };
                        checked = checked.saturating_add(1);
                        let (outcome, element_missing) = outcome_of(truth, c.on_missing);
                        missing.extend(element_missing.iter().cloned());
                        if outcome == Outcome::Passed {
                            continue;
                        }
                        let (msg, values) = message(interp, frame, &c.message_id, &c.message_en);
                        let (path, key, label) = where_is(interp, element, index);
                        result.elements.push(ElementOutcome {
                            path,
                            key,
                            label,
                            outcome,
                            message: msg,
                            values,
                            missing: element_missing.into_iter().collect(),
                        });
                    }
                    result.checked = Some(checked);
                    result.outcome = if result.elements.iter().any(|e| e.outcome == Outcome::Failed)
                    {
                        Outcome::Failed
                    } else if result.elements.is_empty() {
                        Outcome::Passed
                    } else {
                        Outcome::Undetermined
                    };
                    missing
                }
            }
        }
    };
    if result.outcome == Outcome::Failed {
        result.reason = c.reason.clone();
    }
    result.missing = missing.into_iter().collect();
    result
}

/// An element's path, key and label: a record's own, or `[index]` in the
/// list for a value that is not a record.
fn where_is(
    interp: &Interp<'_, '_>,
    element: &V<'_>,
    index: usize,
) -> (String, Option<String>, Option<String>) {
    match element {
        V::Rec(rec) => {
            let (key, label) = key_label(interp.program, rec);
            (rec.path.to_string(), key, label)
        }
        _ => (format!("[{index}]"), None, None),
    }
}

/// Computes a benefit and explains it: for a `sum`, `sum_top`, `max` or
/// `min` aggregate, each element that passed the filter with its value and
/// whether it counted.
pub fn benefit<'h>(
    interp: &Interp<'_, 'h>,
    frame: &mut Frame<'h>,
    amount: ExprId,
) -> BenefitExplanation {
    let (result, items) = match interp.program.expr(amount) {
        Some(Expr::Agg {
            kind: kind @ (AggKind::Sum | AggKind::SumTop | AggKind::Max | AggKind::Min),
            var,
            list,
            n,
            filter,
            body,
        }) => {
            let parts = (*kind, *var, *list, *n, *filter, *body);
            let breakdown = interp.breakdown(frame, amount, parts);
            let items = breakdown
                .items
                .iter()
                .zip(&breakdown.counted)
                .map(|(item, counted)| {
                    let (path, key, label) = where_is(interp, &item.element, item.index);
                    BenefitItem {
                        path,
                        key,
                        label,
                        value: match &item.value {
                            Ev::Val(v) => v.number(),
                            Ev::Und(_) => None,
                        },
                        counted: *counted,
                    }
                })
                .collect();
            (breakdown.result, items)
        }
        _ => (interp.eval(frame, amount), Vec::new()),
    };
    let (computed, missing) = match result {
        Ev::Val(v) => match v.number() {
            Some(n) => (Some(n), Missing::new()),
            None => (None, Missing::from([reason::INTERNAL.to_string()])),
        },
        Ev::Und(m) => (None, m),
    };
    BenefitExplanation {
        computed,
        items,
        missing: missing.into_iter().collect(),
    }
}

/// Renders a message in both languages in the current frame. Each hole is
/// evaluated once per language; the hole values are listed once per
/// distinct hole text, in order of first appearance (Indonesian first).
pub fn message<'h>(
    interp: &Interp<'_, 'h>,
    frame: &mut Frame<'h>,
    id: &Template,
    en: &Template,
) -> (Messages, Vec<HoleValue>) {
    let mut values: Vec<HoleValue> = Vec::new();
    let mut fill = |template: &Template, lang: Lang, frame: &mut Frame<'h>| {
        let mut out = String::new();
        for part in &template.parts {
            match part {
                TemplatePart::Text(text) => out.push_str(text),
                TemplatePart::Hole { expr, source } => {
                    let ev = interp.eval(frame, *expr);
                    let ty = interp.program.ty(*expr);
                    out.push_str(&render(interp.program, &ev, ty, lang));
                    if !values.iter().any(|v| &v.expr == source) {
                        values.push(HoleValue {
                            expr: source.clone(),
                            value: to_json(interp.program, &ev, ty),
                        });
                    }
                }
            }
        }
        out
    };
    let id = fill(id, Lang::Id, frame);
    let en = fill(en, Lang::En, frame);
    (Messages { id, en }, values)
}
