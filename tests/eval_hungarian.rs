//! Hungarian matching of clusters to labels.

use mirun::eval::hungarian_accuracy;

#[test]
fn textbook_example_one_mistake_in_five_is_80_percent() {
    // 3 clusters, 5 samples: clusters (0,0,1,1,2) for labels (1,1,2,0,0)
    // → best map 0→1, 1→2, 2→0 gets 4 of 5 right.
    let m = hungarian_accuracy(&[0, 0, 1, 1, 2], &[1, 1, 2, 0, 0], 3, 3);
    assert!((m.accuracy - 0.8).abs() < 1e-12, "{m:?}");
    assert_eq!(m.mapping, vec![Some(1), Some(2), Some(0)]);
}

#[test]
fn permuted_perfect_clustering_is_100_percent() {
    let labels: Vec<usize> = (0..100).map(|i| i % 10).collect();
    let clusters: Vec<usize> = labels.iter().map(|l| (l * 3 + 7) % 10).collect();
    assert_eq!(hungarian_accuracy(&clusters, &labels, 10, 10).accuracy, 1.0);
}

#[test]
fn more_clusters_than_labels_leaves_extras_unmatched() {
    // 4 clusters, 2 labels: clusters 0 and 2 are label 0's, 1 and 3 label 1's.
    let m = hungarian_accuracy(&[0, 2, 1, 3, 0, 1], &[0, 0, 1, 1, 0, 1], 4, 2);
    assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12, "{m:?}");
    assert_eq!(m.mapping.iter().filter(|x| x.is_some()).count(), 2);
}
