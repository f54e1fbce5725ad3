//! `layak audit verify`: walks the hash chain of the audit trail, and
//! checks it against anchors kept elsewhere.

use std::process::ExitCode;

use anyhow::{Result, anyhow};

use crate::cli::AuditCommand;
use layak_service::store::Store;
use layak_service::store::access::Verified;

pub fn run(command: &AuditCommand) -> Result<ExitCode> {
    let AuditCommand::Verify { db, anchor } = command;
    let anchors = anchor
        .iter()
        .map(|a| {
            let (seq, hash) = a
                .split_once(':')
                .ok_or_else(|| anyhow!("an anchor is SEQ:HASH, found `{a}`"))?;
            let seq: i64 = seq
                .parse()
                .map_err(|_| anyhow!("an anchor is SEQ:HASH, found `{a}`"))?;
            Ok((seq, hash.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::open_explained(&db.database).await?;
        let (entries, head) = match store.verify_audit().await? {
            Verified::Intact { entries, head } => (entries, head),
            Verified::Broken { seq, reason } => {
                println!("audit entry {seq} is not intact: {reason}");
                return Ok(ExitCode::from(1));
            }
        };
        for (seq, hash) in &anchors {
            let found = store.audit_page(seq - 1, 1).await?;
            match found.first() {
                Some(e) if e.seq == *seq && e.entry_hash == *hash => {}
                Some(e) if e.seq == *seq => {
                    println!(
                        "audit entry {seq} is not intact: its hash differs from the anchor (the trail was rewritten)"
                    );
                    return Ok(ExitCode::from(1));
                }
                _ => {
                    println!(
                        "audit entry {seq} is not intact: it is missing (the trail was truncated)"
                    );
                    return Ok(ExitCode::from(1));
                }
            }
        }
        println!("audit trail intact: {entries} entries, head {entries}:{head}");
        Ok(ExitCode::SUCCESS)
    })
}
