//! Where the client commands find their server, project and key: flags, then environment
//! variables (clap reads both), then the file `wafer login` saves, then the defaults of a local
//! `wafer serve`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::error::CliError;

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8080/v1";
pub const DEFAULT_PROJECT: &str = "default";

/// The options every client command takes.
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// API URL of the wafer server [default: the saved one, else http://127.0.0.1:8080/v1].
    #[arg(
        long,
        env = "WAFER_ENDPOINT",
        global = true,
        help_heading = "Client options"
    )]
    pub endpoint: Option<String>,
    /// Project to act in [default: the saved one, else `default`].
    #[arg(
        long,
        env = "WAFER_PROJECT",
        global = true,
        help_heading = "Client options"
    )]
    pub project: Option<String>,
    /// API key of the project [default: the saved one].
    #[arg(
        long,
        env = "WAFER_KEY",
        hide_env_values = true,
        global = true,
        help_heading = "Client options"
    )]
    pub key: Option<String>,
    /// Print the API's JSON instead of tables and text (for scripts).
    #[arg(long, global = true, help_heading = "Client options")]
    pub json: bool,
}

/// The file `wafer login` writes.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
pub struct SavedConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Where to send requests, and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub endpoint: Url,
    pub project: String,
    pub key: Option<String>,
}

impl ClientArgs {
    /// Merges these options over the saved file and the defaults.
    pub fn resolve(&self) -> anyhow::Result<Connection> {
        let saved = load()?;
        resolve(self, &saved)
    }
}

fn resolve(args: &ClientArgs, saved: &SavedConfig) -> anyhow::Result<Connection> {
    let pick = |given: &Option<String>, stored: &Option<String>| {
        given
            .clone()
            .filter(|value| !value.trim().is_empty())
            .or_else(|| stored.clone())
    };
    let endpoint = pick(&args.endpoint, &saved.endpoint);
    let endpoint = normalize_endpoint(endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT))?;
    let project = pick(&args.project, &saved.project).unwrap_or_else(|| DEFAULT_PROJECT.into());
    let key = pick(&args.key, &saved.key);
    Ok(Connection {
        endpoint,
        project,
        key,
    })
}

/// Accepts `http://host:port`, `http://host:port/` or `…/v1`, and returns the `/v1` URL.
pub fn normalize_endpoint(raw: &str) -> Result<Url, CliError> {
    let invalid = |why: &str| {
        CliError::usage(format!(
            "The endpoint '{raw}' is not usable: {why}. Give the server's API URL, e.g. \
             {DEFAULT_ENDPOINT}."
        ))
    };
    let mut url = Url::parse(raw.trim()).map_err(|error| invalid(&error.to_string()))?;
    match url.scheme() {
        "http" => {}
        // reqwest's TLS features would be unified into every crate of the workspace that uses
        // reqwest; a wafer server is reached over http (or through a proxy on the same host).
        "https" => {
            return Err(invalid(
                "this build of the wafer CLI speaks plain http only; reach the server over http \
                 (e.g. through an SSH tunnel or a local proxy)",
            ));
        }
        other => return Err(invalid(&format!("the scheme '{other}' is not http"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_owned();
    let path = if path.ends_with("/v1") {
        path
    } else {
        format!("{path}/v1")
    };
    url.set_path(&path);
    Ok(url)
}

/// `$XDG_CONFIG_HOME/wafer/config.json`, else `~/.config/wafer/config.json`.
pub fn path() -> anyhow::Result<PathBuf> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let base = from_env("XDG_CONFIG_HOME")
        .or_else(|| from_env("HOME").map(|home| home.join(".config")))
        .ok_or_else(|| {
            CliError::usage(
                "Cannot tell where to keep the configuration: neither XDG_CONFIG_HOME nor HOME \
                 is set. Pass --endpoint, --project and --key instead.",
            )
        })?;
    Ok(base.join("wafer").join("config.json"))
}

/// The saved configuration; none saved is an empty one.
pub fn load() -> anyhow::Result<SavedConfig> {
    let Ok(path) = path() else {
        return Ok(SavedConfig::default());
    };
    load_from(&path)
}

fn load_from(path: &Path) -> anyhow::Result<SavedConfig> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(SavedConfig::default());
        }
        Err(error) => {
            return Err(error).with_context(|| format!("reading {}", path.display()));
        }
    };
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a wafer configuration; fix or delete it, then run `wafer login`",
            path.display()
        )
    })
}

/// Writes the configuration readable by its owner only, and returns where.
pub fn save(config: &SavedConfig) -> anyhow::Result<PathBuf> {
    let path = path()?;
    save_to(&path, config)?;
    Ok(path)
}

fn save_to(path: &Path, config: &SavedConfig) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .context("the configuration path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let text = serde_json::to_string_pretty(config)?;
    // Written beside the target and renamed over it, so a reader never sees half a file and
    // the key is never readable by others, not even for a moment.
    let temporary = dir.join(".config.json.tmp");
    let mut file =
        private_file(&temporary).with_context(|| format!("creating {}", temporary.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` only applies to a new file; a leftover one gets the same permissions.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(endpoint: Option<&str>, key: Option<&str>) -> ClientArgs {
        ClientArgs {
            endpoint: endpoint.map(str::to_owned),
            project: None,
            key: key.map(str::to_owned),
            json: false,
        }
    }

    #[test]
    fn endpoints_are_normalized_to_the_v1_url() {
        for (raw, expected) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1"),
            ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1"),
            ("http://example.com/wafer", "http://example.com/wafer/v1"),
        ] {
            let url = normalize_endpoint(raw).expect(raw);
            assert_eq!(url.as_str(), expected);
        }
        assert!(normalize_endpoint("127.0.0.1:8080").is_err());
        assert!(normalize_endpoint("ftp://host/v1").is_err());
    }

    #[test]
    fn flags_win_over_the_saved_file_which_wins_over_defaults() {
        let saved = SavedConfig {
            endpoint: Some("http://saved:1/v1".into()),
            project: Some("p".into()),
            key: Some("saved-key".into()),
        };
        let connection = resolve(&args(None, Some("flag-key")), &saved).expect("resolves");
        assert_eq!(connection.endpoint.as_str(), "http://saved:1/v1");
        assert_eq!(connection.project, "p");
        assert_eq!(connection.key.as_deref(), Some("flag-key"));
        let defaults = resolve(&args(None, None), &SavedConfig::default()).expect("resolves");
        assert_eq!(defaults.endpoint.as_str(), DEFAULT_ENDPOINT);
        assert_eq!(defaults.project, DEFAULT_PROJECT);
        assert_eq!(defaults.key, None);
    }

    #[test]
    fn the_saved_file_round_trips_and_is_private() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("wafer/config.json");
        assert_eq!(load_from(&path).expect("absent"), SavedConfig::default());
        let config = SavedConfig {
            endpoint: Some(DEFAULT_ENDPOINT.into()),
            project: Some("default".into()),
            key: Some("secret".into()),
        };
        save_to(&path, &config).expect("saves");
        assert_eq!(load_from(&path).expect("loads"), config);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
