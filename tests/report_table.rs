//! `mirun table`: mean ± sample std per parameter setting over seeds, from summary.csv files.

use mirun::report::collect::CollectError;
use mirun::report::table::{table, Format, TableError, TableOptions};
use std::path::Path;

const HEADER: &str = "run_id,status,pipeline.name,pipeline.seed,heads.count,train.lr,backbone.cfg,\
epochs_done,head_accuracies,selected_head,selected_accuracy,wall_seconds,backend";

/// heads.count 2 and 10 × seeds 1..3, plus one failed run with a different lr and junk metrics.
fn sweep() -> String {
    let rows = [
        "a1,finished,sweep,1,10,0.001,\"[32, \"\"M\"\"]\",3,0.95;0.9,0,0.95,10.0,flex",
        "a2,finished,sweep,2,10,0.001,\"[32, \"\"M\"\"]\",3,0.96;0.9,0,0.96,11.0,flex",
        "a3,finished,sweep,3,10,0.001,\"[32, \"\"M\"\"]\",3,0.99;0.9,0,0.99,12.0,flex",
        "b1,finished,sweep,1,2,0.001,\"[32, \"\"M\"\"]\",3,0.90;0.8,0,0.90,5.0,flex",
        "b2,finished,sweep,2,2,0.001,\"[32, \"\"M\"\"]\",3,0.92;0.8,0,0.92,6.0,flex",
        "b3,finished,sweep,3,2,0.001,\"[32, \"\"M\"\"]\",3,0.94;0.8,0,0.94,7.0,flex",
        "c1,failed,sweep,1,7,0.5,\"[32, \"\"M\"\"]\",,,,oops,,flex",
    ];
    format!("{HEADER}\n{}\n", rows.join("\n"))
}

fn write(dir: &Path, rel: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn mean_and_sample_std_per_group_sorted_numerically() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "summary.csv", &sweep());
    let t = table(&csv, &TableOptions::default()).unwrap();
    assert_eq!(t.by, vec!["heads.count"]);
    assert_eq!(t.metrics, vec!["selected_accuracy"]);
    let keys: Vec<&str> = t.groups.iter().map(|g| g.key[0].as_str()).collect();
    assert_eq!(keys, vec!["2", "10"], "numeric, not string, order");

    let two = &t.group(&["2"]).unwrap();
    assert_eq!(two.runs, 3);
    assert_eq!(two.stats[0].n, 3);
    assert!(close(two.stats[0].mean.unwrap(), 0.92));
    assert!(close(two.stats[0].std.unwrap(), 0.02));
    let ten = &t.group(&["10"]).unwrap();
    assert!(close(ten.stats[0].mean.unwrap(), 2.9 / 3.0));
    // deviations -1/60, -1/150, +7/300 → sum of squares 78/90000, / (n - 1) → sqrt
    assert!(close(
        ten.stats[0].std.unwrap(),
        (78.0f64 / 90000.0 / 2.0).sqrt()
    ));
    assert_eq!(t.skipped.get("failed"), Some(&1));

    let text = t.render(Format::Text);
    let expected = "\
heads.count  selected_accuracy  n
-----------  -----------------  -
2              0.9200 ± 0.0200  3
10             0.9667 ± 0.0208  3

1 failed run not shown
";
    assert_eq!(text, expected);
}

#[test]
fn default_by_is_only_the_varying_parameters() {
    let dir = tempfile::tempdir().unwrap();
    // Only the seed varies: one group over all three runs.
    let text = format!(
        "{HEADER}\n\
         a,finished,p,1,4,0.001,x,3,,0,0.5,1,flex\n\
         b,finished,p,2,4,0.001,x,3,,0,0.7,1,flex\n\
         c,finished,p,3,4,0.001,x,3,,0,0.9,1,flex\n"
    );
    let csv = write(dir.path(), "summary.csv", &text);
    let t = table(&csv, &TableOptions::default()).unwrap();
    assert!(t.by.is_empty(), "{:?}", t.by);
    assert_eq!(t.groups.len(), 1);
    assert_eq!(t.groups[0].runs, 3);
    assert!(close(t.groups[0].stats[0].mean.unwrap(), 0.7));
    assert!(close(t.groups[0].stats[0].std.unwrap(), 0.2));

    // train.lr varies only in the failed row of the sweep: not a group key.
    let csv = write(dir.path(), "sweep/summary.csv", &sweep());
    let t = table(&csv, &TableOptions::default()).unwrap();
    assert_eq!(t.by, vec!["heads.count"]);

    // Explicit --by, including the seed.
    let opts = TableOptions {
        by: vec!["pipeline.seed".into()],
        ..Default::default()
    };
    let t = table(&csv, &opts).unwrap();
    assert_eq!(t.groups.len(), 3);
    assert!(close(
        t.group(&["1"]).unwrap().stats[0].mean.unwrap(),
        0.925
    ));
    let s = &t.group(&["1"]).unwrap().stats[0];
    assert!(close(s.std.unwrap(), 0.05 / 2f64.sqrt()));

    // --worst: each group's lowest value (the worst seed) beside mean ± std.
    let opts = TableOptions {
        by: vec!["pipeline.seed".into()],
        worst: true,
        ..Default::default()
    };
    let t = table(&csv, &opts).unwrap();
    assert!(close(t.group(&["1"]).unwrap().stats[0].min.unwrap(), 0.9));
    let text = t.render(Format::Text);
    assert!(text.contains("0.9250 ± 0.0354 (worst 0.9000)"), "{text}");
    let csv_out = t.render(Format::Csv);
    assert!(
        csv_out
            .lines()
            .next()
            .unwrap()
            .ends_with("selected_accuracy_n,selected_accuracy_min,n"),
        "{csv_out}"
    );
}

