//! Making a data set ready on disk: find its four gzip IDX files (in the data dir, a local
//! mirror named by `MIRUN_DATA_MIRROR`, Debian's package, or the public mirror), decompress them
//! where the `mnist` crate reads them, and verify the SHA-256 of the decompressed bytes.

use crate::spec::DatasetKind;
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The four files of an MNIST-format data set, with their sizes once decompressed.
pub const FILES: [(&str, u64); 4] = [
    ("train-images-idx3-ubyte", 16 + 60_000 * 784),
    ("train-labels-idx1-ubyte", 8 + 60_000),
    ("t10k-images-idx3-ubyte", 16 + 10_000 * 784),
    ("t10k-labels-idx1-ubyte", 8 + 10_000),
];

/// SHA-256 of the decompressed files (a copy of `data/SHA256SUMS.raw`).
const SUMS: &str = include_str!("../../data/SHA256SUMS.raw");

/// Errors while making data ready.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{path}: {what}")]
    Io { path: PathBuf, what: String },
    #[error("{path}: corrupt data file ({what}); delete it and run `mirun data fetch {kind}`")]
    Corrupt {
        path: PathBuf,
        what: String,
        kind: &'static str,
    },
    /// Images asked of a data set that has none (`gaussian` is sampled, not loaded).
    #[error("`dataset.kind = \"{0}\"` has no images to load")]
    NoImages(&'static str),
    #[error("{kind}: could not obtain `{file}.gz`; tried:\n  - {}\nput the file in {dir} or set MIRUN_DATA_MIRROR to a folder holding `{kind}/{file}.gz`", .tried.join("\n  - "))]
    Unavailable {
        kind: &'static str,
        file: String,
        dir: PathBuf,
        tried: Vec<String>,
    },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> FetchError {
    FetchError::Io {
        path: path.to_path_buf(),
        what: e.to_string(),
    }
}

/// Expected SHA-256 (hex) of a decompressed file.
pub fn expected_sum(kind: DatasetKind, file: &str) -> Option<&'static str> {
    let want = format!("{}/{file}", kind.name());
    SUMS.lines().find_map(|l| {
        let (sum, name) = l.split_once("  ")?;
        (name.trim() == want).then_some(sum)
    })
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, FetchError> {
    let mut f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| io_err(path, e))?;
    Ok(format!("{:x}", h.finalize()))
}

/// Checks, without fetching, that a run could get its data: each file is decompressed already,
/// or its `.gz` is in the data dir or the mirror (Fashion-MNIST can also come from Debian).
pub fn check_available(spec: &crate::spec::DatasetSpec) -> Result<(), FetchError> {
    if !spec.kind.is_image() {
        return Ok(());
    }
    let folder = spec.dir.join(spec.kind.name());
    let mirror = std::env::var_os("MIRUN_DATA_MIRROR").map(PathBuf::from);
    for (file, _) in FILES {
        let gz = format!("{file}.gz");
        let here = folder.join(file).is_file() || folder.join(&gz).is_file();
        let in_mirror = mirror
            .as_ref()
            .is_some_and(|m| m.join(spec.kind.name()).join(&gz).is_file());
        if !(here || in_mirror) {
            return Err(FetchError::Io {
                path: folder.join(file),
                what: format!(
                    "data file missing; run `mirun data fetch {}` (or set MIRUN_DATA_MIRROR)",
                    spec.kind.name()
                ),
            });
        }
    }
    Ok(())
}

/// What `ensure` did for one file, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// Already decompressed and verified.
    Ready,
    /// Decompressed from the named `.gz`.
    Extracted(String),
}

/// Makes `<dir>/<kind>/` hold the four verified IDX files; returns that folder.
pub fn ensure(kind: DatasetKind, dir: &Path) -> Result<(PathBuf, Vec<Provenance>), FetchError> {
    let folder = dir.join(kind.name());
    if !kind.is_image() {
        return Ok((folder, Vec::new()));
    }
    std::fs::create_dir_all(&folder).map_err(|e| io_err(&folder, e))?;
    let mut done = Vec::new();
    for (file, size) in FILES {
        let raw = folder.join(file);
        let want = expected_sum(kind, file).unwrap_or_default();
        if raw.is_file() {
            let len = std::fs::metadata(&raw).map_err(|e| io_err(&raw, e))?.len();
            if len == size && sha256_file(&raw)? == want {
                done.push(Provenance::Ready);
                continue;
            }
            return Err(FetchError::Corrupt {
                path: raw,
                what: if len == size {
                    "its SHA-256 does not match the published sum".into()
                } else {
                    format!("{len} bytes, expected {size}")
                },
                kind: kind.name(),
            });
        }
        let gz = obtain_gz(kind, &folder, file)?;
        extract_verified(&gz, &raw, size, want, kind)?;
        done.push(Provenance::Extracted(gz.display().to_string()));
    }
    Ok((folder, done))
}

