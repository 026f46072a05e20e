//! `mirun diff A B`: runs joined on their varying parameters, Δ and Δ% per metric, `--fail-if`.

use mirun::report::diff::{diff, Condition, DiffError, DiffOptions, Op, ParamChange};
use std::path::{Path, PathBuf};

const HEADER: &str = "run_id,status,pipeline.name,pipeline.seed,heads.count,train.lr,\
epochs_done,head_accuracies,selected_head,selected_accuracy,selected_loss,mean_accuracy,wall_seconds,git_commit";

/// A: heads.count 1,2 × seeds 1,2 plus heads.count 4; lr 0.001.
fn side_a() -> String {
    format!(
        "{HEADER}\n\
         a11,finished,base,1,1,0.001,3,x;y,0,0.80,-1.0,0.5,10,aaa\n\
         a12,finished,base,2,1,0.001,3,x;y,0,0.82,-1.0,0.5,10,aaa\n\
         a21,finished,base,1,2,0.001,3,x;y,0,0.90,-1.0,0.5,10,aaa\n\
         a22,finished,base,2,2,0.001,3,x;y,0,0.92,-1.0,0.5,10,aaa\n\
         a41,finished,base,1,4,0.001,3,x;y,0,0.95,-1.0,0.5,10,aaa\n\
         a41x,failed,base,1,4,0.001,,,,,,,3,aaa\n"
    )
}

/// B: lr 0.002 and another name; heads.count 4 replaced by 3; (2,1) drops 0.02 and its loss
/// rises 0.1; (1,1) gains 0.01; wall time and head changes everywhere.
fn side_b() -> String {
    format!(
        "{HEADER}\n\
         b11,finished,cand,1,1,0.002,3,x;y,1,0.81,-1.0,0.5,20,bbb\n\
         b12,finished,cand,2,1,0.002,3,x;y,1,0.82,-1.0,0.5,20,bbb\n\
         b21,finished,cand,1,2,0.002,3,x;y,1,0.88,-0.9,0.5,20,bbb\n\
         b22,finished,cand,2,2,0.002,3,x;y,1,0.92,-1.0,0.5,20,bbb\n\
         b31,finished,cand,1,3,0.002,3,x;y,1,0.10,-9.0,0.5,20,bbb\n"
    )
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn pair() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a/base/summary.csv", &side_a());
    let b = write(dir.path(), "b/cand/summary.csv", &side_b());
    (dir, a, b)
}

