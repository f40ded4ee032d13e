//! The one execution pipeline. Every way a function runs (the executions API, sync or async, a
//! function route, the queue worker, schedules) calls [`execute`] with a [`Mode`]: it checks that
//! the function can run, admits the work under the concurrency limits, creates the execution
//! record, invokes the runtime and records the outcome or the failure. Callers differ only in the
//! mode and in how they answer their client.

use std::time::Duration;

use wafer_runtime::{
    InvocationOutcome, InvokeError, PendingOutcome, RequestBody, ResponseStream, Streamed,
    StreamingResponse,
};
use wafer_store::{Execution, ExecutionStatus, Function, StoreError, Timestamp, unique_id};

use tracing::Instrument;

use crate::invoke::{self, Invocation, InvokeFailure};
use crate::observe::traces;
use crate::state::{AdmissionRefused, AppState, ExecutionPermit};

/// How an execution runs and who waits for it.
#[derive(Debug)]
pub enum Mode {
    /// The executions API waits for the finished record, at most the function's timeout capped
    /// by the server's sync limit; past that the run goes on and the caller hears so.
    Sync,
    /// A function route answers with the function's own response; its record goes to the
    /// batching writer without waiting for the commit (unless route records are made durable).
    Route,
    /// The record is written (`waiting`, or `scheduled` for a time) and the queue worker runs it
    /// later: async API calls, `scheduledAt`, cron. Event triggers enqueue the same way.
    Enqueue {
        /// When to run it; `None` runs it as soon as the worker can.
        scheduled_at: Option<Timestamp>,
    },
    /// The queue worker runs an execution it claimed: `execution` is its stored record, and the
    /// invocation is the one the record asked for ([`Invocation::from_record`]).
    Claimed(Box<Execution>),
}

/// What an execution came to.
#[derive(Debug)]
pub struct Executed {
    /// The record as written.
    pub execution: Execution,
    /// The function's response, when it ran to an answer (sync and route modes).
    pub outcome: Option<InvocationOutcome>,
}

/// Why an execution was not run (or its caller could not be answered with it).
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error("Function '{0}' is disabled; enable it to run it.")]
    Disabled(String),
    #[error("Function '{0}' has no active deployment; deploy one and activate it first.")]
    NoActiveDeployment(String),
    #[error(transparent)]
    Refused(#[from] AdmissionRefused),
    /// The runtime had no sandbox free; the failed record is written.
    #[error("{0}")]
    RuntimeBusy(String),
    #[error(
        "Synchronous function execution timed out after {0} seconds. Use asynchronous \
         execution (`async: true`) for longer runs; this one continues in the background."
    )]
    SyncTimeout(u64),
    #[error("The execution task failed: {0}")]
    TaskFailed(String),
    /// A queue cap is reached; nothing was written.
    #[error("{0}")]
    QueueFull(String),
    #[error("The server is shutting down; the execution was not started.")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Seconds a caller refused for a busy runtime is told to wait.
const RUNTIME_BUSY_RETRY_SECONDS: u64 = 1;
/// Seconds a caller refused for a full queue is told to wait: the worker drains it.
const QUEUE_FULL_RETRY_SECONDS: u64 = 5;

impl ExecuteError {
    /// Seconds to wait before a retry can succeed, for refusals that pass with time.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Refused(refused) => Some(refused.retry_after),
            Self::RuntimeBusy(_) => Some(RUNTIME_BUSY_RETRY_SECONDS),
            Self::QueueFull(_) => Some(QUEUE_FULL_RETRY_SECONDS),
            _ => None,
        }
    }
}

/// Runs `invocation` of `function` in `mode`: the single entry point of every trigger.
pub async fn execute(
    state: &AppState,
    function: &Function,
    invocation: Invocation,
    mode: Mode,
) -> Result<Executed, ExecuteError> {
    match mode {
        Mode::Enqueue { scheduled_at } => {
            check_runnable(function)?;
            enqueue(state, function, &invocation, scheduled_at).await
        }
        Mode::Sync => {
            check_runnable(function)?;
            let permit = state
                .concurrency
                .try_admit(&function.project_id, &function.id)?;
            run_sync(state, function, invocation, permit).await
        }
        Mode::Route => {
            check_runnable(function)?;
            let permit = state
                .concurrency
                .try_admit(&function.project_id, &function.id)?;
            let execution = processing_record(function, &invocation);
            let executed = run(state, function, execution, &invocation, Waiter::Route).await;
            drop(permit);
            executed
        }
        Mode::Claimed(execution) => run_claimed(state, function, *execution, invocation).await,
    }
}

