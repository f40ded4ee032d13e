//! Components on disk by content hash ([`ArtifactHash`]): the uploaded `.wasm` and, beside it,
//! the compiled artifact of each tier for this engine build, guarded by a checksum so a damaged
//! file is recompiled rather than loaded.
//!
//! The checksum (XXH3-128) guards against damage, not against someone who can write the data
//! directory (they could replace the `.wasm` too). It is checked on every load from disk, so it
//! must be cheap: a JavaScript or Python artifact is 40 MB, which SHA-256 over a copied buffer
//! took ~48 ms to read and hash, nearly all of a cold start. The file is mapped instead of read,
//! and the same page-cache pages then serve `Component::deserialize_file`.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use twox_hash::XxHash3_128;
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::deploy::Tier;

/// The content hash of a component: the SHA-256 of its `.wasm` bytes (within a scope, see
/// [`ArtifactHash::scoped`]), in lower-case hex. It names the component's files on disk (the
/// source and its compiled artifacts), so identical uploads in one scope share one compiled
/// artifact whatever deployments they belong to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArtifactHash(String);

impl ArtifactHash {
    /// The hash of a component's bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(hex::encode(Sha256::digest(bytes)))
    }

    /// The hash of a component's bytes within `scope`: uploads share an artifact only within
    /// their scope, so one scope cannot tell (from a reused artifact, its hash or how fast a
    /// compile was) what another uploaded. The empty scope is [`ArtifactHash::of`].
    pub fn scoped(scope: &str, bytes: &[u8]) -> Self {
        if scope.is_empty() {
            return Self::of(bytes);
        }
        let mut hasher = Sha256::new();
        hasher.update((scope.len() as u64).to_le_bytes());
        hasher.update(scope.as_bytes());
        hasher.update(bytes);
        Self(hex::encode(hasher.finalize()))
    }

    /// Accepts only a well-formed hash, so a hash can never name a path outside the store.
    pub fn parse(text: &str) -> Option<Self> {
        let well_formed = text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| Self(text.to_owned()))
    }

    /// The hash as lower-case hex, as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ArtifactHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The directory of deployment files. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct ArtifactStore {
    inner: Arc<ArtifactStoreInner>,
}

#[derive(Debug)]
struct ArtifactStoreInner {
    dir: PathBuf,
    /// Identifies the engine build and settings a Cranelift artifact is valid for.
    fingerprint: String,
    /// The same for the Winch engine, when there is one.
    winch_fingerprint: Option<String>,
}

/// Why a compiled artifact could not be used; each case is answered by recompiling.
#[derive(Debug)]
pub(crate) enum StaleArtifact {
    Missing,
    ChecksumMismatch,
    Unloadable(String),
}

impl fmt::Display for StaleArtifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no compiled artifact for this engine"),
            Self::ChecksumMismatch => f.write_str("the compiled artifact fails its checksum"),
            Self::Unloadable(reason) => {
                write!(f, "the compiled artifact cannot be loaded: {reason}")
            }
        }
    }
}

impl ArtifactStore {
    pub(crate) fn open(
        dir: &Path,
        cranelift: &Engine,
        winch: Option<&Engine>,
    ) -> std::io::Result<Self> {
        create_private_dir(dir)?;
        Ok(Self {
            inner: Arc::new(ArtifactStoreInner {
                dir: dir.to_owned(),
                fingerprint: fingerprint(cranelift),
                winch_fingerprint: winch.map(fingerprint),
            }),
        })
    }

    pub(crate) fn source_path(&self, id: &ArtifactHash) -> PathBuf {
        self.inner.dir.join(format!("{id}.wasm"))
    }

    /// The tier is in the name as well as in the engine fingerprint, so that neither engine is
    /// ever handed the other's code (wasmtime would refuse it, but it need not come to that).
    /// Cranelift artifacts keep the name they had before there were tiers.
    fn compiled_path(&self, id: &ArtifactHash, tier: Tier) -> PathBuf {
        let name = match (tier, &self.inner.winch_fingerprint) {
            (Tier::Winch, Some(fingerprint)) => format!("{id}.{fingerprint}.winch.cwasm"),
            // Without a Winch engine no Winch artifact is ever written; the name only has to
            // differ from the Cranelift one.
            (Tier::Winch, None) => format!("{id}.winch.cwasm"),
            (Tier::Cranelift, _) => format!("{id}.{}.cwasm", self.inner.fingerprint),
        };
        self.inner.dir.join(name)
    }

