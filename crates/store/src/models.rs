//! The records the store keeps. Field names are Rust-style; the gateway renders them as Appwrite's
//! camelCase models (`$id`, `$createdAt`, …) and adds the fields that are constants or derived
//! (`resourceType`, `live`, `vars`, `version`, …).
//!
//! Every record carries its `project_id`. Store methods take the project id as a separate argument and
//! that argument wins: the field in a struct passed in is overwritten, so a caller cannot write into
//! another project by filling the field wrongly.

use std::fmt;
use std::str::FromStr;

use crate::time::Timestamp;

/// Implements `as_str`, `Display` and `FromStr` for a fieldless enum stored as text.
macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// The wire and database spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "'{other}' is not a valid {} (expected one of: {})",
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

/// A tenant. Every other record belongs to exactly one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The project's id, unique on the server.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record was last changed.
    pub updated_at: Timestamp,
}

/// A project API key. Only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id (not its secret).
    pub id: String,
    /// The project the key acts in.
    pub project_id: String,
    /// A name for people.
    pub name: String,
    /// The scopes the key grants (`functions.read`, `execution.write`, …).
    pub scopes: Vec<String>,
    /// Lower-case hex SHA-256 of the secret.
    pub secret_hash: String,
    /// When the key was created.
    pub created_at: Timestamp,
    /// When the key stops working; `None` never expires. The store does not enforce it: the gateway
    /// checks it after [`find_api_key_by_secret`](crate::MetadataStore::find_api_key_by_secret).
    pub expire: Option<Timestamp>,
    /// When the key was last used, as recorded by
    /// [`touch_api_key`](crate::MetadataStore::touch_api_key); `None` if never.
    pub last_used: Option<Timestamp>,
}

/// A function: Appwrite's Function model as far as wafer keeps it, plus wafer's limits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Function {
    /// The function's id, unique within its project.
    pub id: String,
    /// The project the function belongs to.
    pub project_id: String,
    /// A name for people.
    pub name: String,
    /// Appwrite's runtime key (`node-22`, `python-3.12`, `rust-1.83`, …).
    pub runtime: String,
    /// Roles allowed to execute (`any`, `users`, `user:ID`, …).
    pub execute: Vec<String>,
    /// Appwrite event names that trigger the function.
    pub events: Vec<String>,
    /// Five-field cron expression; empty for none.
    pub schedule: String,
    /// Seconds.
    pub timeout: u32,
    /// Whether the function may be executed at all.
    pub enabled: bool,
    /// Whether executions keep the guest's logs and errors.
    pub logging: bool,
    /// The file a deployment runs by default (for an archive: which `.wasm` in it).
    pub entrypoint: String,
    /// Appwrite's build commands; kept and returned, not run.
    pub commands: String,
    /// Scopes of the API key an execution is given to call back into the API.
    pub scopes: Vec<String>,
    /// Appwrite's specification slug (CPUs and memory), e.g. `s-1vcpu-512mb`.
    pub specification: String,
    /// The active deployment; empty when none is active. Set through
    /// [`activate_deployment`](crate::MetadataStore::activate_deployment).
    pub deployment_id: String,
    /// When the active deployment was created; `None` when none is active.
    pub deployment_created_at: Option<Timestamp>,
    /// The most recently created deployment; kept in sync by the store.
    pub latest_deployment_id: String,
    /// When the latest deployment was created; `None` when there is none.
    pub latest_deployment_created_at: Option<Timestamp>,
    /// The latest deployment's status; `None` when there is none.
    pub latest_deployment_status: Option<DeploymentStatus>,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record was last changed.
    pub updated_at: Timestamp,
    /// wafer: CPU budget in wasmtime fuel units; `None` uses the server default.
    pub fuel: Option<u64>,
    /// wafer: memory limit in MiB; `None` uses the server default.
    pub memory_mb: Option<u32>,
    /// wafer: hosts the function may reach over outbound HTTP.
    pub outbound_hosts: Vec<String>,
    /// wafer: keep a warm instance between calls (guest state survives from one call to the
    /// next of this function) instead of a fresh sandbox per call.
    pub reuse_instances: bool,
    /// wafer: when the cron scheduler should next run this function.
    pub next_schedule_at: Option<Timestamp>,
}

