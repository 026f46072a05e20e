//! The contingency table of two labelings, shared by NMI and ARI.

/// Counts `n[i][j]` of samples with cluster `i` and label `j`, plus the margins.
#[derive(Debug, Clone)]
pub struct Contingency {
    pub counts: Vec<Vec<u64>>,
    pub rows: Vec<u64>,
    pub cols: Vec<u64>,
    pub n: u64,
}

impl Contingency {
    /// Builds the table; ids are dense indices (`< k` and `< classes`).
    pub fn new(clusters: &[usize], labels: &[usize]) -> Self {
        let k = clusters.iter().max().map_or(0, |m| m + 1);
        let c = labels.iter().max().map_or(0, |m| m + 1);
        let mut counts = vec![vec![0u64; c]; k];
        for (&i, &j) in clusters.iter().zip(labels) {
            counts[i][j] += 1;
        }
        let rows = counts.iter().map(|r| r.iter().sum()).collect();
        let cols = (0..c).map(|j| counts.iter().map(|r| r[j]).sum()).collect();
        let n = clusters.len().min(labels.len()) as u64;
        Self {
            counts,
            rows,
            cols,
            n,
        }
    }
}
