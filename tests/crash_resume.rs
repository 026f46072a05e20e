//! Crash safety: a run killed with SIGKILL at several points (at varying delays after each
//! checkpoint) resumes from its checkpoint and ends with exactly the rows of an uninterrupted
//! run (timing aside), once each.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PIPELINE: &str = r#"
[pipeline]
name = "crash"
seed = 5

[dataset]
train_size = 512
test_size = 256

[backbone]
cfg = [8, "M", 16, "M", 32]

[heads]
count = 2

[train]
epochs = 6
batch_size = 64
"#;

/// mirun in `dir`, with its data there (from the repository's copy).
fn mirun(dir: &Path) -> Command {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(env!("CARGO_BIN_EXE_mirun"));
    c.current_dir(dir)
        .env("MIRUN_DATA_DIR", dir.join("data"))
        .env("MIRUN_DATA_MIRROR", repo.join("data"));
    c
}

fn cmd(dir: &Path, out: &str) -> Command {
    let mut c = mirun(dir);
    c.args(["run", "crash.toml", "--out", out]);
    c
}

/// `crash.toml` in `dir`, cut to 2 epochs.
fn two_epochs(dir: &Path) {
    std::fs::write(
        dir.join("crash.toml"),
        PIPELINE.replace("epochs = 6", "epochs = 2"),
    )
    .unwrap();
}

/// A checkpoint after epoch 1 whose weights are gone (a copy of a results tree: *.bpk are not
/// committed).
fn checkpoint_without_weights(run: &Path) {
    std::fs::write(
        run.join("checkpoint.toml"),
        "epoch = 1\nmodel = \"ckpt-1-model.bpk\"\noptim = \"ckpt-1-optim.bpk\"\n",
    )
    .unwrap();
}

fn run_dir(dir: &Path, out: &str) -> PathBuf {
    let root = dir.join(out).join("crash");
    std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("config.toml").is_file())
        .expect("a run directory")
}

/// Polls until `done`, the child exits, or two minutes pass.
fn wait_until(child: &mut std::process::Child, done: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !done() && child.try_wait().unwrap().is_none() && t0.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// CSV text without the `seconds` column of metrics.csv.
fn untimed(metrics: &str) -> Vec<String> {
    metrics
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(5);
            f.join(",")
        })
        .collect()
}

#[test]
fn killed_runs_resume_to_the_same_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("crash.toml"), PIPELINE).unwrap();
    let o = cmd(dir, "straight").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let straight = run_dir(dir, "straight");

    // Each start is killed shortly after it writes a new checkpoint (jitter: somewhere in the
    // next epoch), or a little after start for the first one; later starts must resume.
    let checkpoint_epoch = || -> usize {
        let Ok(d) = std::panic::catch_unwind(|| run_dir(dir, "killed")) else {
            return 0;
        };
        std::fs::read_to_string(d.join("checkpoint.toml"))
            .ok()
            .and_then(|t| t.lines().next()?.strip_prefix("epoch = ")?.parse().ok())
            .unwrap_or(0)
    };
    let mut kills = 0;
    let mut resumed = 0;
    for jitter_ms in [40u64, 150, 0, 250, 90] {
        let before = checkpoint_epoch();
        let mut child = cmd(dir, "killed")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until(&mut child, || checkpoint_epoch() > before);
        std::thread::sleep(Duration::from_millis(jitter_ms));
        if child.try_wait().unwrap().is_some() {
            break; // finished before the kill
        }
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        kills += 1;
        if String::from_utf8_lossy(&out.stdout).contains("resuming an interrupted run") {
            resumed += 1;
        }
        // Whatever the kill point, the CSVs on disk parse.
        if let Ok(d) = std::panic::catch_unwind(|| run_dir(dir, "killed")) {
            for name in ["metrics.csv", "confusion.csv"] {
                if let Ok(text) = std::fs::read_to_string(d.join(name)) {
                    let mut r = csv::Reader::from_reader(text.as_bytes());
                    assert!(r.records().all(|x| x.is_ok()), "{name} parses after a kill");
                }
            }
        }
    }
    let o = cmd(dir, "killed").output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(kills >= 3, "the run was killed several times ({kills})");
    assert!(
        resumed >= 2,
        "later starts resumed from a checkpoint ({resumed})"
    );

    let killed = run_dir(dir, "killed");
    let read = |d: &Path, n: &str| std::fs::read_to_string(d.join(n)).unwrap();
    assert_eq!(
        untimed(&read(&straight, "metrics.csv")),
        untimed(&read(&killed, "metrics.csv")),
        "same rows, each epoch once"
    );
    assert_eq!(
        read(&straight, "confusion.csv"),
        read(&killed, "confusion.csv")
    );
    let mut r = csv::Reader::from_path(dir.join("killed/crash/summary.csv")).unwrap();
    let rows: Vec<_> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 1, "one summary row");
    assert!(
        !killed.join("checkpoint.toml").exists(),
        "checkpoint removed when finished"
    );
}

