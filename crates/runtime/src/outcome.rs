//! What an invocation produced, and how a guest's failure is told to the user.

use std::time::Duration;

use wasmtime::Trap;

use crate::contract::Response;
use crate::host::{MemoryBudgetExceeded, MemoryLimitExceeded};
use crate::limits::Limits;

/// The end state of an execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// The guest answered with a status below 500.
    Completed,
    /// The invocation failed ([`InvocationOutcome::failure`]) or the guest answered 5xx.
    Failed,
}

/// Why an invocation failed. The message of each names the limit or the cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The invocation ran past [`Limits::timeout`].
    Timeout,
    /// The guest used all of its [`Limits::fuel`].
    FuelExhausted {
        /// The fuel it was given.
        fuel: u64,
    },
    /// The guest tried to grow its memory past [`Limits::memory_bytes`].
    MemoryLimit {
        /// The message of the [`MemoryLimitExceeded`] trap, with the sizes.
        message: String,
    },
    /// The response body is larger than [`Limits::max_response_bytes`].
    ResponseTooLarge {
        /// The body's size.
        bytes: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// A streamed response body ran past [`Limits::max_response_bytes`]; the stream was cut.
    StreamTooLarge {
        /// The limit it exceeded.
        limit: usize,
    },
    /// The guest answered with a status code outside 100-599.
    InvalidStatusCode(u16),
    /// The guest's call stack overflowed.
    StackOverflow,
    /// Any other trap, described by its cause and, when captured, the guest's backtrace.
    Trap(String),
    /// The guest called `exit` with this code before returning a response.
    Exited(i32),
    /// The guest returned `err(message)`.
    Guest(String),
}

impl Failure {
    /// What to tell the function's owner, naming the limit or the cause.
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
            Self::StreamTooLarge { limit } => format!(
                "Response size limit exceeded: the function streamed more than {limit} bytes \
                 (the limit); the response was cut there."
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
        if let Some(budget) = error.downcast_ref::<MemoryBudgetExceeded>() {
            return Self::MemoryLimit {
                message: budget.to_string(),
            };
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
    /// Whether the execution completed or failed.
    pub status: ExecutionStatus,
    /// The guest's response, or a bare 500 when it produced none.
    pub response: Response,
    /// What the guest wrote with `context.log` and to stdout, bounded by
    /// [`Limits::max_log_chars`].
    pub logs: String,
    /// What the guest wrote with `context.error` and to stderr, followed by the failure's
    /// message when there is one; bounded like `logs`.
    pub errors: String,
    /// Why the invocation failed; `None` when the guest returned a response.
    pub failure: Option<Failure>,
    /// Wall-clock time from instantiation (or taking a kept instance) to the result.
    pub duration: Duration,
    /// Fuel units the invocation used.
    pub fuel_consumed: u64,
    /// The most linear memory the instance held at once, in bytes.
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn response(status_code: u16, body_len: usize) -> Response {
        Response {
            status_code,
            headers: Vec::new(),
            body: vec![b'x'; body_len],
        }
    }

    fn limits(max_response_bytes: usize) -> Limits {
        Limits {
            max_response_bytes,
            ..Limits::default()
        }
    }

    fn config() -> ProptestConfig {
        ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::with_cases(256)
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn a_status_is_accepted_exactly_when_it_is_200_to_599(
            status in prop_oneof![any::<u16>(), 95u16..=205, 595u16..=605],
            body_len in 0usize..64,
        ) {
            let checked = check_response(&response(status, body_len), &limits(64));
            if (200..=599).contains(&status) {
                prop_assert_eq!(checked, Ok(()));
            } else {
                prop_assert_eq!(checked, Err(Failure::InvalidStatusCode(status)));
            }
        }

        #[test]
        fn a_body_is_accepted_exactly_when_it_fits_the_limit(
            limit in 0usize..4096,
            around in -3i64..=3,
            status in 200u16..=599,
        ) {
            let Some(body_len) = limit.checked_add_signed(around as isize) else {
                return Ok(());
            };
            let checked = check_response(&response(status, body_len), &limits(limit));
            if body_len <= limit {
                prop_assert_eq!(checked, Ok(()));
            } else {
                prop_assert_eq!(checked, Err(Failure::ResponseTooLarge { bytes: body_len, limit }));
            }
        }

        #[test]
        fn an_oversized_body_with_a_bad_status_is_refused_all_the_same(
            status in prop_oneof![0u16..200, 600u16..=u16::MAX],
            over in 1usize..16,
        ) {
            prop_assert!(check_response(&response(status, 16 + over), &limits(16)).is_err());
        }
    }
}
