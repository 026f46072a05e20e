//! Crash safety: after every epoch but the last, the model and the optimizer state are saved as
//! `ckpt-<epoch>-model.bpk` / `ckpt-<epoch>-optim.bpk`, then `checkpoint.toml` is atomically
//! switched to that epoch and older files are removed. Data order and augmentation are pure
//! functions of (seed, epoch, position), so nothing else is needed to continue exactly.

use crate::store::weights;
use crate::store::{write_atomic, StoreError};
use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use std::path::{Path, PathBuf};

const META: &str = "checkpoint.toml";

/// The checkpoint of one run directory.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    /// Epochs finished (1-based count).
    epoch: usize,
    model: String,
    optim: String,
    /// `mine_ema`'s moving average of E_marginal[e^T], when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ema: Option<f64>,
}

impl Checkpoint {
    /// The checkpoint kept in `run_dir`.
    pub fn new(run_dir: &Path) -> Self {
        Self {
            dir: run_dir.to_path_buf(),
        }
    }

    fn meta(&self) -> Result<Option<Meta>, StoreError> {
        let path = self.dir.join(META);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| StoreError::io(&path, e))?;
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::BadCheckpoint {
                message: e.message().to_string(),
                path,
            })
    }

    /// Epochs finished according to the checkpoint, if there is one.
    pub fn latest(&self) -> Result<Option<usize>, StoreError> {
        Ok(self.meta()?.map(|m| m.epoch))
    }

    /// Saves the state after `epoch` epochs (`ema`: a loss's moving average, if any).
    pub fn save<M: Module + Clone>(
        &self,
        epoch: usize,
        model: &M,
        optim: &ModuleOptimizer,
        ema: Option<f64>,
    ) -> Result<(), StoreError> {
        let meta = Meta {
            epoch,
            ema,
            model: format!("ckpt-{epoch}-model.bpk"),
            optim: format!("ckpt-{epoch}-optim.bpk"),
        };
        weights::save(model, &self.dir.join(&meta.model))?;
        weights::save_record(&self.dir.join(&meta.optim), |tmp| {
            optim.to_record().save(tmp)
        })?;
        // A struct of plain fields always serialises.
        let text = toml::to_string(&meta).unwrap_or_default();
        let meta_path = self.dir.join(META);
        write_atomic(&meta_path, text.as_bytes()).map_err(|e| StoreError::io(&meta_path, e))?;
        self.remove_other_than(Some(epoch));
        Ok(())
    }

    /// Loads the saved model and optimizer state into fresh ones; returns the epochs finished
    /// and the saved moving average.
    pub fn load<M: Module>(
        &self,
        model: M,
        optim: ModuleOptimizer,
    ) -> Result<(usize, M, ModuleOptimizer, Option<f64>), StoreError> {
        let meta = self
            .meta()?
            .ok_or_else(|| StoreError::NoCheckpoint(self.dir.clone()))?;
        let model = weights::load(model, &self.dir.join(&meta.model))?;
        let path = self.dir.join(&meta.optim);
        let record = OptimizerRecord::load(&path).map_err(|source| StoreError::Record {
            path: path.clone(),
            source,
        })?;
        Ok((meta.epoch, model, optim.load_record(record), meta.ema))
    }

    /// Removes the checkpoint (a fresh start, or a finished run).
    pub fn clear(&self) {
        let _ = std::fs::remove_file(self.dir.join(META));
        self.remove_other_than(None);
    }

    fn remove_other_than(&self, keep: Option<usize>) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("ckpt-") else {
                continue;
            };
            let epoch = rest.split('-').next().and_then(|n| n.parse::<usize>().ok());
            if epoch.is_some() && epoch != keep {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// How a training loop uses a run's checkpoint: where it lives and whether to start from it.
#[derive(Debug, Clone, Copy)]
pub struct Checkpointing<'a> {
    pub at: &'a Checkpoint,
    pub resume: bool,
}

impl Checkpointing<'_> {
    /// The epochs already done, the model, the optimizer and the moving average: from the
    /// checkpoint when resuming, else the fresh ones given (0 epochs done).
    pub fn restore<M: Module>(
        self,
        model: M,
        optim: ModuleOptimizer,
        ema: Option<f64>,
    ) -> Result<(usize, M, ModuleOptimizer, Option<f64>), StoreError> {
        if self.resume {
            self.at.load(model, optim)
        } else {
            Ok((0, model, optim, ema))
        }
    }

    /// Saves the state after `done` of `epochs` epochs; after the last one there is nothing to
    /// resume, so nothing is saved.
    pub fn save_between<M: Module + Clone>(
        self,
        done: usize,
        epochs: usize,
        model: &M,
        optim: &ModuleOptimizer,
        ema: Option<f64>,
    ) -> Result<(), StoreError> {
        if done < epochs {
            self.at.save(done, model, optim, ema)?;
        }
        Ok(())
    }
}
