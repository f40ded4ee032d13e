//! The store's integration tests, one binary for the crate: each topic is a module (a file
//! beside this one), so a test run links the store once. To add a topic, add `<topic>.rs` here
//! and a `mod <topic>;` line below; shared helpers live in `common`. The modules' tests run on
//! parallel threads of this one process, so a test may share nothing process-wide but through
//! `common`.

mod common;

mod cached;
mod concurrency;
mod crud_executions_and_variables;
mod crud_functions;
mod isolation;
mod migrations_and_durability;
mod queries;
mod query_cursors_and_errors;
mod query_properties;
mod secret_variables;
