//! The deployment build pipeline: a deployment whose upload is complete goes `processing`
//! (assembling chunks, unpacking a .tar.gz) → `building` (validating and compiling the
//! component) → `ready` or `failed`, in a background task that never panics into the void.
//!
//! Uploaded files live under `uploads_dir/<deploymentId>/`: one file per chunk while a chunked
//! upload is in progress, then `source` (the file exactly as uploaded, served by downloads).
//! A `build.json` marker sits beside them while a build runs, so that a build cut short by a
//! crash can be found again at the next start without scanning every deployment.

mod slots;
mod unpack;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use wafer_runtime::DeploymentKind;
use wafer_store::{Deployment, DeploymentStatus, StoreError, unique_id};

use crate::error::{ApiError, ApiResult};
use crate::runtimes;
use crate::state::AppState;
use slots::BuildSlots;
use unpack::{human_size, read_source, unpack};

/// The chunk size the SDKs use; chunk `n` starts at byte `n * CHUNK_SIZE`.
pub const CHUNK_SIZE: u64 = 5 * 1024 * 1024;
/// The largest deployment file accepted, and the most a .tar.gz may unpack to.
pub const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;

/// One server's builds in progress. Part of the server's state, not of the process, so two
/// servers in one process (tests, an embedding) neither wait for nor block each other.
#[derive(Default)]
pub struct Builds {
    /// Builds running at once, fairly between projects.
    slots: BuildSlots,
    /// Deployments whose build is being started right now: the last two chunks of an upload
    /// may complete it "at once" (a retried chunk), and only one of them may start the build.
    starting: Mutex<HashSet<String>>,
}

impl Builds {
    fn starting(&self) -> MutexGuard<'_, HashSet<String>> {
        // The set holds no invariant a panic elsewhere could break.
        self.starting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

const SOURCE_FILE: &str = "source";
const MARKER_FILE: &str = "build.json";

pub fn upload_dir(state: &AppState, deployment_id: &str) -> PathBuf {
    state.uploads_dir.join(deployment_id)
}

pub fn source_path(state: &AppState, deployment_id: &str) -> PathBuf {
    upload_dir(state, deployment_id).join(SOURCE_FILE)
}

pub fn chunk_path(state: &AppState, deployment_id: &str, index: u32) -> PathBuf {
    upload_dir(state, deployment_id).join(index.to_string())
}

/// Writes a file (0600, in directories made 0700) under a temporary name and renames it into
/// place, so readers (the build, a download, the next start) never see half a file.
pub async fn write_atomically(path: PathBuf, bytes: bytes::Bytes) -> io::Result<()> {
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            crate::private_files::create_dir(dir)?;
        }
        // Unique per writer: the same chunk may be sent twice at once.
        let temporary = path.with_extension(format!("tmp-{}", unique_id()));
        let written = crate::private_files::create_file(&temporary).and_then(|mut file| {
            file.write_all(&bytes)?;
            file.sync_all()
        });
        let renamed = written.and_then(|()| std::fs::rename(&temporary, &path));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        renamed
    })
    .await
    .map_err(io::Error::other)?
}

/// Who a build belongs to, kept beside the upload while the build runs.
#[derive(Serialize, Deserialize)]
struct Marker {
    project_id: String,
    function_id: String,
}

pub async fn write_marker(state: &AppState, deployment: &Deployment) -> ApiResult<()> {
    let marker = Marker {
        project_id: deployment.project_id.clone(),
        function_id: deployment.function_id.clone(),
    };
    let json =
        serde_json::to_vec(&marker).map_err(|error| ApiError::internal(error.to_string()))?;
    let path = upload_dir(state, &deployment.id).join(MARKER_FILE);
    write_atomically(path, json.into()).await.map_err(|error| {
        ApiError::internal(format!("Could not record the deployment's build: {error}"))
    })
}

async fn remove_marker(state: &AppState, deployment_id: &str) {
    let path = upload_dir(state, deployment_id).join(MARKER_FILE);
    let _ = tokio::fs::remove_file(path).await;
}

/// Removes the claim on a deployment id when dropped, whatever path the caller leaves by.
struct Claim<'a> {
    builds: &'a Builds,
    id: String,
}

impl<'a> Claim<'a> {
    fn take(builds: &'a Builds, id: &str) -> Option<Self> {
        let claimed = builds.starting().insert(id.to_owned());
        claimed.then(|| Self {
            builds,
            id: id.to_owned(),
        })
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.builds.starting().remove(&self.id);
    }
}

/// Starts the build of a chunked upload whose last chunk just arrived. Only the first call for
/// a `waiting` deployment starts anything; other calls return the deployment as it is.
pub async fn start_when_complete(
    state: &AppState,
    deployment: &Deployment,
) -> ApiResult<Deployment> {
    let (project, function, id) = (
        &deployment.project_id,
        &deployment.function_id,
        &deployment.id,
    );
    let Some(_claim) = Claim::take(&state.builds, id) else {
        return Ok(state.store.get_deployment(project, function, id).await?);
    };
    let mut current = state.store.get_deployment(project, function, id).await?;
    if current.status != DeploymentStatus::Waiting {
        return Ok(current);
    }
    write_marker(state, &current).await?;
    current.status = DeploymentStatus::Processing;
    let current = state.store.update_deployment(project, current).await?;
    spawn(state.clone(), current.clone());
    Ok(current)
}

