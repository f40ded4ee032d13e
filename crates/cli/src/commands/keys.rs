//! `wafer keys list|create|delete`: the project's API keys. A key's secret is shown once, when
//! it is created.

use clap::Subcommand;
use serde_json::{Value, json};

use super::Ctx;
use crate::models::{self, ApiKey};
use crate::output::{self, Table, outln};

/// What a key gets when `--scope` is not given: everything about functions and executions.
const DEFAULT_SCOPES: &[&str] = &[
    "functions.read",
    "functions.write",
    "executions.read",
    "executions.write",
];

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// List the project's keys (their secrets are not shown).
    List,
    /// Create a key and print its secret (shown once).
    Create {
        /// A name to recognise it by.
        name: String,
        /// A scope it carries; repeat for several [default: functions.read, functions.write,
        /// executions.read, executions.write]. Others: keys.read, keys.write, users.write.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// When it stops working (ISO 8601, e.g. 2030-01-01T00:00:00Z) [default: never].
        #[arg(long, value_name = "DATE")]
        expire: Option<String>,
    },
    /// Delete a key: requests with it are refused from then on.
    Delete {
        /// The key's ID (see `wafer keys list`).
        key_id: String,
    },
}

pub async fn run(command: KeysCommand, ctx: &Ctx) -> anyhow::Result<()> {
    let project = ctx.client.project().to_owned();
    match command {
        KeysCommand::List => list(ctx, &project).await,
        KeysCommand::Create {
            name,
            scopes,
            expire,
        } => {
            let scopes: Vec<String> = if scopes.is_empty() {
                DEFAULT_SCOPES
                    .iter()
                    .map(|scope| (*scope).to_owned())
                    .collect()
            } else {
                scopes
            };
            let mut body = json!({"name": name, "scopes": scopes});
            if let Some(expire) = expire {
                body["expire"] = json!(expire);
            }
            let record = ctx
                .client
                .post(&["projects", &project, "keys"], &body)
                .await?;
            created(ctx, &record)
        }
        KeysCommand::Delete { key_id } => {
            ctx.client
                .delete(&["projects", &project, "keys", &key_id])
                .await?;
            if !ctx.json {
                outln!("Deleted key {key_id} of project {project}.");
            }
            Ok(())
        }
    }
}

async fn list(ctx: &Ctx, project: &str) -> anyhow::Result<()> {
    let answer = ctx.client.get(&["projects", project, "keys"], &[]).await?;
    if ctx.json {
        return output::json(&answer);
    }
    let keys: Vec<ApiKey> = models::parse_list(&answer, "keys")?;
    let mut table = Table::new(["ID", "NAME", "SCOPES", "EXPIRES", "LAST USED"]);
    for key in &keys {
        table.row(vec![
            key.id.clone(),
            key.name.clone(),
            key.scopes.join(","),
            output::or_dash(&output::date(&key.expire)),
            output::or_dash(&output::date(&key.accessed_at)),
        ]);
    }
    table.print(&format!("Project {project} has no keys."))
}

fn created(ctx: &Ctx, record: &Value) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(record);
    }
    let key: ApiKey = models::parse(record)?;
    outln!(
        "Created key {} ({}) with scopes {}.",
        key.id,
        key.name,
        key.scopes.join(", ")
    );
    outln!("Its secret (shown once, keep it):");
    outln!("{}", key.secret);
    Ok(())
}
