//! Merging an over-clustering down to fewer clusters without labels, one pair at a time:
//! either the pair whose union keeps the most mutual information between the clusters of an
//! image and of its twin (the IIC objective itself, on a joint distribution P(z, z̄)), or the
//! pair whose union adds the least within-cluster scatter of the images (Ward's criterion).

/// Mutual information (nats) of a joint distribution given as a square matrix that sums to 1.
fn joint_mi(p: &[Vec<f64>]) -> f64 {
    let k = p.len();
    let rows: Vec<f64> = p.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..k).map(|j| p.iter().map(|r| r[j]).sum()).collect();
    let mut mi = 0.0;
    for (i, r) in p.iter().enumerate() {
        for (j, &v) in r.iter().enumerate() {
            if v > 0.0 {
                mi += v * (v / (rows[i] * cols[j])).ln();
            }
        }
    }
    mi
}

/// `p` with clusters `a` and `b` (a < b) joined into `a`.
fn joined(p: &[Vec<f64>], a: usize, b: usize) -> Vec<Vec<f64>> {
    let mut q: Vec<Vec<f64>> = p.to_vec();
    for r in q.iter_mut() {
        r[a] += r[b];
        r.remove(b);
    }
    let rb = q.remove(b);
    for (x, y) in q[a].iter_mut().zip(rb) {
        *x += y;
    }
    q
}

/// Which of `target` groups each cluster of the joint `p` (k × k, unnormalised counts or
/// probabilities of (cluster of x, cluster of its twin)) ends in, after joining, one pair at a
/// time, the two groups whose union keeps the most mutual information (first pair on ties).
/// Groups are numbered by their lowest cluster. `p` is symmetrised first; with `target ≥ k`
/// every cluster is its own group.
pub fn merge_by_mi(p: &[Vec<f64>], target: usize) -> Vec<usize> {
    let k = p.len();
    let total: f64 = p.iter().flatten().sum::<f64>().max(f64::MIN_POSITIVE);
    let q: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| (p[i][j] + p[j][i]) / (2.0 * total))
                .collect()
        })
        .collect();
    agglomerate(
        k,
        target,
        q,
        |q, a, b| -joint_mi(&joined(q, a, b)),
        |q, a, b| *q = joined(q, a, b),
    )
}

/// Each cluster's member count and mean (any feature vector, e.g. pixels).
#[derive(Debug, Clone, PartialEq)]
pub struct Centroids {
    pub counts: Vec<usize>,
    pub means: Vec<Vec<f64>>,
}

/// Which of `target` groups each cluster ends in, after joining, one pair at a time, the two
/// groups whose union least increases the within-group sum of squares of their members
/// (Ward's criterion: `n_a·n_b / (n_a + n_b) · |μ_a − μ_b|²`, first pair on ties). Groups
/// are numbered by their lowest cluster.
pub fn merge_by_ward(c: &Centroids, target: usize) -> Vec<usize> {
    let n: Vec<f64> = c.counts.iter().map(|&c| c as f64).collect();
    let ward = |(n, mu): &(Vec<f64>, Vec<Vec<f64>>), a: usize, b: usize| {
        let d2: f64 = mu[a].iter().zip(&mu[b]).map(|(x, y)| (x - y).powi(2)).sum();
        let both = n[a] + n[b];
        if both > 0.0 {
            n[a] * n[b] / both * d2
        } else {
            0.0
        }
    };
    let join = |(n, mu): &mut (Vec<f64>, Vec<Vec<f64>>), a: usize, b: usize| {
        let (nb, mb) = (n.remove(b), mu.remove(b));
        let both = n[a] + nb;
        if both > 0.0 {
            for (x, y) in mu[a].iter_mut().zip(mb) {
                *x = (n[a] * *x + nb * y) / both;
            }
        }
        n[a] = both;
    };
    agglomerate(n.len(), target, (n, c.means.clone()), ward, join)
}