/// Checks that `function` can run now.
fn check_runnable(function: &Function) -> Result<(), ExecuteError> {
    if !function.enabled {
        return Err(ExecuteError::Disabled(function.id.clone()));
    }
    if function.deployment_id.is_empty() {
        return Err(ExecuteError::NoActiveDeployment(function.id.clone()));
    }
    Ok(())
}

/// A new record for a run that starts now; its request body is not kept.
fn processing_record(function: &Function, invocation: &Invocation) -> Execution {
    let mut execution = new_record(function, invocation, ExecutionStatus::Processing);
    execution.request_body = Vec::new();
    execution
}

/// A new execution record for `function`, in the given state.
fn new_record(function: &Function, invocation: &Invocation, status: ExecutionStatus) -> Execution {
    let now = Timestamp::now();
    let permissions = invocation
        .trigger
        .user_id
        .as_ref()
        .map(|user| vec![format!("read(\"user:{user}\")")])
        .unwrap_or_default();
    Execution {
        id: unique_id(),
        project_id: function.project_id.clone(),
        function_id: function.id.clone(),
        deployment_id: function.deployment_id.clone(),
        trigger: invocation.trigger.trigger,
        status,
        request_method: invocation.method.clone(),
        request_path: invocation.path.clone(),
        request_headers: invoke::recordable_headers(&invocation.headers),
        request_body: invocation.body.clone(),
        created_at: now,
        updated_at: now,
        permissions,
        user_id: invocation.trigger.user_id.clone(),
        ..Execution::default()
    }
}

/// Records a queued execution durably and wakes the queue worker.
async fn enqueue(
    state: &AppState,
    function: &Function,
    invocation: &Invocation,
    scheduled_at: Option<Timestamp>,
) -> Result<Executed, ExecuteError> {
    check_queue_room(state, function).await?;
    let status = if scheduled_at.is_some() {
        ExecutionStatus::Scheduled
    } else {
        ExecutionStatus::Waiting
    };
    let mut execution = new_record(function, invocation, status);
    execution.scheduled_at = scheduled_at;
    traces::pass_trace_context(&mut execution.request_headers);
    state.writer.write(execution.clone()).await?;
    state.queue.notify_one();
    Ok(Executed {
        execution,
        outcome: None,
    })
}

/// Refuses to queue more than the caps allow for the function and its project, so one caller
/// cannot fill the database or starve everyone else's queued work.
async fn check_queue_room(state: &AppState, function: &Function) -> Result<(), ExecuteError> {
    let queued = state
        .store
        .count_queued_executions(&function.project_id, &function.id)
        .await?;
    let config = &state.config;
    if queued.function >= config.max_queued_per_function {
        return Err(ExecuteError::QueueFull(format!(
            "Function '{}' already has {} executions waiting in the queue (its limit, \
             max_queued_per_function); retry once some have run.",
            function.id, queued.function
        )));
    }
    if queued.project >= config.max_queued_per_project {
        return Err(ExecuteError::QueueFull(format!(
            "Project '{}' already has {} executions waiting in the queue (its limit, \
             max_queued_per_project); retry once some have run.",
            function.project_id, queued.project
        )));
    }
    Ok(())
}

/// Runs now and waits, at most the function's timeout capped by the sync limit; past that the
/// execution goes on in the background and the caller hears so.
async fn run_sync(
    state: &AppState,
    function: &Function,
    invocation: Invocation,
    permit: ExecutionPermit,
) -> Result<Executed, ExecuteError> {
    let execution = processing_record(function, &invocation);
    let wait = state
        .config
        .sync_timeout_cap
        .min(Duration::from_secs(u64::from(function.timeout)) + Duration::from_secs(1));
    let task_state = state.clone();
    let task_function = function.clone();
    // The run is a task of its own so that it finishes and is recorded even when the caller
    // stops waiting for it.
    let running = tokio::spawn(
        async move {
            let _permit = permit;
            run(
                &task_state,
                &task_function,
                execution,
                &invocation,
                Waiter::Api,
            )
            .await
        }
        .in_current_span(),
    );
    match tokio::time::timeout(wait, running).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(ExecuteError::TaskFailed(join.to_string())),
        Err(_) => Err(ExecuteError::SyncTimeout(wait.as_secs())),
    }
}

