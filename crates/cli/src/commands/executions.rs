//! `wafer executions FUNCTION [EXECUTION]`: a function's recent executions as a table, or one
//! execution in full.

use clap::Args;
use serde_json::{Value, json};

use super::Ctx;
use crate::client::queries;
use crate::models::{self, Execution};
use crate::output::{self, Table, outln};

#[derive(Args, Debug)]
pub struct ExecutionsArgs {
    /// Function ID.
    pub function: String,
    /// Show this execution in full (request, response, logs) instead of the list.
    pub execution: Option<String>,
    /// Only executions with this status (waiting, processing, completed, failed, scheduled).
    #[arg(long)]
    pub status: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 25)]
    pub limit: u32,
}

pub async fn run(args: ExecutionsArgs, ctx: &Ctx) -> anyhow::Result<()> {
    if let Some(id) = &args.execution {
        return show_one(ctx, &args.function, id).await;
    }
    let answer = recent(ctx, &args.function, args.limit, args.status.as_deref()).await?;
    if ctx.json {
        return output::json(&answer);
    }
    let executions: Vec<Execution> = models::parse_list(&answer, "executions")?;
    let mut table = Table::new([
        "ID", "CREATED", "TRIGGER", "METHOD", "PATH", "STATUS", "CODE", "DURATION",
    ])
    .limit(4, 40);
    for execution in &executions {
        table.row(vec![
            execution.id.clone(),
            output::date(&execution.created_at),
            execution.trigger.clone(),
            execution.request_method.clone(),
            execution.request_path.clone(),
            execution.status.clone(),
            execution.response_status_code.to_string(),
            output::duration(execution.duration),
        ]);
    }
    table.print(&format!(
        "No executions of {} yet. Run it with `wafer invoke {}`.",
        args.function, args.function
    ))
}

/// The newest `limit` executions of `function`, newest first, as the API lists them.
pub async fn recent(
    ctx: &Ctx,
    function: &str,
    limit: u32,
    status: Option<&str>,
) -> anyhow::Result<Value> {
    let mut list = vec![
        json!({"method": "orderDesc", "attribute": "$createdAt"}),
        json!({"method": "limit", "values": [limit]}),
    ];
    if let Some(status) = status {
        list.push(json!({"method": "equal", "attribute": "status", "values": [status]}));
    }
    ctx.client
        .get(&["functions", function, "executions"], &queries(&list))
        .await
}

async fn show_one(ctx: &Ctx, function: &str, id: &str) -> anyhow::Result<()> {
    let record = ctx
        .client
        .get(&["functions", function, "executions", id], &[])
        .await?;
    if ctx.json {
        return output::json(&record);
    }
    let execution: Execution = models::parse(&record)?;
    output::fields(&[
        ("ID", execution.id.clone()),
        ("Created", output::date(&execution.created_at)),
        ("Trigger", execution.trigger.clone()),
        ("Status", execution.status.clone()),
        (
            "Request",
            format!("{} {}", execution.request_method, execution.request_path),
        ),
        ("Status code", execution.response_status_code.to_string()),
        ("Duration", output::duration(execution.duration)),
        ("Deployment", output::or_dash(&execution.deployment_id)),
    ])?;
    section("Response body", &execution.response_body)?;
    section("Logs", &execution.logs)?;
    section("Errors", &execution.errors)
}

fn section(title: &str, text: &str) -> anyhow::Result<()> {
    if !text.is_empty() {
        outln!("\n{title}:");
        for line in text.trim_end().lines() {
            outln!("  {line}");
        }
    }
    Ok(())
}