#[test]
fn failed_rows_are_left_out_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{HEADER}\n\
         a,finished,p,1,4,0.001,x,3,,0,0.5,1,flex\n\
         b,failed,p,2,4,0.001,x,,,,,1,flex\n\
         c,failed,p,3,4,0.001,x,,,,,1,flex\n"
    );
    let csv = write(dir.path(), "summary.csv", &text);
    let t = table(&csv, &TableOptions::default()).unwrap();
    assert_eq!(t.groups.len(), 1);
    assert_eq!(t.groups[0].runs, 1);
    assert_eq!(t.groups[0].stats[0].std, None);
    assert_eq!(t.skipped_note().as_deref(), Some("2 failed runs not shown"));
    let text = t.render(Format::Text);
    assert!(text.contains("0.5000 ± -"), "{text}");
    assert!(text.ends_with("\n2 failed runs not shown\n"), "{text}");
    assert!(t
        .render(Format::Markdown)
        .ends_with("\n_2 failed runs not shown_\n"));
}

#[test]
fn bad_numeric_cell_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    // The quoted multi-line cell on line 2-3 pushes the bad record to line 5.
    let text = format!(
        "{HEADER}\n\
         a,finished,p,1,4,0.001,\"[32,\nM]\",3,,0,0.5,1,flex\n\
         b,finished,p,2,4,0.001,x,3,,0,0.6,1,flex\n\
         c,finished,p,3,4,0.001,x,3,,0,zero point seven,1,flex\n"
    );
    let csv = write(dir.path(), "summary.csv", &text);
    let err = table(&csv, &TableOptions::default()).unwrap_err();
    match &err {
        TableError::Load(CollectError::NotNumeric {
            path, line, column, ..
        }) => {
            assert_eq!(path, &csv.display().to_string());
            assert_eq!(*line, 5);
            assert_eq!(column, "selected_accuracy");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("line 5"), "{msg}");
    assert!(msg.contains("`zero point seven`"), "{msg}");
}

#[test]
fn directory_input_reads_summaries_recursively() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "iic_a/summary.csv",
        "run_id,status,pipeline.name,pipeline.seed,selected_accuracy\n\
         a,finished,iic_a,1,0.5\n",
    );
    write(
        dir.path(),
        "deeper/iic_b/summary.csv",
        "run_id,status,pipeline.name,pipeline.seed,selected_nmi,selected_accuracy\n\
         b,finished,iic_b,1,0.3,0.7\n\
         c,finished,iic_b,2,0.4,0.9\n",
    );
    write(dir.path(), "iic_a/abc/notes.csv", "x\n1\n");
    let t = table(dir.path(), &TableOptions::default()).unwrap();
    assert_eq!(t.sources.len(), 2);
    assert_eq!(t.by, vec!["pipeline.name"]);
    let b = t.group(&["iic_b"]).unwrap();
    assert_eq!(b.runs, 2);
    assert!(close(b.stats[0].mean.unwrap(), 0.8));
    assert!(close(
        t.group(&["iic_a"]).unwrap().stats[0].mean.unwrap(),
        0.5
    ));

    // A column only some files have: empty elsewhere, n counts the present values.
    let opts = TableOptions {
        by: vec![],
        metrics: vec!["selected_nmi".into()],
        format: Format::Text,
        worst: false,
    };
    let t = table(dir.path(), &opts).unwrap();
    assert_eq!(t.group(&["iic_a"]).unwrap().stats[0].n, 0);
    assert!(t.render(Format::Text).contains("0.3500 ± 0.0707"));

    // A summary.csv directly in the directory wins over the ones below.
    write(
        dir.path(),
        "summary.csv",
        "run_id,pipeline.seed,selected_accuracy\nz,1,0.25\n",
    );
    let t = table(dir.path(), &TableOptions::default()).unwrap();
    assert_eq!(t.sources, vec![dir.path().join("summary.csv")]);
    assert!(close(t.groups[0].stats[0].mean.unwrap(), 0.25));

    let empty = tempfile::tempdir().unwrap();
    let err = table(empty.path(), &TableOptions::default()).unwrap_err();
    assert!(matches!(
        err,
        TableError::Load(CollectError::NotFound { .. })
    ));
    assert!(err
        .to_string()
        .contains(&empty.path().display().to_string()));
}

