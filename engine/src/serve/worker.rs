//! The job worker: runs the queued stage jobs one at a time, oldest first,
//! and on start resumes any job a crash left running.
//!
//! A job walks its records in `record_id` order in batches. Each batch's
//! status changes, events, decisions and the job's cursor are committed in
//! one transaction, so a job stopped at any instant (even by `kill -9`)
//! resumes after its last committed batch, and the final state is that of
//! an uninterrupted run: no decision lost, none twice.

use std::sync::Arc;
use std::time::Duration;

use layak_dsl::decision::{Eligibility, HouseholdDecision, Outcome, Status};
use layak_dsl::eval::EvalContext;
use sha2::{Digest as _, Sha256};

use crate::batch::EVAL_SLICE;
use crate::store::decisions::{self, DecisionRow};
use crate::store::households::{
    Change, DETERMINED, QC_PASSED, RETURNED, StoredHousehold, VERIFIED, change_status,
};
use crate::store::jobs::{self, Job, advance, record_error};

use super::AppState;
use super::evaluate::context;
use super::jobs::{job_scope, statuses};
use super::privacy::mask_digits;
use super::rules::Compiled;
use crate::hex::encode as hex;

pub async fn run(state: AppState) {
    loop {
        match state.store.next_job().await {
            Ok(Some(job)) => {
                let id = job.id;
                if let Err(message) = run_job(&state, job).await {
                    tracing::error!(job = id, error = %mask_digits(&message), "job failed");
                    let _ = state
                        .store
                        .finish_job(id, jobs::FAILED, Some(&message))
                        .await;
                }
            }
            Ok(None) => {
                tokio::select! {
                    () = state.jobs_ready.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "reading the job queue");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

async fn run_job(state: &AppState, job: Job) -> Result<(), String> {
    let resumed = job.state == jobs::RUNNING;
    state.store.start_job(job.id).await.map_err(text)?;
    tracing::info!(job = job.id, kind = %job.kind, resumed, cursor_set = !job.cursor.is_empty(), "job started");
    let compiled = match &job.ruleset_hash {
        Some(hash) => Some(
            state
                .rules
                .get(&state.store, hash)
                .await
                .map_err(|p| p.detail.unwrap_or_default())?,
        ),
        None => None,
    };
    let ctx = match &compiled {
        Some(c) => {
            let as_of = job
                .params
                .get("as_of")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let params = job
                .params
                .get("params")
                .and_then(|p| serde_json::from_value(p.clone()).ok())
                .unwrap_or_default();
            Some(context(&c.program, as_of, &params).map_err(|p| p.detail.unwrap_or_default())?)
        }
        None => None,
    };
    let scope = job_scope(&job.params);
    let wanted = statuses(&job.kind);
    if !resumed {
        // Counted again now: a job queued behind another sees the records
        // that job has moved into its stage.
        let total = state
            .store
            .count_stage(wanted, &scope)
            .await
            .map_err(text)?;
        state
            .store
            .set_job_total(job.id, total)
            .await
            .map_err(text)?;
    }
    let batch_size = i64::try_from(state.config.job_batch.max(1)).unwrap_or(512);
    let mut cursor = job.cursor.clone();
    loop {
        if state
            .store
            .job_state(job.id)
            .await
            .map_err(text)?
            .as_deref()
            != Some(jobs::RUNNING)
        {
            tracing::info!(job = job.id, "job stopped: cancelled");
            return Ok(());
        }
        let batch = state
            .store
            .stage_batch(wanted, &cursor, &scope, batch_size)
            .await
            .map_err(text)?;
        let Some(last) = batch.last() else { break };
        let last = last.record_id.clone();
        match (job.kind.as_str(), &compiled, &ctx) {
            ("verification", Some(c), Some(ctx)) => {
                verify(state, &job, c, ctx, batch, &last).await?;
            }
            ("determination", Some(c), Some(ctx)) => {
                determine(state, &job, c, ctx, batch, &last).await?;
            }
            ("qc", _, _) => quality_control(state, &job, batch, &last).await?,
            _ => return Err(format!("job kind `{}` cannot run", job.kind)),
        }
        cursor = last;
    }
    state
        .store
        .finish_job(job.id, jobs::DONE, None)
        .await
        .map_err(text)?;
    tracing::info!(job = job.id, kind = %job.kind, "job done");
    Ok(())
}

/// Decodes and evaluates a batch on every evaluation thread, keeping order.
async fn evaluate_batch(
    state: &AppState,
    compiled: &Arc<Compiled>,
    ctx: &EvalContext,
    batch: Vec<StoredHousehold>,
) -> Result<Vec<(StoredHousehold, Result<HouseholdDecision, String>)>, String> {
    let threads = state.config.threads.max(1);
    let compiled = Arc::clone(compiled);
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let per_thread = batch.len().div_ceil(threads).max(1);
        let (shared, ctx) = (&*compiled, &ctx);
        let results: Vec<Result<HouseholdDecision, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .chunks(per_thread)
                .map(|chunk| s.spawn(move || evaluate_chunk(shared, ctx, chunk)))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|_| vec![Err("the evaluation thread stopped".to_string())])
                })
                .collect()
        });
        batch.into_iter().zip(results).collect()
    })
    .await
    .map_err(text)
}

