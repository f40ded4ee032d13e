//! Background work: the queue worker that runs async and scheduled executions, the cron
//! scheduler that enqueues a function's runs, and housekeeping ([`janitor`]). Both survive restarts because their state is the
//! store's: queued executions are rows, and each function keeps its next run time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;
use wafer_store::{Execution, ExecutionTrigger, StoreError, Timestamp};

use crate::execute::{ExecuteError, Mode, execute};
use crate::invoke::{Invocation, TriggerInfo};
use crate::state::AppState;
use crate::{janitor, schedule};

/// How often the worker looks for due work when nothing wakes it.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Most executions claimed in one transaction.
const CLAIM_BATCH: usize = 64;

/// The background tasks. The queue worker is apart: told to stop, it claims nothing more and
/// ends once the executions it runs are finished and recorded, which a stopping server waits
/// for (within its grace period); the others can be stopped at any point.
pub struct Workers {
    pub queue: JoinHandle<()>,
    pub others: Vec<JoinHandle<()>>,
}

pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Workers {
    Workers {
        queue: tokio::spawn(queue_worker(state.clone(), stop.clone())),
        others: vec![
            tokio::spawn(scheduler(state.clone(), stop.clone())),
            tokio::spawn(janitor::run(state, stop)),
        ],
    }
}

async fn queue_worker(state: AppState, mut stop: watch::Receiver<bool>) {
    // Claimed executions that have not finished. The worker claims only what fits, so a backlog
    // of any size stays in the database instead of becoming tasks that hold their rows (with
    // request bodies) in memory.
    let capacity = state
        .config
        .max_concurrent_executions
        .clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(capacity));
    loop {
        let room = slots.available_permits().min(CLAIM_BATCH);
        let claimed = if room == 0 {
            Vec::new()
        } else {
            claim(&state, room).await
        };
        let filled = room > 0 && claimed.len() == room;
        for execution in claimed {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let state = state.clone();
            let span = tracing::info_span!("queued_execution", execution = %execution.id, function = %execution.function_id);
            crate::observe::traces::continue_queued_trace(&span, &execution);
            tokio::spawn(
                async move {
                    run_queued(state, execution).await;
                    drop(slot);
                }
                .instrument(span),
            );
        }
        if filled {
            continue;
        }
        tokio::select! {
            _ = state.queue.notified() => {}
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = slots.acquire(), if room == 0 => {}
            _ = stop.changed() => break,
        }
    }
    // Every slot back means every claimed execution has finished and written its record.
    let all_slots = u32::try_from(capacity).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all_slots).await;
}

async fn claim(state: &AppState, limit: usize) -> Vec<Execution> {
    let limit = u32::try_from(limit).unwrap_or(u32::MAX);
    match state
        .store
        .claim_due_executions(Timestamp::now(), limit)
        .await
    {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::error!(%error, "claiming queued executions failed");
            Vec::new()
        }
    }
}

async fn run_queued(state: AppState, execution: Execution) {
    let function = match state
        .store
        .get_function(&execution.project_id, &execution.function_id)
        .await
    {
        Ok(function) => function,
        Err(StoreError::NotFound { .. }) => {
            // Deleting a function deletes its executions: nothing is left to record.
            tracing::warn!("the function of a queued execution is gone");
            return;
        }
        Err(error) => {
            // The claim stays `processing`; a restart puts it back in the queue.
            tracing::error!(%error, "reading the function of a queued execution failed");
            return;
        }
    };
    let invocation = Invocation::from_record(&execution, &state.config.base_domain);
    let mode = Mode::Claimed(Box::new(execution));
    if let Err(error) = execute(&state, &function, invocation, mode).await {
        tracing::error!(%error, "a queued execution could not be run or recorded");
    }
}

async fn scheduler(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(error) = enqueue_due_schedules(&state).await {
            tracing::error!(%error, "enqueuing scheduled runs failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn enqueue_due_schedules(state: &AppState) -> Result<(), StoreError> {
    let now = Timestamp::now();
    for (project_id, function) in state.store.list_due_schedules(now).await? {
        let next = schedule::next_run(&function.schedule, now).unwrap_or(None);
        state
            .store
            .set_next_schedule(&project_id, &function.id, next)
            .await?;
        let mode = Mode::Enqueue { scheduled_at: None };
        match execute(state, &function, schedule_invocation(), mode).await {
            Ok(_) => {}
            // A disabled function, or one without a deployment, skips its turn.
            Err(ExecuteError::Disabled(_) | ExecuteError::NoActiveDeployment(_)) => {}
            Err(ExecuteError::Store(error)) => return Err(error),
            Err(error) => {
                tracing::error!(%error, function = %function.id, "a scheduled run was not enqueued")
            }
        }
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
