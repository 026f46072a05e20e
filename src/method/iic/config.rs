//! An IIC pipeline's config, resolved once from a validated spec: every value IIC reads, no
//! defaults left to apply.

use super::super::filled;
use crate::data::Views;
use crate::model::{BackboneConfig, IicNetConfig};
use crate::objective::{head_loss, HeadLoss};
use crate::spec::{AuxSchedule, EvaluatorKind, HeadSelect, MergeRule, Spec};
use crate::train::schedule::Schedule;
use crate::train::TrainError;
use std::sync::Arc;

/// λ when `loss.entropy_weight` is not set: the loss is minus the mutual information. (Not
/// filled into the resolved config, so the run ids of runs made before the key existed hold.)
pub const ENTROPY_WEIGHT: f64 = 1.0;

/// An IIC pipeline, resolved once from its spec: only what IIC reads, no options left.
#[derive(Debug, Clone)]
pub struct IicConfig {
    pub seed: u64,
    pub net: IicNetConfig,
    pub augment: Views,
    pub train: Schedule,
    /// Probabilities below this are clipped before taking logs.
    pub eps: f64,
    /// λ: weight of the marginals' entropy in the loss (1 = minus the mutual information).
    pub entropy_weight: f64,
    /// What the main heads minimise (`loss.kind`).
    pub loss: Arc<dyn HeadLoss>,
    /// How the reported head is chosen.
    pub select: HeadSelect,
    /// How the over-clustering heads share the steps (when there are any).
    pub aux_schedule: Option<AuxSchedule>,
    /// Clustering evaluators reported beside Hungarian accuracy.
    pub extra: Vec<EvaluatorKind>,
    /// The sub-head lottery, when it runs.
    pub lottery: Option<Lottery>,
    /// How surplus clusters are merged down to the classes before scoring, if they are.
    pub merge: Option<MergeRule>,
}

/// The sub-head lottery: every `every` steps, re-initialise the heads whose mean loss over
/// those steps lags the best head's by more than `margin` nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lottery {
    pub every: usize,
    pub margin: f64,
}

impl Lottery {
    /// The heads to re-initialise after step `step` (0-based) of an epoch, given the losses of
    /// the epoch's earlier steps and of this one: none unless a full window of `every` steps
    /// ends here.
    pub fn losers(&self, history: &[Vec<f64>], now: &[f64], step: usize) -> Vec<usize> {
        if !(step + 1).is_multiple_of(self.every) || history.len() + 1 < self.every {
            return Vec::new();
        }
        let window = history[history.len() + 1 - self.every..]
            .iter()
            .map(Vec::as_slice)
            .chain([now]);
        let mut sums = vec![0f64; now.len()];
        for values in window {
            for (s, v) in sums.iter_mut().zip(values) {
                *s += v;
            }
        }
        let best = sums.iter().copied().fold(f64::INFINITY, f64::min);
        let limit = best + self.margin * self.every as f64;
        (0..sums.len()).filter(|&h| sums[h] > limit).collect()
    }
}

impl IicConfig {
    /// Reads a loaded spec (validated, its defaults filled by `spec::load`).
    pub fn resolve(spec: &Spec) -> Result<Self, TrainError> {
        Ok(Self {
            seed: spec.pipeline.seed,
            net: IicNetConfig {
                backbone: BackboneConfig::from_spec(
                    &spec.backbone,
                    spec.image_shape().channels,
                    spec.train.precision,
                )?,
                input_size: spec.augment.size,
                heads: spec.heads.count,
                clusters: spec.clusters(),
                overcluster: spec.heads.overcluster,
            },
            augment: Views::of(&spec.augment),
            train: Schedule::of(&spec.train),
            eps: spec.loss.eps,
            entropy_weight: spec.loss.entropy_weight.unwrap_or(ENTROPY_WEIGHT),
            loss: head_loss(
                spec.loss.kind,
                spec.loss.eps,
                spec.loss.entropy_weight.unwrap_or(ENTROPY_WEIGHT),
                spec.loss.threshold,
            )
            .map_err(|e| TrainError::Model(e.to_string()))?
            .ok_or_else(|| {
                TrainError::Model(format!(
                    "loss.kind {:?} is a MINE bound, not a loss for clustering heads",
                    spec.loss.kind
                ))
            })?,
            aux_schedule: spec.heads.aux_schedule,
            select: spec.heads.select.unwrap_or_default(),
            extra: spec.evaluator.extra(),
            merge: spec.heads.merge,
            lottery: match spec.heads.lottery_every {
                Some(every) => Some(Lottery {
                    every,
                    margin: filled(spec.heads.lottery_margin, "heads.lottery_margin")?,
                }),
                None => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Lottery;

    #[test]
    fn the_lottery_draws_at_the_end_of_each_full_window_only() {
        let l = Lottery {
            every: 2,
            margin: 0.1,
        };
        let history = vec![vec![-1.0, -0.5, -0.95]];
        // Step 1 ends the first window of 2 steps: head 1 lags by 0.5 per step, head 2 by 0.05.
        assert_eq!(l.losers(&history, &[-1.0, -0.5, -0.95], 1), vec![1]);
        // Step 0 ends no window.
        assert!(l.losers(&[], &[-1.0, -0.5, -0.95], 0).is_empty());
        // A zero margin re-initialises every head but the best.
        let l0 = Lottery {
            every: 1,
            margin: 0.0,
        };
        assert_eq!(l0.losers(&[], &[-1.0, -0.5, -0.9], 0), vec![1, 2]);
    }
}
