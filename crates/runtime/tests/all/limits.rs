//! Every limit breach ends as a failed outcome whose error names the limit, and the runtime
//! goes on serving afterwards.

use std::time::{Duration, Instant};

use crate::common::{body_text, get, runtime, runtime_reaching_loopback};
use tokio::net::TcpListener;
use wafer_runtime::{ExecutionStatus, Failure, Limits, OutboundPolicy, truncation_notice};

fn limits() -> Limits {
    Limits::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_times_out_on_the_wall_clock() {
    let rt = runtime();
    let endless = rt.deploy("endless-loop").await;
    let limits = Limits {
        timeout: Duration::from_millis(300),
        fuel: u64::MAX / 2,
        ..limits()
    };
    let started = Instant::now();
    let outcome = rt
        .call_with(
            &endless,
            get("/"),
            &limits,
            &[],
            &OutboundPolicy::deny_all(),
        )
        .await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.failure, Some(Failure::Timeout));
    assert!(
        outcome.errors.ends_with("Execution timed out."),
        "{}",
        outcome.errors
    );
    assert_eq!(outcome.response.status_code, 500);
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A loopback server that accepts connections and never answers them.
async fn silent_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// The epoch deadline cannot stop a guest that is parked in the host awaiting I/O; the
/// wall-clock timer must.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_waiting_on_a_silent_upstream_times_out_on_the_wall_clock() {
    let rt = runtime_reaching_loopback();
    let outbound = rt.deploy("outbound").await;
    let port = silent_upstream().await;
    let policy = OutboundPolicy::allow([format!("127.0.0.1:{port}")]);
    let limits = Limits {
        timeout: Duration::from_millis(300),
        ..limits()
    };
    let path = format!("/?url=http://127.0.0.1:{port}/never");
    let started = Instant::now();
    let outcome = rt
        .call_with(&outbound, get(&path), &limits, &[], &policy)
        .await;
    assert_eq!(
        outcome.failure,
        Some(Failure::Timeout),
        "{}",
        outcome.errors
    );
    assert!(
        outcome.errors.ends_with("Execution timed out."),
        "{}",
        outcome.errors
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_runs_out_of_fuel() {
    let rt = runtime();
    let endless = rt.deploy("endless-loop").await;
    let limits = Limits {
        fuel: 50_000_000,
        ..limits()
    };
    let outcome = rt
        .call_with(
            &endless,
            get("/"),
            &limits,
            &[],
            &OutboundPolicy::deny_all(),
        )
        .await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert!(matches!(
        outcome.failure,
        Some(Failure::FuelExhausted { .. })
    ));
    assert!(
        outcome.errors.contains("CPU limit exceeded"),
        "{}",
        outcome.errors
    );
    assert!(outcome.errors.contains("fuel"));
    assert_eq!(outcome.fuel_consumed, 50_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_hits_the_memory_limit() {
    let rt = runtime();
    let bomb = rt.deploy("memory-bomb").await;
    let limits = Limits {
        memory_bytes: 32 << 20,
        ..limits()
    };
    let outcome = rt
        .call_with(&bomb, get("/"), &limits, &[], &OutboundPolicy::deny_all())
        .await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert!(
        matches!(outcome.failure, Some(Failure::MemoryLimit { .. })),
        "{:?}",
        outcome.failure
    );
    assert!(
        outcome.errors.contains("Memory limit exceeded"),
        "{}",
        outcome.errors
    );
    assert!(outcome.peak_memory_bytes <= 32 << 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_overflows_the_stack_without_harming_the_host() {
    let rt = runtime();
    let recursion = rt.deploy("deep-recursion").await;
    let outcome = rt.call(&recursion, get("/")).await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.failure, Some(Failure::StackOverflow));
    assert!(
        outcome.errors.contains("Stack limit exceeded"),
        "{}",
        outcome.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_a_trap_with_the_panic_message_in_errors() {
    let rt = runtime();
    let panicking = rt.deploy("panic").await;
    let outcome = rt.call(&panicking, get("/")).await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert!(matches!(outcome.failure, Some(Failure::Trap(_))));
    assert!(
        outcome.errors.contains("guest panicked on purpose"),
        "{}",
        outcome.errors
    );
    assert!(
        outcome.errors.contains("The function trapped"),
        "{}",
        outcome.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_keeps_the_last_million_characters_behind_a_warning() {
    let rt = runtime();
    let flood = rt.deploy("log-flood").await;
    let outcome = rt.call(&flood, get("/")).await;
    assert_eq!(outcome.status, ExecutionStatus::Completed);
    assert_eq!(body_text(&outcome), "flooded");
    let notice = truncation_notice(Limits::DEFAULT_MAX_LOG_CHARS);
    assert!(outcome.logs.starts_with(&notice));
    assert_eq!(
        outcome.logs.chars().count(),
        notice.chars().count() + Limits::DEFAULT_MAX_LOG_CHARS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_response_fails_naming_the_response_limit() {
    let rt = runtime();
    let oversized = rt.deploy("oversized-response").await;
    let limits = Limits {
        max_response_bytes: 1 << 20,
        ..limits()
    };
    let outcome = rt
        .call_with(
            &oversized,
            get("/?bytes=2000000"),
            &limits,
            &[],
            &OutboundPolicy::deny_all(),
        )
        .await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(
        outcome.failure,
        Some(Failure::ResponseTooLarge {
            bytes: 2_000_000,
            limit: 1 << 20
        })
    );
    assert!(outcome.errors.contains("Response size limit exceeded"));
    assert!(outcome.response.body.is_empty());

    let small = rt
        .call_with(
            &oversized,
            get("/?bytes=1000"),
            &limits,
            &[],
            &OutboundPolicy::deny_all(),
        )
        .await;
    assert_eq!(small.status, ExecutionStatus::Completed);
    assert_eq!(small.response.body.len(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_guest_does_not_starve_other_invocations() {
    let rt = std::sync::Arc::new(runtime());
    let endless = rt.deploy("endless-loop").await;
    let hello = rt.deploy("hello").await;
    let busy_limits = Limits {
        timeout: Duration::from_secs(3),
        fuel: u64::MAX / 2,
        ..limits()
    };
    // Two spinning guests, one per worker thread: without yielding they would hold both.
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let rt = rt.clone();
            let endless = endless.clone();
            let limits = busy_limits.clone();
            tokio::spawn(async move {
                rt.call_with(
                    &endless,
                    get("/"),
                    &limits,
                    &[],
                    &OutboundPolicy::deny_all(),
                )
                .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let outcome = rt.call(&hello, get("/")).await;
    assert_eq!(outcome.status, ExecutionStatus::Completed);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "hello waited {:?} behind spinning guests",
        started.elapsed()
    );
    for spinner in spinners {
        let outcome = spinner.await.expect("spinner task");
        assert_eq!(outcome.failure, Some(Failure::Timeout));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_keeps_serving_after_every_kind_of_failure() {
    let rt = runtime();
    let hello = rt.deploy("hello").await;
    let small = Limits {
        timeout: Duration::from_millis(200),
        fuel: 100_000_000,
        memory_bytes: 16 << 20,
        ..limits()
    };
    for example in ["endless-loop", "memory-bomb", "deep-recursion", "panic"] {
        let id = rt.deploy(example).await;
        let outcome = rt
            .call_with(&id, get("/"), &small, &[], &OutboundPolicy::deny_all())
            .await;
        assert_eq!(outcome.status, ExecutionStatus::Failed, "{example}");
        let after = rt.call(&hello, get("/")).await;
        assert_eq!(body_text(&after), "Hello, World!", "after {example}");
    }
}
