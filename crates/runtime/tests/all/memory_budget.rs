//! The runtime's memory budget bounds what all sandboxes hold together, whatever each
//! function's own limit allows.

use crate::common::*;
use wafer_runtime::{ExecutionStatus, Limits};

#[tokio::test]
async fn a_growth_past_the_servers_budget_fails_that_execution_and_frees_its_memory() {
    let rt = runtime_configured(|config| config.memory_budget_bytes = Some(48 << 20));
    let bomb = rt.deploy("memory-bomb").await;
    let hello = rt.deploy("hello").await;
    let roomy = Limits {
        memory_bytes: 1 << 30,
        ..Limits::default()
    };
    let outcome = rt
        .call_with(
            &bomb,
            get("/"),
            &roomy,
            &[],
            &wafer_runtime::OutboundPolicy::deny_all(),
        )
        .await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert!(
        outcome.errors.contains("Server memory budget exceeded"),
        "{}",
        outcome.errors
    );
    // What the bomb held went back to the budget: other functions keep running, again and again.
    for _ in 0..3 {
        let outcome = rt.call(&hello, get("/")).await;
        assert_eq!(
            outcome.status,
            ExecutionStatus::Completed,
            "{}",
            outcome.errors
        );
    }
}