/// Builds `deployment` (already `processing`, its marker written) in the background.
pub fn spawn(state: AppState, deployment: Deployment) {
    tokio::spawn(run(state, deployment));
}

async fn run(state: AppState, deployment: Deployment) {
    let Some(_slot) = state.builds.slots.acquire(&deployment.project_id).await else {
        return;
    };
    let started = Instant::now();
    let task = tokio::spawn(build(state.clone(), deployment.clone(), started));
    if let Err(error) = task.await {
        // A panic in a dependency (unpacking, compiling) must not leave the deployment
        // `processing` for ever.
        tracing::error!(deployment = %deployment.id, %error, "a build stopped unexpectedly");
        let message =
            format!("The build stopped unexpectedly ({error}). Upload the deployment again.");
        finish(
            &state,
            deployment,
            Err(BuildError::Failed(message)),
            started,
        )
        .await;
    }
}

enum BuildError {
    /// The build failed; the message tells the user what to do.
    Failed(String),
    /// The deployment was deleted while building: nothing left to report to.
    Gone,
}

impl From<String> for BuildError {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

async fn build(state: AppState, mut deployment: Deployment, started: Instant) {
    let outcome = compile(&state, &mut deployment).await;
    finish(&state, deployment, outcome, started).await;
}

/// Takes the upload to a compiled component; returns the build log.
async fn compile(state: &AppState, deployment: &mut Deployment) -> Result<String, BuildError> {
    let dir = upload_dir(state, &deployment.id);
    let (chunks, expected) = (deployment.chunks_total, deployment.source_size);
    let entrypoint = deployment.entrypoint.clone();
    let unpacked = tokio::task::spawn_blocking(move || {
        let source = read_source(&dir, chunks, expected)?;
        unpack(source, &entrypoint)
    })
    .await
    .map_err(|error| format!("Unpacking the upload stopped unexpectedly ({error})."))??;
    deployment.source_size = unpacked.source_size;
    deployment.status = DeploymentStatus::Building;
    *deployment = save(state, deployment.clone()).await?;

    let wasm_size = unpacked.wasm.len() as u64;
    let limit = state.config.build_timeout;
    let compiled = tokio::time::timeout(
        limit,
        state
            .runtime
            .compile_in(&deployment.project_id, unpacked.wasm),
    )
    .await
    .map_err(|_| {
        format!(
            "Build time limit exceeded: compiling and trying the component took longer than {} s \
             (the server's build_timeout).",
            limit.as_secs_f64()
        )
    })?
    .map_err(|error| error.to_string())?;
    check_kind(state, deployment, compiled.kind).await?;
    deployment.artifact_id = compiled.artifact.as_str().to_owned();
    deployment.build_size = wasm_size;
    deployment.total_size = deployment.source_size + wasm_size;

    let mut log = unpacked.log;
    let seconds = compiled.duration.as_secs_f64();
    if compiled.compiled {
        let _ = writeln!(log, "Compiled the component in {seconds:.2} s.");
    } else {
        let _ = writeln!(
            log,
            "Reused the compiled artifact of an identical upload ({seconds:.2} s)."
        );
    }
    let _ = write!(
        log,
        "Component: {}, {}, artifact {}.",
        human_size(wasm_size),
        compiled.kind.describe(),
        compiled.artifact
    );
    Ok(log)
}

/// Refuses a component of the other world than the function's runtime says, so the runtime
/// name always tells how the function is called.
async fn check_kind(
    state: &AppState,
    deployment: &Deployment,
    kind: DeploymentKind,
) -> Result<(), BuildError> {
    let function = match state
        .store
        .get_function(&deployment.project_id, &deployment.function_id)
        .await
    {
        Ok(function) => function,
        Err(StoreError::NotFound { .. }) => return Err(BuildError::Gone),
        Err(error) => {
            return Err(BuildError::Failed(format!(
                "The build could not read its function: {error}."
            )));
        }
    };
    let expected = runtimes::deployment_kind(&function.runtime);
    if kind == expected {
        return Ok(());
    }
    let fix = match kind {
        DeploymentKind::HttpProxy => format!(
            "set the function's runtime to `{}`",
            runtimes::WASI_HTTP_RUNTIME
        ),
        DeploymentKind::Function => {
            "set the function's runtime to one of the wafer:function runtimes (e.g. \
             `rust-wasi-0.2`)"
                .to_owned()
        }
    };
    Err(BuildError::Failed(format!(
        "The component is {}, but function '{}' has runtime `{}`, which runs {}. Build it for \
         that world, or {fix}.",
        kind.describe(),
        function.id,
        function.runtime,
        expected.describe()
    )))
}

/// Stores a status change; `Gone` when the deployment was deleted meanwhile.
async fn save(state: &AppState, deployment: Deployment) -> Result<Deployment, BuildError> {
    let project = deployment.project_id.clone();
    match state.store.update_deployment(&project, deployment).await {
        Ok(stored) => Ok(stored),
        Err(StoreError::NotFound { .. }) => Err(BuildError::Gone),
        Err(error) => Err(BuildError::Failed(format!(
            "The build could not be recorded: {error}."
        ))),
    }
}

async fn finish(
    state: &AppState,
    mut deployment: Deployment,
    outcome: Result<String, BuildError>,
    started: Instant,
) {
    let id = deployment.id.clone();
    deployment.build_duration = started.elapsed().as_secs_f64().round() as u64;
    match outcome {
        Ok(log) => {
            // Activated before it reads `ready`, so a client that saw `ready` can execute it.
            if deployment.activate {
                activate(state, &deployment).await;
            }
            deployment.status = DeploymentStatus::Ready;
            deployment.build_logs = log;
        }
        Err(BuildError::Failed(message)) => {
            deployment.status = DeploymentStatus::Failed;
            deployment.build_logs = message;
        }
        Err(BuildError::Gone) => {
            remove_marker(state, &id).await;
            return;
        }
    }
    let status = deployment.status;
    match save(state, deployment).await {
        Ok(_) => tracing::info!(deployment = %id, %status, "build finished"),
        Err(BuildError::Gone) => {}
        Err(BuildError::Failed(error)) => tracing::error!(deployment = %id, %error),
    }
    remove_marker(state, &id).await;
}

async fn activate(state: &AppState, deployment: &Deployment) {
    let activated = state
        .store
        .activate_deployment(
            &deployment.project_id,
            &deployment.function_id,
            &deployment.id,
        )
        .await;
    if let Err(error) = activated {
        tracing::warn!(deployment = %deployment.id, %error, "could not activate the deployment");
    }
}

/// Finds builds a crash or stop cut short (their marker is still there) and runs them again;
/// a build whose upload is gone ends `failed` with the reason. Call once at start, after the
/// store and runtime are open.
pub async fn resume_interrupted_builds(state: &AppState) {
    let uploads = state.uploads_dir.clone();
    let markers = tokio::task::spawn_blocking(move || find_markers(&uploads))
        .await
        .unwrap_or_default();
    for (id, marker) in markers {
        let found = state
            .store
            .get_deployment(&marker.project_id, &marker.function_id, &id)
            .await;
        match found {
            Ok(deployment)
                if matches!(
                    deployment.status,
                    DeploymentStatus::Processing | DeploymentStatus::Building
                ) =>
            {
                tracing::warn!(deployment = %id, "building again after an interrupted build");
                spawn(state.clone(), deployment);
            }
            // Finished, or still `waiting` (its upload continues when the client sends a
            // chunk again): nothing to resume.
            Ok(_) => remove_marker(state, &id).await,
            // Never recorded (a crash right after the upload was stored) or deleted.
            Err(StoreError::NotFound { .. }) => {
                let _ = tokio::fs::remove_dir_all(upload_dir(state, &id)).await;
            }
            Err(error) => tracing::error!(deployment = %id, %error, "cannot resume the build"),
        }
    }
}

fn find_markers(uploads: &Path) -> Vec<(String, Marker)> {
    let Ok(entries) = std::fs::read_dir(uploads) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let id = entry.file_name().to_str()?.to_owned();
            let json = std::fs::read(entry.path().join(MARKER_FILE)).ok()?;
            let marker = serde_json::from_slice(&json).ok()?;
            Some((id, marker))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_build_is_claimed_once_until_the_claim_is_dropped() {
        let builds = Builds::default();
        let claim = Claim::take(&builds, "d1").expect("the first claim");
        assert!(
            Claim::take(&builds, "d1").is_none(),
            "a second claim at once"
        );
        assert!(Claim::take(&builds, "d2").is_some(), "another deployment");
        drop(claim);
        assert!(
            Claim::take(&builds, "d1").is_some(),
            "claimed again after the drop"
        );
    }

    #[tokio::test]
    async fn two_servers_share_neither_build_slots_nor_claims() {
        let (first, second) = (Builds::default(), Builds::default());
        let _busy = (
            first.slots.acquire("a").await,
            first.slots.acquire("b").await,
        );
        let full = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            first.slots.acquire("c"),
        )
        .await;
        assert!(full.is_err(), "the first server is full");
        let _claim = Claim::take(&first, "d1").expect("the first server's claim");

        let slot =
            tokio::time::timeout(std::time::Duration::from_secs(1), second.slots.acquire("c"))
                .await;
        assert!(
            matches!(slot, Ok(Some(_))),
            "the second server builds at once"
        );
        assert!(
            Claim::take(&second, "d1").is_some(),
            "and claims its own deployments"
        );
    }
}
