//! The CLI's integration tests, one binary for the crate: each topic is a module (a file beside
//! this one), so a test run links the gateway once. To add a topic, add `<topic>.rs` here and a
//! `mod <topic>;` line below. The `wafer` binary under test runs in child processes, one per
//! command, so what it does process-wide (its file limit, its logger) stays in them.

mod cli;
mod init_build;
mod lifecycle;
mod serve;
mod telemetry;
