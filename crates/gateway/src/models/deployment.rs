//! The Deployment model and its list.

use serde::Serialize;
use utoipa::ToSchema;
use wafer_store as store;

use super::date;

/// A deployment: one uploaded component of a function.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$createdAt")]
    #[schema(format = DateTime)]
    created_at: String,
    #[serde(rename = "$updatedAt")]
    #[schema(format = DateTime)]
    updated_at: String,
    /// `manual` for uploads, `vcs` for repository builds.
    #[serde(rename = "type")]
    deployment_type: String,
    /// The function's ID.
    resource_id: String,
    /// Always `functions`.
    resource_type: &'static str,
    entrypoint: String,
    /// Bytes.
    source_size: u64,
    /// Bytes.
    build_size: u64,
    /// Bytes.
    total_size: u64,
    build_id: String,
    /// Whether the deployment becomes active once built.
    activate: bool,
    screenshot_light: &'static str,
    screenshot_dark: &'static str,
    status: DeploymentStatus,
    build_logs: String,
    /// Seconds.
    build_duration: u64,
    provider_repository_name: &'static str,
    provider_repository_owner: &'static str,
    provider_repository_url: &'static str,
    provider_commit_hash: &'static str,
    provider_commit_author_url: &'static str,
    provider_commit_author: &'static str,
    provider_commit_message: &'static str,
    provider_commit_url: &'static str,
    provider_branch: &'static str,
    provider_branch_url: &'static str,
    /// Chunks expected by a chunked upload; 0 for a single-request upload.
    chunks_total: u32,
    /// Distinct chunks received so far.
    chunks_uploaded: u32,
}

impl From<store::Deployment> for Deployment {
    fn from(deployment: store::Deployment) -> Self {
        Self {
            id: deployment.id,
            created_at: date(deployment.created_at),
            updated_at: date(deployment.updated_at),
            deployment_type: deployment.deployment_type,
            resource_id: deployment.function_id,
            resource_type: "functions",
            entrypoint: deployment.entrypoint,
            source_size: deployment.source_size,
            build_size: deployment.build_size,
            total_size: deployment.total_size,
            build_id: deployment.build_id,
            activate: deployment.activate,
            screenshot_light: "",
            screenshot_dark: "",
            status: deployment.status.into(),
            build_logs: deployment.build_logs,
            build_duration: deployment.build_duration,
            provider_repository_name: "",
            provider_repository_owner: "",
            provider_repository_url: "",
            provider_commit_hash: "",
            provider_commit_author_url: "",
            provider_commit_author: "",
            provider_commit_message: "",
            provider_commit_url: "",
            provider_branch: "",
            provider_branch_url: "",
            chunks_total: deployment.chunks_total,
            chunks_uploaded: deployment.chunks_uploaded,
        }
    }
}

/// The life cycle of a deployment.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentStatus {
    Waiting,
    Processing,
    Building,
    Ready,
    Canceled,
    Failed,
}

impl From<store::DeploymentStatus> for DeploymentStatus {
    fn from(status: store::DeploymentStatus) -> Self {
        match status {
            store::DeploymentStatus::Waiting => Self::Waiting,
            store::DeploymentStatus::Processing => Self::Processing,
            store::DeploymentStatus::Building => Self::Building,
            store::DeploymentStatus::Ready => Self::Ready,
            store::DeploymentStatus::Canceled => Self::Canceled,
            store::DeploymentStatus::Failed => Self::Failed,
        }
    }
}

/// A page of deployments.
#[derive(Serialize, ToSchema)]
pub struct DeploymentList {
    /// Matching deployments, ignoring limit and offset; 0 when `total=false`.
    pub total: u64,
    pub deployments: Vec<Deployment>,
}

impl From<store::Page<store::Deployment>> for DeploymentList {
    fn from(page: store::Page<store::Deployment>) -> Self {
        Self {
            total: page.total,
            deployments: page.items.into_iter().map(Deployment::from).collect(),
        }
    }
}