/// Finds or downloads `<file>.gz` into `folder`.
fn obtain_gz(kind: DatasetKind, folder: &Path, file: &str) -> Result<PathBuf, FetchError> {
    let gz_name = format!("{file}.gz");
    let local = folder.join(&gz_name);
    let mut tried = vec![format!("{} (not there)", local.display())];
    if local.is_file() {
        return Ok(local);
    }
    if let Ok(mirror) = std::env::var("MIRUN_DATA_MIRROR") {
        let src = Path::new(&mirror).join(kind.name()).join(&gz_name);
        if src.is_file() {
            copy_atomic(&src, &local)?;
            return Ok(local);
        }
        tried.push(format!("MIRUN_DATA_MIRROR: {} (not there)", src.display()));
    } else {
        tried.push("MIRUN_DATA_MIRROR (not set)".into());
    }
    if kind == DatasetKind::FashionMnist {
        match from_debian(folder) {
            Ok(()) if local.is_file() => return Ok(local),
            Ok(()) => tried.push("Debian package dataset-fashion-mnist (file not in it)".into()),
            Err(e) => tried.push(format!("Debian package dataset-fashion-mnist ({e})")),
        }
    }
    let url = match kind {
        DatasetKind::Mnist => format!("https://ossci-datasets.s3.amazonaws.com/mnist/{gz_name}"),
        DatasetKind::FashionMnist => {
            format!("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{gz_name}")
        }
        DatasetKind::Gaussian => String::new(),
    };
    match download(&url, &local) {
        Ok(()) => return Ok(local),
        Err(e) => tried.push(format!("{url} ({e})")),
    }
    Err(FetchError::Unavailable {
        kind: kind.name(),
        file: file.into(),
        dir: folder.to_path_buf(),
        tried,
    })
}

fn copy_atomic(src: &Path, dst: &Path) -> Result<(), FetchError> {
    let parent = dst.parent().unwrap_or(Path::new("."));
    let tmp = crate::store::atomic::temp_in(parent).map_err(|e| io_err(dst, e))?;
    std::fs::copy(src, tmp.path()).map_err(|e| io_err(src, e))?;
    tmp.persist(dst).map_err(|e| io_err(dst, e.error))?;
    Ok(())
}

/// Why one source of a data file failed (listed among the places tried).
#[derive(Debug, thiserror::Error)]
enum SourceFailed {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("could not run {tool}: {source}")]
    NoTool {
        tool: &'static str,
        source: std::io::Error,
    },
    #[error("{0}")]
    ToolFailed(String),
    #[error("no .deb downloaded")]
    NoDeb,
    #[error(transparent)]
    Copy(#[from] FetchError),
}

fn download(url: &str, dst: &Path) -> Result<(), SourceFailed> {
    let parent = dst.parent().unwrap_or(Path::new("."));
    let tmp = crate::store::atomic::temp_in(parent)?;
    let status = Command::new("curl")
        .args(["-fsSL", "--max-time", "300", "-o"])
        .arg(tmp.path())
        .arg(url)
        .status()
        .map_err(|source| SourceFailed::NoTool {
            tool: "curl",
            source,
        })?;
    if !status.success() {
        return Err(SourceFailed::ToolFailed(format!("curl failed ({status})")));
    }
    tmp.persist(dst).map_err(|e| e.error)?;
    Ok(())
}

/// `apt-get download dataset-fashion-mnist` and unpack its `.gz` files into `folder`.
fn from_debian(folder: &Path) -> Result<(), SourceFailed> {
    let work = tempfile::tempdir()?;
    // apt's sandbox user must be able to write the download there.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o777));
    }
    let ok = Command::new("apt-get")
        .args(["download", "-qq", "dataset-fashion-mnist"])
        .current_dir(work.path())
        .status()
        .map_err(|source| SourceFailed::NoTool {
            tool: "apt-get",
            source,
        })?
        .success();
    if !ok {
        return Err(SourceFailed::ToolFailed("apt-get download failed".into()));
    }
    let deb = std::fs::read_dir(work.path())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or(SourceFailed::NoDeb)?;
    let root = work.path().join("root");
    let ok = Command::new("dpkg")
        .arg("-x")
        .arg(&deb)
        .arg(&root)
        .status()
        .map_err(|source| SourceFailed::NoTool {
            tool: "dpkg",
            source,
        })?
        .success();
    if !ok {
        return Err(SourceFailed::ToolFailed("dpkg -x failed".into()));
    }
    let src = root.join("usr/share/datasets/fashion-mnist");
    for (file, _) in FILES {
        let gz = src.join(format!("{file}.gz"));
        if gz.is_file() {
            copy_atomic(&gz, &folder.join(format!("{file}.gz")))?;
        }
    }
    Ok(())
}

/// Decompresses `gz` to `raw` through a temp file, checking size and SHA-256 before the rename.
fn extract_verified(
    gz: &Path,
    raw: &Path,
    size: u64,
    want: &str,
    kind: DatasetKind,
) -> Result<(), FetchError> {
    let parent = raw.parent().unwrap_or(Path::new("."));
    let mut tmp = crate::store::atomic::temp_in(parent).map_err(|e| io_err(parent, e))?;
    let f = std::fs::File::open(gz).map_err(|e| io_err(gz, e))?;
    let mut dec = GzDecoder::new(std::io::BufReader::new(f));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = dec.read(&mut buf).map_err(|e| FetchError::Corrupt {
            path: gz.to_path_buf(),
            what: format!("not a valid gzip file: {e}"),
            kind: kind.name(),
        })?;
        if n == 0 {
            break;
        }
        len += n as u64;
        h.update(&buf[..n]);
        std::io::Write::write_all(&mut tmp, &buf[..n]).map_err(|e| io_err(raw, e))?;
    }
    let got = format!("{:x}", h.finalize());
    if len != size || got != want {
        return Err(FetchError::Corrupt {
            path: gz.to_path_buf(),
            what: format!(
                "decompresses to {len} bytes with SHA-256 {got}, expected {size} bytes with {want}"
            ),
            kind: kind.name(),
        });
    }
    tmp.persist(raw).map_err(|e| io_err(raw, e.error))?;
    Ok(())
}
