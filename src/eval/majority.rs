//! Many-to-one accuracy: each cluster maps to its most frequent label (for over-clustering
//! heads with more clusters than classes).

use super::cluster_score::ClusterScore;
use super::contingency::Contingency;
use crate::spec::EvaluatorKind;

/// Many-to-one accuracy as a registered clustering score (`evaluator.kind = "majority"`).
pub struct Majority;

impl ClusterScore for Majority {
    fn kind(&self) -> EvaluatorKind {
        EvaluatorKind::Majority
    }
    fn value(&self, clusters: &[usize], labels: &[usize]) -> f64 {
        majority_accuracy(clusters, labels)
    }
    fn note(&self) -> Option<&'static str> {
        Some("many-to-one")
    }
}

/// Fraction of samples whose cluster's majority label is their label.
pub fn majority_accuracy(clusters: &[usize], labels: &[usize]) -> f64 {
    let t = Contingency::new(clusters, labels);
    if t.n == 0 {
        return 0.0;
    }
    let hits: u64 = t
        .counts
        .iter()
        .map(|r| r.iter().copied().max().unwrap_or(0))
        .sum();
    hits as f64 / t.n as f64
}
