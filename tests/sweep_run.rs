//! Sweeps end to end with the binary: every point exactly once after a kill and a rerun,
//! `-j 2` gives the rows of `-j 1`, `--dry-run` rejects a bad point before anything trains.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SWEEP: &str = r#"
[pipeline]
name = "tiny"
seed = 1

[dataset]
train_size = 512
test_size = 256

[backbone]
cfg = [8, "M", 16, "M", 32]

[train]
epochs = 1
batch_size = 64

[sweep]
grid = { "heads.count" = [1, 2] }
seeds = [1, 2]
"#;

struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("tiny.toml"), SWEEP).unwrap();
        let f = Self { tmp };
        let o = f.mirun(&["data", "fetch", "mnist"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        f
    }

    fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut c = Command::new(env!("CARGO_BIN_EXE_mirun"));
        c.args(args)
            .current_dir(self.tmp.path())
            .env("MIRUN_DATA_DIR", self.path("data"))
            .env("MIRUN_DATA_MIRROR", repo.join("data"));
        c
    }

    fn mirun(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run mirun")
    }

    /// Rows of `<out>/tiny/summary.csv` keyed by run id.
    fn rows(&self, out: &str) -> Vec<BTreeMap<String, String>> {
        let p = self.path(out).join("tiny/summary.csv");
        if !p.exists() {
            return Vec::new();
        }
        let mut r = csv::Reader::from_path(p).unwrap();
        let h = r.headers().unwrap().clone();
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                h.iter()
                    .map(String::from)
                    .zip(rec.iter().map(String::from))
                    .collect()
            })
            .collect()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What must not depend on timing or worker count, keyed by run id.
fn results(rows: &[BTreeMap<String, String>]) -> BTreeMap<String, (String, String, String)> {
    rows.iter()
        .map(|r| {
            (
                r["run_id"].clone(),
                (
                    r["status"].clone(),
                    r["head_accuracies"].clone(),
                    r["selected_loss"].clone(),
                ),
            )
        })
        .collect()
}

#[test]
fn dry_run_lists_points_and_rejects_an_invalid_one() {
    let f = Fixture::new();
    let o = f.mirun(&["sweep", "tiny.toml", "--dry-run", "--out", "o"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("4 point(s), all valid"), "{t}");
    let first = t.find("heads.count=1 pipeline.seed=1").unwrap();
    let second = t.find("heads.count=2 pipeline.seed=1").unwrap();
    let third = t.find("heads.count=1 pipeline.seed=2").unwrap();
    assert!(first < second && second < third, "seeds outermost:\n{t}");

    let o = f.mirun(&[
        "sweep",
        "tiny.toml",
        "--dry-run",
        "--out",
        "o",
        "--grid",
        "heads.count=1,0",
    ]);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains("heads.count=0") && t.contains("expected at least 1 head"),
        "{t}"
    );
    assert!(!f.path("o").exists(), "nothing written by a dry run");

    // A sweep file is not a single run.
    let o = f.mirun(&["run", "tiny.toml", "--out", "o"]);
    assert!(!o.status.success() && text(&o).contains("mirun sweep"));
}

