//! `wafer functions create|list|get|update|delete`.

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::client::queries;
use crate::models::{self, Function};
use crate::output::{self, Table, outln};

/// The runtime a function gets unless told otherwise: any WASI 0.2 component.
pub const DEFAULT_RUNTIME: &str = "wasi-0.2";

#[derive(Subcommand, Debug)]
pub enum FunctionsCommand {
    /// Create a function (it runs nothing until a deployment is active: see `wafer deploy`).
    Create {
        /// Function ID: up to 36 characters of a-z, A-Z, 0-9, '.', '-', '_'.
        id: String,
        #[command(flatten)]
        settings: Settings,
    },
    /// List the project's functions.
    List {
        /// Only functions whose ID, name or runtime match.
        #[arg(long)]
        search: Option<String>,
        /// At most this many functions.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one function.
    Get {
        /// Function ID.
        function: String,
    },
    /// Change a function's settings; those not given stay as they are.
    Update {
        /// Function ID.
        function: String,
        #[command(flatten)]
        settings: Settings,
        /// Remove every execute role: only API keys may run it.
        #[arg(long, conflicts_with_all = ["execute", "public"])]
        private: bool,
    },
    /// Delete a function with its deployments, executions and variables.
    Delete {
        /// Function ID.
        function: String,
    },
}

/// A function's settings, as `create` and `update` take them.
#[derive(Args, Debug, Default)]
pub struct Settings {
    /// Display name [create default: the ID].
    #[arg(long)]
    pub name: Option<String>,
    /// Runtime label [create default: wasi-0.2]; see GET /v1/functions/runtimes.
    #[arg(long)]
    pub runtime: Option<String>,
    /// Who may run it without a key (any, guests, users, user:ID, team:ID, label:NAME); repeat
    /// for several. Replaces the list.
    #[arg(long, value_name = "ROLE")]
    pub execute: Vec<String>,
    /// Let anyone run it, on its own URLs too (adds the role `any`).
    #[arg(long)]
    pub public: bool,
    /// Longest run, in seconds (1-900).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// Cron schedule (5 fields, e.g. "*/5 * * * *"); "" removes it.
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,
    /// Whether it may run at all.
    #[arg(long, value_name = "BOOL")]
    pub enabled: Option<bool>,
    /// Whether executions keep their logs.
    #[arg(long, value_name = "BOOL")]
    pub logging: Option<bool>,
    /// Execution specification (e.g. s-1vcpu-512mb).
    #[arg(long, value_name = "SLUG")]
    pub specification: Option<String>,
    /// Memory limit in MiB (wafer).
    #[arg(long, value_name = "MIB")]
    pub memory: Option<u32>,
    /// CPU budget of one execution in fuel units (wafer).
    #[arg(long)]
    pub fuel: Option<u64>,
    /// A host it may call over HTTP; repeat for several. Replaces the list (wafer).
    #[arg(long = "outbound-host", value_name = "HOST")]
    pub outbound_hosts: Vec<String>,
    /// Keep a warm instance between calls: faster, but the guest's global state survives
    /// from one call to the next (wafer).
    #[arg(long, value_name = "BOOL")]
    pub reuse_instances: Option<bool>,
}

impl Settings {
    /// The request body: only the settings given, plus `name` (which the API requires).
    fn body(&self, name: &str, execute: Option<Vec<String>>) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), json!(self.name.as_deref().unwrap_or(name)));
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                body.insert(key.into(), value);
            }
        };
        put("runtime", self.runtime.as_ref().map(|v| json!(v)));
        put("execute", execute.map(|v| json!(v)));
        put("timeout", self.timeout.map(|v| json!(v)));
        put("schedule", self.schedule.as_ref().map(|v| json!(v)));
        put("enabled", self.enabled.map(|v| json!(v)));
        put("logging", self.logging.map(|v| json!(v)));
        put(
            "specification",
            self.specification.as_ref().map(|v| json!(v)),
        );
        put("memory", self.memory.map(|v| json!(v)));
        put("fuel", self.fuel.map(|v| json!(v)));
        let hosts = (!self.outbound_hosts.is_empty()).then(|| json!(self.outbound_hosts));
        put("outboundHosts", hosts);
        put("reuseInstances", self.reuse_instances.map(|v| json!(v)));
        Value::Object(body)
    }

    /// The execute roles to send: the `--execute` list (else `current`), plus `any` with
    /// `--public`; `None` when neither was asked for.
    fn execute(&self, current: &[String]) -> Option<Vec<String>> {
        if self.execute.is_empty() && !self.public {
            return None;
        }
        let mut roles = if self.execute.is_empty() {
            current.to_vec()
        } else {
            self.execute.clone()
        };
        if self.public && !roles.iter().any(|role| role == "any") {
            roles.push("any".to_owned());
        }
        Some(roles)
    }
}

pub async fn run(command: FunctionsCommand, ctx: &Ctx) -> anyhow::Result<()> {
    match command {
        FunctionsCommand::Create { id, settings } => {
            let function = create(ctx, &id, &settings).await?;
            show_written(ctx, &function, "Created")
        }
        FunctionsCommand::List { search, limit } => list(ctx, search, limit).await,
        FunctionsCommand::Get { function } => {
            let record = get(ctx, &function).await?;
            show(ctx, &record)
        }
        FunctionsCommand::Update {
            function,
            settings,
            private,
        } => {
            let record = update(ctx, &function, &settings, private).await?;
            show_written(ctx, &record, "Updated")
        }
        FunctionsCommand::Delete { function } => {
            ctx.client.delete(&["functions", &function]).await?;
            if !ctx.json {
                outln!("Deleted function {function}.");
            }
            Ok(())
        }
    }
}

