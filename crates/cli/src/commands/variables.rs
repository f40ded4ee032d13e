//! `wafer variables list|create|update|delete FUNCTION …`: a function's environment
//! variables. Variables are named by key (or by ID).

use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::client::queries;
use crate::error::CliError;
use crate::models::{self, Variable};
use crate::output::{self, Table, outln};

#[derive(Subcommand, Debug)]
pub enum VariablesCommand {
    /// List a function's variables (secret values are never shown).
    List {
        /// Function ID.
        function: String,
    },
    /// Add a variable; it is secret unless --plain.
    Create {
        /// Function ID.
        function: String,
        /// The variable's name in the environment (not `key`: `--key` is the API key).
        #[arg(value_name = "KEY")]
        name: String,
        value: String,
        /// Let the value be read back through the API.
        #[arg(long)]
        plain: bool,
    },
    /// Change a variable's value, key or secrecy.
    Update {
        /// Function ID.
        function: String,
        /// The variable's key or ID.
        variable: String,
        /// New value.
        #[arg(long)]
        value: Option<String>,
        /// New key.
        #[arg(long = "key-name", value_name = "KEY")]
        new_key: Option<String>,
        /// Make it secret (a secret variable cannot become plain again).
        #[arg(long)]
        secret: bool,
    },
    /// Delete a variable.
    Delete {
        /// Function ID.
        function: String,
        /// The variable's key or ID.
        variable: String,
    },
}

pub async fn run(command: VariablesCommand, ctx: &Ctx) -> anyhow::Result<()> {
    match command {
        VariablesCommand::List { function } => list(ctx, &function).await,
        VariablesCommand::Create {
            function,
            name,
            value,
            plain,
        } => {
            let body =
                json!({"variableId": "unique()", "key": name, "value": value, "secret": !plain});
            let record = ctx
                .client
                .post(&["functions", &function, "variables"], &body)
                .await?;
            written(ctx, &record, "Created")
        }
        VariablesCommand::Update {
            function,
            variable,
            value,
            new_key,
            secret,
        } => {
            let current = find(ctx, &function, &variable).await?;
            let mut body = Map::new();
            body.insert("key".into(), json!(new_key.unwrap_or(current.key)));
            if let Some(value) = value {
                body.insert("value".into(), json!(value));
            }
            if secret {
                body.insert("secret".into(), json!(true));
            }
            let record = ctx
                .client
                .put(
                    &["functions", &function, "variables", &current.id],
                    &Value::Object(body),
                )
                .await?;
            written(ctx, &record, "Updated")
        }
        VariablesCommand::Delete { function, variable } => {
            let current = find(ctx, &function, &variable).await?;
            ctx.client
                .delete(&["functions", &function, "variables", &current.id])
                .await?;
            if !ctx.json {
                outln!("Deleted variable {} of {function}.", current.key);
            }
            Ok(())
        }
    }
}

async fn list_all(ctx: &Ctx, function: &str) -> anyhow::Result<Value> {
    let query = queries(&[json!({"method": "limit", "values": [5000]})]);
    ctx.client
        .get(&["functions", function, "variables"], &query)
        .await
}

async fn list(ctx: &Ctx, function: &str) -> anyhow::Result<()> {
    let answer = list_all(ctx, function).await?;
    if ctx.json {
        return output::json(&answer);
    }
    let variables: Vec<Variable> = models::parse_list(&answer, "variables")?;
    let mut table = Table::new(["KEY", "VALUE", "ID", "UPDATED"]).limit(1, 60);
    for variable in &variables {
        let value = if variable.secret {
            "(secret)".to_owned()
        } else {
            variable.value.clone()
        };
        table.row(vec![
            variable.key.clone(),
            value,
            variable.id.clone(),
            output::date(&variable.updated_at),
        ]);
    }
    table.print(&format!(
        "{function} has no variables. Add one with `wafer variables create {function} KEY VALUE`."
    ))
}

/// The variable whose ID, else key, is `name`.
async fn find(ctx: &Ctx, function: &str, name: &str) -> anyhow::Result<Variable> {
    let variables: Vec<Variable> =
        models::parse_list(&list_all(ctx, function).await?, "variables")?;
    let by_id = variables.iter().find(|variable| variable.id == name);
    let found = by_id.or_else(|| variables.iter().find(|variable| variable.key == name));
    found.cloned().ok_or_else(|| {
        CliError::Api {
            status: 404,
            kind: "variable_not_found".into(),
            message: format!(
                "{function} has no variable with the key or ID '{name}'; see `wafer variables \
                 list {function}`."
            ),
        }
        .into()
    })
}

fn written(ctx: &Ctx, record: &Value, verb: &str) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(record);
    }
    let variable: Variable = models::parse(record)?;
    let secrecy = if variable.secret { "secret" } else { "plain" };
    outln!(
        "{verb} variable {} ({secrecy}, ID {}).",
        variable.key,
        variable.id
    );
    Ok(())
}