#[test]
fn the_cost_is_said_before_it_is_spent() {
    let f = Fixture::new();
    // Nothing has run: no number is invented.
    let o = f.mirun(&["sweep", "tiny.toml", "--dry-run", "--out", "o"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("4 point(s) left, none timed yet"), "{t}");
    assert_eq!(t.matches("[not timed yet]").count(), 4, "{t}");
    // ... unless asked to time a few steps of each config now.
    let o = f.mirun(&[
        "sweep",
        "tiny.toml",
        "--dry-run",
        "--calibrate",
        "--out",
        "o",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert_eq!(t.matches("(calibrated: steps only)]").count(), 4, "{t}");
    assert!(t.contains("cost: 4 point(s) left ≈ "), "{t}");
    assert!(!f.path("o").exists(), "a calibration writes nothing");

    // A run says its cost after its first steps, and again after its first epoch.
    let o = f.mirun(&[
        "run",
        "tiny.toml",
        "--sweep-point",
        "--set",
        "train.epochs=2",
        "--out",
        "r",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let first = t.find("cost: 2 epochs × 8 steps ≈ ").expect(&t);
    assert!(
        t[first..].contains("each epoch's evaluation comes on top"),
        "{t}"
    );
    let second = t.find("of it evaluation)").expect(&t);
    assert!(
        first < second && second < t.find("epoch 2/2").unwrap(),
        "{t}"
    );

    // Seed 1 runs; the dry run then times the seed-2 points from them.
    let o = f.mirun(&["sweep", "tiny.toml", "--seeds", "1", "--out", "o", "-q"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = f.mirun(&["sweep", "tiny.toml", "--dry-run", "--out", "o"]);
    let t = text(&o);
    assert_eq!(t.matches("[done]").count(), 2, "{t}");
    assert_eq!(t.matches("(from run ").count(), 2, "{t}");
    assert!(t.contains("cost: 2 point(s) left ≈ "), "{t}");
    // A sweep narrowed to seed 2 still finds the seed-1 runs on the results tree.
    let o = f.mirun(&[
        "sweep",
        "tiny.toml",
        "--seeds",
        "2",
        "--dry-run",
        "--out",
        "o",
    ]);
    let t = text(&o);
    assert_eq!(t.matches("(from run ").count(), 2, "{t}");
    assert!(!t.contains("not timed yet"), "{t}");
    // ... and `run --dry-run` of a finished point says there is nothing to spend.
    let o = f.mirun(&[
        "run",
        "tiny.toml",
        "--sweep-point",
        "--dry-run",
        "--out",
        "o",
    ]);
    assert!(text(&o).contains("cost: done"), "{}", text(&o));
}

#[test]
fn killed_sweep_completes_on_rerun_with_every_point_once() {
    let f = Fixture::new();
    // Kill once as soon as the first point has started, once after the first point finished.
    // Points take ~0.3 s each: poll often, and wait for events rather than for a fixed time.
    for wait_rows in [0, 1] {
        let mut child = f
            .cmd(&["sweep", "tiny.toml", "--out", "k", "-q"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        let started = |f: &Fixture| f.path("k/tiny").is_dir();
        while (f.rows("k").len() < wait_rows || !started(&f))
            && t0.elapsed() < Duration::from_secs(300)
        {
            assert!(child.try_wait().unwrap().is_none(), "the sweep ended early");
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let before = f.rows("k").len();
    assert!(before < 4, "killed before the end: {before} rows");
    let o = f.mirun(&["sweep", "tiny.toml", "--out", "k"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    if before > 0 {
        assert!(t.contains("skipped: run"), "finished points skipped:\n{t}");
    }
    let rows = f.rows("k");
    let ids = results(&rows);
    assert_eq!(rows.len(), 4, "every point exactly once: {rows:?}");
    assert_eq!(ids.len(), 4);
    assert!(ids.values().all(|(s, _, _)| s == "finished"), "{ids:?}");

    // Rerunning a complete sweep trains nothing.
    let o = f.mirun(&["sweep", "tiny.toml", "--out", "k"]);
    assert!(text(&o).contains("0 run, 4 skipped"), "{}", text(&o));
}

#[test]
fn two_workers_give_the_rows_of_one() {
    let f = Fixture::new();
    let o1 = f.mirun(&["sweep", "tiny.toml", "--out", "j1", "-j", "1"]);
    assert!(o1.status.success(), "{}", text(&o1));
    let o2 = f.mirun(&["sweep", "tiny.toml", "--out", "j2", "-j", "2"]);
    assert!(o2.status.success(), "{}", text(&o2));
    let (a, b) = (f.rows("j1"), f.rows("j2"));
    assert_eq!(a.len(), 4);
    assert_eq!(results(&a), results(&b));
    // Each point has its own log.
    let logs = std::fs::read_dir(f.path("j2/tiny/logs")).unwrap().count();
    assert_eq!(logs, 4);
}

#[test]
fn a_failing_point_is_reported_and_the_sweep_goes_on() {
    let f = Fixture::new();
    // An absurd learning rate passes validation but blows the weights up: a NaN loss.
    let o = f.mirun(&[
        "sweep",
        "tiny.toml",
        "--out",
        "e",
        "--seeds",
        "1",
        "--grid",
        "train.lr=0.001,1e30",
        "--grid",
        "heads.count=1",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "one failed point:\n{t}");
    assert!(t.contains("FAILED") && t.contains("log:"), "{t}");
    let rows = f.rows("e");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let failed: Vec<_> = rows.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{rows:?}");
    assert!(
        failed[0]["error"].contains("numerical failure"),
        "{:?}",
        failed[0]
    );
}

#[test]
fn two_sweeps_at_once_never_corrupt_the_results() {
    let f = Fixture::new();
    let spawn = || {
        f.cmd(&["sweep", "tiny.toml", "--out", "c"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", text(&a));
    assert!(b.status.success(), "{}", text(&b));
    let rows = f.rows("c");
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(results(&rows).len(), 4);
    assert!(rows.iter().all(|r| r["status"] == "finished"));
    for r in &rows {
        let dir = f.path("c/tiny").join(&r["run_id"]);
        let m = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        assert!(csv::Reader::from_reader(m.as_bytes())
            .records()
            .all(|x| x.is_ok()));
    }
}
