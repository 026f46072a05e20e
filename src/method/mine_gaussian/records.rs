//! What a Gaussian run produced and the `metrics.csv` rows it becomes (written and read back by
//! the same definition).

use crate::store::Dec;

/// One Gaussian training step.
#[derive(Debug, Clone, PartialEq)]
pub struct MiStep {
    /// 1-based.
    pub step: usize,
    /// The bound on this batch (DV for `mine`/`mine_ema`, NWJ for `nwj`), nats.
    pub bound: f64,
    /// Mean of the bound over the last [`RUNNING_MEAN`] steps: the MINE estimate.
    pub estimate: f64,
}

/// A row of a Gaussian run's `metrics.csv`: one per step, with the reference values (empty
/// when not asked for).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricsRow {
    pub step: usize,
    pub bound: Dec<6>,
    pub estimate: Dec<6>,
    pub analytic_mi: Option<Dec<6>>,
    pub binned_mi: Option<Dec<6>>,
}

/// The whole run (one "epoch" of `steps` steps).
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianRun {
    pub steps: Vec<MiStep>,
}
