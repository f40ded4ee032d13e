//! The runtime's integration tests, one binary for the crate: each topic is a module (a file
//! beside this one), so a test run links wasmtime once. To add a topic, add `<topic>.rs` here
//! and a `mod <topic>;` line below; shared helpers live in `common`. The modules' tests run on
//! parallel threads of this one process, each with its own `Runtime` (engine, pool, artifact
//! directory), so a test may share nothing process-wide but through `common`.

mod common;

mod deployments;
mod guest_behaviour;
mod isolation;
mod limits;
mod memory_budget;
mod outbound_network;
mod reuse;
mod tiers;
mod wasi_http;
