//! The reference's step schedule: `lr · lr_decay^(epoch div lr_decay_every)`.

use crate::spec::TrainSpec;

/// Learning rate for a 0-based `epoch`.
pub fn lr_at(t: &TrainSpec, epoch: usize) -> f64 {
    t.lr * t.lr_decay.powi((epoch / t.lr_decay_every.max(1)) as i32)
}