fn fail_if(exprs: &[&str]) -> DiffOptions {
    DiffOptions {
        fail_if: exprs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// A value that differs between the sides: `name: a → b`.
fn change(name: &str, a: &str, b: &str) -> ParamChange {
    ParamChange {
        name: name.into(),
        a: a.into(),
        b: b.into(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn joins_on_varying_parameters_and_reports_constant_changes() {
    let (dir, a, b) = pair();
    // Directories resolve to the summary.csv below them.
    let d = diff(
        &dir.path().join("a"),
        &dir.path().join("b"),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(d.key, vec!["pipeline.seed", "heads.count"]);
    assert_eq!(d.shown_key, vec!["pipeline.seed", "heads.count"]);
    assert_eq!(
        d.params,
        vec![
            change("pipeline.name", "base", "cand"),
            change("train.lr", "0.001", "0.002")
        ]
    );
    assert_eq!(d.rows.len(), 4);
    let keys: Vec<Vec<String>> = d.rows.iter().map(|r| r.key.clone()).collect();
    assert_eq!(keys[0], vec!["1", "1"]);
    assert_eq!(keys[1], vec!["1", "2"]);
    assert_eq!(keys[2], vec!["2", "1"]);

    let text = diff(&a, &b, &Default::default()).unwrap().render(false);
    assert!(text.contains("\n  train.lr: 0.001 → 0.002\n"), "{text}");
    let table_header = text
        .lines()
        .find(|l| l.starts_with("pipeline.seed"))
        .unwrap();
    let cols: Vec<&str> = table_header.split_whitespace().collect();
    assert_eq!(
        cols,
        vec![
            "pipeline.seed",
            "heads.count",
            "metric",
            "A",
            "B",
            "Δ",
            "Δ%"
        ]
    );
    // A failed run on A's side is not a duplicate of its finished twin; it is counted.
    assert_eq!(d.skipped_a.get("failed"), Some(&1));
    assert!(text.contains("A: 1 failed run not shown"), "{text}");

    // Seeds equal everywhere: the seed stays in the key but is not shown.
    let one_seed = |s: &str| {
        let mut lines: Vec<&str> = s.lines().collect();
        lines.retain(|l| l.split(',').nth(3) != Some("2"));
        lines.join("\n") + "\n"
    };
    let a1 = write(dir.path(), "a1/summary.csv", &one_seed(&side_a()));
    let b1 = write(dir.path(), "b1/summary.csv", &one_seed(&side_b()));
    let d = diff(&a1, &b1, &Default::default()).unwrap();
    assert_eq!(d.key, vec!["pipeline.seed", "heads.count"]);
    assert_eq!(d.shown_key, vec!["heads.count"]);
}

#[test]
fn deltas_and_percentages() {
    let (_dir, a, b) = pair();
    let d = diff(&a, &b, &Default::default()).unwrap();
    // selected_accuracy always; selected_loss changed; mean_accuracy unchanged; wall_seconds and
    // selected_head are noise unless asked for.
    assert_eq!(d.metrics, vec!["selected_accuracy", "selected_loss"]);
    let row = |seed: &str, heads: &str| {
        d.rows
            .iter()
            .find(|r| r.key == vec![seed.to_string(), heads.to_string()])
            .unwrap()
    };
    let r = row("1", "2");
    assert!(close(r.metrics[0].a.unwrap(), 0.90));
    assert!(close(r.metrics[0].b.unwrap(), 0.88));
    assert!(close(r.metrics[0].delta().unwrap(), -0.02));
    assert!(close(
        r.metrics[0].delta_pct().unwrap(),
        -0.02 / 0.9 * 100.0
    ));
    // Loss -1.0 → -0.9: Δ% relative to |A|, so positive.
    assert!(close(r.metrics[1].delta_pct().unwrap(), 10.0));
    assert!(close(row("1", "1").metrics[0].delta_pct().unwrap(), 1.25));

    let text = d.render(false);
    let cells: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|c| c.len() > 3 && c[..3] == ["1", "2", "selected_accuracy"])
        .unwrap();
    assert_eq!(
        cells,
        vec![
            "1",
            "2",
            "selected_accuracy",
            "0.9000",
            "0.8800",
            "-0.0200",
            "-2.22%"
        ]
    );
    assert!(text.contains("+1.25%"), "{text}");
    assert!(text.contains("+10.00%"), "{text}");

    let opts = DiffOptions {
        metrics: vec!["wall_seconds".into()],
        ..Default::default()
    };
    let d = diff(&a, &b, &opts).unwrap();
    assert_eq!(d.metrics, vec!["wall_seconds"]);
    assert!(close(d.rows[0].metrics[0].delta_pct().unwrap(), 100.0));
}

#[test]
fn rows_on_one_side_are_listed() {
    let (_dir, a, b) = pair();
    let d = diff(&a, &b, &Default::default()).unwrap();
    assert_eq!(d.only_a, vec![vec!["1".to_string(), "4".to_string()]]);
    assert_eq!(d.only_b, vec![vec!["1".to_string(), "3".to_string()]]);
    let text = d.render(false);
    assert!(
        text.contains("only in A: pipeline.seed=1 heads.count=4"),
        "{text}"
    );
    assert!(
        text.contains("only in B: pipeline.seed=1 heads.count=3"),
        "{text}"
    );
    let md = d.render(true);
    assert!(
        md.contains("- only in B: pipeline.seed=1 heads.count=3"),
        "{md}"
    );
}

#[test]
fn fail_if_triggers_on_delta_and_percent() {
    let (_dir, a, b) = pair();
    let d = diff(&a, &b, &fail_if(&["selected_accuracy < -0.01"])).unwrap();
    assert_eq!(d.violations.len(), 1);
    let v = &d.violations[0];
    assert_eq!(v.metric, "selected_accuracy");
    assert_eq!(
        v.key,
        vec![
            ("pipeline.seed".to_string(), "1".to_string()),
            ("heads.count".to_string(), "2".to_string())
        ]
    );
    assert!(close(v.delta, -0.02));
    assert!(close(v.a, 0.9) && close(v.b, 0.88));
    let text = d.render(false);
    assert!(text.contains("fail-if violations (1):"), "{text}");
    assert!(
        text.contains("pipeline.seed=1 heads.count=2: selected_accuracy Δ -0.0200 (-2.22%)"),
        "{text}"
    );

    assert_eq!(
        diff(&a, &b, &fail_if(&["selected_accuracy < -2%"]))
            .unwrap()
            .violations
            .len(),
        1
    );
    // <= 0 matches the three joined rows that did not improve, never the one-sided rows
    // (heads.count 3 in B has accuracy 0.10).
    let d = diff(&a, &b, &fail_if(&["selected_accuracy <= 0"])).unwrap();
    assert_eq!(d.violations.len(), 3);
    // Several conditions, one on a metric not shown by default.
    let d = diff(
        &a,
        &b,
        &fail_if(&["selected_loss > 0.05", "wall_seconds>=10"]),
    )
    .unwrap();
    assert_eq!(d.violations.len(), 5);
    assert!(d.metrics.contains(&"wall_seconds".to_string()));
}

#[test]
fn fail_if_does_not_trigger_within_tolerance() {
    let (_dir, a, b) = pair();
    for expr in [
        "selected_accuracy < -0.03",
        "selected_accuracy < -3%",
        "selected_accuracy > 0.011",
        "selected_loss > 10.5%",
        "mean_accuracy < 0",
    ] {
        let d = diff(&a, &b, &fail_if(&[expr])).unwrap();
        assert!(d.violations.is_empty(), "{expr}: {:?}", d.violations);
        assert!(!d.render(false).contains("violations"));
    }
}

#[test]
fn bad_fail_if_expressions_are_errors_naming_them() {
    let c = Condition::parse(" selected_accuracy >= -0.5% ").unwrap();
    assert_eq!(c.metric, "selected_accuracy");
    assert_eq!(c.op, Op::Ge);
    assert!(close(c.threshold, -0.5));
    assert!(c.percent);

    let (_dir, a, b) = pair();
    for expr in [
        "selected_accuracy",
        "selected_accuracy == 0",
        "selected_accuracy < abc",
        "< 0.1",
        "selected accuracy < 0.1",
        "selected_accuracy < ",
        "selected_accuracy < inf",
    ] {
        let err = diff(&a, &b, &fail_if(&[expr])).unwrap_err();
        assert!(
            matches!(err, DiffError::BadCondition { .. }),
            "{expr}: {err}"
        );
        assert!(err.to_string().contains(&format!("`{expr}`")), "{err}");
    }
    let err = diff(&a, &b, &fail_if(&["accuracy < 0"])).unwrap_err();
    assert!(matches!(err, DiffError::UnknownMetric { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("`accuracy`") && msg.contains("selected_accuracy"),
        "{msg}"
    );
    // Not metrics: bookkeeping and parameters.
    assert!(diff(&a, &b, &fail_if(&["git_commit < 0"])).is_err());
    assert!(diff(&a, &b, &fail_if(&["heads.count < 0"])).is_err());
}

#[test]
fn duplicate_keys_on_one_side_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let dup = side_a().replace("a41,finished,base,1,4", "a41,finished,base,1,2");
    let a = write(dir.path(), "a/summary.csv", &dup);
    let b = write(dir.path(), "b/summary.csv", &side_b());
    let err = diff(&a, &b, &Default::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, DiffError::DuplicateKey { side: "A", .. }),
        "{msg}"
    );
    assert!(msg.contains("summary.csv:4 and "), "{msg}");
    assert!(msg.contains("summary.csv:6 "), "{msg}");
    assert!(msg.contains("pipeline.seed=1 heads.count=2"), "{msg}");
}

#[test]
fn markdown_for_pull_requests() {
    let (_dir, a, b) = pair();
    let md = diff(&a, &b, &fail_if(&["selected_accuracy < -1%"]))
        .unwrap()
        .render(true);
    assert!(md.contains("- `train.lr`: 0.001 → 0.002\n"), "{md}");
    assert!(
        md.contains("| pipeline.seed | heads.count | metric | A | B | Δ | Δ% |\n|---|---|---|---:|---:|---:|---:|\n"),
        "{md}"
    );
    assert!(
        md.contains("| 1 | 2 | selected_accuracy | 0.9000 | 0.8800 | -0.0200 | -2.22% |"),
        "{md}"
    );
    assert!(md.contains("meets `selected_accuracy < -1%`"), "{md}");
}

#[test]
fn runs_from_another_backend_or_vector_level_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let header = "run_id,status,pipeline.seed,selected_accuracy,backend,cpu,simd";
    let a = write(
        dir.path(),
        "a/summary.csv",
        &format!("{header}\na1,finished,1,0.90,flex,AMD EPYC,avx512\na2,finished,2,0.91,flex,,\n"),
    );
    let b = write(
        dir.path(),
        "b/summary.csv",
        &format!("{header}\nb1,finished,1,0.89,flex,AMD EPYC,avx2\nb2,finished,2,0.91,flex,AMD EPYC,avx2\n"),
    );
    let d = diff(&a, &b, &Default::default()).unwrap();
    assert_eq!(
        d.provenance,
        vec![
            change("cpu", "AMD EPYC, not recorded", "AMD EPYC"),
            change("simd", "avx512, not recorded", "avx2")
        ],
        "the backend is the same on both sides and is not listed"
    );
    assert!(d.params.is_empty(), "provenance is not a parameter");
    assert_eq!(d.metrics, vec!["selected_accuracy"], "nor a metric");
    let text = d.render(false);
    assert!(
        text.contains("ran elsewhere") && text.contains("simd: avx512, not recorded → avx2"),
        "{text}"
    );
    // The same provenance on both sides says nothing.
    let same = diff(&b, &b, &Default::default()).unwrap();
    assert!(same.provenance.is_empty() && !same.render(false).contains("ran elsewhere"));
}

#[test]
fn a_csv_that_is_not_a_summary_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a/summary.csv", &side_a());
    let other = write(dir.path(), "metrics.csv", "epoch,loss\n1,0.5\n");
    let err = diff(&a, &other, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "{}: not a mirun summary: no `run_id` column (its columns: epoch, loss)",
            other.display()
        )),
        "{err}"
    );
}
