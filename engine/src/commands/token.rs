//! `layak token create|revoke|list`: the service's API tokens. A token's
//! secret is printed once, on stdout, and only its SHA-256 is stored.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};

use crate::cli::TokenCommand;
use layak_service::http::auth::{Role, check_token_scope, new_secret};
use layak_service::store::Store;
use layak_service::store::access::NewToken;
use layak_service::wire;

pub fn run(command: &TokenCommand) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match command {
            TokenCommand::Create {
                role,
                region,
                programme,
                name,
                db,
            } => {
                let role = Role::parse(role).ok_or_else(|| anyhow!("no role `{role}`"))?;
                check_token_scope(role, region.as_deref(), programme.as_deref())
                    .map_err(|e| anyhow!(e))?;
                if let Some(n) = name
                    && (n.is_empty() || n.len() > 64 || n.chars().any(char::is_control))
                {
                    bail!("a token name is 1 to 64 characters without control characters");
                }
                let secret = new_secret().map_err(|e| anyhow!("no randomness: {e}"))?;
                let store = Store::open_explained(&db.database).await?;
                let row = store
                    .create_token(
                        &secret,
                        &NewToken {
                            name: name.as_deref(),
                            role: role.name(),
                            region: region.as_deref(),
                            programme: programme.as_deref(),
                        },
                    )
                    .await?;
                println!("{secret}");
                eprintln!(
                    "token {} ({}, role {}{}{}) created; the secret above is shown only now",
                    row.id,
                    row.name,
                    row.role,
                    row.region
                        .as_deref()
                        .map(|r| format!(", region {r}"))
                        .unwrap_or_default(),
                    row.programme
                        .as_deref()
                        .map(|p| format!(", programme {p}"))
                        .unwrap_or_default(),
                );
                Ok(ExitCode::SUCCESS)
            }
            TokenCommand::Revoke { id, db } => {
                let store = Store::open_explained(&db.database).await?;
                if !store.revoke_token(*id).await? {
                    bail!("no live token {id}");
                }
                eprintln!("token {id} revoked");
                Ok(ExitCode::SUCCESS)
            }
            TokenCommand::List { db } => {
                let store = Store::open_explained(&db.database).await?;
                println!("id\tname\trole\tregion\tprogramme\tcreated_at\trevoked_at");
                for t in store.tokens().await? {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        t.id,
                        t.name,
                        t.role,
                        t.region.unwrap_or_default(),
                        t.programme.unwrap_or_default(),
                        wire::time(t.created_at),
                        t.revoked_at.map(wire::time).unwrap_or_default()
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
