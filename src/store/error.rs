//! What can go wrong writing or reading a run's files; every error names the file.

use std::path::PathBuf;

/// A failed read or write of a run's files.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", .path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: burn::store::RecordError,
    },
    #[error("{}: no saved weights there", .0.display())]
    NoWeights(PathBuf),
    #[error("{}: weights do not fit the run's model: {source}", .path.display())]
    Mismatch {
        path: PathBuf,
        #[source]
        source: burn::store::RecordError,
    },
    #[error("{}: not a mirun checkpoint: {message}", .path.display())]
    BadCheckpoint { path: PathBuf, message: String },
    #[error("{}: rows cannot be written: {what}", .path.display())]
    Table { path: PathBuf, what: String },
    #[error("{}: no checkpoint", .0.display())]
    NoCheckpoint(PathBuf),
}

impl StoreError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}
