//! The end-to-end tests, one binary for the crate: each topic is a module (a file beside this
//! one), so a test run links the whole server once. To add a topic, add `<topic>.rs` here and a
//! `mod <topic>;` line below; helpers that more than one topic needs go in `wafer_e2e` (or, for
//! the auth topics, `auth_support`). Every test starts its own server on its own loopback port
//! and data directory; what the servers of one process share is `wafer_e2e::guest_suite`'s one
//! build of each language's examples.

mod auth_support;

mod artifact_scopes;
mod auth_keys;
mod auth_roles;
mod c_guests;
mod connections;
mod console;
mod deployments;
mod executions;
mod function_caps;
mod functions;
mod guest_framing;
mod housekeeping;
mod http_routes;
mod instance_reuse;
mod js_guests;
mod key_hierarchy;
mod metrics;
mod official_sdks;
mod openapi;
mod oracles;
mod outbound;
mod promises;
mod python_guests;
mod queue_limits;
mod secrets;
mod variables;
mod wasi_http;
