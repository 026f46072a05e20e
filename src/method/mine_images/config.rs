//! A MINE-on-images pipeline's config, resolved once from a validated spec.

use super::super::filled;
use crate::data::Views;
use crate::model::{BackboneConfig, CriticConfig, MineImageNetConfig};
use crate::spec::{CriticKind, EvaluatorKind, LossKind, Spec};
use crate::train::schedule::Schedule;
use crate::train::TrainError;

/// A MINE-on-images pipeline, resolved once from its spec.
#[derive(Debug, Clone)]
pub struct MineImagesConfig {
    pub seed: u64,
    pub net: MineImageNetConfig,
    pub augment: Views,
    pub train: Schedule,
    pub loss: LossKind,
    /// Rate of the moving average, for the bound that keeps one (`mine_ema`).
    pub ema_rate: Option<f64>,
    /// Whether every epoch's codes are scored by the linear probe (`linear_probe` listed).
    pub probe: bool,
    /// Training epochs of the linear probe (the default where no probe is listed: `mirun
    /// eval` may still score one).
    pub probe_epochs: usize,
}

impl MineImagesConfig {
    /// Reads a loaded spec (validated, its defaults filled by `spec::load`).
    pub fn resolve(spec: &Spec) -> Result<Self, TrainError> {
        let e = &spec.evaluator;
        Ok(Self {
            seed: spec.pipeline.seed,
            net: MineImageNetConfig {
                backbone: BackboneConfig::from_spec(
                    &spec.backbone,
                    spec.image_shape().channels,
                    spec.train.precision,
                )?,
                input_size: spec.augment.size,
                latent: filled(spec.model.latent_dim, "model.latent_dim")?,
                critic: match spec.model.critic.unwrap_or_default() {
                    CriticKind::Concat => CriticConfig::Concat {
                        hidden: filled(spec.model.hidden, "model.hidden")?,
                    },
                    CriticKind::Cosine => CriticConfig::Cosine {
                        temperature: filled(spec.model.temperature, "model.temperature")?,
                    },
                },
            },
            augment: Views::of(&spec.augment),
            train: Schedule::of(&spec.train),
            loss: spec.loss.kind,
            ema_rate: match spec.loss.kind {
                LossKind::MineEma => Some(filled(spec.loss.ema_rate, "loss.ema_rate")?),
                _ => None,
            },
            probe: e.has(EvaluatorKind::LinearProbe),
            probe_epochs: match e.has(EvaluatorKind::LinearProbe) {
                true => filled(e.probe_epochs, "evaluator.probe_epochs")?,
                false => crate::spec::defaults::PROBE_EPOCHS,
            },
        })
    }
}
