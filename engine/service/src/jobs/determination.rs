//! The determination stage: eligibility and benefit per programme for the
//! period, one decision row per programme and subject, with its reasons,
//! the ruleset, `as_of` and the parameters in force.

use std::collections::HashSet;

use layak_dsl::decision::{Eligibility, HouseholdDecision, Outcome, Status, SubjectDecision};
use sha2::{Digest as _, Sha256};

use crate::store::decisions::{self, DecisionRow};
use crate::store::households::{DETERMINED, RETURNED, StoredHousehold, change_statuses};
use crate::store::jobs::advance;
use layak_host::hex::encode as hex;

use super::{Cursor, JobError, Run, verification_reasons};

/// Commits an evaluated batch: the status changes (multi-row), the
/// decision rows of the records that moved (one delete, multi-row
/// inserts), the errors, the cursor and the audit entry, in one
/// transaction. False (nothing written) when this replica no longer holds
/// the job.
pub(super) async fn commit(
    run: &Run<'_>,
    batch: &[StoredHousehold],
    outcomes: &[layak_host::pipeline::Outcome],
    at: Cursor<'_>,
) -> Result<bool, JobError> {
    let period = run
        .job
        .params
        .get("period")
        .and_then(|p| p.as_str())
        .unwrap_or_default()
        .to_string();
    // The parameters in force are the same for every household of a job;
    // they are stored once and referred to by hash.
    let params_body = outcomes
        .iter()
        .find_map(|r| r.as_ref().ok())
        .map(|d| serde_json::to_string(&d.params).unwrap_or_default())
        .unwrap_or_default();
    let params_hash = hex(&Sha256::digest(params_body.as_bytes()));
    let determined_reasons = serde_json::json!({"period": period}).to_string();
    // Everything but the writes is made before the transaction, which
    // holds the store's one write lock.
    let mut changes = Vec::with_capacity(batch.len());
    let mut decided = Vec::with_capacity(batch.len());
    let mut failed = Vec::new();
    for (h, outcome) in batch.iter().zip(outcomes) {
        match outcome {
            Ok(d) if d.status == Status::Returned => {
                changes.push(run.change(h, RETURNED, verification_reasons(d).to_string(), None));
            }
            Ok(d) => {
                changes.push(run.change(h, DETERMINED, determined_reasons.clone(), Some(&period)));
                decided.push((h, d));
            }
            Err(e) => failed.push((h, e)),
        }
    }
    let done = i64::try_from(changes.len()).unwrap_or(i64::MAX);
    let errors = i64::try_from(failed.len()).unwrap_or(i64::MAX);
    let committed = crate::store::write_tx!(run.state.store, |tx| {
        if !run.hold(tx, at).await? {
            return Ok(false);
        }
        decisions::put_param_set(tx, &params_hash, &params_body).await?;
        let changed = change_statuses(tx, &changes).await?;
        // Decisions only for the records that did move (one corrected
        // meanwhile is left as the correction made it).
        let mut ids = Vec::with_capacity(decided.len());
        let mut rows = Vec::new();
        for (h, d) in &decided {
            if changed.contains(&h.record_id) {
                ids.push(h.record_id.as_str());
                rows.extend(decision_rows(run, h, d, &period, &params_hash));
            }
        }
        decisions::replace_decisions_of(tx, &ids, &period, &rows).await?;
        for (h, e) in &failed {
            run.record_error(tx, h, e).await?;
        }
        advance(tx, run.job.id, done, errors, Some(at.to)).await?;
        run.audit(tx, done).await?;
        Ok(true)
    })?;
    Ok(committed)
}

/// One decision row per programme and subject.
fn decision_rows(
    run: &Run<'_>,
    h: &StoredHousehold,
    d: &HouseholdDecision,
    period: &str,
    params_hash: &str,
) -> Vec<DecisionRow> {
    let mut rows = Vec::new();
    for (programme, subjects) in &d.programmes {
        let mut seen = HashSet::new();
        for s in subjects {
            // A subject key is unique per programme; a repeated one (two
            // members sharing a placeholder) is told apart by its path
            // rather than lost.
            let subject = if seen.insert(s.subject.as_str()) {
                s.subject.clone()
            } else {
                format!("{}@{}", s.subject, s.path)
            };
            rows.push(DecisionRow {
                record_id: h.record_id.clone(),
                period: period.to_string(),
                programme: programme.clone(),
                subject,
                region: h.region.clone(),
                eligible: match s.eligibility {
                    Eligibility::Eligible => Some(true),
                    Eligibility::NotEligible => Some(false),
                    Eligibility::Undetermined => None,
                },
                amount: s.amount,
                per: layak_host::stats::per_name(s.per).to_string(),
                reasons: subject_reasons(s),
                as_of: i64::from(run.ctx.as_of.yyyymmdd()),
                ruleset_hash: run.compiled.hash.clone(),
                params_hash: params_hash.to_string(),
                content_hash: h.content_hash.clone(),
                job_id: run.job.id,
            });
        }
    }
    rows
}

/// The codes behind a subject's outcome and the data it lacked.
fn subject_reasons(s: &SubjectDecision) -> serde_json::Value {
    let codes = |o: Outcome| -> Vec<&str> {
        s.criteria
            .iter()
            .filter(|c| c.outcome == o)
            .map(|c| c.code.as_str())
            .collect()
    };
    serde_json::json!({
        "failed": codes(Outcome::Failed),
        "undetermined": codes(Outcome::Undetermined),
        "missing": s.missing,
    })
}
