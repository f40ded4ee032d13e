//! Files only the server's user may read: directories 0700 and files 0600, set explicitly
//! rather than left to the umask, and secrets written so a crash never leaves half of one.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and any missing parents with mode 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(DIR_MODE);
    builder.create(dir)
}

/// Creates `dir` (0700) or narrows an existing one that others may enter; says so in the log.
pub fn create_or_narrow_dir(dir: &Path) -> io::Result<()> {
    create_dir(dir)?;
    #[cfg(unix)]
    {
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != DIR_MODE {
            tracing::warn!(
                dir = %dir.display(),
                mode = format!("{mode:o}"),
                "narrowing the directory's mode to 0700: it holds secrets and uploads"
            );
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))?;
        }
    }
    Ok(())
}

/// Creates (or truncates) `path` for writing with mode 0600.
pub fn create_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(FILE_MODE);
    options.open(path)
}

/// Writes the secret file `path` (0600) atomically: a temporary file in the same directory,
/// synced, renamed into place, then the directory synced so the name survives a crash. A
/// reader never sees a partial secret.
pub fn write_secret(path: &Path, contents: &str) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = create_file(&temporary).and_then(|mut file| {
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    });
    if let Err(error) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    File::open(dir)?.sync_all()
}
