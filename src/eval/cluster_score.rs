//! The scores of a clustering reported beside its Hungarian accuracy. Each is a type in its
//! own file implementing [`ClusterScore`], registered by one line in [`CLUSTER_SCORES`]: that
//! makes it a column of `metrics.csv` (when `evaluator.kind` names it), of `mirun eval`'s CSV
//! and a key of `mirun score`.

use crate::spec::EvaluatorKind;
use serde::{Serialize, Serializer};

/// One score of a clustering against labels.
pub trait ClusterScore: Sync {
    /// The evaluator it is; its name is its column and key.
    fn kind(&self) -> EvaluatorKind;
    /// Its value for `clusters` against `labels` (dense ids, same length).
    fn value(&self, clusters: &[usize], labels: &[usize]) -> f64;
    /// A word on reading it, shown after the value by `mirun score`.
    fn note(&self) -> Option<&'static str> {
        None
    }
}

/// Every score besides Hungarian accuracy (always computed), in column order.
pub const CLUSTER_SCORES: &[&dyn ClusterScore] = &[
    &super::nmi::Nmi,
    &super::ari::Ari,
    &super::majority::Majority,
];

/// The registered score of evaluator `kind` (none for Hungarian accuracy, which every
/// clustering reports, and for evaluators that do not score a clustering).
pub fn cluster_score(kind: EvaluatorKind) -> Option<&'static dyn ClusterScore> {
    CLUSTER_SCORES.iter().copied().find(|s| s.kind() == kind)
}

/// The value of every registered score, in column order; serialised as `name: value` pairs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Named(pub Vec<(EvaluatorKind, f64)>);

impl Named {
    /// Every registered score of `clusters` against `labels`.
    pub fn of(clusters: &[usize], labels: &[usize]) -> Self {
        Named(
            CLUSTER_SCORES
                .iter()
                .map(|s| (s.kind(), s.value(clusters, labels)))
                .collect(),
        )
    }

    /// The value of `kind` (NaN when it is not a registered score).
    pub fn get(&self, kind: EvaluatorKind) -> f64 {
        self.0
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(f64::NAN, |&(_, v)| v)
    }
}

impl Serialize for Named {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k.name(), v)))
    }
}