/// Life cycle of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeploymentStatus {
    /// Created; chunks of its upload are still to come.
    #[default]
    Waiting,
    /// The upload is complete and being assembled and unpacked.
    Processing,
    /// The component is being validated and compiled.
    Building,
    /// Compiled and able to run.
    Ready,
    /// Its build was cancelled.
    Canceled,
    /// Its build failed; the build logs say why.
    Failed,
}

text_enum!(DeploymentStatus {
    Waiting => "waiting",
    Processing => "processing",
    Building => "building",
    Ready => "ready",
    Canceled => "canceled",
    Failed => "failed",
});

/// A deployment (one uploaded component) of a function.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deployment {
    /// The deployment's id, unique within its project.
    pub id: String,
    /// The project it belongs to.
    pub project_id: String,
    /// The function it belongs to.
    pub function_id: String,
    /// Appwrite's `type`: `manual` for uploads (the default when empty), `vcs` for repository builds.
    pub deployment_type: String,
    /// The `.wasm` to run, for an archive upload holding several.
    pub entrypoint: String,
    /// Bytes.
    pub source_size: u64,
    /// Bytes of the built component.
    pub build_size: u64,
    /// Bytes of source and build together.
    pub total_size: u64,
    /// Appwrite's build id; kept and returned as given.
    pub build_id: String,
    /// Whether a successful build becomes the function's active deployment.
    pub activate: bool,
    /// Where it is in its life cycle.
    pub status: DeploymentStatus,
    /// What the build reported, or why it failed.
    pub build_logs: String,
    /// Seconds.
    pub build_duration: u64,
    /// Content hash of the component; empty until the upload is complete.
    pub artifact_id: String,
    /// Chunked upload: number of chunks expected (0 for a single-request upload).
    pub chunks_total: u32,
    /// Chunked upload: distinct chunks received so far. Maintained by
    /// [`record_chunk`](crate::MetadataStore::record_chunk); ignored by updates.
    pub chunks_uploaded: u32,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record was last changed.
    pub updated_at: Timestamp,
}

/// Progress of a chunked upload after recording one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkProgress {
    /// Distinct chunks received so far.
    pub uploaded: u32,
    /// Chunks expected.
    pub total: u32,
}

impl ChunkProgress {
    /// Whether every chunk has arrived.
    pub fn is_complete(self) -> bool {
        self.uploaded >= self.total
    }
}

/// What started an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExecutionTrigger {
    /// A request: the executions API or a function route.
    #[default]
    Http,
    /// The function's cron schedule.
    Schedule,
    /// An Appwrite event.
    Event,
}

text_enum!(ExecutionTrigger {
    Http => "http",
    Schedule => "schedule",
    Event => "event",
});

/// Life cycle of an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExecutionStatus {
    /// Queued to run as soon as a worker takes it.
    #[default]
    Waiting,
    /// Running now.
    Processing,
    /// Ran and answered with a status below 500.
    Completed,
    /// Ran and failed, or answered 5xx.
    Failed,
    /// Queued to run at [`Execution::scheduled_at`].
    Scheduled,
}

text_enum!(ExecutionStatus {
    Waiting => "waiting",
    Processing => "processing",
    Completed => "completed",
    Failed => "failed",
    Scheduled => "scheduled",
});

