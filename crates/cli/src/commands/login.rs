//! `wafer login`: checks an endpoint, project and key against the server and saves them for
//! the other commands.

use serde_json::json;

use super::Ctx;
use crate::config::{self, ClientArgs, SavedConfig};
use crate::output::{self, outln};

pub async fn run(args: &ClientArgs) -> anyhow::Result<()> {
    let ctx = Ctx::connect(args)?;
    // Any key that may read functions proves the endpoint, the project and the key at once.
    ctx.client
        .get(&["functions"], &[("total".into(), "false".into())])
        .await?;
    let connection = args.resolve()?;
    let saved = SavedConfig {
        endpoint: Some(connection.endpoint.to_string()),
        project: Some(connection.project.clone()),
        key: connection.key.clone(),
    };
    let path = config::save(&saved)?;
    if ctx.json {
        return output::json(&json!({
            "endpoint": connection.endpoint.as_str(),
            "project": connection.project,
            "config": path,
        }));
    }
    outln!(
        "Logged in to {} (project {}).",
        connection.endpoint,
        connection.project
    );
    outln!(
        "Saved to {}; the other commands use it from now on.",
        path.display()
    );
    Ok(())
}
