//! Normalised mutual information with arithmetic normalisation (scikit-learn's default).

use super::cluster_score::ClusterScore;
use super::contingency::Contingency;
use crate::spec::EvaluatorKind;

/// NMI as a registered clustering score (`evaluator.kind = "nmi"`).
pub struct Nmi;

impl ClusterScore for Nmi {
    fn kind(&self) -> EvaluatorKind {
        EvaluatorKind::Nmi
    }
    fn value(&self, clusters: &[usize], labels: &[usize]) -> f64 {
        nmi(clusters, labels)
    }
}

fn entropy(margin: &[u64], n: f64) -> f64 {
    margin
        .iter()
        .filter(|&&a| a > 0)
        .map(|&a| {
            let p = a as f64 / n;
            -p * p.ln()
        })
        .sum()
}

/// NMI(U, V) = I(U; V) / ((H(U) + H(V)) / 2); 1.0 when both labelings are a single class.
pub fn nmi(clusters: &[usize], labels: &[usize]) -> f64 {
    let t = Contingency::new(clusters, labels);
    if t.n == 0 {
        return 0.0;
    }
    let n = t.n as f64;
    let (hu, hv) = (entropy(&t.rows, n), entropy(&t.cols, n));
    if hu == 0.0 && hv == 0.0 {
        return 1.0;
    }
    let mut mi = 0.0;
    for (i, row) in t.counts.iter().enumerate() {
        for (j, &nij) in row.iter().enumerate() {
            if nij > 0 {
                let nij = nij as f64;
                mi += nij / n * (n * nij / (t.rows[i] as f64 * t.cols[j] as f64)).ln();
            }
        }
    }
    let denom = (hu + hv) / 2.0;
    if denom <= 0.0 {
        0.0
    } else {
        (mi / denom).clamp(0.0, 1.0)
    }
}
