//! "What would have to change": for a returned record, an ineligible or
//! undetermined subject, the smallest changes to the record that turn the
//! outcome, and the dates on which the decision changes with no change to
//! the record.
//!
//! Nothing here is guessed. Candidate changes come from the rules (the IR):
//! the constants and parameter values a failed criterion compares a field
//! with, every variant of an enum field, a value for a missing field, the
//! texts searched in a list; candidate dates are the birthdays at each age
//! the rules compare and the dates dated parameters take effect. Every
//! candidate is decided by evaluating the changed household (or the
//! household at the date) with the reference interpreter, and only what
//! that evaluation gives is offered, with its outcome and amount.
//!
//! - A returned record: per blocking code that failed or is undetermined,
//!   the changes that clear it without making any other blocking criterion
//!   fail or become undetermined, with the status they give; then all of
//!   them together when that verifies the record.
//! - A subject not eligible: per failed criterion, the changes that make
//!   it pass while the record stays verified, with the subject's resulting
//!   eligibility and amount; then the first change of each failed
//!   criterion together, when that makes it eligible.
//! - An undetermined subject or criterion: the missing fields that, once
//!   given, decide it, with each answer they can give.
//!
//! One field first; pairs of fields only when no single field does it.
//! Each subject (and a returned record) has a budget of evaluations; a
//! search that reaches it says so (`budget_reached`).
//!
//! ```
//! # use layak_dsl::{compile, Sources, date::Date, eval::{evaluate, EvalContext}, record::decode_line};
//! # let mut sources = Sources::new();
//! # sources.add("r.lyk", r#"
//! #   record Household key id { id: text, income: int? }
//! #   subject household: Household
//! #   ruleset aid {
//! #     stage determination
//! #     programme AID
//! #     for each household
//! #     criterion POOR { require household.income < 1000 message id "x" message en "x" }
//! #     benefit Rp 100 per month
//! #   }
//! # "#);
//! # let program = compile(&sources).0.unwrap();
//! let household = decode_line(&program.schema, r#"{"id": "A", "income": 1500}"#).unwrap();
//! let ctx = EvalContext::new(Date::parse("2025-10-01").unwrap());
//! let decision = evaluate(&program, &household, &ctx);
//! let whatif = layak_dsl::whatif::what_if(&program, &household, &ctx, &decision, &Default::default());
//! let offer = &whatif.programmes["AID"][0].criteria[0].offers[0];
//! assert_eq!(offer.changes[0].to, 999); // income 999, the nearest that passes
//! ```

mod change;
mod check;
mod search;
pub mod text;
mod time;
mod uses;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::date::Date;
use crate::decision::{Eligibility, HouseholdDecision, Outcome, Status};
use crate::eval::EvalContext;
use crate::ir::{Lit, Per, Program};
use crate::value::Value;

pub use change::{Change, apply_to_json, to_json};
pub use check::check_promises;

/// Bounds on the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Evaluations per subject (and per returned record), and for the
    /// dates ahead.
    pub budget: u32,
    /// How far ahead to look for changes with time, in years.
    pub horizon_years: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            budget: 200,
            horizon_years: 5,
        }
    }
}

/// Everything that would turn a household's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIf {
    /// A returned record: per blocking code, what clears it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub record: Vec<CodeWhatIf>,
    /// The first change for each code together, when that verifies the
    /// record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_together: Option<Offer>,
    /// Whether the record's search stopped at the budget.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub record_budget_reached: bool,
    /// Per programme, the subjects not eligible or undetermined.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub programmes: BTreeMap<String, Vec<SubjectWhatIf>>,
    /// The dates ahead on which the decision changes by itself.
    pub time: Time,
    /// Evaluations spent, all searches together.
    pub evaluations: u32,
}

/// What clears one blocking code of a returned record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeWhatIf {
    pub code: String,
    pub outcome: Outcome,
    pub offers: Vec<Offer>,
}

/// What would turn one subject's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectWhatIf {
    pub subject: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub eligibility: Eligibility,
    /// Per failed or undetermined criterion (code `""` when the subject
    /// itself is undetermined: its filter or its benefit).
    pub criteria: Vec<CriterionWhatIf>,
    /// The first change of each failed criterion together, when no single
    /// criterion's change makes the subject eligible and together they do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub together: Option<Offer>,
    /// Parameters with no value in force that left it undetermined: no
    /// change to the record decides it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_params: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub budget_reached: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionWhatIf {
    pub code: String,
    pub outcome: Outcome,
    pub offers: Vec<Offer>,
}

