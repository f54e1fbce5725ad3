//! The quality-control stage: registry-wide checks that no single record
//! can make, written as `stage qc` rulesets (`rules/qc.lyk`). The register
//! attaches the facts they read to each verified record, and the rules
//! decide: `QC_PASSED`, or `RETURNED` with the codes.
//!
//! The facts (the schema's `registry` fields): for each member indexed at
//! intake (living, with a real NIK), `registry.nik_records`, the other
//! active records proposed before this one that hold the same NIK; for each
//! family, `registry.kk_records`, those that hold its family-card number.
//! They are found with one set-based query per batch
//! ([`crate::store::Store::registry_facts`]) and overwrite whatever
//! `registry` a proposal carried.
//!
//! Records are checked in `record_id` order, and a record returned earlier
//! in the job no longer counts as active for the ones after it. The batch is
//! evaluated at once with the facts as read; then, walking it in order, a
//! record whose facts name a record this batch has just returned gets its
//! facts without it and is evaluated again, alone. The outcome is that of
//! checking the records one by one.

use std::collections::{BTreeMap, BTreeSet};

use layak_dsl::decision::Status;
use layak_host::pipeline::{Line, Outcome};

use crate::store::decisions::Fact;
use crate::store::households::StoredHousehold;

use super::{JobError, Program, Run};

/// The QC outcome of each record of a batch, with the registry facts
/// attached.
pub(super) async fn evaluate(
    run: &Run<'_>,
    batch: &[StoredHousehold],
) -> Result<Vec<Outcome>, JobError> {
    let ids: Vec<String> = batch.iter().map(|h| h.record_id.clone()).collect();
    let facts = run.state.store.registry_facts(&ids).await?;
    let no_exclusions = BTreeSet::new();
    let lines: Vec<Line> = batch
        .iter()
        .zip(1..)
        .map(|(h, no)| Line {
            no,
            text: Ok(with_facts(h, &facts, &no_exclusions)),
        })
        .collect();
    let mut outcomes = run.evaluate(Program::QualityControl, lines).await?;

    let mut returned = BTreeSet::new();
    for (h, outcome) in batch.iter().zip(outcomes.iter_mut()) {
        let stale = facts
            .iter()
            .any(|f| f.record_id == h.record_id && returned.contains(f.other_record.as_str()));
        if stale {
            let line = Line {
                no: 1,
                text: Ok(with_facts(h, &facts, &returned)),
            };
            let again = run.evaluate(Program::QualityControl, vec![line]).await?;
            if let Some(again) = again.into_iter().next() {
                *outcome = again;
            }
        }
        if matches!(outcome, Ok(d) if d.status == Status::Returned) {
            returned.insert(h.record_id.as_str());
        }
    }
    Ok(outcomes)
}

/// The record's body with its registry facts attached: every member and
/// family gets its `registry` (empty lists when nothing clashes), leaving
/// out the other records in `excluded`. A body that is not a JSON object
/// is left as it is, for the pipeline to report.
fn with_facts(h: &StoredHousehold, facts: &[Fact], excluded: &BTreeSet<&str>) -> String {
    let Ok(mut json) = serde_json::from_str::<serde_json::Value>(&h.body) else {
        return h.body.clone();
    };
    // By member path, and by family index, the other records.
    let mut niks: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut kks: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in facts {
        if f.record_id != h.record_id || excluded.contains(f.other_record.as_str()) {
            continue;
        }
        match f.kind {
            "nik" => niks.entry(f.path.as_str()).or_default(),
            _ => kks
                .entry(f.path.split(".members").next().unwrap_or(&f.path))
                .or_default(),
        }
        .insert(f.other_record.as_str());
    }
    let families = json
        .get_mut("families")
        .and_then(|f| f.as_array_mut())
        .map(|f| f.iter_mut().enumerate());
    for (i, family) in families.into_iter().flatten() {
        let family_path = format!("families[{i}]");
        let Some(family) = family.as_object_mut() else {
            continue;
        };
        let kk_records: Vec<&str> = kks
            .get(family_path.as_str())
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        let members = family
            .get_mut("members")
            .and_then(|m| m.as_array_mut())
            .map(|m| m.iter_mut().enumerate());
        for (j, member) in members.into_iter().flatten() {
            let Some(member) = member.as_object_mut() else {
                continue;
            };
            let path = format!("{family_path}.members[{j}]");
            let nik_records: Vec<&str> = niks
                .get(path.as_str())
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            member.insert(
                "registry".to_string(),
                serde_json::json!({ "nik_records": nik_records }),
            );
        }
        family.insert(
            "registry".to_string(),
            serde_json::json!({ "kk_records": kk_records }),
        );
    }
    json.to_string()
}
