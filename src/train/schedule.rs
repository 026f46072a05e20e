//! The optimiser and the reference's step schedule: `lr · lr_decay^(epoch div lr_decay_every)`.

use crate::spec::TrainSpec;
use burn::optim::{AdamConfig, ModuleOptimizer};

/// Adam with the spec's epsilon (Keras' 1e-7 by default; burn's own default is 1e-5).
pub fn adam(t: &TrainSpec) -> ModuleOptimizer {
    AdamConfig::new().with_epsilon(t.adam_eps as f32).init()
}

/// Learning rate for a 0-based `epoch`.
pub fn lr_at(t: &TrainSpec, epoch: usize) -> f64 {
    t.lr * t.lr_decay.powi((epoch / t.lr_decay_every.max(1)) as i32)
}
