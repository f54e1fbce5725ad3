//! The determination stage: eligibility and benefit per programme for the
//! period, one decision row per programme and subject, with its reasons,
//! the ruleset, `as_of` and the parameters in force.

use std::collections::HashSet;

use layak_dsl::decision::{Eligibility, HouseholdDecision, Outcome, Status, SubjectDecision};
use sha2::{Digest as _, Sha256};

use crate::store::decisions::{self, DecisionRow};
use crate::store::households::{DETERMINED, RETURNED, StoredHousehold};
use crate::store::jobs::advance;
use layak_host::hex::encode as hex;

use super::{JobError, Program, Run, lines_of, verification_reasons};

pub(super) async fn batch(
    run: &Run<'_>,
    batch: Vec<StoredHousehold>,
    last: &str,
) -> Result<(), JobError> {
    let period = run
        .job
        .params
        .get("period")
        .and_then(|p| p.as_str())
        .unwrap_or_default()
        .to_string();
    let outcomes = run.evaluate(Program::Households, lines_of(&batch)).await?;
    // The parameters in force are the same for every household of a job;
    // they are stored once and referred to by hash.
    let params_body = outcomes
        .iter()
        .find_map(|r| r.as_ref().ok())
        .map(|d| serde_json::to_string(&d.params).unwrap_or_default())
        .unwrap_or_default();
    let params_hash = hex(&Sha256::digest(params_body.as_bytes()));
    crate::store::write_tx!(run.state.store, |tx| {
        decisions::put_param_set(tx, &params_hash, &params_body).await?;
        let (mut done, mut errors) = (0i64, 0i64);
        for (h, outcome) in batch.iter().zip(&outcomes) {
            let d = match outcome {
                Ok(d) => d,
                Err(e) => {
                    errors += 1;
                    run.record_error(tx, h, e).await?;
                    continue;
                }
            };
            done += 1;
            if d.status == Status::Returned {
                run.change(tx, h, RETURNED, verification_reasons(d).to_string(), None)
                    .await?;
                continue;
            }
            let reasons = serde_json::json!({"period": period}).to_string();
            if !run
                .change(tx, h, DETERMINED, reasons, Some(&period))
                .await?
            {
                continue;
            }
            let rows = rows(run, h, d, &period, &params_hash);
            decisions::replace_decisions(tx, &h.record_id, &period, &rows).await?;
        }
        advance(tx, run.job.id, done, errors, Some(last)).await?;
        run.audit(tx, done).await
    })?;
    Ok(())
}

/// One decision row per programme and subject.
fn rows(
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
