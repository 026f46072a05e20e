//! What one IIC epoch produced, per head: the typed record `metrics.csv` rows are written
//! from and read back into.

use crate::eval::Scores;

/// One head's numbers for one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadScore {
    /// Mean training loss over the epoch's steps (−MI in nats).
    pub loss: f64,
    /// Hungarian accuracy on the test set (centre crops) after the epoch.
    pub accuracy: f64,
    /// Every evaluator's score on the test set.
    pub scores: Scores,
    /// Times the sub-head lottery re-initialised this head during the epoch.
    pub reinits: usize,
    /// With `heads.merge`: `merged[cluster]`, the group (scored as one cluster) it joined.
    pub merged: Option<Vec<usize>>,
    /// With `heads.select = "fixed_pass"`: the IIC loss over the fixed pass of the training set.
    pub pass_loss: Option<f64>,
}

/// What one epoch produced.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    pub lr: f64,
    pub seconds: f64,
    pub heads: Vec<HeadScore>,
    /// The head with the lowest loss this epoch (training loss, or the fixed pass's): the
    /// honest pick, made without labels.
    pub selected: usize,
}

/// Index of the lowest loss (first on ties).
pub fn lowest_loss(heads: &[HeadScore]) -> usize {
    lowest_by(heads, |h| h.loss)
}

/// Index of the head whose `key` is lowest (first on ties; NaN counts as highest).
pub fn lowest_by(heads: &[HeadScore], key: impl Fn(&HeadScore) -> f64) -> usize {
    heads
        .iter()
        .enumerate()
        .min_by(|a, b| key(a.1).total_cmp(&key(b.1)))
        .map(|(i, _)| i)
        .unwrap_or(0)
}