/// Creates function `id`; `settings` fill in the rest, with wafer's defaults.
pub async fn create(ctx: &Ctx, id: &str, settings: &Settings) -> anyhow::Result<Value> {
    let mut body = settings.body(id, settings.execute(&[]));
    body["functionId"] = json!(id);
    if settings.runtime.is_none() {
        body["runtime"] = json!(DEFAULT_RUNTIME);
    }
    ctx.client.post(&["functions"], &body).await
}

pub async fn get(ctx: &Ctx, id: &str) -> anyhow::Result<Value> {
    ctx.client.get(&["functions", id], &[]).await
}

/// Applies `settings` to function `id`, keeping whatever they leave out.
pub async fn update(
    ctx: &Ctx,
    id: &str,
    settings: &Settings,
    private: bool,
) -> anyhow::Result<Value> {
    let current: Function = models::parse(&get(ctx, id).await?)?;
    let execute = if private {
        Some(Vec::new())
    } else {
        settings.execute(&current.execute)
    };
    let body = settings.body(&current.name, execute);
    ctx.client.put(&["functions", id], &body).await
}

async fn list(ctx: &Ctx, search: Option<String>, limit: u32) -> anyhow::Result<()> {
    let mut query = queries(&[json!({"method": "limit", "values": [limit]})]);
    if let Some(search) = search {
        query.push(("search".into(), search));
    }
    let answer = ctx.client.get(&["functions"], &query).await?;
    if ctx.json {
        return output::json(&answer);
    }
    let functions: Vec<Function> = models::parse_list(&answer, "functions")?;
    let mut table = Table::new([
        "ID",
        "NAME",
        "RUNTIME",
        "ACTIVE DEPLOYMENT",
        "EXECUTE",
        "ENABLED",
    ])
    .limit(1, 40);
    for function in &functions {
        table.row(vec![
            function.id.clone(),
            function.name.clone(),
            function.runtime.clone(),
            output::or_dash(&function.deployment_id),
            output::or_dash(&function.execute.join(",")),
            output::yes_no(function.enabled),
        ]);
    }
    table.print("No functions yet. Create one with `wafer deploy ID FILE.wasm`.")
}

fn show_written(ctx: &Ctx, record: &Value, verb: &str) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(record);
    }
    let function: Function = models::parse(record)?;
    outln!("{verb} function {}.", function.id);
    details(ctx, &function)
}

fn show(ctx: &Ctx, record: &Value) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(record);
    }
    details(ctx, &models::parse(record)?)
}

fn details(ctx: &Ctx, function: &Function) -> anyhow::Result<()> {
    let latest = match function.latest_deployment_id.as_str() {
        "" => "-".to_owned(),
        id => format!("{id} ({})", function.latest_deployment_status),
    };
    let mut limits = format!(
        "timeout {}s, specification {}",
        function.timeout, function.specification
    );
    if let Some(mib) = function.memory {
        limits.push_str(&format!(", memory {mib} MiB"));
    }
    if let Some(fuel) = function.fuel {
        limits.push_str(&format!(", fuel {fuel}"));
    }
    let [by_path, by_host] =
        output::function_urls(ctx.client.endpoint(), &function.id, &output::base_domain());
    let urls = if function.is_public() {
        format!("{by_path}  {by_host}")
    } else {
        format!("{by_path} (needs the role `any` or `guests`: `--public`)")
    };
    let variables: Vec<&str> = function.vars.iter().map(|var| var.key.as_str()).collect();
    output::fields(&[
        ("ID", function.id.clone()),
        ("Name", function.name.clone()),
        ("Runtime", function.runtime.clone()),
        ("Enabled", output::yes_no(function.enabled)),
        ("Execute", output::or_dash(&function.execute.join(", "))),
        (
            "Active deployment",
            output::or_dash(&function.deployment_id),
        ),
        ("Latest deployment", latest),
        ("Schedule", output::or_dash(&function.schedule)),
        ("Limits", limits),
        ("Logging", output::yes_no(function.logging)),
        (
            "Outbound hosts",
            output::or_dash(&function.outbound_hosts.join(", ")),
        ),
        ("Reuse instances", output::yes_no(function.reuse_instances)),
        ("Variables", output::or_dash(&variables.join(", "))),
        ("URLs", urls),
        ("Created", output::date(&function.created_at)),
        ("Updated", output::date(&function.updated_at)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_given_settings_are_sent() {
        let settings = Settings {
            timeout: Some(30),
            ..Settings::default()
        };
        assert_eq!(
            settings.body("hello", None),
            json!({"name": "hello", "timeout": 30})
        );
    }

    #[test]
    fn public_adds_any_to_the_current_roles_once() {
        let public = Settings {
            public: true,
            ..Settings::default()
        };
        assert_eq!(
            public.execute(&["users".to_owned()]),
            Some(vec!["users".to_owned(), "any".to_owned()])
        );
        assert_eq!(
            public.execute(&["any".to_owned()]),
            Some(vec!["any".to_owned()])
        );
        assert_eq!(Settings::default().execute(&["users".to_owned()]), None);
    }
}
