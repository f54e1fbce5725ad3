//! Rule tests: TOML files beside the rules that name a household, an
//! evaluation date and parameters, and the part of the summary they expect.
//!
//! ```toml
//! rules = ".."                   # the rules directory, relative to this file
//! households = "samples.ndjson"  # households by record_id
//! as_of = "2025-10-01"
//!
//! [[test]]
//! name = "H1 gets PKH for three components"
//! household = "H1"
//! expect.programmes.PKH = [{ subject = "3310011203150001", eligible = true, amount = 6900000, per = "year" }]
//! ```
//!
//! A test may also override parameters (`params = { PKH_ELDERLY_MIN_AGE = 60 }`),
//! change the household before evaluating it (`set = { "families[0].desil" = 5 }`,
//! `unset = ["families[0].desil"]`, `rename = { "families[0].desil" = "desl" }`), and
//! expect benefit components
//! (`expect_items = [{ programme = "PKH", label = "Sukardi", value = 2400000 }]`).
//!
//! A household that does not decode fails its test, unless the test expects
//! exactly its decode errors (`expect_errors = ["$.families[0].desl: unknown
//! field; did you mean `desil`?"]`). Fields the schema does not name that
//! are not errors must be listed (`expect_unknown = ["housing.colour"]`, as
//! the run's report writes them), so a typo in a `set` path cannot pass
//! unnoticed.
//!
//! Counterfactuals (`layak_dsl::whatif`) are expected with
//! `expect_what_if = [{ programme = "PKH", criterion = "DESIL", change = {
//! "families[0].desil" = 4 }, eligible = true, amount = 2000000 }]` (see
//! [`ExpectWhatIf`]).
//!
//! A file with `stage = "qc"` runs the quality-control rulesets instead; its
//! cases give the registry facts with `set`
//! (`set = { "families[0].members[2].registry" = { nik_records = ["H7"] } }`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use layak_dsl::decision::{HouseholdDecision, Outcome};
use layak_dsl::ir::Program;
use layak_dsl::record::UnknownFields;
use serde::{Deserialize, Serialize};

use crate::context::{ContextError, context};
use crate::engine::Engine;
use crate::pipeline::{Evaluator, Line, LineError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    #[serde(default = "default_rules")]
    pub rules: String,
    pub households: Option<String>,
    pub as_of: Option<String>,
    /// `qc`: the cases run the quality-control stage (the rules' `stage qc`
    /// rulesets, with the registry facts the cases `set`); by default they
    /// run verification and determination.
    #[serde(default)]
    pub stage: Option<TestStage>,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub test: Vec<TestCase>,
}

/// The stage a test file runs, when not the household evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStage {
    Qc,
}

fn default_rules() -> String {
    "..".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    /// A `record_id` in the file's households.
    pub household: String,
    pub as_of: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// JSON paths (`families[0].members[1].shdk`) and the values to put there.
    #[serde(default)]
    pub set: BTreeMap<String, toml::Value>,
    /// JSON paths to make null.
    #[serde(default)]
    pub unset: Vec<String>,
    /// JSON paths of fields to give another name (the last step of the
    /// path), keeping their value.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// The household must not decode, with exactly these errors.
    pub expect_errors: Option<Vec<String>>,
    /// The fields the schema does not name that the household carries, as
    /// `layak eval` reports them (`families[].members[].hobby`).
    #[serde(default)]
    pub expect_unknown: Vec<String>,
    /// The part of the summary line this test pins.
    #[serde(default)]
    pub expect: toml::Table,
    #[serde(default)]
    pub expect_items: Vec<ExpectItem>,
    /// Counterfactuals the test expects among those found
    /// (`layak_dsl::whatif`).
    #[serde(default)]
    pub expect_what_if: Vec<ExpectWhatIf>,
}

