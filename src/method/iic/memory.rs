//! IIC's memory estimate: the backbone on every original and its copies, and the heads.

use super::IicConfig;
use crate::method::memory::{image_parts, Part, F32};

impl IicConfig {
    /// The parts of a step's peak memory (unsorted), with `images` bytes of data held.
    pub fn memory(&self, images: f64) -> Vec<Part> {
        let net = &self.net;
        let b = self.train.batch_size as f64;
        let rows = (1 + self.augment.copies) as f64 * b;
        let (mut parts, features) = image_parts(&net.backbone, net.input_size, rows, images);
        let heads = net.heads as f64;
        let clusters = net.clusters as f64;
        let over = net.overcluster.unwrap_or(0) as f64;
        let outputs = match net.overcluster {
            Some(o) => format!("({clusters} + {o} over-clustering)"),
            None => format!("{clusters}"),
        };
        parts.push(Part {
            key: "heads.count",
            what: format!(
                "{heads} heads × {features} features × {outputs} clusters with Adam, and their \
                 outputs"
            ),
            bytes: heads * (4.0 * features * (clusters + over) + rows * (clusters + over)) * F32,
        });
        parts
    }
}
