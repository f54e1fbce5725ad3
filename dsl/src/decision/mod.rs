//! What an evaluation decides about one household, with the explanation
//! tree, and the stable summary shape derived from it.
//!
//! The interpreter builds these; the wasm runtime will rebuild exactly the
//! same values from a module's result block. Serialised field order is part
//! of the output format.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::date::Date;
use crate::ir::{Per, Severity};

pub mod assemble;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    #[serde(rename = "VERIFIED")]
    Verified,
    #[serde(rename = "RETURNED")]
    Returned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    Undetermined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    Eligible,
    NotEligible,
    Undetermined,
}

/// A message in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Messages {
    pub id: String,
    pub en: String,
}

/// The value of one message hole: the expression as written and its value
/// as JSON (`null` when undetermined).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoleValue {
    pub expr: String,
    pub value: serde_json::Value,
}

/// One element of a `for` criterion that did not pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElementOutcome {
    /// Path of the element in the record (`families[0].members[2]`).
    pub path: String,
    /// The element's key and label fields, if its record declares them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub outcome: Outcome,
    pub message: Messages,
    pub values: Vec<HoleValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// One criterion's result for one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionOutcome {
    pub code: String,
    pub severity: Severity,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a criterion without `for`: its message and hole values. For a
    /// `for` criterion these are per element, in `elements`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Messages>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<HoleValue>,
    /// For a `for` criterion: how many elements were checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked: Option<u32>,
    /// For a `for` criterion: the elements that failed or are undetermined.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<ElementOutcome>,
    /// Sorted paths of the missing data that left it undetermined.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// One value that went into a benefit aggregate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenefitItem {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `null` when undetermined.
    pub value: Option<i64>,
    /// Whether it counted in the total (`sum_top` keeps the largest only).
    pub counted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenefitExplanation {
    /// The benefit as computed, whether or not the subject is eligible;
    /// `null` when undetermined.
    pub computed: Option<i64>,
    /// When the benefit expression is an aggregate: each element's value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<BenefitItem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// A programme decision for one subject (a family or a member).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectDecision {
    pub ruleset: String,
    /// The subject's key (`kk_number`, `nik`), or its path when it has none.
    pub subject: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub eligibility: Eligibility,
    /// 0 when not eligible; `null` when undetermined.
    pub amount: Option<i64>,
    pub per: Per,
    pub criteria: Vec<CriterionOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benefit: Option<BenefitExplanation>,
    /// Sorted union of the missing paths that left it undetermined.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// A verification ruleset's result for one instance of its subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RulesetOutcome {
    pub ruleset: String,
    /// Path of the subject instance (`families[0]`); `""` for the household.
    pub path: String,
    pub criteria: Vec<CriterionOutcome>,
}

/// A parameter value an evaluation used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamUsed {
    pub name: String,
    pub value: serde_json::Value,
    /// The dated entry's start and legal source; absent when overridden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub overridden: bool,
}

/// A criterion whose outcome is undetermined, for the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndeterminedCode {
    pub code: String,
    pub missing: Vec<String>,
}

/// Everything decided about one household.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdDecision {
    pub record_id: String,
    pub as_of: Date,
    pub status: Status,
    /// Failed blocking codes, in rule order, each once.
    pub failures: Vec<String>,
    /// Failed warning codes, in rule order, each once.
    pub warnings: Vec<String>,
    /// Verification criteria left undetermined. An undetermined blocking
    /// criterion returns the record, as a failure would.
    pub undetermined: Vec<UndeterminedCode>,
    pub verification: Vec<RulesetOutcome>,
    /// By programme; empty when the record is returned.
    pub programmes: BTreeMap<String, Vec<SubjectDecision>>,
    pub params: Vec<ParamUsed>,
}

// ---- summary -----------------------------------------------------------------

/// The stable summary line (`layak eval --format summary`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub record_id: String,
    pub status: Status,
    pub failures: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undetermined: Vec<UndeterminedCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programmes: Option<BTreeMap<String, Vec<SummaryEntry>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryEntry {
    pub subject: String,
    /// `null` when undetermined.
    pub eligible: Option<bool>,
    /// `null` when undetermined.
    pub amount: Option<i64>,
    pub per: Per,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl HouseholdDecision {
    pub fn summary(&self) -> Summary {
        let programmes = (self.status == Status::Verified).then(|| {
            self.programmes
                .iter()
                .map(|(name, subjects)| {
                    let entries = subjects
                        .iter()
                        .map(|s| SummaryEntry {
                            subject: s.subject.clone(),
                            eligible: match s.eligibility {
                                Eligibility::Eligible => Some(true),
                                Eligibility::NotEligible => Some(false),
                                Eligibility::Undetermined => None,
                            },
                            amount: s.amount,
                            per: s.per,
                            missing: s.missing.clone(),
                        })
                        .collect();
                    (name.clone(), entries)
                })
                .collect()
        });
        Summary {
            record_id: self.record_id.clone(),
            status: self.status,
            failures: self.failures.clone(),
            warnings: self.warnings.clone(),
            undetermined: self.undetermined.clone(),
            programmes,
        }
    }
}
