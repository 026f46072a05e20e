//! Adjusted Rand index (Hubert & Arabie), as scikit-learn computes it.

use super::cluster_score::ClusterScore;
use super::contingency::Contingency;
use crate::spec::EvaluatorKind;

/// ARI as a registered clustering score (`evaluator.kind = "ari"`).
pub struct Ari;

impl ClusterScore for Ari {
    fn kind(&self) -> EvaluatorKind {
        EvaluatorKind::Ari
    }
    fn value(&self, clusters: &[usize], labels: &[usize]) -> f64 {
        ari(clusters, labels)
    }
}

fn pairs(x: u64) -> f64 {
    let x = x as f64;
    x * (x - 1.0) / 2.0
}

/// ARI: 1 for identical partitions (up to relabelling), about 0 for independent ones.
pub fn ari(clusters: &[usize], labels: &[usize]) -> f64 {
    let t = Contingency::new(clusters, labels);
    let index: f64 = t.counts.iter().flatten().map(|&x| pairs(x)).sum();
    let a: f64 = t.rows.iter().map(|&x| pairs(x)).sum();
    let b: f64 = t.cols.iter().map(|&x| pairs(x)).sum();
    let total = pairs(t.n);
    if total == 0.0 {
        return 1.0;
    }
    let expected = a * b / total;
    let max = (a + b) / 2.0;
    if max == expected {
        // Both partitions trivial in the same way (one cluster, or all singletons).
        return 1.0;
    }
    (index - expected) / (max - expected)
}