fn evaluate_chunk(
    compiled: &Compiled,
    ctx: &EvalContext,
    chunk: &[StoredHousehold],
) -> Vec<Result<HouseholdDecision, String>> {
    let schema = &compiled.program.schema;
    let mut out: Vec<Option<Result<HouseholdDecision, String>>> = Vec::with_capacity(chunk.len());
    let mut decoded = Vec::with_capacity(chunk.len());
    let mut slots = Vec::with_capacity(chunk.len());
    for h in chunk {
        match layak_dsl::record::decode_line(schema, &h.body) {
            Ok(v) => {
                slots.push(out.len());
                out.push(None);
                decoded.push(v);
            }
            Err(errors) => {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                out.push(Some(Err(format!(
                    "the stored record does not match this ruleset's schema: {}",
                    list.join("; ")
                ))));
            }
        }
    }
    let mut slot_iter = slots.into_iter();
    for slice in decoded.chunks(EVAL_SLICE) {
        for result in compiled.evaluate(slice, ctx) {
            if let Some(slot) = slot_iter.next()
                && let Some(place) = out.get_mut(slot)
            {
                *place = Some(result);
            }
        }
    }
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Err("the engine gave no decision".to_string())))
        .collect()
}

/// The reasons of a verification: codes, and each failing criterion's
/// message in both languages with where it applies.
fn verification_reasons(d: &HouseholdDecision) -> serde_json::Value {
    let mut details = Vec::new();
    for ruleset in &d.verification {
        for c in &ruleset.criteria {
            if c.outcome == Outcome::Passed {
                continue;
            }
            if c.elements.is_empty() {
                details.push(serde_json::json!({
                    "code": c.code, "severity": c.severity, "outcome": c.outcome,
                    "path": ruleset.path, "message": c.message,
                }));
            }
            for e in &c.elements {
                details.push(serde_json::json!({
                    "code": c.code, "severity": c.severity, "outcome": e.outcome,
                    "path": e.path, "message": e.message,
                }));
            }
        }
    }
    serde_json::json!({
        "failures": d.failures, "warnings": d.warnings, "undetermined": d.undetermined,
        "details": details,
    })
}

