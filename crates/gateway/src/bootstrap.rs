//! First-start setup and the checks of every start: the private data directory, the JWT
//! secret, the master key that seals secret variables, the default project and its admin key.
//! A weak, damaged or missing secret stops the start with the reason and the way out.

use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use wafer_store::{MasterKey, MetadataStore, SealedStore};

use crate::auth::{ALL_SCOPES, DEFAULT_PROJECT, random_secret};
use crate::config::GatewayConfig;
use crate::private_files;

/// The shortest JWT secret and admin key accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
/// The JWT secret's file in the data directory, when `WAFER_SECRET` is unset.
pub const JWT_SECRET_FILE: &str = "jwt-secret";
/// The master key's file in the data directory, when neither `WAFER_MASTER_KEY` nor
/// `--master-key-file` is given.
pub const MASTER_KEY_FILE: &str = "master-key";

const HOW_TO_MAKE_ONE: &str = "make a good one with `openssl rand -hex 32`";

/// Creates the data directory (0700), or narrows an existing one that others may enter.
pub fn data_dir(dir: &Path) -> anyhow::Result<()> {
    private_files::create_or_narrow_dir(dir)
        .with_context(|| format!("preparing the data directory {}", dir.display()))
}

/// The JWT secret: the configured one, or the one kept in the data directory (created on first
/// start). Refuses one shorter than [`MIN_SECRET_LEN`]: with a short key, tokens can be forged.
pub fn jwt_secret(data_dir: &Path, configured: Option<&str>) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = configured {
        if secret.len() < MIN_SECRET_LEN {
            bail!(
                "WAFER_SECRET (--secret) is {} bytes long; the JWT signing secret must be at \
                 least {MIN_SECRET_LEN} bytes, or tokens can be forged: {HOW_TO_MAKE_ONE}, or unset \
                 it to have one generated in the data directory",
                secret.len()
            );
        }
        return Ok(secret.as_bytes().to_vec());
    }
    let path = data_dir.join(JWT_SECRET_FILE);
    if let Some(existing) = read_secret_file(&path)? {
        let secret = existing.trim();
        if secret.len() < MIN_SECRET_LEN {
            bail!(
                "the JWT secret file {} holds {} bytes, fewer than the {MIN_SECRET_LEN} a \
                 secret needs: it is damaged or truncated. Restore it from a backup, or replace \
                 it ({HOW_TO_MAKE_ONE}; users must then sign in again)",
                path.display(),
                secret.len()
            );
        }
        return Ok(secret.as_bytes().to_vec());
    }
    let secret = random_secret().map_err(|error| anyhow::anyhow!(error.message))?;
    private_files::write_secret(&path, &format!("{secret}\n"))
        .with_context(|| format!("writing the JWT secret {}", path.display()))?;
    Ok(secret.into_bytes())
}

/// Refuses a configured admin key shorter than [`MIN_SECRET_LEN`] characters (not counting an
/// Appwrite `standard_` prefix): the admin key opens everything.
pub fn check_admin_key(configured: Option<&str>) -> anyhow::Result<()> {
    let Some(key) = configured else {
        return Ok(());
    };
    let secret = key.strip_prefix("standard_").unwrap_or(key);
    if secret.chars().count() < MIN_SECRET_LEN {
        bail!(
            "WAFER_ADMIN_KEY (--admin-key) is {} characters long; the admin key must be at \
             least {MIN_SECRET_LEN}, or it can be guessed: {HOW_TO_MAKE_ONE}, or unset it to \
             have one generated and printed on first start",
            secret.chars().count()
        );
    }
    Ok(())
}

/// Wraps the database so secret variables are sealed under the master key, sealing plaintext
/// ones left by an older version and moving them off a previous key (rotation).
pub async fn seal_secrets(
    config: &GatewayConfig,
    database: Arc<dyn MetadataStore>,
) -> anyhow::Result<SealedStore> {
    let previous = config
        .previous_master_key_files
        .iter()
        .map(|path| read_master_key(path)?.with_context(|| missing(path)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sealed_before = database.master_key_check().await?.is_some();
    let (key, source) = master_key(config, sealed_before && previous.is_empty())?;
    let (store, report) = SealedStore::open(database, key, &previous)
        .await
        .with_context(|| {
            format!(
                "the master key from {source} does not open this database's secret \
                 variables: give the key they were sealed with (or, when rotating, \
                 name it with --previous-master-key-file)"
            )
        })?;
    if report.sealed_plaintext > 0 {
        tracing::info!(
            count = report.sealed_plaintext,
            "secret variables stored in plaintext are now sealed"
        );
    }
    if report.rotated {
        tracing::warn!(
            resealed = report.resealed,
            "secret variables are sealed under the new master key; the previous key is no longer needed"
        );
    }
    Ok(store)
}

/// The master key and where it came from: `WAFER_MASTER_KEY`, `--master-key-file`, or the data
/// directory's file, created when absent unless the database already holds sealed secrets
/// (then a new key could never open them, and the lost one must be restored).
fn master_key(config: &GatewayConfig, must_exist: bool) -> anyhow::Result<(MasterKey, String)> {
    if let Some(hex) = &config.master_key {
        let key = MasterKey::from_hex(hex).map_err(|error| {
            anyhow::anyhow!("WAFER_MASTER_KEY is not usable: {error}; {HOW_TO_MAKE_ONE}")
        })?;
        return Ok((key, "WAFER_MASTER_KEY".to_owned()));
    }
    let (path, configured) = match &config.master_key_file {
        Some(path) => (path.clone(), true),
        None => (config.data_dir.join(MASTER_KEY_FILE), false),
    };
    let source = path.display().to_string();
    if let Some(key) = read_master_key(&path)? {
        return Ok((key, source));
    }
    if configured {
        bail!("{}", missing(&path));
    }
    if must_exist {
        bail!(
            "{}; this database holds secret variables sealed under a master key, so the key \
             cannot be made anew: restore the file, or pass its copy with --master-key-file",
            missing(&path)
        );
    }
    let key = MasterKey::generate().context("generating the master key")?;
    private_files::write_secret(&path, &format!("{}\n", key.to_hex()))
        .with_context(|| format!("writing the master key {source}"))?;
    tracing::info!(file = %source, "created the master key that seals secret variables; back it up");
    Ok((key, source))
}

fn missing(path: &Path) -> String {
    format!("the master key file {} does not exist", path.display())
}

/// Reads a master key file; `None` when it does not exist.
fn read_master_key(path: &Path) -> anyhow::Result<Option<MasterKey>> {
    let Some(text) = read_secret_file(path)? else {
        return Ok(None);
    };
    let key = MasterKey::from_hex(&text).map_err(|error| {
        anyhow::anyhow!(
            "the master key file {} is damaged or truncated: {error}. Restore it from a \
             backup (a new key, e.g. from `openssl rand -hex 32`, cannot open secrets sealed \
             under the old one)",
            path.display()
        )
    })?;
    Ok(Some(key))
}

/// A secret file's text; `None` when it does not exist.
fn read_secret_file(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
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
