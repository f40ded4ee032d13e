//! Background work: the queue worker that runs async and scheduled executions, and the cron
//! scheduler that enqueues a function's runs. Both survive restarts because their state is the
//! store's: queued executions are rows, and each function keeps its next run time.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use wafer_store::{Execution, ExecutionStatus, ExecutionTrigger, Timestamp};

use crate::invoke::{self, Invocation, TriggerInfo};
use crate::routes::executions::enqueue;
use crate::schedule;
use crate::state::AppState;

/// How often the worker looks for due work when nothing wakes it.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
const CLAIM_BATCH: u32 = 64;

pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(queue_worker(state.clone(), stop.clone())),
        tokio::spawn(scheduler(state, stop)),
    ]
}

async fn queue_worker(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        let claimed = match state
            .store
            .claim_due_executions(Timestamp::now(), CLAIM_BATCH)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "claiming queued executions failed");
                Vec::new()
            }
        };
        let full_batch = claimed.len() as u32 == CLAIM_BATCH;
        for execution in claimed {
            let state = state.clone();
            tokio::spawn(async move { run_queued(state, execution).await });
        }
        if full_batch {
            continue;
        }
        tokio::select! {
            _ = state.queue.notified() => {}
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn run_queued(state: AppState, mut execution: Execution) {
    let span = tracing::info_span!("queued_execution", execution = %execution.id, function = %execution.function_id);
    let _guard = span.enter();
    let function = match state
        .store
        .get_function(&execution.project_id, &execution.function_id)
        .await
    {
        Ok(function) => function,
        Err(error) => {
            tracing::warn!(%error, "the function of a queued execution is gone");
            return;
        }
    };
    if let Err(error) = invoke::check_runnable(&function) {
        execution.status = ExecutionStatus::Failed;
        execution.response_status_code = 500;
        execution.errors = error.message;
        execution.request_body = Vec::new();
        execution.updated_at = Timestamp::now();
        if let Err(error) = state.writer.write(execution).await {
            tracing::error!(%error, "recording a failed queued execution failed");
        }
        return;
    }
    let Some(_permit) = state
        .concurrency
        .admit_waiting(&function.project_id, &function.id)
        .await
    else {
        return;
    };
    execution.deployment_id = function.deployment_id.clone();
    let invocation = Invocation {
        method: execution.request_method.clone(),
        path: execution.request_path.clone(),
        headers: execution.request_headers.clone(),
        body: execution.request_body.clone(),
        scheme: "http".to_owned(),
        host: state.config.base_domain.clone(),
        port: 80,
        trigger: TriggerInfo {
            trigger: execution.trigger,
            user_id: execution.user_id.clone(),
            ..TriggerInfo::default()
        },
    };
    // Async executions keep no response body, as in Appwrite.
    if let Err(error) = invoke::run(
        &state,
        &function,
        execution,
        &invocation,
        invoke::Waiter::Queue,
    )
    .await
    {
        tracing::error!(error = %error.message, "a queued execution could not be recorded");
    }
}

async fn scheduler(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(error) = enqueue_due_schedules(&state).await {
            tracing::error!(error = %error.message, "enqueuing scheduled runs failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn enqueue_due_schedules(state: &AppState) -> Result<(), crate::error::ApiError> {
    let now = Timestamp::now();
    for (project_id, function) in state.store.list_due_schedules(now).await? {
        let next = schedule::next_run(&function.schedule, now).unwrap_or(None);
        state
            .store
            .set_next_schedule(&project_id, &function.id, next)
            .await?;
        if function.deployment_id.is_empty() {
            continue;
        }
        enqueue(state, &function, &schedule_invocation(), None).await?;
    }
    Ok(())
}

/// Schedules run as POST `/` with trigger `schedule`.
fn schedule_invocation() -> Invocation {
    Invocation {
        method: "POST".to_owned(),
        path: "/".to_owned(),
        trigger: TriggerInfo {
            trigger: ExecutionTrigger::Schedule,
            ..TriggerInfo::default()
        },
        ..Invocation::default()
    }
}
