//! `wafer logs FUNCTION [--follow]`: the logs and errors of a function's recent executions, and
//! with `--follow` those of new ones as they finish, until Ctrl-C.

use std::collections::HashSet;
use std::time::Duration;

use clap::Args;

use super::Ctx;
use super::executions::recent;
use crate::models::{self, Execution};
use crate::output::{self, outln};

const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How far back each poll looks for executions that finished since the last one.
const WINDOW: u32 = 100;

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Function ID.
    pub function: String,
    /// Keep printing the logs of new executions as they finish (stop with Ctrl-C).
    #[arg(long, short)]
    pub follow: bool,
    /// How many recent executions to show first.
    #[arg(long, default_value_t = 10)]
    pub limit: u32,
}

pub async fn run(args: LogsArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let mut printed = HashSet::new();
    let finished = finished_oldest_first(ctx, &args.function, WINDOW.max(args.limit)).await?;
    let skip = finished.len().saturating_sub(args.limit as usize);
    // Executions older than the first `limit` count as shown, so following does not replay them.
    for (index, execution) in finished.into_iter().enumerate() {
        if index >= skip {
            print(ctx, &execution)?;
        }
        printed.insert(execution.id);
    }
    if !args.follow {
        if printed.is_empty() && !ctx.json {
            outln!(
                "No finished executions of {} yet. Run it with `wafer invoke {}`.",
                args.function,
                args.function
            );
        }
        return Ok(());
    }
    if !ctx.json {
        eprintln!("Following {} (Ctrl-C to stop)…", args.function);
    }
    tokio::select! {
        result = follow(ctx, &args.function, &mut printed) => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Prints executions as they finish, forever.
async fn follow(ctx: &Ctx, function: &str, printed: &mut HashSet<String>) -> anyhow::Result<()> {
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        for execution in finished_oldest_first(ctx, function, WINDOW).await? {
            if !printed.contains(&execution.id) {
                print(ctx, &execution)?;
                printed.insert(execution.id);
            }
        }
    }
}

/// The finished ones among the newest `limit` executions, oldest first.
async fn finished_oldest_first(
    ctx: &Ctx,
    function: &str,
    limit: u32,
) -> anyhow::Result<Vec<Execution>> {
    let answer = recent(ctx, function, limit, None).await?;
    let mut executions: Vec<Execution> = models::parse_list(&answer, "executions")?;
    executions.retain(Execution::is_finished);
    executions.reverse();
    Ok(executions)
}

/// One execution: a heading, then its log lines (`|`) and error lines (`!`). With `--json`,
/// one JSON object per line.
fn print(ctx: &Ctx, execution: &Execution) -> anyhow::Result<()> {
    if ctx.json {
        let line = serde_json::json!({
            "$id": execution.id,
            "$createdAt": execution.created_at,
            "status": execution.status,
            "responseStatusCode": execution.response_status_code,
            "logs": execution.logs,
            "errors": execution.errors,
        });
        outln!("{line}");
        return Ok(());
    }
    outln!(
        "{}  {}  {} {}  {} {}  {}",
        output::date(&execution.created_at),
        execution.id,
        execution.request_method,
        execution.request_path,
        execution.status,
        execution.response_status_code,
        output::duration(execution.duration),
    );
    for line in execution.logs.lines() {
        outln!("  | {line}");
    }
    for line in execution.errors.lines() {
        outln!("  ! {line}");
    }
    Ok(())
}