/// A set of changes and what evaluating the changed record gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offer {
    pub changes: Vec<Change>,
    /// Other values of the same (single) field that give the same result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
    pub result: OfferResult,
}

/// Another value for the field of a one-change offer, with the same result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    /// In the interchange format.
    pub to: serde_json::Value,
    /// For an enum, the variant name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_variant: Option<String>,
}

/// The outcome of the changed record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferResult {
    pub status: Status,
    /// Blocking codes still failed or undetermined.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub returned_by: Vec<String>,
    /// For a subject: its eligibility, amount and period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<Eligibility>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per: Option<Per>,
    /// For a subject: its criteria still failed or undetermined.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<String>,
}

/// Changes with time alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Time {
    /// The last date looked at.
    pub horizon: Date,
    pub changes: Vec<TimeChange>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub budget_reached: bool,
}

/// A date on which the decision differs from the one before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeChange {
    pub date: Date,
    pub because: Vec<Trigger>,
    /// The record's status, when it changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Shift<Status>>,
    pub subjects: Vec<SubjectShift>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shift<T> {
    pub from: T,
    pub to: T,
}

/// Why a date was looked at.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A member reaches an age a rule compares.
    Birthday {
        path: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        who: Option<String>,
        age: i64,
    },
    /// A dated parameter's entry takes effect.
    Parameter {
        name: String,
        value: serde_json::Value,
    },
}

/// One subject's decision before and after a date (`None`: not a subject).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectShift {
    pub programme: String,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub from: Option<Verdict>,
    pub to: Option<Verdict>,
    pub per: Per,
    /// Benefit components whose value changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentShift>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub eligibility: Eligibility,
    pub amount: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentShift {
    pub who: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// What would turn the decision on this household (see the module doc).
/// `decision` is the household's decision under `ctx`, from either engine.
pub fn what_if(
    program: &Program,
    household: &Value,
    ctx: &EvalContext,
    decision: &HouseholdDecision,
    options: &Options,
) -> WhatIf {
    let params = param_values(program, ctx);
    let searcher = search::Searcher::new(program, household, ctx, decision, &params);
    let mut out = WhatIf {
        record: Vec::new(),
        record_together: None,
        record_budget_reached: false,
        programmes: BTreeMap::new(),
        time: Time {
            horizon: ctx.as_of,
            changes: Vec::new(),
            budget_reached: false,
        },
        evaluations: 0,
    };
    let mut evaluations = 0;
    if decision.status == Status::Returned {
        let mut budget = search::Budget::new(options.budget);
        let (codes, together) = searcher.record(&mut budget);
        out.record = codes;
        out.record_together = together;
        out.record_budget_reached = budget.reached;
        evaluations += budget.used;
    }
    for (programme, subjects) in &decision.programmes {
        for subject in subjects {
            if subject.eligibility == Eligibility::Eligible {
                continue;
            }
            let mut budget = search::Budget::new(options.budget);
            let found = searcher.subject(programme, subject, &mut budget);
            evaluations += budget.used;
            out.programmes
                .entry(programme.clone())
                .or_default()
                .push(found);
        }
    }
    let mut budget = search::Budget::new(options.budget);
    out.time = time::ahead(
        program,
        household,
        ctx,
        decision,
        &searcher.uses,
        options.horizon_years,
        &mut budget,
    );
    evaluations += budget.used;
    out.evaluations = evaluations;
    out
}

/// Every parameter's value for this evaluation: the override, else the
/// entry in force at `as_of`.
fn param_values(program: &Program, ctx: &EvalContext) -> Vec<Option<Lit>> {
    program
        .params
        .iter()
        .map(|p| match ctx.overrides.get(&p.name) {
            Some(lit) => Some(lit.clone()),
            None => p
                .entries
                .iter()
                .filter(|e| e.from <= ctx.as_of)
                .max_by_key(|e| e.from)
                .map(|e| e.value.clone()),
        })
        .collect()
}
