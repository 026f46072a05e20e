//! Writes that never leave a half-written file: a temp file in the same folder, then a rename.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically (temp file + fsync + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = temp_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A temp file in `dir` (same file system as the target, so the rename is atomic), readable by
/// everyone like any other file (tempfile's default is owner-only). A failure names `dir`, not
/// the temp file's random name.
pub fn temp_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(".mirun-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o644));
    }
    b.tempfile_in(dir).map_err(|e| {
        // tempfile's error names the temp file; its kind says why.
        let why = e.kind();
        let what = if dir.is_dir() {
            format!(
                "cannot create a file in the folder {}: {why}",
                dir.display()
            )
        } else if dir.exists() {
            format!("{} is a file, not a folder", dir.display())
        } else {
            format!("the folder {} does not exist", dir.display())
        };
        std::io::Error::new(e.kind(), what)
    })
}

/// Why files cannot be written under a directory.
#[derive(Debug, thiserror::Error)]
pub enum NotWritable {
    #[error("{} is a file, expected a directory", .0.display())]
    IsFile(std::path::PathBuf),
    #[error("{} cannot be created: {} is a file", .dir.display(), .at.display())]
    UnderAFile {
        dir: std::path::PathBuf,
        at: std::path::PathBuf,
    },
    #[error("{} cannot be written ({}: {source})", .dir.display(), .at.display())]
    Refused {
        dir: std::path::PathBuf,
        at: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Whether files can be written under `dir` — now, or once it is created: `dir` (or its
/// nearest existing ancestor) must be a directory that takes a file. Nothing is left behind.
pub fn check_writable_dir(dir: &Path) -> Result<(), NotWritable> {
    if dir.exists() && !dir.is_dir() {
        return Err(NotWritable::IsFile(dir.to_path_buf()));
    }
    let mut at = dir;
    while !at.exists() {
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => {
                at = Path::new(".");
                break;
            }
        }
    }
    if !at.is_dir() {
        return Err(NotWritable::UnderAFile {
            dir: dir.to_path_buf(),
            at: at.to_path_buf(),
        });
    }
    tempfile::tempfile_in(at)
        .map(drop)
        .map_err(|source| NotWritable::Refused {
            dir: dir.to_path_buf(),
            at: at.to_path_buf(),
            source,
        })
}