async fn verify(
    state: &AppState,
    job: &Job,
    compiled: &Arc<Compiled>,
    ctx: &EvalContext,
    batch: Vec<StoredHousehold>,
    last: &str,
) -> Result<(), String> {
    let results = evaluate_batch(state, compiled, ctx, batch).await?;
    let hash = compiled.hash.clone();
    crate::store::write_tx!(state.store, |tx| {
        let (mut done, mut errors) = (0i64, 0i64);
        for (h, result) in &results {
            match result {
                Ok(d) => {
                    let to = match d.status {
                        Status::Verified => VERIFIED,
                        Status::Returned => RETURNED,
                    };
                    change_status(
                        tx,
                        &Change {
                            record_id: &h.record_id,
                            from: &h.status,
                            content_hash: &h.content_hash,
                            to,
                            reasons: verification_reasons(d).to_string(),
                            period: None,
                            actor: &job.actor,
                            ruleset_hash: Some(&hash),
                            job_id: Some(job.id),
                        },
                    )
                    .await?;
                    done += 1;
                }
                Err(message) => {
                    errors += 1;
                    let errs = serde_json::json!([{"path": "$", "message": mask_digits(message)}]);
                    record_error(tx, job.id, None, Some(&h.record_id), &errs).await?;
                }
            }
        }
        advance(tx, job.id, done, errors, Some(last)).await?;
        audit_batch(tx, job, done).await
    })
    .map_err(text)
}

async fn quality_control(
    state: &AppState,
    job: &Job,
    batch: Vec<StoredHousehold>,
    last: &str,
) -> Result<(), String> {
    crate::store::write_tx!(state.store, |tx| {
        for h in &batch {
            let clashes = decisions::clashes(tx, &h.record_id, h.proposal_seq).await?;
            let mut codes: Vec<&str> = Vec::new();
            let mut details = Vec::new();
            let mut families_seen: Vec<String> = Vec::new();
            for c in &clashes {
                let (code, path, id, en) = if c.kind == "nik" {
                    (
                        "DUPLICATE_NIK_REGISTRY",
                        c.path.clone(),
                        format!(
                            "NIK anggota ini sudah aktif di rumah tangga {}",
                            c.other_record
                        ),
                        format!(
                            "this member's NIK is already active in household {}",
                            c.other_record
                        ),
                    )
                } else {
                    let family = c
                        .path
                        .split(".members")
                        .next()
                        .unwrap_or(&c.path)
                        .to_string();
                    if families_seen.contains(&family) {
                        continue;
                    }
                    families_seen.push(family.clone());
                    (
                        "DUPLICATE_KK_REGISTRY",
                        family,
                        format!(
                            "nomor KK keluarga ini sudah terdaftar di rumah tangga {}",
                            c.other_record
                        ),
                        format!(
                            "this family's card number is already registered in household {}",
                            c.other_record
                        ),
                    )
                };
                if !codes.contains(&code) {
                    codes.push(code);
                }
                details.push(serde_json::json!({
                    "code": code, "severity": "blocking", "outcome": "failed", "path": path,
                    "other_record": c.other_record, "message": {"id": id, "en": en},
                }));
            }
            let to = if codes.is_empty() {
                QC_PASSED
            } else {
                RETURNED
            };
            let reasons = serde_json::json!({
                "failures": codes, "warnings": [], "undetermined": [], "details": details,
            });
            change_status(
                tx,
                &Change {
                    record_id: &h.record_id,
                    from: &h.status,
                    content_hash: &h.content_hash,
                    to,
                    reasons: reasons.to_string(),
                    period: None,
                    actor: &job.actor,
                    ruleset_hash: None,
                    job_id: Some(job.id),
                },
            )
            .await?;
        }
        let done = i64::try_from(batch.len()).unwrap_or(i64::MAX);
        advance(tx, job.id, done, 0, Some(last)).await?;
        audit_batch(tx, job, done).await
    })
    .map_err(text)
}

