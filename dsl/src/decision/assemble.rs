//! Decision assembly: the one place that turns criterion outcomes into a
//! household's codes, status and programme entries. The reference
//! interpreter and the wasm result decoder both build their
//! [`HouseholdDecision`]s here, so the two can differ only in the outcomes
//! they hand in.

use std::collections::BTreeMap;

use super::{
    CriterionOutcome, Eligibility, HouseholdDecision, Outcome, ParamUsed, RulesetOutcome, Status,
    SubjectDecision, UndeterminedCode,
};
use crate::date::Date;
use crate::ir::{Per, Program, Ruleset, Severity, Stage};

/// The verification codes of a household, in rule order: rulesets in
/// program order, criteria in ruleset order, whichever instance.
#[derive(Debug, Default)]
pub struct Codes {
    /// Failed blocking codes, each once.
    pub failures: Vec<String>,
    /// Failed warning codes, each once.
    pub warnings: Vec<String>,
    /// Undetermined codes, each once with the union of its missing paths.
    pub undetermined: Vec<UndeterminedCode>,
    /// Whether a blocking criterion is undetermined (which returns the
    /// record as a failure would).
    pub blocking_undetermined: bool,
}

impl Codes {
    /// The codes of verification outcomes, each tagged with the index of
    /// its ruleset in `program.rulesets`.
    pub fn of(program: &Program, verification: &[(usize, RulesetOutcome)]) -> Codes {
        let mut codes = Codes::default();
        for (k, ruleset) in program.rulesets.iter().enumerate() {
            for i in 0..ruleset.criteria.len() {
                for (_, outcome) in verification.iter().filter(|(vk, _)| *vk == k) {
                    if let Some(c) = outcome.criteria.get(i) {
                        codes.add(c);
                    }
                }
            }
        }
        codes
    }

    fn add(&mut self, c: &CriterionOutcome) {
        match c.outcome {
            Outcome::Passed => {}
            Outcome::Failed => {
                let list = match c.severity {
                    Severity::Blocking => &mut self.failures,
                    Severity::Warning => &mut self.warnings,
                };
                if !list.contains(&c.code) {
                    list.push(c.code.clone());
                }
            }
            Outcome::Undetermined => {
                self.blocking_undetermined |= c.severity == Severity::Blocking;
                match self.undetermined.iter_mut().find(|u| u.code == c.code) {
                    Some(u) => {
                        u.missing.extend(c.missing.iter().cloned());
                        u.missing.sort();
                        u.missing.dedup();
                    }
                    None => self.undetermined.push(UndeterminedCode {
                        code: c.code.clone(),
                        missing: c.missing.clone(),
                    }),
                }
            }
        }
    }

    /// `RETURNED` when anything failed blocking or a blocking criterion is
    /// undetermined, else `VERIFIED`.
    pub fn status(&self) -> Status {
        if self.failures.is_empty() && !self.blocking_undetermined {
            Status::Verified
        } else {
            Status::Returned
        }
    }
}

/// Everything decided about one household, from its outcomes: the
/// verification rulesets' outcomes (tagged with their ruleset's index) and,
/// when the record is verified, the determination subjects in evaluation
/// order (rulesets in program order, instances in record order).
pub struct Parts {
    pub record_id: String,
    pub as_of: Date,
    pub verification: Vec<(usize, RulesetOutcome)>,
    pub subjects: Vec<(usize, SubjectDecision)>,
    pub params: Vec<ParamUsed>,
}

/// Builds the household decision: codes and status from the verification
/// outcomes, and one programme entry per determination ruleset of a
/// verified record (empty when no instance is a subject). A returned record
/// has no programmes, whatever subjects were handed in.
pub fn household(program: &Program, parts: Parts) -> HouseholdDecision {
    let codes = Codes::of(program, &parts.verification);
    let status = codes.status();
    let mut programmes: BTreeMap<String, Vec<SubjectDecision>> = BTreeMap::new();
    if status == Status::Verified {
        for ruleset in program
            .rulesets
            .iter()
            .filter(|r| r.stage == Stage::Determination)
        {
            programmes.entry(ruleset.programme_name()).or_default();
        }
        for (k, subject) in parts.subjects {
            if let Some(ruleset) = program.rulesets.get(k) {
                programmes
                    .entry(ruleset.programme_name())
                    .or_default()
                    .push(subject);
            }
        }
    }
    HouseholdDecision {
        record_id: parts.record_id,
        as_of: parts.as_of,
        status,
        failures: codes.failures,
        warnings: codes.warnings,
        undetermined: codes.undetermined,
        verification: parts.verification.into_iter().map(|(_, r)| r).collect(),
        programmes,
        params: parts.params,
    }
}

impl SubjectDecision {
    /// A subject of `ruleset` at `path` before anything is decided:
    /// undetermined, no amount, no criteria. Its `subject` is its key when
    /// it has one, else its path.
    pub fn new(
        ruleset: &Ruleset,
        path: String,
        key: Option<String>,
        label: Option<String>,
    ) -> SubjectDecision {
        SubjectDecision {
            ruleset: ruleset.name.clone(),
            subject: key.unwrap_or_else(|| path.clone()),
            path,
            label,
            eligibility: Eligibility::Undetermined,
            amount: None,
            per: ruleset.benefit.as_ref().map_or(Per::Year, |b| b.per),
            criteria: Vec::new(),
            benefit: None,
            missing: Vec::new(),
        }
    }
}
