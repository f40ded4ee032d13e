//! What an invocation produced, and how a guest's failure is told to the user.

use std::time::Duration;

use wasmtime::Trap;

use crate::contract::Response;
use crate::host::MemoryLimitExceeded;
use crate::limits::Limits;

/// The end state of an execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionStatus {
    Completed,
    Failed,
}

/// Why an invocation failed. The message of each names the limit or the cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    FuelExhausted {
        fuel: u64,
    },
    MemoryLimit {
        message: String,
    },
    ResponseTooLarge {
        bytes: usize,
        limit: usize,
    },
    InvalidStatusCode(u16),
    StackOverflow,
    Trap(String),
    Exited(i32),
    /// The guest returned `err(message)`.
    Guest(String),
}

impl Failure {
    pub fn message(&self) -> String {
        match self {
            Self::Timeout => "Execution timed out.".to_owned(),
            Self::FuelExhausted { fuel } => format!(
                "CPU limit exceeded: the function used all of its fuel ({fuel} units) before \
                 returning."
            ),
            Self::MemoryLimit { message } => message.clone(),
            Self::ResponseTooLarge { bytes, limit } => format!(
                "Response size limit exceeded: the function returned a body of {bytes} bytes; \
                 the limit is {limit} bytes."
            ),
            Self::InvalidStatusCode(code) => format!(
                "The function returned an invalid HTTP status code {code}; a response's status \
                 must be 200-599 (1xx statuses are informational and cannot end a response)."
            ),
            Self::StackOverflow => {
                "Stack limit exceeded: the function's call stack overflowed (runaway recursion?)."
                    .to_owned()
            }
            Self::Trap(message) => format!("The function trapped: {message}"),
            Self::Exited(code) => {
                format!("The function exited (exit code {code}) before returning a response.")
            }
            Self::Guest(message) => message.clone(),
        }
    }

    /// Turns a wasmtime error from instantiating or calling a guest into the failure it means.
    pub(crate) fn from_wasm_error(error: wasmtime::Error, limits: &Limits) -> Self {
        if let Some(trap) = error.downcast_ref::<Trap>() {
            match trap {
                Trap::Interrupt => return Self::Timeout,
                Trap::OutOfFuel => return Self::FuelExhausted { fuel: limits.fuel },
                Trap::StackOverflow => return Self::StackOverflow,
                _ => {}
            }
        }
        if let Some(limit) = error.downcast_ref::<MemoryLimitExceeded>() {
            return Self::MemoryLimit {
                message: limit.to_string(),
            };
        }
        if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return Self::Exited(exit.0);
        }
        Self::Trap(describe_trap(&error))
    }
}

/// The trap's cause first, then the guest's backtrace when wasmtime captured one.
fn describe_trap(error: &wasmtime::Error) -> String {
    let cause = error.root_cause().to_string();
    let cause = cause
        .strip_prefix("wasm trap: ")
        .unwrap_or(&cause)
        .to_owned();
    match error.downcast_ref::<wasmtime::WasmBacktrace>() {
        Some(backtrace) => format!("{cause}\n{backtrace}"),
        None => cause,
    }
}

/// Everything one invocation produced: the execution record's raw material.
#[derive(Clone, Debug)]
pub struct InvocationOutcome {
    pub status: ExecutionStatus,
    /// The guest's response, or a bare 500 when it produced none.
    pub response: Response,
    pub logs: String,
    pub errors: String,
    pub failure: Option<Failure>,
    pub duration: Duration,
    pub fuel_consumed: u64,
    pub peak_memory_bytes: u64,
}

/// Checks a response the guest returned against the limits and the HTTP rules.
pub(crate) fn check_response(response: &Response, limits: &Limits) -> Result<(), Failure> {
    if response.body.len() > limits.max_response_bytes {
        return Err(Failure::ResponseTooLarge {
            bytes: response.body.len(),
            limit: limits.max_response_bytes,
        });
    }
    // 1xx statuses belong to the server's framing (101 switches protocols), never to data.
    if !(200..=599).contains(&response.status_code) {
        return Err(Failure::InvalidStatusCode(response.status_code));
    }
    Ok(())
}

/// The response recorded for an execution that produced none.
pub(crate) fn failure_response() -> Response {
    Response {
        status_code: 500,
        headers: Vec::new(),
        body: Vec::new(),
    }
}
