//! What an IIC epoch produced and the files it becomes: the per-head record, and the rows of
//! `metrics.csv`, `confusion.csv` and `merges.csv` as types, written from the records by these
//! definitions (`metrics.csv` is also read back by them, on resume and by `mirun eval`).

use super::IicConfig;
use crate::eval::Scores;
use crate::spec::{EvaluatorKind, HeadSelect};
use crate::store::{Dec, Sci, StoreError, Table};
use serde::{Deserialize, Serialize};

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

/// A row of an IIC run's `metrics.csv`: one per epoch and head. The evaluator columns
/// (`nmi`, `ari`, `majority`, in that order), `reinits` (with the lottery) and `pass_loss`
/// (with `heads.select = "fixed_pass"`) are there only when the run has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    pub epoch: usize,
    pub head: usize,
    pub loss: Dec<6>,
    pub accuracy: Dec<6>,
    pub lr: Sci,
    pub seconds: Dec<3>,
    /// 1 for the head selected this epoch.
    pub selected: u8,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nmi: Option<Dec<6>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ari: Option<Dec<6>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub majority: Option<Dec<6>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reinits: Option<usize>,
    /// `None`: no such column; `Some(None)`: an empty cell.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pass_loss: Option<Option<Dec<6>>>,
}

impl MetricsRow {
    /// The loss the head was selected by (and the best weights kept by).
    pub fn criterion(&self) -> f64 {
        self.pass_loss.flatten().unwrap_or(self.loss).0
    }
}

/// A row of `confusion.csv`: the non-zero count of one (cluster, label) of one head and
/// epoch, with the label the cluster was matched to (empty: none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionRow {
    pub epoch: usize,
    pub head: usize,
    pub cluster: usize,
    pub matched_label: Option<usize>,
    pub label: usize,
    pub count: i64,
}

/// A row of `merges.csv` (with `heads.merge`): the group a head's cluster was merged into at
/// an epoch (the group is what `confusion.csv` calls a cluster).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRow {
    pub epoch: usize,
    pub head: usize,
    pub cluster: usize,
    pub group: usize,
}

/// The score a clustering evaluator reports for one head. Every evaluator is named: a new one
/// must say here what it reports, not turn into a NaN column.
pub fn evaluator_value(s: &Scores, k: EvaluatorKind) -> f64 {
    match k {
        EvaluatorKind::Hungarian => s.accuracy,
        EvaluatorKind::Nmi => s.nmi,
        EvaluatorKind::Ari => s.ari,
        EvaluatorKind::Majority => s.majority,
        // Not per-head clustering scores: the validator keeps them out of IIC runs, and MINE
        // runs write their own columns (`step,bound,…`, `probe_*`).
        EvaluatorKind::AnalyticMi | EvaluatorKind::BinnedMi | EvaluatorKind::LinearProbe => {
            f64::NAN
        }
    }
}

/// The `metrics.csv` rows of `records` for a run configured as `config`.
pub fn metrics_rows(records: &[EpochRecord], config: &IicConfig) -> Vec<MetricsRow> {
    let column = |s: &Scores, k: EvaluatorKind| {
        config
            .extra
            .contains(&k)
            .then(|| Dec(evaluator_value(s, k)))
    };
    let lottery = config.lottery.is_some();
    let pass = config.select == HeadSelect::FixedPass;
    let mut rows = Vec::new();
    for r in records {
        for (h, score) in r.heads.iter().enumerate() {
            rows.push(MetricsRow {
                epoch: r.epoch,
                head: h,
                loss: Dec(score.loss),
                accuracy: Dec(score.accuracy),
                lr: Sci(r.lr),
                seconds: Dec(r.seconds),
                selected: u8::from(h == r.selected),
                nmi: column(&score.scores, EvaluatorKind::Nmi),
                ari: column(&score.scores, EvaluatorKind::Ari),
                majority: column(&score.scores, EvaluatorKind::Majority),
                reinits: lottery.then_some(score.reinits),
                pass_loss: pass.then(|| score.pass_loss.map(Dec)),
            });
        }
    }
    rows
}

/// The `confusion.csv` rows of `records`.
pub fn confusion_rows(records: &[EpochRecord]) -> Vec<ConfusionRow> {
    let mut rows = Vec::new();
    for r in records {
        for (h, score) in r.heads.iter().enumerate() {
            let sc = &score.scores;
            for (c, counts) in sc.confusion.iter().enumerate() {
                let matched = sc.mapping.get(c).copied().flatten();
                for (l, &count) in counts.iter().enumerate().filter(|(_, &n)| n > 0) {
                    rows.push(ConfusionRow {
                        epoch: r.epoch,
                        head: h,
                        cluster: c,
                        matched_label: matched,
                        label: l,
                        count,
                    });
                }
            }
        }
    }
    rows
}

/// The `merges.csv` rows of `records`.
pub fn merge_rows(records: &[EpochRecord]) -> Vec<MergeRow> {
    let mut rows = Vec::new();
    for r in records {
        for (h, score) in r.heads.iter().enumerate() {
            for (c, &group) in score.merged.iter().flatten().enumerate() {
                rows.push(MergeRow {
                    epoch: r.epoch,
                    head: h,
                    cluster: c,
                    group,
                });
            }
        }
    }
    rows
}

/// Every file an IIC run writes after each epoch: `metrics.csv`, `confusion.csv`, and with
/// `heads.merge` `merges.csv`.
pub fn tables(records: &[EpochRecord], config: &IicConfig) -> Result<Vec<Table>, StoreError> {
    let mut tables = vec![
        Table::of("metrics.csv", &metrics_rows(records, config))?,
        Table::of("confusion.csv", &confusion_rows(records))?,
    ];
    if config.merge.is_some() {
        tables.push(Table::of("merges.csv", &merge_rows(records))?);
    }
    Ok(tables)
}
