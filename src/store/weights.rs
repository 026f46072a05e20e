//! Model weights in a run directory (burn's burnpack format): `weights-last.bpk` after every
//! epoch and `weights-best.bpk` at the epoch whose selected head had the lowest loss (by the
//! run's selection criterion).

use super::StoreError;
use burn::module::Module;
use burn::store::ModuleRecord;
use std::path::Path;

/// Which saved weights to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// After the last finished epoch.
    Last,
    /// At the lowest loss of the selected head (by the run's selection criterion) — chosen
    /// without labels.
    Best,
}

impl Which {
    /// `last` or `best`.
    pub fn name(self) -> &'static str {
        match self {
            Which::Last => "last",
            Which::Best => "best",
        }
    }

    /// File name inside a run directory.
    pub fn file_name(self) -> String {
        format!("weights-{}.bpk", self.name())
    }
}

/// Saves `model`'s parameters to `path` atomically (temp file + rename).
pub fn save<M: Module + Clone>(model: &M, path: &Path) -> Result<(), StoreError> {
    save_record(path, |tmp| model.clone().into_record().save(tmp))
}

/// Writes a burn record to `path` atomically: `save` writes it to a temp file beside `path`,
/// which then replaces `path`.
pub(crate) fn save_record(
    path: &Path,
    save: impl FnOnce(&Path) -> Result<(), burn::store::RecordError>,
) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = super::atomic::temp_in(dir).map_err(|e| StoreError::io(path, e))?;
    save(tmp.path()).map_err(|source| StoreError::Record {
        path: path.into(),
        source,
    })?;
    tmp.persist(path)
        .map_err(|e| StoreError::io(path, e.error))?;
    Ok(())
}

/// Loads parameters saved by [`save`] into `model` (built from the same config).
pub fn load<M: Module>(model: M, path: &Path) -> Result<M, StoreError> {
    if !path.is_file() {
        return Err(StoreError::NoWeights(path.into()));
    }
    let record = ModuleRecord::load(path).map_err(|source| StoreError::Record {
        path: path.into(),
        source,
    })?;
    model
        .try_load_record(record)
        .map_err(|source| StoreError::Mismatch {
            path: path.into(),
            source,
        })
}