/// One expected counterfactual. With `date`: a change with time alone on
/// that date, for `programme` (and `subject`), to `eligible`/`amount`.
/// With `code`: an offer that clears that blocking code of a returned
/// record, with `status` (and `returned_by`). With `programme`: an offer
/// for that programme's `subject` (key or label; any when left out) that
/// makes `criterion` pass, with `eligible` and `amount`. `together = true`
/// names the offer of every change together instead. `change` (paths and
/// values, exactly the offer's changes) is checked when given.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectWhatIf {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criterion: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub together: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<BTreeMap<String, toml::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returned_by: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectItem {
    pub programme: String,
    pub subject: Option<String>,
    pub label: Option<String>,
    pub value: Option<i64>,
    pub counted: Option<bool>,
}

/// The result of one test.
pub struct TestResult {
    pub file: PathBuf,
    pub name: String,
    /// `None` when it passed; otherwise what went wrong (a diff).
    pub failure: Option<String>,
    pub decision: Option<HouseholdDecision>,
}

/// A loaded test file with its households and compiled rules.
pub struct Suite {
    pub file: PathBuf,
    pub spec: TestFile,
    pub rules_dir: PathBuf,
    households: BTreeMap<String, serde_json::Value>,
}

impl Suite {
    pub fn load(file: &Path) -> Result<Suite> {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading `{}`", file.display()))?;
        let spec: TestFile =
            toml::from_str(&text).with_context(|| format!("in `{}`", file.display()))?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let rules_dir = dir.join(&spec.rules);
        let mut households = BTreeMap::new();
        if let Some(h) = &spec.households {
            let path = dir.join(h);
            let data = std::fs::read_to_string(&path)
                .with_context(|| format!("reading `{}`", path.display()))?;
            for (i, line) in data
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let value: serde_json::Value = serde_json::from_str(line)
                    .with_context(|| format!("`{}` line {}", path.display(), i + 1))?;
                let id = value
                    .get("record_id")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| anyhow!("`{}` line {} has no record_id", path.display(), i + 1))?
                    .to_string();
                households.insert(id, value);
            }
        }
        Ok(Suite {
            file: file.to_path_buf(),
            spec,
            rules_dir,
            households,
        })
    }

    /// Runs every case on `engine` (`layak test` gives it the reference
    /// interpreter).
    pub fn run(&self, engine: &Engine) -> Vec<TestResult> {
        self.spec
            .test
            .iter()
            .map(|case| {
                let (failure, decision) = match self.run_case(engine, case) {
                    Ok((failure, decision)) => (failure, decision),
                    Err(e) => (Some(format!("{e:#}")), None),
                };
                TestResult {
                    file: self.file.clone(),
                    name: case.name.clone(),
                    failure,
                    decision,
                }
            })
            .collect()
    }

    fn run_case(
        &self,
        engine: &Engine,
        case: &TestCase,
    ) -> Result<(Option<String>, Option<HouseholdDecision>)> {
        let mut household = self
            .households
            .get(&case.household)
            .cloned()
            .ok_or_else(|| {
                anyhow!(
                    "no household `{}` in the test file's households",
                    case.household
                )
            })?;
        for (path, value) in &case.set {
            set_path(&mut household, path, toml_to_json(value)?)?;
        }
        for path in &case.unset {
            set_path(&mut household, path, serde_json::Value::Null)?;
        }
        for (path, to) in &case.rename {
            rename_path(&mut household, path, to)?;
        }
        let as_of = case
            .as_of
            .as_deref()
            .or(self.spec.as_of.as_deref())
            .ok_or_else(|| anyhow!("no `as_of` for the test or its file"))?;
        let params: Vec<String> = self
            .spec
            .params
            .iter()
            .chain(&case.params)
            .map(|(name, value)| format!("{name}={}", toml_scalar(value)))
            .collect();
        let ctx = context(engine.program(), as_of, &params).map_err(|e| match e {
            ContextError::Date(_) => anyhow!("`as_of = {as_of}` is not a date"),
            ContextError::Param { spec, message } => anyhow!("param `{spec}`: {message}"),
        })?;
        let line = Line {
            no: 1,
            text: Ok(household.to_string()),
        };
        let evaluator = Evaluator { engine, ctx: &ctx };
        let mut unknown = UnknownFields::default();
        let outcome = evaluator
            .evaluate_lines_counting(&[line], &mut unknown)
            .pop();
        let errors: Vec<String> = match &outcome {
            Some(Err(LineError::Malformed(errors))) => {
                errors.iter().map(ToString::to_string).collect()
            }
            _ => Vec::new(),
        };
        let decision = match (outcome, &case.expect_errors) {
            (Some(Ok(decision)), None) => decision,
            (Some(Err(LineError::Malformed(_))), Some(want)) if *want == errors => {
                return Ok((None, None));
            }
            (Some(Ok(_) | Err(LineError::Malformed(_))), Some(want)) => {
                let want = serde_json::json!({ "errors": want });
                let got = serde_json::json!({ "errors": errors });
                return Ok((Some(diff(&want, &got)), None));
            }
            (Some(Err(LineError::Malformed(_))), None) => bail!(
                "household `{}` does not decode: {}",
                case.household,
                errors.join("; ")
            ),
            (Some(Err(e)), _) => bail!("household `{}`: {e}", case.household),
            (None, _) => bail!("household `{}` gave no decision", case.household),
        };
        let summary = serde_json::to_value(decision.summary())?;
        let expected = serde_json::to_value(&case.expect)?;
        let mut problems = Vec::new();
        let mut unknown: Vec<&str> = unknown.iter().map(|(path, _)| path).collect();
        let mut want_unknown: Vec<&str> = case.expect_unknown.iter().map(String::as_str).collect();
        unknown.sort_unstable();
        want_unknown.sort_unstable();
        if unknown != want_unknown {
            problems.push(format!(
                "unknown fields {unknown:?}, expected {want_unknown:?} (`expect_unknown`)"
            ));
        }
        if !matches(&expected, &summary) {
            problems.push(diff(&expected, &project(&expected, &summary)));
        }
        for item in &case.expect_items {
            if !has_item(&decision, item) {
                problems.push(format!("no benefit component matching {item:?}"));
            }
        }
        if !case.expect_what_if.is_empty() {
            let program = engine.program();
            let value = layak_dsl::record::decode_json(&program.schema, &household)
                .map_err(|e| anyhow!("household `{}` does not decode: {e:?}", case.household))?;
            let found = layak_dsl::whatif::what_if(
                program,
                &value,
                &ctx,
                &decision,
                &layak_dsl::whatif::Options::default(),
            );
            for want in &case.expect_what_if {
                if !what_if_has(&found, want)? {
                    problems.push(format!(
                        "no counterfactual matching {}\nfound:\n{}",
                        serde_json::to_string(want).unwrap_or_default(),
                        layak_dsl::whatif::text::render(&found, layak_dsl::eval::Lang::En)
                    ));
                }
            }
        }
        let failure = (!problems.is_empty()).then(|| problems.join("\n"));
        Ok((failure, Some(decision)))
    }
}