/// The codes behind a subject's outcome and the data it lacked.
fn subject_reasons(s: &layak_dsl::decision::SubjectDecision) -> serde_json::Value {
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

async fn determine(
    state: &AppState,
    job: &Job,
    compiled: &Arc<Compiled>,
    ctx: &EvalContext,
    batch: Vec<StoredHousehold>,
    last: &str,
) -> Result<(), String> {
    let period = job
        .params
        .get("period")
        .and_then(|p| p.as_str())
        .unwrap_or_default()
        .to_string();
    let as_of = i64::from(ctx.as_of.yyyymmdd());
    let results = evaluate_batch(state, compiled, ctx, batch).await?;
    // The parameters in force are the same for every household of a job;
    // they are stored once and referred to by hash.
    let params_body = results
        .iter()
        .find_map(|(_, r)| r.as_ref().ok())
        .map(|d| serde_json::to_string(&d.params).unwrap_or_default())
        .unwrap_or_default();
    let params_hash = hex(&Sha256::digest(params_body.as_bytes()));
    let hash = compiled.hash.clone();
    crate::store::write_tx!(state.store, |tx| {
        decisions::put_param_set(tx, &params_hash, &params_body).await?;
        let (mut done, mut errors) = (0i64, 0i64);
        for (h, result) in &results {
            let d = match result {
                Ok(d) => d,
                Err(message) => {
                    errors += 1;
                    let errs = serde_json::json!([{"path": "$", "message": mask_digits(message)}]);
                    record_error(tx, job.id, None, Some(&h.record_id), &errs).await?;
                    continue;
                }
            };
            done += 1;
            if d.status == Status::Returned {
                change_status(
                    tx,
                    &Change {
                        record_id: &h.record_id,
                        from: &h.status,
                        content_hash: &h.content_hash,
                        to: RETURNED,
                        reasons: verification_reasons(d).to_string(),
                        period: None,
                        actor: &job.actor,
                        ruleset_hash: Some(&hash),
                        job_id: Some(job.id),
                    },
                )
                .await?;
                continue;
            }
            let changed = change_status(
                tx,
                &Change {
                    record_id: &h.record_id,
                    from: &h.status,
                    content_hash: &h.content_hash,
                    to: DETERMINED,
                    reasons: serde_json::json!({"period": period}).to_string(),
                    period: Some(&period),
                    actor: &job.actor,
                    ruleset_hash: Some(&hash),
                    job_id: Some(job.id),
                },
            )
            .await?;
            if !changed {
                continue;
            }
            let mut rows = Vec::new();
            for (programme, subjects) in &d.programmes {
                let mut seen = std::collections::HashSet::new();
                for s in subjects {
                    // A subject key is unique per programme; a repeated
                    // one (two members sharing a placeholder) is told
                    // apart by its path rather than lost.
                    let subject = if seen.insert(s.subject.as_str()) {
                        s.subject.clone()
                    } else {
                        format!("{}@{}", s.subject, s.path)
                    };
                    rows.push(DecisionRow {
                        record_id: h.record_id.clone(),
                        period: period.clone(),
                        programme: programme.clone(),
                        subject,
                        region: h.region.clone(),
                        eligible: match s.eligibility {
                            Eligibility::Eligible => Some(true),
                            Eligibility::NotEligible => Some(false),
                            Eligibility::Undetermined => None,
                        },
                        amount: s.amount,
                        per: serde_json::to_value(s.per)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        reasons: subject_reasons(s),
                        as_of,
                        ruleset_hash: hash.clone(),
                        params_hash: params_hash.clone(),
                        content_hash: h.content_hash.clone(),
                        job_id: job.id,
                    });
                }
            }
            decisions::replace_decisions(tx, &h.record_id, &period, &rows).await?;
        }
        advance(tx, job.id, done, errors, Some(last)).await?;
        audit_batch(tx, job, done).await
    })
    .map_err(text)
}

/// A batch's audit entry, committed with the batch: who (the job's
/// actor), what (the job) and how many records changed.
async fn audit_batch(
    tx: &mut crate::store::Tx,
    job: &Job,
    records: i64,
) -> crate::store::DbResult<()> {
    crate::store::access::append(
        tx,
        &crate::store::access::Audit {
            actor: &job.actor,
            action: "change",
            target: format!("{} job {}", job.kind, job.id),
            records,
        },
    )
    .await
}
