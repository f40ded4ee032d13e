//! The guest SDKs `wafer init` and `wafer build` work with: the languages, and where each SDK is
//! (`$WAFER_SDK_DIR/<language>`, else the `guest-sdks` directory of the checkout this binary was
//! built from).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ValueEnum;

use crate::error::CliError;

/// The variable that names the `guest-sdks` directory of a wafer checkout.
pub const SDK_DIR_ENV: &str = "WAFER_SDK_DIR";

/// The `guest-sdks` directory next to the sources of this binary.
pub const BUILT_IN_SDK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest-sdks");

/// A language with a guest SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Language {
    /// Rust, with the `wafer-guest` crate (cargo, wasm32-wasip2).
    Rust,
    /// JavaScript, with componentize-js (Node.js 20+).
    #[value(alias = "javascript")]
    Js,
    /// Python, with componentize-py (a venv in the SDK).
    #[value(alias = "py")]
    Python,
}

impl Language {
    /// The name `wafer.json` and the command line use.
    pub fn key(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::Js => "js",
            Self::Python => "python",
        }
    }

    /// The language's key or one of its aliases, in any case.
    pub fn from_key(key: &str) -> Option<Self> {
        <Self as ValueEnum>::from_str(key, true).ok()
    }

    /// The name people know it by.
    pub fn title(self) -> &'static str {
        match self {
            Self::Rust => "Rust",
            Self::Js => "JavaScript",
            Self::Python => "Python",
        }
    }

    /// The runtime label of a function written in it (see GET /v1/functions/runtimes).
    pub fn runtime(self) -> &'static str {
        match self {
            Self::Rust => "rust-wasi-0.2",
            Self::Js => "javascript-wasi-0.2",
            Self::Python => "python-wasi-0.2",
        }
    }

    /// The SDK's directory under `guest-sdks`, and the file that shows it is there.
    fn sdk_layout(self) -> (&'static str, &'static str) {
        match self {
            Self::Rust => ("rust", "Cargo.toml"),
            Self::Js => ("js", "build.mjs"),
            Self::Python => ("python", "build.py"),
        }
    }
}

/// The absolute path of the language's guest SDK (`guest-sdks/<language>`).
pub fn sdk_dir(language: Language) -> anyhow::Result<PathBuf> {
    let from_env = std::env::var_os(SDK_DIR_ENV).filter(|value| !value.is_empty());
    let (root, origin) = match from_env {
        Some(dir) => (PathBuf::from(dir), format!("from {SDK_DIR_ENV}")),
        None => (
            PathBuf::from(BUILT_IN_SDK_DIR),
            "where this wafer binary was built".to_owned(),
        ),
    };
    let (subdir, marker) = language.sdk_layout();
    let dir = root.join(subdir);
    if !dir.join(marker).is_file() {
        return Err(CliError::Failed(format!(
            "The {} guest SDK is not at {} ({origin}): it has no {marker}.\nSet {SDK_DIR_ENV} to \
             the guest-sdks directory of a wafer checkout.",
            language.title(),
            dir.display(),
        ))
        .into());
    }
    canonical(&dir)
}

fn canonical(path: &Path) -> anyhow::Result<PathBuf> {
    path.canonicalize()
        .with_context(|| format!("Cannot resolve {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_known_by_key_and_alias() {
        assert_eq!(Language::from_key("rust"), Some(Language::Rust));
        assert_eq!(Language::from_key("JavaScript"), Some(Language::Js));
        assert_eq!(Language::from_key("py"), Some(Language::Python));
        assert_eq!(Language::from_key("cobol"), None);
        for language in [Language::Rust, Language::Js, Language::Python] {
            assert_eq!(Language::from_key(language.key()), Some(language));
        }
    }

    #[test]
    fn the_built_in_sdks_are_found() {
        for language in [Language::Rust, Language::Js, Language::Python] {
            let dir = sdk_dir(language).expect("the SDK of this checkout");
            assert!(dir.is_absolute(), "{}", dir.display());
            assert!(dir.ends_with(language.sdk_layout().0), "{}", dir.display());
        }
    }
}