/// One run of a function, and for asynchronous runs also the queued request.
///
/// Unlike the other records, an execution's `created_at`/`updated_at` are set by the caller (the
/// gateway knows when the request arrived), because executions are mostly written through the
/// batching [`ExecutionWriter`](crate::ExecutionWriter) as whole records.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Execution {
    /// The execution's id, unique within its project.
    pub id: String,
    /// The project it belongs to.
    pub project_id: String,
    /// The function that ran.
    pub function_id: String,
    /// The deployment that ran (or will run).
    pub deployment_id: String,
    /// What started it.
    pub trigger: ExecutionTrigger,
    /// Where it is in its life cycle.
    pub status: ExecutionStatus,
    /// The HTTP method of the request given to the function.
    pub request_method: String,
    /// Path with query string, as the client sent it.
    pub request_path: String,
    /// The request headers given to the function.
    pub request_headers: Vec<(String, String)>,
    /// The body of a queued (asynchronous or scheduled) request, kept so the worker can run it after a
    /// restart. List results leave it empty to keep pages small; `get` and claims fill it.
    pub request_body: Vec<u8>,
    /// The status the function answered; 0 until it has run.
    pub response_status_code: u16,
    /// The response body; empty for a run from the queue, whose caller is not waiting.
    pub response_body: String,
    /// The response headers the function gave.
    pub response_headers: Vec<(String, String)>,
    /// The function's logs (empty when the function does not keep them).
    pub logs: String,
    /// The function's errors and the failure's message (empty when it does not keep logs).
    pub errors: String,
    /// Seconds.
    pub duration: f64,
    /// When a `scheduled` execution is due.
    pub scheduled_at: Option<Timestamp>,
    /// When the request arrived (set by the caller).
    pub created_at: Timestamp,
    /// When the record last changed (set by the caller).
    pub updated_at: Timestamp,
    /// wafer: fuel the run consumed.
    pub fuel_consumed: u64,
    /// wafer: the guest's peak linear memory.
    pub peak_memory_bytes: u64,
    /// Appwrite `$permissions`, e.g. `read("user:ID")`.
    pub permissions: Vec<String>,
    /// The user on whose behalf it ran, if any; user callers list only their own.
    pub user_id: Option<String>,
}

/// An environment variable of a function. The store returns real values, secrets included; hiding
/// secret values in responses is the gateway's job.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Variable {
    /// The variable's id, unique within its project.
    pub id: String,
    /// The project it belongs to.
    pub project_id: String,
    /// The function whose environment it is in.
    pub function_id: String,
    /// The environment variable's name, unique per function.
    pub key: String,
    /// Its value.
    pub value: String,
    /// Whether responses must hide the value.
    pub secret: bool,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record was last changed.
    pub updated_at: Timestamp,
}

/// What a list call asks for: the raw Appwrite query strings, the list-level `search` term and
/// whether to count the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    /// JSON query strings as the SDKs send them (`queries[]`).
    pub queries: Vec<String>,
    /// The `search` parameter; `None` or blank for none.
    pub search: Option<String>,
    /// Count all matching rows (Appwrite's `total`, default true). When false, `Page::total` is 0.
    pub total: bool,
}

impl Default for ListParams {
    fn default() -> Self {
        ListParams {
            queries: Vec::new(),
            search: None,
            total: true,
        }
    }
}

impl ListParams {
    /// Params with the given queries, no search, counting the total.
    pub fn with_queries<I, S>(queries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ListParams {
            queries: queries.into_iter().map(Into::into).collect(),
            ..ListParams::default()
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Rows matching the filters and search, ignoring limit, offset and cursor; 0 when not counted.
    pub total: u64,
    /// The rows of this page, in the requested order.
    pub items: Vec<T>,
}

/// The executions due to run that no worker has claimed yet, across all projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DueQueue {
    /// How many: `waiting` ones and `scheduled` ones whose time has come.
    pub depth: u64,
    /// When the one waiting longest became due (its `scheduledAt`, else its creation).
    pub oldest_due: Option<Timestamp>,
}

/// Executions waiting in the queue (`waiting` or `scheduled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueuedCounts {
    /// In the whole project.
    pub project: u64,
    /// Of one function of the project.
    pub function: u64,
}