/// The queue worker's run of a claimed record: a function that can no longer run fails the
/// record with the reason; otherwise it waits for a slot rather than being refused.
async fn run_claimed(
    state: &AppState,
    function: &Function,
    mut execution: Execution,
    invocation: Invocation,
) -> Result<Executed, ExecuteError> {
    if let Err(reason) = check_runnable(function) {
        execution.status = ExecutionStatus::Failed;
        execution.response_status_code = 500;
        execution.errors = reason.to_string();
        finish(state, &mut execution, Waiter::Queue).await?;
        return Ok(Executed {
            execution,
            outcome: None,
        });
    }
    let permit = state
        .concurrency
        .admit_waiting(&function.project_id, &function.id)
        .await
        .ok_or(ExecuteError::ShuttingDown)?;
    execution.deployment_id = function.deployment_id.clone();
    let executed = run(state, function, execution, &invocation, Waiter::Queue).await;
    drop(permit);
    executed
}

/// Who waits on a run: that decides what its record keeps and when [`run`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiter {
    /// The executions API answers with the record itself: it keeps the response body and is
    /// durable before `run` returns.
    Api,
    /// A function route answers with the function's own response: the record is handed to the
    /// batching writer, which commits it within one group commit, unless the server is
    /// configured to make route records durable first.
    Route,
    /// The queue worker: nobody reads the response body (async executions keep none, as in
    /// Appwrite); the record is durable before the worker moves on.
    Queue,
}

/// Runs `execution` (already admitted) to its end and writes the finished record.
async fn run(
    state: &AppState,
    function: &Function,
    execution: Execution,
    invocation: &Invocation,
    waiter: Waiter,
) -> Result<Executed, ExecuteError> {
    let span = traces::execution_span(&execution);
    let result = invoke::invoke(state, function, &execution, invocation)
        .instrument(span.clone())
        .await;
    conclude(state, function, execution, result, waiter, &span).await
}

/// Records what the runtime said of `execution` and writes the finished record.
async fn conclude(
    state: &AppState,
    function: &Function,
    mut execution: Execution,
    result: Result<InvocationOutcome, InvokeFailure>,
    waiter: Waiter,
    span: &tracing::Span,
) -> Result<Executed, ExecuteError> {
    let (outcome, busy) = match result {
        Ok(outcome) => {
            record_outcome(&mut execution, &outcome, function.logging, waiter);
            (Some(outcome), None)
        }
        Err(failure) => {
            record_failure(&mut execution, &failure);
            (None, runtime_busy(&failure))
        }
    };
    finish(state, &mut execution, waiter).await?;
    traces::record_execution(span, &execution);
    if let Some(message) = busy
        && waiter != Waiter::Queue
    {
        return Err(ExecuteError::RuntimeBusy(message));
    }
    Ok(Executed { execution, outcome })
}

/// What a function route answers: a finished execution, or the head of a response whose body
/// is still streaming from a wasi:http guest.
pub enum RouteAnswer {
    /// The execution is over and recorded.
    Finished(Box<Executed>),
    /// The guest answered and writes its body; the record is written when the body ends.
    Streaming {
        /// The ID of the execution record.
        execution_id: String,
        /// The status the guest set.
        status_code: u16,
        /// The headers the guest set, framing headers removed.
        headers: Vec<(String, String)>,
        /// The body as the guest writes it.
        body: ResponseStream,
    },
}

