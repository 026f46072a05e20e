//! NMI, ARI and many-to-one accuracy against scikit-learn's documented values, and
//! `mirun score` on CSV files.

use mirun::eval::{ari, majority_accuracy, nmi, score_csv};
use mirun::spec::EvaluatorKind;
use std::process::Command;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn ari_matches_scikit_learn_examples() {
    // sklearn.metrics.adjusted_rand_score docstring examples.
    assert!(close(ari(&[0, 0, 1, 1], &[0, 0, 1, 1]), 1.0));
    assert!(close(ari(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0));
    assert!(close(ari(&[0, 0, 1, 2], &[0, 0, 1, 1]), 4.0 / 7.0)); // 0.57
    assert!(close(ari(&[0, 0, 1, 1], &[0, 0, 1, 2]), 4.0 / 7.0));
    assert!(close(ari(&[0, 1, 2, 3], &[0, 0, 0, 0]), 0.0));
    assert!(
        close(ari(&[0, 0, 0, 0], &[0, 0, 0, 0]), 1.0),
        "identical trivial partitions"
    );
}

#[test]
fn nmi_matches_scikit_learn_examples() {
    // sklearn.metrics.normalized_mutual_info_score docstring examples.
    assert!(close(nmi(&[0, 0, 1, 1], &[0, 0, 1, 1]), 1.0));
    assert!(close(nmi(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0));
    assert!(close(nmi(&[0, 1, 2, 3], &[0, 0, 0, 0]), 0.0));
    // Independent labelings: every cluster holds every label equally often.
    let labels: Vec<usize> = (0..400).map(|i| i % 4).collect();
    let clusters: Vec<usize> = (0..400).map(|i| (i / 4) % 5).collect();
    assert!(nmi(&clusters, &labels) < 1e-9);
    assert!(ari(&clusters, &labels).abs() < 0.01);
}

#[test]
fn majority_maps_each_cluster_to_its_commonest_label() {
    // Over-clustering: clusters 0,1 → label 0; cluster 2 → label 1 (one mistake).
    assert!(close(
        majority_accuracy(&[0, 1, 2, 2, 2], &[0, 0, 1, 1, 0]),
        0.8
    ));
}

#[test]
fn score_reads_string_labels_and_rectangular_clusterings() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pred.csv");
    std::fs::write(
        &p,
        "id,label,cluster\n1,cat,a\n2,cat,a\n3,dog,b\n4,dog,c\n5,bird,d\n",
    )
    .unwrap();
    let s = score_csv(&p, "label", "cluster").unwrap();
    assert_eq!((s.n, s.clusters, s.classes), (5, 4, 3));
    assert!(close(s.accuracy, 0.8), "{s:?}"); // a→cat, b or c→dog, d→bird
    assert!(close(s.get(EvaluatorKind::Majority), 1.0), "{s:?}");
}

#[test]
fn score_names_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.csv");
    std::fs::write(&p, "label,cluster\n0,1\n1,0\n1\n").unwrap();
    let err = score_csv(&p, "label", "cluster").unwrap_err().to_string();
    assert!(err.contains("bad.csv") && err.contains("line 4"), "{err}");
    let err = score_csv(&p, "truth", "cluster").unwrap_err().to_string();
    assert!(err.contains("no column `truth`"), "{err}");

    let o = Command::new(env!("CARGO_BIN_EXE_mirun"))
        .arg("score")
        .arg(&p)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 4"));
}

#[test]
fn score_command_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.csv");
    std::fs::write(&p, "truth,pred\n0,5\n0,5\n1,7\n1,7\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mirun"))
        .args([
            "score",
            p.to_str().unwrap(),
            "--label-col",
            "truth",
            "--cluster-col",
            "pred",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["accuracy"], 1.0);
    // Every registered score is a key, beside the fixed ones.
    for k in ["nmi", "ari", "majority"] {
        assert_eq!(v[k], 1.0, "{k} in {v}");
    }
    assert_eq!(v["n"], 4);
}
