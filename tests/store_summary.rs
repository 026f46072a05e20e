//! summary.csv: one row per run id, reruns replace their row, nothing half-written.

use mirun::store::summary::{read, statuses, upsert};

fn row(id: &str, acc: &str) -> Vec<(String, String)> {
    vec![
        ("run_id".into(), id.into()),
        ("heads.count".into(), "2".into()),
        ("selected_accuracy".into(), acc.into()),
    ]
}

#[test]
fn rerun_replaces_its_row_and_keeps_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.csv");
    upsert(&path, &row("a", "0.5")).unwrap();
    upsert(&path, &row("b", "0.6")).unwrap();
    upsert(&path, &row("a", "0.7")).unwrap();
    let (header, rows) = read(&path).unwrap();
    assert_eq!(header, vec!["run_id", "heads.count", "selected_accuracy"]);
    assert_eq!(rows.len(), 2);
    let a = rows.iter().find(|r| r["run_id"] == "a").unwrap();
    assert_eq!(a["selected_accuracy"], "0.7");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn new_columns_extend_older_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.csv");
    upsert(&path, &row("a", "0.5")).unwrap();
    let mut wider = row("b", "0.6");
    wider.push(("wall_seconds".into(), "12.5".into()));
    upsert(&path, &wider).unwrap();
    let (header, rows) = read(&path).unwrap();
    assert_eq!(header.last().unwrap(), "wall_seconds");
    assert_eq!(rows[0]["wall_seconds"], "", "older rows get an empty cell");
    assert_eq!(rows[1]["wall_seconds"], "12.5");
}

#[test]
fn a_hand_edited_bad_row_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.csv");
    std::fs::write(&path, "run_id,selected_accuracy\na,0.5\nb,0.6,extra\n").unwrap();
    let err = upsert(&path, &row("c", "0.1")).unwrap_err().to_string();
    assert!(
        err.contains("summary.csv") && err.contains("line 3"),
        "{err}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("b,0.6,extra"), "the file is left as it was");
}

#[test]
fn statuses_give_each_runs_last_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.csv");
    assert!(statuses(&path).unwrap().is_empty(), "no file yet: no runs");
    let with = |id: &str, status: &str| {
        let mut r = row(id, "0.5");
        r.push(("status".into(), status.into()));
        r
    };
    upsert(&path, &with("a", "finished")).unwrap();
    upsert(&path, &with("b", "finished")).unwrap();
    upsert(&path, &with("b", "failed")).unwrap();
    let s = statuses(&path).unwrap();
    assert_eq!(s.get("a").map(String::as_str), Some("finished"));
    assert_eq!(s.get("b").map(String::as_str), Some("failed"));
    assert_eq!(s.len(), 2);
}
