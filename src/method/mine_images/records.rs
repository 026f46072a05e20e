//! What a MINE-on-images epoch produced and the `metrics.csv` row it becomes (written and read
//! back by the same definition).

use crate::store::{Dec, Sci};

/// One epoch of MINE on images.
#[derive(Debug, Clone, PartialEq)]
pub struct MineEpoch {
    /// 1-based.
    pub epoch: usize,
    pub lr: f64,
    pub seconds: f64,
    /// Mean training loss (minus the bound), nats.
    pub loss: f64,
    /// Mean of the DV bound over the epoch's batches: MINE's estimate of I(E(x); E(G(x))).
    pub estimate: f64,
    /// Probe fitted on train-set codes, scored on test-set codes (the honest number).
    pub probe_heldout: Option<f64>,
    /// Probe fitted and scored on the test-set codes (the reference's protocol).
    pub probe_book: Option<f64>,
}

/// A row of a MINE-on-images run's `metrics.csv`: one per epoch (probe columns empty when
/// the probe did not run), written and read back by this definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricsRow {
    pub epoch: usize,
    pub loss: Dec<6>,
    pub mi_estimate: Dec<6>,
    pub probe_heldout: Option<Dec<6>>,
    pub probe_book: Option<Dec<6>>,
    pub lr: Sci,
    pub seconds: Dec<3>,
}

impl MetricsRow {
    /// The row of one epoch.
    pub fn of(r: &MineEpoch) -> Self {
        Self {
            epoch: r.epoch,
            loss: Dec(r.loss),
            mi_estimate: Dec(r.estimate),
            probe_heldout: r.probe_heldout.map(Dec),
            probe_book: r.probe_book.map(Dec),
            lr: Sci(r.lr),
            seconds: Dec(r.seconds),
        }
    }
}
