//! MINE on images: the encoder on both views, the code layer, and the critic on its pairs.

use super::MineImagesConfig;
use crate::method::memory::{image_parts, Part, F32};
use crate::model::CriticConfig;
use crate::spec::LossKind;

impl MineImagesConfig {
    /// The parts of a step's peak memory (unsorted), with `images` bytes of data held.
    pub fn memory(&self, images: f64) -> Vec<Part> {
        let net = &self.net;
        let b = self.train.batch_size as f64;
        let (mut parts, features) = image_parts(&net.backbone, net.input_size, 2.0 * b, images);
        let latent = net.latent as f64;
        parts.push(Part {
            key: "model.latent_dim",
            what: format!("the {latent}-dimensional code layer with Adam"),
            bytes: 4.0 * features * latent * F32,
        });
        let pairs = if self.loss == LossKind::InfoNce {
            b * b
        } else {
            2.0 * b
        };
        parts.push(match net.critic {
            CriticConfig::Cosine { .. } => Part {
                key: "train.batch_size",
                what: format!("the cosine critic on {pairs} pairs"),
                bytes: pairs * 3.0 * F32,
            },
            CriticConfig::Concat { hidden } => {
                let hidden = hidden as f64;
                Part {
                    key: "model.hidden",
                    what: format!("T's {hidden} hidden units on {pairs} pairs, and its weights"),
                    bytes: (pairs * 3.0 * hidden + 4.0 * (2.0 * latent * hidden + hidden)) * F32,
                }
            }
        });
        parts
    }
}
