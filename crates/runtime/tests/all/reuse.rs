//! Instance reuse is opt-in: by default every invocation starts from a fresh instance, and an
//! invocation that opts in still runs under every limit and never inherits a failed instance.
//! The `counter` guest counts its calls in a global, so a reply of 1 means a fresh instance.

use std::time::Duration;

use crate::common::{TestRuntime, body_text, get, runtime};
use wafer_runtime::{ArtifactHash, ExecutionStatus, Failure, Limits, OutboundPolicy};

fn reusing() -> Limits {
    Limits {
        reuse_instance: true,
        ..Limits::default()
    }
}

async fn count(rt: &TestRuntime, id: &ArtifactHash, limits: &Limits) -> String {
    let outcome = rt
        .call_with(id, get("/"), limits, &[], &OutboundPolicy::deny_all())
        .await;
    assert_eq!(
        outcome.status,
        ExecutionStatus::Completed,
        "{}",
        outcome.errors
    );
    body_text(&outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_no_state_survives_from_one_invocation_to_the_next() {
    let rt = runtime();
    let counter = rt.deploy("counter").await;
    for _ in 0..3 {
        assert_eq!(count(&rt, &counter, &Limits::default()).await, "1");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_that_opts_in_continues_on_the_previous_instance() {
    let rt = runtime();
    let counter = rt.deploy("counter").await;
    assert_eq!(count(&rt, &counter, &reusing()).await, "1");
    assert_eq!(count(&rt, &counter, &reusing()).await, "2");
    assert_eq!(count(&rt, &counter, &reusing()).await, "3");
    // A default invocation in between neither sees nor disturbs the kept instance.
    assert_eq!(count(&rt, &counter, &Limits::default()).await, "1");
    assert_eq!(count(&rt, &counter, &reusing()).await, "4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_is_reused_only_with_the_same_environment() {
    let rt = runtime();
    let counter = rt.deploy("counter").await;
    let deny = OutboundPolicy::deny_all();
    let env_a = [("NAME".to_owned(), "a".to_owned())];
    let env_b = [("NAME".to_owned(), "b".to_owned())];
    for (env, expected) in [(&env_a, "1"), (&env_a, "2"), (&env_b, "1"), (&env_a, "3")] {
        let outcome = rt
            .call_with(&counter, get("/"), &reusing(), env, &deny)
            .await;
        assert_eq!(body_text(&outcome), expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_instance_still_runs_out_of_fuel_and_is_then_discarded() {
    let rt = runtime();
    let counter = rt.deploy("counter").await;
    assert_eq!(count(&rt, &counter, &reusing()).await, "1");
    let limits = Limits {
        fuel: 50_000_000,
        ..reusing()
    };
    let outcome = rt
        .call_with(
            &counter,
            get("/?spin"),
            &limits,
            &[],
            &OutboundPolicy::deny_all(),
        )
        .await;
    assert!(
        matches!(outcome.failure, Some(Failure::FuelExhausted { .. })),
        "{:?}",
        outcome.failure
    );
    assert_eq!(outcome.fuel_consumed, 50_000_000);
    assert_eq!(count(&rt, &counter, &reusing()).await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_instance_still_times_out_on_the_wall_clock_and_is_then_discarded() {
    let rt = runtime();
    let counter = rt.deploy("counter").await;
    assert_eq!(count(&rt, &counter, &reusing()).await, "1");
    let limits = Limits {
        timeout: Duration::from_millis(200),
        fuel: u64::MAX / 2,
        ..reusing()
    };
    let outcome = rt
        .call_with(
            &counter,
            get("/?spin"),
            &limits,
            &[],
            &OutboundPolicy::deny_all(),
        )
        .await;
    assert!(
        matches!(outcome.failure, Some(Failure::Timeout)),
        "{:?}",
        outcome.failure
    );
    assert_eq!(count(&rt, &counter, &reusing()).await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_instance_still_hits_the_memory_limit_and_is_then_discarded() {
    let rt = runtime();
    let counter = rt.deploy("counter").await;
    let limits = Limits {
        memory_bytes: 16 << 20,
        ..reusing()
    };
    assert_eq!(count(&rt, &counter, &limits).await, "1");
    let outcome = rt
        .call_with(
            &counter,
            get("/?grow=64"),
            &limits,
            &[],
            &OutboundPolicy::deny_all(),
        )
        .await;
    assert!(
        matches!(outcome.failure, Some(Failure::MemoryLimit { .. })),
        "{:?}",
        outcome.failure
    );
    assert_eq!(count(&rt, &counter, &limits).await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_instance_that_traps_is_discarded() {
    let rt = runtime();
    let counter = rt.deploy("counter").await;
    assert_eq!(count(&rt, &counter, &reusing()).await, "1");
    assert_eq!(count(&rt, &counter, &reusing()).await, "2");
    let outcome = rt
        .call_with(
            &counter,
            get("/?trap"),
            &reusing(),
            &[],
            &OutboundPolicy::deny_all(),
        )
        .await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert!(
        outcome.errors.contains("trap requested after call 3"),
        "{}",
        outcome.errors
    );
    assert_eq!(count(&rt, &counter, &reusing()).await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_fuel_of_a_reused_instance_belong_to_each_call_alone() {
    let rt = runtime();
    let hello = rt.deploy("hello").await;
    let deny = OutboundPolicy::deny_all();
    let first = rt.call_with(&hello, get("/"), &reusing(), &[], &deny).await;
    let second = rt.call_with(&hello, get("/"), &reusing(), &[], &deny).await;
    for outcome in [&first, &second] {
        assert_eq!(outcome.logs, "Hello, Logs!\n");
        assert_eq!(outcome.errors, "Hello, Errors!\n");
        assert!(outcome.fuel_consumed > 0);
    }
    assert!(second.fuel_consumed <= first.fuel_consumed);
}