    fn checksum_path(&self, id: &ArtifactHash, tier: Tier) -> PathBuf {
        let mut path = self.compiled_path(id, tier).into_os_string();
        path.push(".xxh3");
        path.into()
    }

    /// Every artifact with a stored source, and when that source was written.
    pub(crate) fn list(&self) -> std::io::Result<Vec<(ArtifactHash, std::time::SystemTime)>> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.inner.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(hash) = name
                .to_str()
                .and_then(|name| name.strip_suffix(".wasm"))
                .and_then(ArtifactHash::parse)
            else {
                continue;
            };
            found.push((hash, entry.metadata()?.modified()?));
        }
        Ok(found)
    }

    /// Deletes every file of an artifact: its compiled tiers first, its source last, so an
    /// interrupted removal leaves nothing that would be trusted.
    pub(crate) fn remove(&self, id: &ArtifactHash) -> std::io::Result<()> {
        self.remove_compiled(id, Tier::Winch)?;
        self.remove_compiled(id, Tier::Cranelift)?;
        match std::fs::remove_file(self.source_path(id)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    pub(crate) fn has_source(&self, id: &ArtifactHash) -> bool {
        self.source_path(id).is_file()
    }

    pub(crate) fn save_source(&self, id: &ArtifactHash, bytes: &[u8]) -> std::io::Result<()> {
        if self.has_source(id) {
            return Ok(());
        }
        write_atomically(&self.source_path(id), bytes)
    }

    pub(crate) fn read_source(&self, id: &ArtifactHash) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.source_path(id))
    }

    /// Writes the compiled artifact, then its checksum: a crash between the two leaves an
    /// artifact without checksum, which is recompiled, never trusted.
    pub(crate) fn save_compiled(
        &self,
        id: &ArtifactHash,
        tier: Tier,
        compiled: &[u8],
    ) -> std::io::Result<()> {
        write_atomically(&self.compiled_path(id, tier), compiled)?;
        write_atomically(&self.checksum_path(id, tier), checksum(compiled).as_bytes())
    }

    /// Deletes a tier's artifact (the Winch one once Cranelift's is saved). The checksum goes
    /// first, so an interrupted removal leaves nothing that would be trusted.
    pub(crate) fn remove_compiled(&self, id: &ArtifactHash, tier: Tier) -> std::io::Result<()> {
        for path in [self.checksum_path(id, tier), self.compiled_path(id, tier)] {
            match std::fs::remove_file(path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        Ok(())
    }

    /// Loads a tier's compiled artifact if it is present, intact and made by `engine` (which
    /// must be that tier's).
    pub(crate) fn load_compiled(
        &self,
        engine: &Engine,
        id: &ArtifactHash,
        tier: Tier,
    ) -> Result<Component, StaleArtifact> {
        let path = self.compiled_path(id, tier);
        let Ok(expected) = std::fs::read_to_string(self.checksum_path(id, tier)) else {
            return Err(StaleArtifact::Missing);
        };
        let Ok(file) = std::fs::File::open(&path) else {
            return Err(StaleArtifact::Missing);
        };
        // SAFETY: artifacts are only ever replaced by renaming a new file over them, never
        // written in place, so the mapped bytes cannot change while they are hashed.
        let mapped = unsafe { memmap2::MmapOptions::new().populate().map(&file) }
            .map_err(|error| StaleArtifact::Unloadable(error.to_string()))?;
        if checksum(&mapped) != expected.trim() {
            return Err(StaleArtifact::ChecksumMismatch);
        }
        drop(mapped);
        // SAFETY: the file was written by `save_compiled` from `Component::serialize` of an
        // engine with this fingerprint, and its checksum proves it is unchanged since; wasmtime
        // itself checks the engine version and settings recorded in it.
        unsafe { Component::deserialize_file(engine, &path) }
            .map_err(|error| StaleArtifact::Unloadable(format!("{error:#}")))
    }
}

fn fingerprint(engine: &Engine) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn checksum(bytes: &[u8]) -> String {
    format!("{:032x}", XxHash3_128::oneshot(bytes))
}

/// Creates the artifact directory readable by the server's user only (0700), whatever the
/// umask; the files in it are created 0600 by `tempfile`.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes through a `tempfile` (created 0600) renamed into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_hashes_are_sha256_hex_and_refuse_anything_else() {
        let hash = ArtifactHash::of(b"hello");
        assert_eq!(hash.as_str().len(), 64);
        assert_eq!(ArtifactHash::parse(hash.as_str()), Some(hash));
        assert_eq!(ArtifactHash::parse("../../etc/passwd"), None);
        assert_eq!(ArtifactHash::parse(&"A".repeat(64)), None);
    }
}