/// A function route's run whose request body streams into the guest and whose response streams
/// out of it, for wasi:http deployments: the client gets the guest's status and headers as
/// soon as it sets them, and the record, with the first bytes of the body, once the body has
/// ended or was cut by a limit.
pub async fn execute_streaming_route(
    state: &AppState,
    function: &Function,
    invocation: Invocation,
    body: RequestBody,
) -> Result<RouteAnswer, ExecuteError> {
    check_runnable(function)?;
    let permit = state
        .concurrency
        .try_admit(&function.project_id, &function.id)?;
    let execution = processing_record(function, &invocation);
    let span = traces::execution_span(&execution);
    let streamed = invoke::invoke_streaming(state, function, &execution, &invocation, body)
        .instrument(span.clone())
        .await;
    let result = match streamed {
        Ok(Streamed::Streaming(response)) => {
            let StreamingResponse {
                status_code,
                headers,
                body,
                outcome,
            } = response;
            let execution_id = execution.id.clone();
            state.recorders.spawn(record_when_streamed(
                state.clone(),
                function.clone(),
                execution,
                outcome,
                permit,
                span,
            ));
            return Ok(RouteAnswer::Streaming {
                execution_id,
                status_code,
                headers,
                body,
            });
        }
        Ok(Streamed::Finished(outcome)) => Ok(outcome),
        Err(failure) => Err(failure),
    };
    let executed = conclude(state, function, execution, result, Waiter::Route, &span).await;
    drop(permit);
    executed.map(|executed| RouteAnswer::Finished(Box::new(executed)))
}

/// Waits for a streamed route execution to end and records it; the execution holds its
/// concurrency permit until then.
async fn record_when_streamed(
    state: AppState,
    function: Function,
    execution: Execution,
    outcome: PendingOutcome,
    permit: ExecutionPermit,
    span: tracing::Span,
) {
    let mut outcome = outcome.await;
    outcome
        .response
        .headers
        .retain(|(name, _)| !invoke::is_framing_header(name));
    let id = execution.id.clone();
    let recorded = conclude(
        &state,
        &function,
        execution,
        Ok(outcome),
        Waiter::Route,
        &span,
    )
    .await;
    if let Err(error) = recorded {
        tracing::error!(execution = %id, %error, "the streamed execution could not be recorded");
    }
    drop(permit);
}

/// Writes the finished record, durably unless a route need not wait for it.
async fn finish(
    state: &AppState,
    execution: &mut Execution,
    waiter: Waiter,
) -> Result<(), StoreError> {
    execution.request_body = Vec::new();
    execution.updated_at = Timestamp::now();
    state.metrics.executed(execution);
    if waiter == Waiter::Route && !state.config.durable_route_records {
        // The caller gets the function's response, not the record: it need not wait for an
        // fsync, whose tail on a busy disk is longer than the whole invocation.
        state.writer.enqueue(execution.clone()).await
    } else {
        state.writer.write(execution.clone()).await
    }
}

/// The message of a failure that only says the runtime had no sandbox free.
fn runtime_busy(failure: &InvokeFailure) -> Option<String> {
    match failure {
        InvokeFailure::Runtime(
            error @ (InvokeError::Overloaded(_) | InvokeError::FirstTierOverloaded(_)),
        ) => Some(error.to_string()),
        _ => None,
    }
}

fn record_failure(execution: &mut Execution, failure: &InvokeFailure) {
    execution.status = ExecutionStatus::Failed;
    execution.response_status_code = 500;
    execution.errors = failure.to_string();
}

fn record_outcome(
    execution: &mut Execution,
    outcome: &InvocationOutcome,
    logging: bool,
    waiter: Waiter,
) {
    execution.status = match outcome.status {
        wafer_runtime::ExecutionStatus::Completed => ExecutionStatus::Completed,
        wafer_runtime::ExecutionStatus::Failed => ExecutionStatus::Failed,
    };
    execution.response_status_code = outcome.response.status_code;
    execution.response_headers = outcome.response.headers.clone();
    if waiter != Waiter::Queue {
        execution.response_body = String::from_utf8_lossy(&outcome.response.body).into_owned();
    }
    if logging {
        execution.logs = outcome.logs.clone();
        execution.errors = outcome.errors.clone();
    }
    execution.duration = outcome.duration.as_secs_f64();
    execution.fuel_consumed = outcome.fuel_consumed;
    execution.peak_memory_bytes = outcome.peak_memory_bytes;
}
