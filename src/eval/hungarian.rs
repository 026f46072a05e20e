//! Cluster → label matching by the Hungarian method (`pathfinding::kuhn_munkres`), which turns
//! a clustering into a classification.

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;

/// The optimal one-to-one matching of clusters to labels and the accuracy it gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Matching {
    /// Fraction of samples whose cluster maps to their label.
    pub accuracy: f64,
    /// `mapping[cluster]` is the label the cluster is matched to (None when clusters > labels
    /// leaves it unmatched).
    pub mapping: Vec<Option<usize>>,
}

/// Counts `[cluster][label]` co-occurrences.
pub fn count_matrix(
    clusters: &[usize],
    labels: &[usize],
    k: usize,
    classes: usize,
) -> Vec<Vec<i64>> {
    let mut m = vec![vec![0i64; classes]; k];
    for (&c, &l) in clusters.iter().zip(labels) {
        if c < k && l < classes {
            m[c][l] += 1;
        }
    }
    m
}

/// Accuracy under the best one-to-one cluster→label matching; clusters and labels may differ
/// in number (the extra ones stay unmatched and count as errors).
pub fn hungarian_accuracy(
    clusters: &[usize],
    labels: &[usize],
    k: usize,
    classes: usize,
) -> Matching {
    let n = clusters.len().min(labels.len());
    if n == 0 || k == 0 || classes == 0 {
        return Matching {
            accuracy: 0.0,
            mapping: vec![None; k],
        };
    }
    let counts = count_matrix(clusters, labels, k, classes);
    let mut mapping = vec![None; k];
    let matched: i64 = if k <= classes {
        let weights = Matrix::from_fn(k, classes, |(c, l)| counts[c][l]);
        let (total, assign) = kuhn_munkres(&weights);
        for (c, l) in assign.into_iter().enumerate() {
            mapping[c] = Some(l);
        }
        total
    } else {
        let weights = Matrix::from_fn(classes, k, |(l, c)| counts[c][l]);
        let (total, assign) = kuhn_munkres(&weights);
        for (l, c) in assign.into_iter().enumerate() {
            mapping[c] = Some(l);
        }
        total
    };
    Matching {
        accuracy: matched as f64 / n as f64,
        mapping,
    }
}
