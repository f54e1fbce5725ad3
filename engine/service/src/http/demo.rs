//! `layak serve --demo`: the shipped rules and a generated population in an
//! embedded database, run through the whole pipeline, so a newcomer sees
//! the service working at once.

use std::path::Path;

use crate::store::jobs;
use crate::store::rulesets::SourceFile;

use super::auth::{Role, new_secret};
use super::{AppState, SYSTEM, rules};

/// The evaluation date and period of the demo's jobs.
pub const AS_OF: &str = "2025-10-01";
pub const PERIOD: &str = "2025-10";

/// Stores and activates the rules in `dir`, proposes `households`
/// generated households and queues verification, quality control and
/// determination. Does nothing when the register already has households.
pub async fn load(state: &AppState, dir: &Path, households: u64) -> anyhow::Result<()> {
    let counts = state
        .store
        .status_counts(&crate::store::Scope::all())
        .await?;
    if counts.iter().any(|(_, n)| *n > 0) {
        tracing::info!("demo: the register already has households; loading nothing");
        return Ok(());
    }
    let files: Vec<SourceFile> = rules::read_dir(dir)?;
    let compilation = tokio::task::spawn_blocking(move || {
        let c = rules::compile(&files);
        (c, files)
    })
    .await?;
    let (compilation, files) = compilation;
    let Some(program) = compilation.program else {
        anyhow::bail!(
            "the rules in `{}` have errors:\n{}",
            dir.display(),
            layak_dsl::diagnostic::render_terminal(
                &compilation.sources,
                &compilation.diagnostics,
                false
            )
        );
    };
    let (row, _) = state
        .store
        .insert_ruleset(
            &compilation.hash,
            &files,
            Some("shipped rules (demo)"),
            SYSTEM,
        )
        .await?;
    let rules = std::sync::Arc::clone(&state.rules);
    let hash = compilation.hash.clone();
    let compiled = tokio::task::spawn_blocking(move || rules.insert(&hash, program))
        .await?
        .map_err(|e| anyhow::anyhow!("loading the compiled rules: {e}"))?;
    for stage in super::rulesets::STAGES {
        state
            .store
            .activate(row.id, stage, 19_000_101, SYSTEM)
            .await?;
    }
    // The population, through the same intake as `POST /v1/households`.
    let opts = layak_gen::Options {
        households,
        seed: 1,
        reference: layak_gen::Ymd::parse(AS_OF).ok_or_else(|| anyhow::anyhow!("bad demo date"))?,
    };
    let schema_owner = std::sync::Arc::clone(&compiled);
    let (ok, rejected) = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        layak_gen::generate(&opts, &mut out, |_| {})?;
        let mut ok = Vec::new();
        let mut rejected = 0u64;
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let checked = serde_json::from_slice::<serde_json::Value>(line)
                .ok()
                .and_then(|json| super::intake::check(&schema_owner.program.schema, &json).ok());
            match checked {
                Some(p) => ok.push(p),
                None => rejected += 1,
            }
        }
        Ok::<_, std::io::Error>((ok, rejected))
    })
    .await??;
    let job = state
        .store
        .create_job(
            "proposal",
            jobs::RUNNING,
            &serde_json::json!({"format": "demo"}),
            Some(&compiled.hash),
            0,
            jobs::JobOwner::SYSTEM,
        )
        .await?;
    for chunk in ok.chunks(1000) {
        state
            .store
            .propose(chunk, &[], SYSTEM, job.id, &crate::store::Scope::all())
            .await?;
    }
    state.store.finish_job(job.id, jobs::DONE, None).await?;
    let queued = [
        (
            "verification",
            serde_json::json!({"as_of": AS_OF, "region": null}),
        ),
        ("qc", serde_json::json!({"as_of": AS_OF, "region": null})),
        (
            "determination",
            serde_json::json!({"period": PERIOD, "as_of": AS_OF, "region": null, "params": {}}),
        ),
    ];
    for (kind, params) in queued {
        let hash = Some(compiled.hash.as_str());
        // Totals are counted when each job starts its first batch; the
        // queue runs them in order.
        state
            .store
            .create_job(kind, jobs::QUEUED, &params, hash, 0, jobs::JobOwner::SYSTEM)
            .await?;
    }
    state.jobs_ready.notify_one();
    tracing::info!(
        households = ok.len(),
        rejected,
        ruleset = row.id,
        "demo loaded"
    );
    Ok(())
}

/// The region of the demo's district operator: Jawa Tengah, the province
/// of the sample households (`rules/tests/samples.ndjson`: H1-H6 in Klaten,
/// 3310; H7 in Boyolali, 3309), so README's walkthrough can propose them
/// with the operator's token.
pub const OPERATOR_REGION: &str = "33";

/// The scope of each demo token: the operator works in the province of the
/// sample households, the partner pays PKH.
fn demo_scope(role: Role) -> (Option<&'static str>, Option<&'static str>) {
    match role {
        Role::DistrictOperator => (Some(OPERATOR_REGION), None),
        Role::ProgrammePartner => (None, Some("PKH")),
        _ => (None, None),
    }
}

/// The shell variable README's walkthrough keeps a role's token in.
pub fn variable(role: Role) -> &'static str {
    match role {
        Role::Admin => "ADMIN",
        Role::PolicyAuthor => "AUTHOR",
        Role::MinistryReviewer => "REVIEWER",
        Role::DistrictOperator => "OPERATOR",
        Role::ProgrammePartner => "PARTNER",
        Role::Auditor => "AUDITOR",
    }
}

/// A fresh token per role for a demo run (`demo-<role>`), the previous
/// run's demo tokens revoked. Returns `(role, region, programme, secret)`.
pub async fn tokens(state: &AppState) -> anyhow::Result<Vec<(Role, String, String)>> {
    for old in state.store.tokens().await? {
        if old.name.starts_with("demo-") && old.revoked_at.is_none() {
            state.store.revoke_token(old.id).await?;
        }
    }
    let mut out = Vec::new();
    for role in Role::ALL {
        let (region, programme) = demo_scope(role);
        let secret = new_secret().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let name = format!("demo-{}", role.name());
        state
            .store
            .create_token(
                &secret,
                &crate::store::access::NewToken {
                    name: Some(&name),
                    role: role.name(),
                    region,
                    programme,
                },
            )
            .await?;
        let scope = match (region, programme) {
            (Some(r), _) => format!("region {r}"),
            (_, Some(p)) => format!("programme {p}"),
            _ => "all regions".to_string(),
        };
        out.push((role, scope, secret));
    }
    Ok(out)
}