/// A MINE run (InfoNCE, linear probe): killed after a checkpoint, it resumes, and its summary
/// row counts every epoch of the run, not only those of the process that finished it.
#[test]
fn a_resumed_mine_run_counts_all_its_epochs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mine = PIPELINE
        .replace("[heads]\ncount = 2\n", "[loss]\nkind = \"infonce\"\n\n[model]\nlatent_dim = 10\n\n[evaluator]\nkind = \"linear_probe\"\nprobe_epochs = 2\n")
        .replace("epochs = 6", "epochs = 8");
    std::fs::write(dir.join("crash.toml"), mine).unwrap();
    let mut child = cmd(dir, "o")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpointed = || {
        std::panic::catch_unwind(|| run_dir(dir, "o"))
            .is_ok_and(|d| d.join("checkpoint.toml").exists())
    };
    wait_until(&mut child, checkpointed);
    assert!(
        child.try_wait().unwrap().is_none(),
        "killed before it finished"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let o = cmd(dir, "o").output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("resuming an interrupted run"), "{stdout}");
    let mut r = csv::Reader::from_path(dir.join("o/crash/summary.csv")).unwrap();
    let column = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "epochs_done")
        .unwrap();
    let rows: Vec<_> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 1, "one summary row");
    assert_eq!(
        &rows[0][column], "8",
        "epochs_done counts the epochs before the kill"
    );
}

#[test]
fn fresh_ignores_a_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    two_epochs(dir);
    let o = cmd(dir, "o").output().unwrap();
    assert!(o.status.success());
    let run = run_dir(dir, "o");
    // A checkpoint that does not parse is a clear error naming it, unless --fresh.
    std::fs::write(run.join("checkpoint.toml"), "epoch = \"one\"\n").unwrap();
    let o = cmd(dir, "o").output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("checkpoint.toml"),
        "{err}"
    );
    let o = cmd(dir, "o").arg("--fresh").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!run.join("checkpoint.toml").exists());
    // A checkpoint whose weights are gone names the missing file once and says how to start
    // over.
    checkpoint_without_weights(&run);
    let o = cmd(dir, "o").output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("--fresh"), "{err}");
    assert_eq!(err.matches("ckpt-1-model.bpk").count(), 1, "{err}");
}

/// A run started from another (`train.init_from`), killed after its first checkpoint, resumes
/// from its own checkpoint even after the other run's folder is gone; a new run from that
/// folder is refused.
#[test]
fn a_run_started_from_another_resumes_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("crash.toml"), PIPELINE).unwrap();
    let o = cmd(dir, "source")
        .args(["--set", "train.epochs=1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let source = run_dir(dir, "source");
    let from = format!("train.init_from=\"{}\"", source.display());
    let started = |c: &mut Command| {
        c.args(["--set", &from]);
    };
    let mut c = cmd(dir, "b");
    started(&mut c);
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = || {
        std::panic::catch_unwind(|| run_dir(dir, "b"))
            .is_ok_and(|d| d.join("checkpoint.toml").is_file())
    };
    wait_until(&mut child, checkpoint);
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running at its first checkpoint"
    );
    child.kill().unwrap();
    let first = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&first.stdout).contains("starts from the trunk"));
    std::fs::remove_dir_all(dir.join("source")).unwrap();

    let mut c = cmd(dir, "b");
    started(&mut c);
    let o = c.output().unwrap();
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(said.contains("resuming an interrupted run"), "{said}");
    assert!(!said.contains("starts from"), "{said}");

    let mut c = cmd(dir, "c");
    started(&mut c);
    let o = c.output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such folder"));
}

/// A sweep point whose checkpoint cannot be read back (its weights were not copied along)
/// fails with a message that names the way out, and `mirun sweep --fresh` starts it over.
#[test]
fn sweep_fresh_starts_an_unresumable_point_over() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    two_epochs(dir);
    let sweep = |extra: &[&str]| {
        mirun(dir)
            .args(["sweep", "crash.toml", "--seeds", "5", "--out", "o"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = sweep(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = run_dir(dir, "o");
    // No finished row, and a checkpoint whose files are gone: an interrupted point.
    std::fs::remove_file(dir.join("o/crash/summary.csv")).unwrap();
    checkpoint_without_weights(&run);
    let o = sweep(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("mirun sweep --fresh"), "{err}");
    let o = sweep(&["--fresh"]);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(said.contains("started over, --fresh"), "{said}");
    assert!(!run.join("checkpoint.toml").exists());
    let summary = std::fs::read_to_string(dir.join("o/crash/summary.csv")).unwrap();
    assert!(summary.contains("finished"), "{summary}");
}
