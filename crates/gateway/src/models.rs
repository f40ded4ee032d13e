//! Appwrite's JSON models, rendered from the store's records. Every field the official SDKs
//! require is present (empty where wafer has no value); wafer's extras are added, never
//! renamed.

use serde_json::{Value, json};
use wafer_store::{Deployment, Execution, Function, Page, Timestamp, Variable};

use crate::runtimes::runtime_version;

pub fn date(at: Timestamp) -> String {
    at.to_rfc3339()
}

pub fn optional_date(at: Option<Timestamp>) -> String {
    at.map(date).unwrap_or_default()
}

fn header_list(headers: &[(String, String)]) -> Value {
    Value::Array(
        headers
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect(),
    )
}

pub fn function(function: &Function, vars: &[Variable]) -> Value {
    json!({
        "$id": function.id,
        "$createdAt": date(function.created_at),
        "$updatedAt": date(function.updated_at),
        "execute": function.execute,
        "name": function.name,
        "description": "",
        "enabled": function.enabled,
        "live": !function.deployment_id.is_empty(),
        "logging": function.logging,
        "runtime": function.runtime,
        "deploymentRetention": 0,
        "deploymentId": function.deployment_id,
        "deploymentCreatedAt": optional_date(function.deployment_created_at),
        "latestDeploymentId": function.latest_deployment_id,
        "latestDeploymentCreatedAt": optional_date(function.latest_deployment_created_at),
        "latestDeploymentStatus": function.latest_deployment_status.map(|s| s.as_str()).unwrap_or(""),
        "scopes": function.scopes,
        "vars": vars.iter().map(variable).collect::<Vec<_>>(),
        "events": function.events,
        "schedule": function.schedule,
        "timeout": function.timeout,
        "entrypoint": function.entrypoint,
        "commands": function.commands,
        "version": "v5",
        "installationId": "",
        "providerRepositoryId": "",
        "providerBranch": "",
        "providerRootDirectory": "",
        "providerSilentMode": false,
        "providerBranches": [],
        "providerPaths": [],
        "specification": function.specification,
        "buildSpecification": function.specification,
        "runtimeSpecification": function.specification,
        "emailEnabled": false,
        "fuel": function.fuel,
        "memory": function.memory_mb,
        "outboundHosts": function.outbound_hosts,
        "reuseInstances": function.reuse_instances,
        "runtimeVersion": runtime_version(&function.runtime),
    })
}

pub fn deployment(deployment: &Deployment) -> Value {
    json!({
        "$id": deployment.id,
        "$createdAt": date(deployment.created_at),
        "$updatedAt": date(deployment.updated_at),
        "type": deployment.deployment_type,
        "resourceId": deployment.function_id,
        "resourceType": "functions",
        "entrypoint": deployment.entrypoint,
        "sourceSize": deployment.source_size,
        "buildSize": deployment.build_size,
        "totalSize": deployment.total_size,
        "buildId": deployment.build_id,
        "activate": deployment.activate,
        "screenshotLight": "",
        "screenshotDark": "",
        "status": deployment.status.as_str(),
        "buildLogs": deployment.build_logs,
        "buildDuration": deployment.build_duration,
        "providerRepositoryName": "",
        "providerRepositoryOwner": "",
        "providerRepositoryUrl": "",
        "providerCommitHash": "",
        "providerCommitAuthorUrl": "",
        "providerCommitAuthor": "",
        "providerCommitMessage": "",
        "providerCommitUrl": "",
        "providerBranch": "",
        "providerBranchUrl": "",
        "chunksTotal": deployment.chunks_total,
        "chunksUploaded": deployment.chunks_uploaded,
    })
}

/// An execution as `caller` may see it: logs and errors only for API keys.
pub fn execution(execution: &Execution, show_logs: bool) -> Value {
    let (logs, errors) = if show_logs {
        (execution.logs.as_str(), execution.errors.as_str())
    } else {
        ("", "")
    };
    json!({
        "$id": execution.id,
        "$createdAt": date(execution.created_at),
        "$updatedAt": date(execution.updated_at),
        "$permissions": execution.permissions,
        "functionId": execution.function_id,
        "resourceId": execution.function_id,
        "resourceType": "functions",
        "deploymentId": execution.deployment_id,
        "trigger": execution.trigger.as_str(),
        "status": execution.status.as_str(),
        "requestMethod": execution.request_method,
        "requestPath": execution.request_path,
        "requestHeaders": header_list(&execution.request_headers),
        "responseStatusCode": execution.response_status_code,
        "responseBody": execution.response_body,
        "responseHeaders": header_list(&execution.response_headers),
        "logs": logs,
        "errors": errors,
        "duration": execution.duration,
        "scheduledAt": execution.scheduled_at.map(date),
        "fuelConsumed": execution.fuel_consumed,
        "peakMemoryBytes": execution.peak_memory_bytes,
    })
}

/// A variable; a secret's value is never returned.
pub fn variable(variable: &Variable) -> Value {
    let value = if variable.secret {
        ""
    } else {
        variable.value.as_str()
    };
    json!({
        "$id": variable.id,
        "$createdAt": date(variable.created_at),
        "$updatedAt": date(variable.updated_at),
        "key": variable.key,
        "description": "",
        "value": value,
        "secret": variable.secret,
        "resourceType": "function",
        "resourceId": variable.function_id,
    })
}

/// `{total, <plural>: [...]}`.
pub fn list<T>(plural: &str, page: &Page<T>, render: impl Fn(&T) -> Value) -> Value {
    let items: Vec<Value> = page.items.iter().map(render).collect();
    let mut body = serde_json::Map::new();
    body.insert("total".into(), json!(page.total));
    body.insert(plural.into(), Value::Array(items));
    Value::Object(body)
}
