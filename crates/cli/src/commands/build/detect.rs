//! Which language a function's directory is written in, and which module to build.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;
use serde_json::Value;

use crate::error::CliError;
use crate::sdk::Language;
use crate::templates::{self, MANIFEST};

/// A function's source directory, as `wafer build` understands it.
#[derive(Debug)]
pub(super) struct Project {
    /// As the user wrote it (for messages and the output's path).
    pub(super) dir: PathBuf,
    /// Absolute (for the toolchains, which run in other directories).
    pub(super) absolute: PathBuf,
    pub(super) language: Language,
    /// The module to build, relative to `dir` (JavaScript and Python).
    pub(super) entrypoint: Option<PathBuf>,
}

/// `wafer.json`: what `wafer init` records, and what a person may write to skip detection.
/// Other fields are left alone, for tools that share the file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    language: Option<String>,
    entrypoint: Option<String>,
}

impl Project {
    pub(super) fn detect(dir: &Path) -> anyhow::Result<Self> {
        if !dir.is_dir() {
            return Err(CliError::usage(format!(
                "{} is not a directory: give the directory of a function (`wafer init` starts \
                 one).",
                dir.display()
            ))
            .into());
        }
        let absolute = dir
            .canonicalize()
            .with_context(|| format!("Cannot resolve {}", dir.display()))?;
        let manifest = read_manifest(dir)?;
        let language = match &manifest.language {
            Some(key) => Language::from_key(key).ok_or_else(|| {
                CliError::usage(format!(
                    "{}: unknown language \"{key}\" (expected rust, js or python).",
                    dir.join(MANIFEST).display()
                ))
            })?,
            None => detect_language(dir)?,
        };
        let entrypoint = match language {
            Language::Rust => {
                if !dir.join("Cargo.toml").is_file() {
                    return Err(CliError::usage(format!(
                        "{} has no Cargo.toml: a Rust function is a cargo package.",
                        dir.display()
                    ))
                    .into());
                }
                None
            }
            Language::Js | Language::Python => {
                let entrypoint = match &manifest.entrypoint {
                    Some(path) => PathBuf::from(path),
                    None => detect_entrypoint(dir, language)?,
                };
                if !dir.join(&entrypoint).is_file() {
                    return Err(CliError::usage(format!(
                        "The entrypoint {} does not exist.",
                        dir.join(&entrypoint).display()
                    ))
                    .into());
                }
                Some(entrypoint)
            }
        };
        Ok(Self {
            dir: dir.to_owned(),
            absolute,
            language,
            entrypoint,
        })
    }

    /// The component's default name: `DIR/build/<directory name>.wasm`.
    pub(super) fn default_out(&self, file_name: &str) -> PathBuf {
        self.dir.join("build").join(file_name)
    }

    pub(super) fn stem(&self) -> String {
        let raw = self
            .absolute
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        templates::package_name(&raw, self.language)
    }
}

fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Manifest::default());
        }
        Err(error) => {
            return Err(error).with_context(|| format!("Cannot read {}", path.display()));
        }
    };
    serde_json::from_str(&text).map_err(|error| {
        CliError::usage(format!(
            "{} is not valid: {error}. It holds {{\"language\": \"rust\" | \"js\" | \"python\", \
             \"entrypoint\": \"FILE\"}}.",
            path.display()
        ))
        .into()
    })
}

/// The language of a directory without `wafer.json`, from the files it holds.
fn detect_language(dir: &Path) -> anyhow::Result<Language> {
    if dir.join("Cargo.toml").is_file() {
        return Ok(Language::Rust);
    }
    if dir.join("package.json").is_file() || js_entrypoint(dir)?.is_some() {
        return Ok(Language::Js);
    }
    if python_entrypoint(dir)?.is_some() {
        return Ok(Language::Python);
    }
    Err(CliError::usage(format!(
        "Cannot tell which language {} is written in: it has no Cargo.toml (Rust), package.json \
         or .js/.mjs module (JavaScript), nor .py module with a main function (Python).\nStart a \
         function with `wafer init rust|js|python DIR`, or name the language in {}: \
         {{\"language\": \"js\", \"entrypoint\": \"index.js\"}}.",
        dir.display(),
        MANIFEST
    ))
    .into())
}

fn detect_entrypoint(dir: &Path, language: Language) -> anyhow::Result<PathBuf> {
    let found = match language {
        Language::Js => js_entrypoint(dir)?,
        Language::Python => python_entrypoint(dir)?,
        Language::Rust => None,
    };
    found.ok_or_else(|| {
        let expected = match language {
            Language::Js => "package.json's \"main\", index.js, index.mjs, main.js or main.mjs",
            _ => "main.py, or one .py module defining main",
        };
        CliError::usage(format!(
            "{} has no {} module to build: expected {expected}, or an \"entrypoint\" in {}.",
            dir.display(),
            language.title(),
            MANIFEST,
        ))
        .into()
    })
}

/// `package.json`'s `main`, a conventional name, or the directory's only module.
fn js_entrypoint(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    if let Ok(text) = fs::read_to_string(dir.join("package.json"))
        && let Ok(package) = serde_json::from_str::<Value>(&text)
        && let Some(main) = package.get("main").and_then(Value::as_str)
        && dir.join(main).is_file()
    {
        return Ok(Some(PathBuf::from(main)));
    }
    for name in ["index.js", "index.mjs", "main.js", "main.mjs"] {
        if dir.join(name).is_file() {
            return Ok(Some(PathBuf::from(name)));
        }
    }
    let modules = files_with_extension(dir, &["js", "mjs"])?;
    only_one(dir, modules, "JavaScript modules")
}

/// `main.py`, or the directory's only module that defines `main`.
fn python_entrypoint(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    if dir.join("main.py").is_file() {
        return Ok(Some(PathBuf::from("main.py")));
    }
    let mut modules = Vec::new();
    for name in files_with_extension(dir, &["py"])? {
        let text = fs::read_to_string(dir.join(&name)).unwrap_or_default();
        let defines_main = text
            .lines()
            .any(|line| line.starts_with("def main(") || line.starts_with("async def main("));
        if defines_main {
            modules.push(name);
        }
    }
    only_one(dir, modules, "Python modules defining main")
}

fn only_one(dir: &Path, mut found: Vec<PathBuf>, what: &str) -> anyhow::Result<Option<PathBuf>> {
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => {
            found.sort();
            let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
            Err(CliError::usage(format!(
                "{} has several {what} ({}): name the one to build in {MANIFEST}, e.g. \
                 {{\"entrypoint\": \"{}\"}}.",
                dir.display(),
                names.join(", "),
                names[0],
            ))
            .into())
        }
    }
}

/// The names of the files directly in `dir` that end in one of `extensions`.
fn files_with_extension(dir: &Path, extensions: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).with_context(|| format!("Cannot list {}", dir.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("Cannot list {}", dir.display()))?;
        let path = PathBuf::from(entry.file_name());
        let matches = path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| extensions.contains(&extension));
        if matches && entry.file_type().is_ok_and(|kind| kind.is_file()) {
            found.push(path);
        }
    }
    Ok(found)
}
