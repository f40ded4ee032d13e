//! Deploy to first execution with the runtime alone: compiles a component into a fresh
//! artifact directory and calls it once, printing both times.
//!
//! `cargo run --release -p wafer-runtime --example first_call -- <component.wasm> [winch-threshold-bytes|off]`

use std::time::Instant;

use wafer_runtime::{Limits, OutboundPolicy, Request, Runtime, RuntimeConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: first_call <component.wasm> [threshold|off]")?;
    let threshold = match args.next().as_deref() {
        None => wafer_runtime::DEFAULT_WINCH_THRESHOLD_BYTES.into(),
        Some("off") => None,
        Some(bytes) => Some(bytes.parse()?),
    };
    let bytes = std::fs::read(&path)?;
    let dir = tempfile::tempdir()?;
    let mut config = RuntimeConfig::new(dir.path());
    config.engine.winch_threshold_bytes = threshold;
    let runtime = Runtime::new(config)?;

    let started = Instant::now();
    let compiled = runtime.compile(bytes).await?;
    let compiled_after = started.elapsed();
    let request = Request {
        method: "GET".into(),
        scheme: "http".into(),
        host: "fn.test".into(),
        port: 80,
        path: "/".into(),
        query_string: String::new(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let limits = Limits::default();
    let outcome = runtime
        .invoke(
            &compiled.artifact,
            request,
            &limits,
            &[],
            &OutboundPolicy::deny_all(),
        )
        .await?;
    println!(
        "{path}: tier {:?}, compile {:.0} ms, deploy to first response {:.0} ms, status {:?}",
        compiled.tier,
        compiled_after.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e3,
        outcome.status,
    );
    Ok(())
}
