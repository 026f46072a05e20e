//! MINE end to end on the Gaussian: a short run lands near the analytic MI, and its CSVs hold
//! the estimate beside the analytic and binned values.

use std::collections::BTreeMap;
use std::process::Command;

/// Runs `pipelines/mine_gaussian.toml` with `sets` into `out`; returns its summary row's
/// numeric columns.
fn run_gaussian(out: &std::path::Path, sets: &[&str]) -> BTreeMap<String, f64> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = Command::new(env!("CARGO_BIN_EXE_mirun"))
        .arg(repo.join("pipelines/mine_gaussian.toml"))
        .args(sets.iter().flat_map(|s| ["--set", s]))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    let mut r = csv::Reader::from_path(out.join("mine_gaussian/summary.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let row = r.records().next().unwrap().unwrap();
    h.iter()
        .zip(row.iter())
        .filter_map(|(c, v)| Some((c.to_string(), v.parse().ok()?)))
        .collect()
}

#[test]
fn short_mine_run_estimates_the_gaussian_mi() {
    let tmp = tempfile::tempdir().unwrap();
    let row = run_gaussian(
        tmp.path(),
        &["train.steps=400", "evaluator.binned_samples=200000"],
    );
    let col = |name: &str| row[name];
    let (est, analytic, binned) = (col("mi_estimate"), col("analytic_mi"), col("binned_mi"));
    assert!((analytic - 0.143_841).abs() < 1e-6);
    assert!(
        (est - analytic).abs() < 0.03,
        "estimate {est} vs {analytic}"
    );
    assert!((binned - analytic).abs() < 0.02, "binned {binned}");
    let dirs: Vec<_> = std::fs::read_dir(tmp.path().join("mine_gaussian"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    let metrics = std::fs::read_to_string(dirs[0].join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 400, "one row per step");
    assert!(metrics.starts_with("step,bound,estimate,analytic_mi,binned_mi"));
    // The resolved config holds only what applies to a Gaussian run.
    let config = std::fs::read_to_string(dirs[0].join("config.toml")).unwrap();
    for absent in ["[augment", "[backbone]", "[heads]", "epochs =", "dir ="] {
        assert!(!config.contains(absent), "{absent} in\n{config}");
    }
    // ... and reruns as it is.
    let o = Command::new(env!("CARGO_BIN_EXE_mirun"))
        .args(["check"])
        .arg(dirs[0].join("config.toml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // `mirun eval` says why it does not apply.
    let o = Command::new(env!("CARGO_BIN_EXE_mirun"))
        .arg("eval")
        .arg(&dirs[0])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("does not apply to a MINE Gaussian run: it has no encoder"),
        "{err}"
    );
}

#[test]
fn infonce_estimates_the_gaussian_mi() {
    let tmp = tempfile::tempdir().unwrap();
    let row = run_gaussian(
        tmp.path(),
        &[
            "loss.kind=infonce",
            "train.steps=300",
            "train.batch_size=500",
            "evaluator.binned_samples=100000",
        ],
    );
    let (est, analytic) = (row["mi_estimate"], row["analytic_mi"]);
    assert!(
        (est - analytic).abs() < 0.03,
        "estimate {est} vs {analytic}"
    );
}
