//! Who a cluster's stray members resemble (issue 31's label-free diagnostic, labels used only
//! to look): for the images of one class that a head gives to another class's cluster, the
//! share of their k nearest training images that belong to their own class, and the share
//! that the head puts in their class's cluster — in pixel space (after deskewing and a small
//! blur), in the trained trunk's features, and in both at once. A neighbour-based objective
//! (SCAN) pulls an image towards its neighbours' cluster: it can only bring such images back if
//! their neighbours sit in their class's cluster, not merely if they share its label.

use rayon::prelude::*;

/// How rows are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Euclidean distance (nearest = smallest).
    Euclidean,
    /// Cosine similarity (nearest = largest).
    Cosine,
}

/// A row-major matrix of `rows × dim` floats.
#[derive(Debug, Clone)]
pub struct Rows<'a> {
    pub data: &'a [f32],
    pub dim: usize,
}

impl Rows<'_> {
    fn len(&self) -> usize {
        self.data.len() / self.dim.max(1)
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// Σ aᵢbᵢ in eight interleaved partial sums (a fixed order the compiler can vectorise).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// For every query row, the indices of its `k` nearest `base` rows, nearest first (ties: the
/// lower index first, so the result does not depend on the thread count).
pub fn nearest(queries: &Rows, base: &Rows, k: usize, metric: Metric) -> Vec<Vec<usize>> {
    let squares: Vec<f32> = (0..base.len())
        .into_par_iter()
        .map(|j| dot(base.row(j), base.row(j)))
        .collect();
    (0..queries.len())
        .into_par_iter()
        .map(|i| {
            let q = queries.row(i);
            let qn = dot(q, q).sqrt();
            // A score where larger is nearer: −‖q − b‖² up to a constant, or cos(q, b).
            let mut scored: Vec<(f32, usize)> = (0..base.len())
                .map(|j| {
                    let qb = dot(q, base.row(j));
                    let s = match metric {
                        Metric::Euclidean => 2.0 * qb - squares[j],
                        Metric::Cosine => qb / (qn * squares[j].sqrt()).max(f32::MIN_POSITIVE),
                    };
                    (s, j)
                })
                .collect();
            let k = k.min(scored.len());
            let by_nearness =
                |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            if k < scored.len() {
                scored.select_nth_unstable_by(k, by_nearness);
                scored.truncate(k);
            }
            scored.sort_by(by_nearness);
            scored.into_iter().map(|(_, j)| j).collect()
        })
        .collect()
}

/// The neighbours two lists share (the first list's order).
pub fn both(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter().copied().filter(|x| b.contains(x)).collect()
}

/// How one group's neighbour lists fall: the mean number of neighbours (less than k for
/// intersections), how many images have none, and over the images that have some, the mean
/// share of neighbours of `class` and the share of images most of whose neighbours are of
/// `class` (`None` when no image has a neighbour).
#[derive(Debug, Clone, PartialEq)]
pub struct Shares {
    pub images: usize,
    pub without: usize,
    pub mean_neighbours: f64,
    pub mean_share: Option<f64>,
    pub majority: Option<f64>,
}

/// [`Shares`] of `lists` (indices of base rows) for the rows `hit` says yes to: those of the
/// class, or those a head puts in the class's cluster.
pub fn shares(lists: &[Vec<usize>], hit: impl Fn(usize) -> bool) -> Shares {
    let (mut sum, mut majority, mut neighbours, mut with) = (0.0, 0usize, 0usize, 0usize);
    for l in lists.iter().filter(|l| !l.is_empty()) {
        let same = l.iter().filter(|&&j| hit(j)).count();
        neighbours += l.len();
        with += 1;
        sum += same as f64 / l.len() as f64;
        if 2 * same > l.len() {
            majority += 1;
        }
    }
    let per = |x: f64| (with > 0).then(|| x / with as f64);
    Shares {
        images: lists.len(),
        without: lists.len() - with,
        mean_neighbours: neighbours as f64 / lists.len().max(1) as f64,
        mean_share: per(sum),
        majority: per(majority as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rows_come_first_under_both_metrics() {
        // Base: four points on a line and one far off the axis.
        let base = [0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 3.0, 0.0, 0.0, 5.0];
        let base = Rows {
            data: &base,
            dim: 2,
        };
        let q = [2.1, 0.0];
        let q = Rows { data: &q, dim: 2 };
        assert_eq!(
            nearest(&q, &base, 3, Metric::Euclidean),
            vec![vec![2, 3, 1]]
        );
        // Cosine only sees directions: every point on the axis ties; index 0 (the origin)
        // has no direction and comes last.
        assert_eq!(nearest(&q, &base, 2, Metric::Cosine), vec![vec![1, 2]]);
        assert_eq!(nearest(&q, &base, 9, Metric::Euclidean)[0].len(), 5);
    }

    #[test]
    fn shares_count_neighbours_of_the_class() {
        let labels = [7, 7, 2, 2, 7];
        let lists = vec![vec![0, 1, 2], vec![2, 3, 4], vec![]];
        let s = shares(&lists, |j| labels[j] == 7);
        assert_eq!((s.images, s.without), (3, 1));
        // The image without neighbours is left out of the shares.
        assert!((s.mean_share.unwrap() - (2.0 / 3.0 + 1.0 / 3.0) / 2.0).abs() < 1e-12);
        assert!((s.majority.unwrap() - 0.5).abs() < 1e-12);
        assert!((s.mean_neighbours - 2.0).abs() < 1e-12);
        assert_eq!(shares(&[], |j| labels[j] == 7).mean_share, None);
        assert_eq!(both(&[4, 1, 9], &[9, 4]), vec![4, 9]);
    }
}