/// Whether every part `expected` names is equal in `actual`. Objects may
/// leave keys out; lists must have the same length.
pub fn matches(expected: &serde_json::Value, actual: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (expected, actual) {
        (J::Object(e), J::Object(a)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| matches(ev, av))),
        (J::Array(e), J::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(ev, av)| matches(ev, av))
        }
        (J::Number(e), J::Number(a)) => e.as_f64() == a.as_f64(),
        _ => expected == actual,
    }
}

/// `actual` cut down to the keys `expected` names, so a diff shows only
/// what the test pins.
fn project(expected: &serde_json::Value, actual: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match (expected, actual) {
        (J::Object(e), J::Object(a)) => J::Object(
            e.iter()
                .filter_map(|(k, ev)| a.get(k).map(|av| (k.clone(), project(ev, av))))
                .collect(),
        ),
        (J::Array(e), J::Array(a)) if e.len() == a.len() => {
            J::Array(e.iter().zip(a).map(|(ev, av)| project(ev, av)).collect())
        }
        _ => actual.clone(),
    }
}

fn diff(expected: &serde_json::Value, actual: &serde_json::Value) -> String {
    let e = serde_json::to_string_pretty(expected).unwrap_or_default() + "\n";
    let a = serde_json::to_string_pretty(actual).unwrap_or_default() + "\n";
    similar::TextDiff::from_lines(&e, &a)
        .unified_diff()
        .header("expected", "actual")
        .to_string()
}

