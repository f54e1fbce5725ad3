//! `layak audit verify`: walks the hash chain of the audit trail.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::AuditCommand;
use crate::store::Store;
use crate::store::access::Verified;

pub fn run(command: &AuditCommand) -> Result<ExitCode> {
    let AuditCommand::Verify { db } = command;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::open(&db.database).await?;
        match store.verify_audit().await? {
            Verified::Intact { entries, head } => {
                println!("audit trail intact: {entries} entries, head {head}");
                Ok(ExitCode::SUCCESS)
            }
            Verified::Broken { seq, reason } => {
                println!("audit entry {seq} is not intact: {reason}");
                Ok(ExitCode::from(1))
            }
        }
    })
}
