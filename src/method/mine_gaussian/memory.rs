//! MINE on a Gaussian: the samples of a step, T with Adam, the step history, the binned MI.

use super::GaussianConfig;
use crate::method::memory::{Part, F32};
use crate::spec::LossKind;

impl GaussianConfig {
    /// The parts of a run's peak memory (unsorted).
    pub fn memory(&self) -> Vec<Part> {
        let b = self.train.batch_size as f64;
        let d = self.gaussian.dim as f64;
        let h = self.hidden as f64;
        let steps = self.steps as f64;
        let mut parts = vec![
            Part {
                key: "train.batch_size",
                what: format!("{b} samples × (3·{d} inputs + 4·{h} hidden) per step"),
                bytes: b * (3.0 * d + 4.0 * h) * F32,
            },
            Part {
                key: "model.hidden",
                what: format!("T's parameters with Adam ({h} hidden units)"),
                bytes: 4.0 * (2.0 * d * h + 2.0 * h + 1.0) * F32,
            },
            Part {
                key: "train.steps",
                what: format!("the per-step history of {steps} steps"),
                bytes: steps * 64.0,
            },
        ];
        if self.loss == LossKind::InfoNce {
            parts.push(Part {
                key: "train.batch_size",
                what: format!("InfoNCE's {b}² pairs × {h} hidden units, kept for the gradient"),
                bytes: b * b * (3.0 * h + 2.0) * F32,
            });
        }
        if let Some((n, _)) = self.binned {
            parts.push(Part {
                key: "evaluator.binned_samples",
                what: format!("{n} samples of {d} pairs for the binned MI"),
                bytes: n as f64 * 2.0 * d * 8.0,
            });
        }
        parts
    }
}
