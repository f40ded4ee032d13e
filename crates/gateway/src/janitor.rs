//! Housekeeping, so that nothing a tenant leaves behind stays for ever: execution records past
//! their retention, abandoned chunked uploads, the sources of failed builds, uploads whose
//! deployment is gone, and compiled artifacts no deployment refers to. It runs at start and then at a fixed interval; every pass does bounded
//! batches of work.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use wafer_store::{Deployment, DeploymentStatus, StoreError, Timestamp};

use crate::state::AppState;

/// Rows deleted per statement: short transactions, so recording executions never waits long.
const DELETE_BATCH: u32 = 1_000;
/// Upload directories looked up per store call.
const LOOKUP_BATCH: usize = 256;

/// What one pass removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub expired_executions: u64,
    pub trimmed_executions: u64,
    pub abandoned_uploads: u64,
    pub failed_sources: u64,
    pub orphaned_uploads: u64,
    pub unused_artifacts: u64,
}

/// Runs a pass at start and then every `config.retention.interval` until `stop`.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        match sweep(&state).await {
            Ok(swept) if swept != Swept::default() => {
                tracing::info!(?swept, "housekeeping removed what was left behind")
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "housekeeping failed; it runs again later"),
        }
        tokio::select! {
            _ = tokio::time::sleep(state.config.retention.interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One pass of every cleanup.
pub async fn sweep(state: &AppState) -> Result<Swept, StoreError> {
    let mut swept = Swept::default();
    let retention = &state.config.retention;
    if let Some(max_age) = retention.execution_max_age {
        let before = ago(max_age);
        swept.expired_executions =
            drain(|| state.store.delete_executions_before(before, DELETE_BATCH)).await?;
    }
    if let Some(keep) = retention.executions_per_function {
        swept.trimmed_executions =
            drain(|| state.store.trim_executions(keep, DELETE_BATCH)).await?;
    }
    sweep_uploads(state, &mut swept).await?;
    swept.unused_artifacts = sweep_artifacts(state).await?;
    Ok(swept)
}

/// Deletes compiled artifacts no deployment of any project refers to (their function or
/// deployment was deleted).
async fn sweep_artifacts(state: &AppState) -> Result<u64, StoreError> {
    let runtime = state.runtime.clone();
    let stored = tokio::task::spawn_blocking(move || runtime.stored_artifacts())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    if stored.is_empty() {
        return Ok(0);
    }
    let in_use = state.store.artifacts_in_use().await?;
    let now = SystemTime::now();
    let mut removed = 0;
    for (artifact, written) in stored {
        let age = now.duration_since(written).unwrap_or_default();
        if in_use.contains(artifact.as_str()) || age < state.config.retention.unused_artifact_age {
            continue;
        }
        match state.runtime.remove_artifact(&artifact) {
            Ok(()) => removed += 1,
            Err(error) => tracing::warn!(%artifact, %error, "could not remove an unused artifact"),
        }
    }
    Ok(removed)
}

/// Repeats a batched delete until a batch comes back short.
async fn drain<F, Fut>(mut batch: F) -> Result<u64, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let deleted = batch().await?;
        total += deleted;
        if deleted < u64::from(DELETE_BATCH) {
            return Ok(total);
        }
    }
}

fn ago(age: Duration) -> Timestamp {
    let millis = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
    Timestamp(Timestamp::now().as_millis().saturating_sub(millis))
}

/// An upload directory and how long ago it last changed.
struct UploadDir {
    deployment_id: String,
    path: PathBuf,
    age: Duration,
}

fn list_upload_dirs(uploads: &Path) -> Vec<UploadDir> {
    let Ok(entries) = std::fs::read_dir(uploads) else {
        return Vec::new();
    };
    let now = SystemTime::now();
    entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| {
            let modified = entry.metadata().and_then(|meta| meta.modified()).ok()?;
            Some(UploadDir {
                deployment_id: entry.file_name().into_string().ok()?,
                path: entry.path(),
                age: now.duration_since(modified).unwrap_or_default(),
            })
        })
        .collect()
}

async fn sweep_uploads(state: &AppState, swept: &mut Swept) -> Result<(), StoreError> {
    let uploads = state.uploads_dir.clone();
    let dirs = tokio::task::spawn_blocking(move || list_upload_dirs(&uploads))
        .await
        .unwrap_or_default();
    for batch in dirs.chunks(LOOKUP_BATCH) {
        let ids = batch.iter().map(|dir| dir.deployment_id.clone()).collect();
        let deployments = state.store.find_deployments(ids).await?;
        for dir in batch {
            let deployment = deployments.iter().find(|d| d.id == dir.deployment_id);
            sweep_upload(state, dir, deployment, swept).await?;
        }
    }
    Ok(())
}

async fn sweep_upload(
    state: &AppState,
    dir: &UploadDir,
    deployment: Option<&Deployment>,
    swept: &mut Swept,
) -> Result<(), StoreError> {
    let retention = &state.config.retention;
    match deployment {
        // An upload is stored before its record is written: only an old directory is an orphan.
        None if dir.age > retention.abandoned_upload_age => {
            remove_dir(&dir.path).await;
            swept.orphaned_uploads += 1;
        }
        Some(deployment)
            if deployment.status == DeploymentStatus::Waiting
                && idle_for(deployment) > retention.abandoned_upload_age =>
        {
            match state
                .store
                .delete_deployment(
                    &deployment.project_id,
                    &deployment.function_id,
                    &deployment.id,
                )
                .await
            {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
            remove_dir(&dir.path).await;
            swept.abandoned_uploads += 1;
        }
        Some(deployment)
            if deployment.status == DeploymentStatus::Failed
                && idle_for(deployment) > retention.failed_source_age =>
        {
            remove_dir(&dir.path).await;
            swept.failed_sources += 1;
        }
        _ => {}
    }
    Ok(())
}

/// How long since the deployment last changed.
fn idle_for(deployment: &Deployment) -> Duration {
    let millis = Timestamp::now().as_millis() - deployment.updated_at.as_millis();
    Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

async fn remove_dir(path: &Path) {
    if let Err(error) = tokio::fs::remove_dir_all(path).await
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(dir = %path.display(), %error, "could not remove an upload directory");
    }
}