/// Whether the counterfactuals contain one matching `want`.
fn what_if_has(w: &layak_dsl::whatif::WhatIf, want: &ExpectWhatIf) -> Result<bool> {
    use layak_dsl::decision::Eligibility;
    use layak_dsl::whatif::{Offer, Verdict};
    let verdict_ok = |eligibility: Option<Eligibility>, amount: Option<i64>| {
        want.eligible.is_none_or(|e| {
            (eligibility == Some(Eligibility::Eligible)) == e && eligibility.is_some()
        }) && want.amount.is_none_or(|a| amount == Some(a))
    };
    let change = match &want.change {
        Some(c) => Some(
            c.iter()
                .map(|(k, v)| Ok((k.clone(), toml_to_json(v)?)))
                .collect::<Result<BTreeMap<String, serde_json::Value>>>()?,
        ),
        None => None,
    };
    let offer_ok = |o: &Offer| {
        let changes: BTreeMap<String, serde_json::Value> = o
            .changes
            .iter()
            .map(|c| (c.path.clone(), c.to.clone()))
            .collect();
        change.as_ref().is_none_or(|c| *c == changes)
            && want.status.as_deref().is_none_or(|s| {
                serde_json::to_value(o.result.status).ok() == Some(serde_json::json!(s))
            })
            && want
                .returned_by
                .as_ref()
                .is_none_or(|r| *r == o.result.returned_by)
            && verdict_ok(o.result.eligibility, o.result.amount)
    };
    let subject_ok = |subject: &str, label: Option<&str>| {
        want.subject
            .as_deref()
            .is_none_or(|s| s == subject || Some(s) == label)
    };
    if let Some(date) = &want.date {
        let Some(date) = layak_dsl::date::Date::parse(date) else {
            bail!("`date = {date}` is not a date");
        };
        return Ok(w.time.changes.iter().filter(|c| c.date == date).any(|c| {
            c.subjects.iter().any(|s| {
                want.programme.as_deref().is_none_or(|p| p == s.programme)
                    && subject_ok(&s.subject, s.label.as_deref())
                    && s.to
                        .is_some_and(|v: Verdict| verdict_ok(Some(v.eligibility), v.amount))
            })
        }));
    }
    if let Some(programme) = &want.programme {
        let Some(subjects) = w.programmes.get(programme) else {
            return Ok(false);
        };
        return Ok(subjects
            .iter()
            .filter(|s| subject_ok(&s.subject, s.label.as_deref()))
            .any(|s| {
                if want.together {
                    return s.together.as_ref().is_some_and(offer_ok);
                }
                s.criteria
                    .iter()
                    .filter(|c| want.criterion.as_deref().is_none_or(|k| k == c.code))
                    .any(|c| c.offers.iter().any(offer_ok))
            }));
    }
    if want.together {
        return Ok(w.record_together.as_ref().is_some_and(offer_ok));
    }
    Ok(w.record
        .iter()
        .filter(|c| want.code.as_deref().is_none_or(|k| k == c.code))
        .any(|c| c.offers.iter().any(offer_ok)))
}

fn has_item(decision: &HouseholdDecision, item: &ExpectItem) -> bool {
    decision
        .programmes
        .get(&item.programme)
        .into_iter()
        .flatten()
        .filter(|s| item.subject.as_ref().is_none_or(|want| &s.subject == want))
        .filter_map(|s| s.benefit.as_ref())
        .flat_map(|b| &b.items)
        .any(|i| {
            item.label
                .as_ref()
                .is_none_or(|l| i.label.as_ref() == Some(l))
                && item.value.is_none_or(|v| i.value == Some(v))
                && item.counted.is_none_or(|c| i.counted == c)
        })
}

fn toml_to_json(value: &toml::Value) -> Result<serde_json::Value> {
    Ok(serde_json::to_value(value)?)
}