#[test]
fn augmentation_pipelines_show_as_op_names_except_in_csv() {
    let dir = tempfile::tempdir().unwrap();
    let with = r#""[{ op = ""rotate"", max_degrees = 25, p = 0.5 }, { op = ""jitter"", brightness = 0.4 }]""#;
    let without = r#""[{ op = ""rotate"", max_degrees = 25, p = 0.5 }]""#;
    let text = format!(
        "run_id,status,pipeline.seed,augment.transformed,selected_accuracy\n\
         a,finished,1,{with},0.9\nb,finished,2,{with},0.8\nc,finished,1,{without},0.3\n"
    );
    let csv = write(dir.path(), "summary.csv", &text);
    let t = table(&csv, &TableOptions::default()).unwrap();
    let md = t.render(Format::Markdown);
    assert!(
        md.contains("| rotate → jitter | 0.8500 ± 0.0707 | 2 |"),
        "{md}"
    );
    assert!(md.contains("| rotate | 0.3000 ± - | 1 |"), "{md}");
    let out = t.render(Format::Csv);
    assert!(
        out.contains("brightness = 0.4"),
        "CSV keeps the whole value: {out}"
    );
}

#[test]
fn augmentation_lists_with_the_same_ops_but_other_settings_show_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mild = r#""[{ op = ""rotate"", max_degrees = 10 }]""#;
    let strong = r#""[{ op = ""rotate"", max_degrees = 40 }]""#;
    let text = format!(
        "run_id,status,pipeline.seed,augment.transformed,selected_accuracy\n\
         a,finished,1,{mild},0.9\nb,finished,1,{strong},0.8\n"
    );
    let csv = write(dir.path(), "summary.csv", &text);
    let md = table(&csv, &TableOptions::default())
        .unwrap()
        .render(Format::Markdown);
    // Two rows reading `rotate` would look like one setting run twice: show the settings.
    assert!(
        md.contains("max_degrees = 10") && md.contains("max_degrees = 40"),
        "{md}"
    );
    assert!(!md.contains("| rotate |"), "{md}");
}

#[test]
fn markdown_and_csv_render() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "summary.csv", &sweep());
    let t = table(&csv, &TableOptions::default()).unwrap();
    let md = t.render(Format::Markdown);
    let expected = "\
| heads.count | selected_accuracy | n |
|---|---:|---:|
| 2 | 0.9200 ± 0.0200 | 3 |
| 10 | 0.9667 ± 0.0208 | 3 |

_1 failed run not shown_
";
    assert_eq!(md, expected);

    let out = t.render(Format::Csv);
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        vec![
            "heads.count",
            "selected_accuracy_mean",
            "selected_accuracy_std",
            "selected_accuracy_n",
            "n"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][0], "2");
    assert!(close(rows[0][1].parse().unwrap(), 0.92));
    assert!(close(rows[0][2].parse().unwrap(), 0.02));
    assert_eq!(&rows[0][3], "3");
    assert_eq!(&rows[1][0], "10");
    assert!(!out.contains("failed"), "no footnote in CSV: {out}");
}

#[test]
fn default_metrics_without_selected_accuracy_are_the_numeric_ones() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "summary.csv",
        "run_id,status,heads.count,epochs_done,head_accuracies,selected_head,mi_estimate,wall_seconds,git_commit,error\n\
         a,finished,1,3,0.1;0.2,1,0.25,10,abc123,\n\
         b,finished,1,3,0.1;0.2,0,0.75,20,abc123,\n",
    );
    let t = table(&csv, &TableOptions::default()).unwrap();
    assert_eq!(
        t.metrics,
        vec!["epochs_done", "mi_estimate", "wall_seconds"]
    );
    let g = &t.groups[0];
    assert!(close(g.stats[1].mean.unwrap(), 0.5));
    assert!(close(g.stats[2].std.unwrap(), 50f64.sqrt()));
}

#[test]
fn unknown_columns_list_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "summary.csv", &sweep());
    let opts = TableOptions {
        by: vec!["heads.cnt".into()],
        ..Default::default()
    };
    let err = table(&csv, &opts).unwrap_err().to_string();
    assert!(err.contains("--by column `heads.cnt`"), "{err}");
    assert!(err.contains("heads.count"), "{err}");
    let opts = TableOptions {
        metrics: vec!["accuracy".into()],
        ..Default::default()
    };
    let err = table(&csv, &opts).unwrap_err().to_string();
    assert!(err.contains("--metric column `accuracy`"), "{err}");
    assert!(err.contains("selected_accuracy"), "{err}");
    assert!(!err.contains("heads.count"), "metrics only: {err}");
}
