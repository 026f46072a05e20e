//! What an IIC epoch produced and the files it becomes: the per-head record, and the rows of
//! `metrics.csv`, `confusion.csv` and `merges.csv` as types, written from the records by these
//! definitions (`metrics.csv` is also read back by them, on resume and by `mirun eval`).

use super::IicConfig;
use crate::eval::{Scores, CLUSTER_SCORES};
use crate::spec::{EvaluatorKind, HeadSelect};
use crate::store::{Dec, Sci, StoreError, Table};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

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

/// A row of an IIC run's `metrics.csv`: one per epoch and head. The columns of the clustering
/// scores the run's evaluators name (registry order: `nmi`, `ari`, `majority`), `reinits`
/// (with the lottery) and `pass_loss` (with `heads.select = "fixed_pass"`) are there only when
/// the run has them. Read back by name, the score columns are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MetricsRow {
    pub epoch: usize,
    pub head: usize,
    pub loss: Dec<6>,
    pub accuracy: Dec<6>,
    pub lr: Sci,
    pub seconds: Dec<3>,
    /// 1 for the head selected this epoch.
    pub selected: u8,
    /// The named clustering scores, as (column, value).
    #[serde(skip)]
    pub scores: Vec<(&'static str, Dec<6>)>,
    #[serde(default)]
    pub reinits: Option<usize>,
    /// `None`: no such column; `Some(None)`: an empty cell.
    #[serde(default)]
    pub pass_loss: Option<Option<Dec<6>>>,
}

impl Serialize for MetricsRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A struct whose fields are known only at run time: the score columns come from the
        // registry (`eval::CLUSTER_SCORES`), in place of fixed fields.
        let mut st = s.serialize_struct("MetricsRow", 9 + self.scores.len())?;
        st.serialize_field("epoch", &self.epoch)?;
        st.serialize_field("head", &self.head)?;
        st.serialize_field("loss", &self.loss)?;
        st.serialize_field("accuracy", &self.accuracy)?;
        st.serialize_field("lr", &self.lr)?;
        st.serialize_field("seconds", &self.seconds)?;
        st.serialize_field("selected", &self.selected)?;
        for (name, v) in &self.scores {
            st.serialize_field(name, v)?;
        }
        if let Some(r) = &self.reinits {
            st.serialize_field("reinits", r)?;
        }
        if let Some(p) = &self.pass_loss {
            st.serialize_field("pass_loss", p)?;
        }
        st.end()
    }
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

/// The `metrics.csv` rows of `records` for a run configured as `config`.
pub fn metrics_rows(records: &[EpochRecord], config: &IicConfig) -> Vec<MetricsRow> {
    // Fixed column order (the registry's), whatever order `evaluator.kind` lists them in.
    let named: Vec<EvaluatorKind> = CLUSTER_SCORES
        .iter()
        .map(|c| c.kind())
        .filter(|k| config.extra.contains(k))
        .collect();
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
                scores: named
                    .iter()
                    .map(|&k| (k.name(), Dec(score.scores.get(k))))
                    .collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_rows_put_the_named_scores_after_selected_and_read_back_without_them() {
        let row = MetricsRow {
            epoch: 3,
            head: 1,
            loss: Dec(-2.0),
            accuracy: Dec(0.5),
            lr: Sci(1e-3),
            seconds: Dec(1.25),
            selected: 1,
            scores: vec![("nmi", Dec(0.25)), ("majority", Dec(0.75))],
            reinits: None,
            pass_loss: Some(None),
        };
        let t = Table::of("metrics.csv", std::slice::from_ref(&row)).unwrap();
        assert_eq!(
            t.header,
            "epoch,head,loss,accuracy,lr,seconds,selected,nmi,majority,pass_loss"
        );
        assert_eq!(
            t.rows,
            "3,1,-2.000000,0.500000,1e-3,1.250,1,0.250000,0.750000,\n"
        );
        let text = format!("{}\n{}", t.header, t.rows);
        let back: Vec<MetricsRow> = csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back[0].criterion(), -2.0);
        assert_eq!((back[0].epoch, back[0].selected), (3, 1));
        assert!(back[0].scores.is_empty() && back[0].reinits.is_none());
    }
}
