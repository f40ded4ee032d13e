//! First-start setup: the default project, the JWT secret and the admin key.

use std::path::Path;

use wafer_store::MetadataStore;

use crate::auth::{ALL_SCOPES, DEFAULT_PROJECT, random_secret};

/// Reads the JWT secret kept in the data directory, creating it on first start.
pub fn jwt_secret(data_dir: &Path, configured: Option<&str>) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = configured {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    let secret = random_secret().map_err(|error| anyhow::anyhow!(error.message))?;
    write_private(&path, &secret)?;
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// Makes sure the default project exists and has an admin key. Returns the secret of a key
/// created now (to be shown once), or `None` when one existed or was given.
pub async fn admin_key(
    store: &dyn MetadataStore,
    configured: Option<&str>,
) -> anyhow::Result<Option<String>> {
    store.ensure_project(DEFAULT_PROJECT, "Default").await?;
    let scopes: Vec<String> = ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    if let Some(secret) = configured {
        let secret = secret.strip_prefix("standard_").unwrap_or(secret);
        if store.find_api_key_by_secret(secret).await?.is_none() {
            store
                .create_api_key(DEFAULT_PROJECT, "admin", &scopes, secret, None)
                .await?;
        }
        return Ok(None);
    }
    if store.count_api_keys(DEFAULT_PROJECT).await? > 0 {
        return Ok(None);
    }
    let secret = random_secret().map_err(|error| anyhow::anyhow!(error.message))?;
    store
        .create_api_key(DEFAULT_PROJECT, "admin", &scopes, &secret, None)
        .await?;
    Ok(Some(secret))
}
