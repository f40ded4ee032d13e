//! The wafer gateway: the HTTP face of the platform. It serves the Appwrite-compatible `/v1`
//! Functions API, routes plain HTTP to functions (by host and by `/fn/{id}` path), authenticates
//! projects, keys and user JWTs, admits or refuses work under concurrency limits, and runs the
//! async queue worker and cron scheduler.
//!
//! It asks the runtime to run things and the store to keep things; it must not reach into
//! wasmtime or SQL itself.

mod auth;
mod bootstrap;
mod build;
mod config;
mod error;
mod execute;
mod invoke;
mod janitor;
mod models;
mod observe;
mod openapi;
mod outbound_hosts;
mod params;
mod private_files;
mod routes;
mod runtimes;
mod schedule;
mod server;
mod state;
mod worker;

pub use auth::{ALL_SCOPES, mint_jwt};
pub use bootstrap::{JWT_SECRET_FILE, MASTER_KEY_FILE, MIN_SECRET_LEN};
pub use config::{ConnectionLimits, FunctionCaps, FunctionDefaults, GatewayConfig, Retention};
pub use error::{API_VERSION, ApiError};
pub use observe::logs::{LogFormat, Telemetry, init_telemetry};
pub use observe::metrics::Metrics;
pub use server::{RunningServer, start};
pub use wafer_runtime::{AddressRange, OutboundConfig};
pub use wafer_store::CacheConfig;