fn toml_scalar(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Puts `value` at a path such as `families[0].members[1].shdk`, creating
/// the last object key if needed.
pub fn set_path(root: &mut serde_json::Value, path: &str, value: serde_json::Value) -> Result<()> {
    let mut cur = root;
    let segments: Vec<&str> = path.split('.').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let (key, index_text) = match segment.find('[') {
            Some(at) => (
                segment.get(..at).unwrap_or(""),
                segment.get(at..).unwrap_or(""),
            ),
            None => (*segment, ""),
        };
        let mut indices: Vec<usize> = Vec::new();
        for part in segment_indices(index_text) {
            indices.push(
                part.parse()
                    .with_context(|| format!("bad index in `{path}`"))?,
            );
        }
        if !key.is_empty() {
            let obj = cur
                .as_object_mut()
                .ok_or_else(|| anyhow!("`{path}`: `{key}` is not inside an object"))?;
            if last && indices.is_empty() {
                obj.insert(key.to_string(), value);
                return Ok(());
            }
            cur = obj
                .get_mut(key)
                .ok_or_else(|| anyhow!("`{path}`: no field `{key}`"))?;
        }
        for (j, index) in indices.iter().enumerate() {
            let arr = cur
                .as_array_mut()
                .ok_or_else(|| anyhow!("`{path}`: not a list"))?;
            let slot = arr
                .get_mut(*index)
                .ok_or_else(|| anyhow!("`{path}`: no element {index}"))?;
            if last && j + 1 == indices.len() {
                *slot = value;
                return Ok(());
            }
            cur = slot;
        }
    }
    bail!("`{path}` is not a path")
}

/// Gives the field at a path such as `families[0].desil` another name,
/// keeping its value and its place among the object's fields.
pub fn rename_path(root: &mut serde_json::Value, path: &str, to: &str) -> Result<()> {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (Some(parent), key),
        None => (None, path),
    };
    let mut pointer = String::new();
    for segment in parent.into_iter().flat_map(|p| p.split('.')) {
        let key_end = segment.find('[').unwrap_or(segment.len());
        pointer.push('/');
        pointer.push_str(segment.get(..key_end).unwrap_or(""));
        for index in segment_indices(segment.get(key_end..).unwrap_or("")) {
            pointer.push('/');
            pointer.push_str(index);
        }
    }
    let object = root
        .pointer_mut(&pointer)
        .and_then(|v| v.as_object_mut())
        .ok_or_else(|| anyhow!("`{path}`: no object there"))?;
    let Some(at) = object.keys().position(|k| k == key) else {
        bail!("`{path}`: no field `{key}`");
    };
    let value = object.shift_remove(key).unwrap_or_default();
    object.shift_insert(at, to.to_string(), value);
    Ok(())
}

fn segment_indices(s: &str) -> impl Iterator<Item = &str> {
    s.split(['[', ']']).filter(|p| !p.is_empty())
}

/// Per criterion: how often it passed, failed and was undetermined.
#[derive(Debug, Default, Clone, Copy)]
pub struct Coverage {
    pub passed: u32,
    pub failed: u32,
    pub undetermined: u32,
}

/// Coverage of every criterion of `program` over the decisions.
pub fn coverage<'a>(
    program: &Program,
    decisions: impl IntoIterator<Item = &'a HouseholdDecision>,
) -> BTreeMap<(String, String), Coverage> {
    let mut map: BTreeMap<(String, String), Coverage> = BTreeMap::new();
    for r in &program.rulesets {
        for c in &r.criteria {
            map.insert((r.name.clone(), c.code.clone()), Coverage::default());
        }
    }
    let mut count = |ruleset: &str, code: &str, outcome: Outcome| {
        let entry = map
            .entry((ruleset.to_string(), code.to_string()))
            .or_default();
        match outcome {
            Outcome::Passed => entry.passed += 1,
            Outcome::Failed => entry.failed += 1,
            Outcome::Undetermined => entry.undetermined += 1,
        }
    };
    for d in decisions {
        for r in &d.verification {
            for c in &r.criteria {
                count(&r.ruleset, &c.code, c.outcome);
            }
        }
        for subjects in d.programmes.values() {
            for s in subjects {
                for c in &s.criteria {
                    count(&s.ruleset, &c.code, c.outcome);
                }
            }
        }
    }
    map
}
