//! The optimiser and the reference's step schedule: `lr · lr_decay^(epoch div lr_decay_every)`,
//! resolved from `[train]` into the numbers training needs.

use crate::spec::TrainSpec;
use burn::optim::{AdamConfig, ModuleOptimizer};

/// How a method is optimised: epochs, batch, Adam's settings and the learning-rate steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub epochs: usize,
    /// Pairs (or samples) per step.
    pub batch_size: usize,
    pub lr: f64,
    pub lr_decay: f64,
    pub lr_decay_every: usize,
    /// Adam's epsilon (Keras' 1e-7 by default; burn's own default is 1e-5).
    pub adam_eps: f64,
}

impl Schedule {
    /// The schedule `[train]` declares.
    pub fn of(t: &TrainSpec) -> Self {
        Schedule {
            epochs: t.epochs,
            batch_size: t.batch_size,
            lr: t.lr,
            lr_decay: t.lr_decay,
            lr_decay_every: t.lr_decay_every,
            adam_eps: t.adam_eps,
        }
    }

    /// Adam with this schedule's epsilon.
    pub fn adam(&self) -> ModuleOptimizer {
        AdamConfig::new().with_epsilon(self.adam_eps as f32).init()
    }

    /// Learning rate for a 0-based `epoch`.
    pub fn lr_at(&self, epoch: usize) -> f64 {
        self.lr
            * self
                .lr_decay
                .powi((epoch / self.lr_decay_every.max(1)) as i32)
    }
}