/// Greedy agglomeration of `k` clusters down to `target` groups: while there are too many,
/// join the pair of groups (a < b) of least `cost(state, a, b)` (first pair on ties) and let
/// `join(state, a, b)` fold b into a. Returns `group[cluster]`, groups numbered by their
/// lowest cluster.
fn agglomerate<S>(
    k: usize,
    target: usize,
    mut state: S,
    cost: impl Fn(&S, usize, usize) -> f64,
    join: impl Fn(&mut S, usize, usize),
) -> Vec<usize> {
    // members[g]: the clusters of group g, in cluster order.
    let mut members: Vec<Vec<usize>> = (0..k).map(|c| vec![c]).collect();
    while members.len() > target.max(1) {
        let g = members.len();
        let mut best = (f64::INFINITY, 0, 1);
        for a in 0..g {
            for b in a + 1..g {
                let c = cost(&state, a, b);
                if c < best.0 {
                    best = (c, a, b);
                }
            }
        }
        let (_, a, b) = best;
        join(&mut state, a, b);
        let moved = members.remove(b);
        members[a].extend(moved);
        members[a].sort_unstable();
    }
    let mut group = vec![0; k];
    for (g, m) in members.iter().enumerate() {
        for &c in m {
            group[c] = g;
        }
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four clusters: 0 and 1 hold one class whose twins often swap between them, 2 and 3 two
    /// others that never mix.
    fn confused_pair() -> Vec<Vec<f64>> {
        vec![
            vec![10.0, 10.0, 0.0, 0.0],
            vec![10.0, 10.0, 0.0, 0.0],
            vec![0.0, 0.0, 40.0, 0.0],
            vec![0.0, 0.0, 0.0, 40.0],
        ]
    }

    #[test]
    fn the_pair_twins_confuse_is_joined_first() {
        assert_eq!(merge_by_mi(&confused_pair(), 3), vec![0, 0, 1, 2]);
    }

    #[test]
    fn joining_keeps_the_information_the_twins_carry() {
        let p = confused_pair();
        let total: f64 = p.iter().flatten().sum();
        let norm: Vec<Vec<f64>> = p
            .iter()
            .map(|r| r.iter().map(|v| v / total).collect())
            .collect();
        // Clusters 0 and 1 carry no information about each other: joining them loses nothing.
        let before = joint_mi(&norm);
        let after = joint_mi(&joined(&norm, 0, 1));
        assert!((before - after).abs() < 1e-12, "{before} vs {after}");
        // Three equal, perfectly consistent groups: ln 3.
        assert!((after - 3f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn with_equal_confusion_the_smaller_cluster_is_absorbed() {
        // Perfectly consistent clusters of sizes 5, 40, 20, 35: joining costs entropy only,
        // least when the two smallest join.
        let sizes = [5.0, 40.0, 20.0, 35.0];
        let p: Vec<Vec<f64>> = (0..4)
            .map(|i| {
                (0..4)
                    .map(|j| if i == j { sizes[i] } else { 0.0 })
                    .collect()
            })
            .collect();
        assert_eq!(merge_by_mi(&p, 3), vec![0, 1, 0, 2]);
    }

    #[test]
    fn ward_joins_the_small_cluster_to_the_nearest_mean() {
        // A small cluster (2) lies between 0 and 1 but nearer 1; 3 is far from everything.
        let c = Centroids {
            counts: vec![100, 100, 10, 100],
            means: vec![
                vec![0.0, 0.0],
                vec![4.0, 0.0],
                vec![3.0, 0.0],
                vec![0.0, 9.0],
            ],
        };
        assert_eq!(merge_by_ward(&c, 3), vec![0, 1, 1, 2]);
        // Down to two groups: then 0 joins the 1+2 group (nearer than 3).
        assert_eq!(merge_by_ward(&c, 2), vec![0, 0, 0, 1]);
    }

    #[test]
    fn no_merge_when_the_target_is_not_below_k() {
        assert_eq!(merge_by_mi(&confused_pair(), 4), vec![0, 1, 2, 3]);
        assert_eq!(merge_by_mi(&confused_pair(), 9), vec![0, 1, 2, 3]);
    }
}
