//! Losses for clustering heads (the `loss.kind` of an IIC pipeline): each a type implementing
//! [`HeadLoss`], and [`head_loss`], the registry that builds the one a `loss.kind` names. A new
//! head loss is its type (here or in its own file), its arm in [`head_loss`] and its
//! `LossKind` variant (with its name); validation and a default only if it has a key.

use super::{confident_targets, iic_loss, self_label_loss};
use crate::backend::{read_f32, BackendError};
use crate::spec::LossKind;
use burn::tensor::Tensor;
use std::sync::Arc;

/// A loss on one head's cluster probabilities `z` (`[(1 + copies)·b, K]`), laid out as
/// `copies_batch` lays a batch out: `b` originals, then `copies` blocks of `b` twins.
pub trait HeadLoss: std::fmt::Debug + Send + Sync {
    /// The loss, a one-element tensor (reading values back may fail on a device).
    fn loss(&self, z: Tensor<2>, b: usize, copies: usize) -> Result<Tensor<1>, BackendError>;
}

/// IIC: minus the mutual information of the originals' and the twins' cluster assignments,
/// the marginals' entropy weighted by λ (probabilities clipped at `eps`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Iic {
    pub eps: f64,
    pub entropy_weight: f64,
}

impl HeadLoss for Iic {
    fn loss(&self, z: Tensor<2>, b: usize, copies: usize) -> Result<Tensor<1>, BackendError> {
        let originals = z.clone().narrow(0, 0, b);
        let tiled = Tensor::cat(vec![originals; copies], 0);
        Ok(iic_loss(
            tiled,
            z.narrow(0, b, copies * b),
            self.eps,
            self.entropy_weight,
        ))
    }
}

/// Self-labelling (SCAN's last stage): the originals whose top probability reaches `threshold`
/// label their twins, trained by class-balanced cross-entropy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfLabel {
    pub eps: f64,
    pub threshold: f64,
}

impl HeadLoss for SelfLabel {
    fn loss(&self, z: Tensor<2>, b: usize, copies: usize) -> Result<Tensor<1>, BackendError> {
        let k = z.dims()[1];
        let weak = read_f32(z.clone().narrow(0, 0, b))?;
        let (targets, weights) = confident_targets(&weak, k, self.threshold);
        Ok(self_label_loss(
            z.narrow(0, b, copies * b),
            &targets,
            &weights,
            self.eps,
        ))
    }
}

/// A key a head loss needs that the spec's defaults should have filled.
#[derive(Debug, thiserror::Error)]
#[error("{0} has no value: the spec's defaults were not filled")]
pub struct Unfilled(pub &'static str);

/// The head loss `kind` names, from the `[loss]` values it reads (`None` for a MINE bound).
pub fn head_loss(
    kind: LossKind,
    eps: f64,
    entropy_weight: f64,
    threshold: Option<f64>,
) -> Result<Option<Arc<dyn HeadLoss>>, Unfilled> {
    Ok(match kind {
        LossKind::Iic => Some(Arc::new(Iic {
            eps,
            entropy_weight,
        })),
        LossKind::SelfLabel => Some(Arc::new(SelfLabel {
            eps,
            threshold: threshold.ok_or(Unfilled("loss.threshold"))?,
        })),
        LossKind::Mine | LossKind::MineEma | LossKind::Nwj | LossKind::InfoNce => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_builds_head_losses_and_only_those() {
        for kind in LossKind::MINE {
            assert!(
                head_loss(kind, 1e-7, 1.0, None).unwrap().is_none(),
                "{kind:?}"
            );
        }
        assert!(head_loss(LossKind::Iic, 1e-7, 1.0, None).unwrap().is_some());
        assert!(head_loss(LossKind::SelfLabel, 1e-7, 1.0, Some(0.9))
            .unwrap()
            .is_some());
        let err = head_loss(LossKind::SelfLabel, 1e-7, 1.0, None).unwrap_err();
        assert!(err.to_string().contains("loss.threshold"), "{err}");
    }
}
