//! A MINE-on-a-Gaussian pipeline's config, resolved once from a validated spec.

use super::super::filled;
use crate::data::Gaussian;
use crate::spec::{EvaluatorKind, LossKind, MarginalKind, Spec};
use crate::train::schedule::Schedule;
use crate::train::TrainError;

/// A MINE-on-a-Gaussian pipeline, resolved once from its spec.
#[derive(Debug, Clone)]
pub struct GaussianConfig {
    pub seed: u64,
    pub gaussian: Gaussian,
    pub marginal: MarginalKind,
    /// Width of T's hidden layer.
    pub hidden: usize,
    /// Which MINE bound T maximises.
    pub loss: LossKind,
    /// Rate of the moving average, for the bound that keeps one (`mine_ema`).
    pub ema_rate: Option<f64>,
    pub train: Schedule,
    pub steps: usize,
    pub analytic: bool,
    /// `(samples, bins per axis)` of the binned estimate, when it is asked for.
    pub binned: Option<(usize, usize)>,
}

impl GaussianConfig {
    /// Reads a loaded spec (validated, its defaults filled by `spec::load`).
    pub fn resolve(spec: &Spec) -> Result<Self, TrainError> {
        let e = &spec.evaluator;
        Ok(Self {
            seed: spec.pipeline.seed,
            gaussian: Gaussian {
                rho: filled(spec.dataset.cov_xy, "dataset.cov_xy")?,
                dim: filled(spec.dataset.dim, "dataset.dim")?,
            },
            marginal: spec.dataset.marginal.unwrap_or_default(),
            hidden: filled(spec.model.hidden, "model.hidden")?,
            loss: spec.loss.kind,
            ema_rate: match spec.loss.kind {
                LossKind::MineEma => Some(filled(spec.loss.ema_rate, "loss.ema_rate")?),
                _ => None,
            },
            train: Schedule::of(&spec.train),
            steps: filled(spec.train.steps, "train.steps")?,
            analytic: e.has(EvaluatorKind::AnalyticMi),
            binned: match e.has(EvaluatorKind::BinnedMi) {
                true => Some((
                    filled(e.binned_samples, "evaluator.binned_samples")?,
                    filled(e.bins, "evaluator.bins")?,
                )),
                false => None,
            },
        })
    }
}
