//! The end-to-end tests, one binary for the crate: each topic is a module (a file beside this
//! one), so a test run links the whole server once. To add a topic, add `<topic>.rs` here and a
//! `mod <topic>;` line below; helpers that more than one topic needs go in `wafer_e2e` (or, for
//! the auth topics, `auth_support`). Every test starts its own server on its own loopback port
//! and data directory; what the servers of one process share is the gateway's limit of two
//! builds at once and `wafer_e2e::guest_suite`'s one build of each language's examples.

mod auth_support;

mod auth_keys;
mod auth_roles;
mod c_guests;
mod deployments;
mod executions;
mod functions;
mod http_routes;
mod instance_reuse;
mod js_guests;
mod official_sdks;
mod openapi;
mod python_guests;
mod variables;
