//! Sweeps beyond one process: the Slurm job-array script, Slurm's refusals, 24 runs writing one
//! `summary.csv` at once, two processes racing for one run, and a real single-node Slurm
//! cluster (started from `scripts/slurm/up.sh` when its binaries are installed and we are
//! root; otherwise that test says it was skipped).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A MINE Gaussian run of `steps` steps, analytic MI only.
fn gaussian_run(steps: usize) -> String {
    format!(
        r#"[pipeline]
name = "gauss"

[dataset]
kind = "gaussian"
cov_xy = 0.5

[model]
hidden = 16

[loss]
kind = "mine"

[evaluator]
kind = "analytic_mi"

[train]
steps = {steps}
batch_size = 1000
lr = 0.01
"#
    )
}

/// [`gaussian_run`] as a sweep: 2 bounds × 3 seeds, on Slurm, 2 tasks at a time.
fn gaussian_sweep(steps: usize) -> String {
    format!(
        r#"{}
[sweep]
grid = {{ "loss.kind" = ["mine", "nwj"] }}
seeds = [1, 2, 3]

[launcher]
kind = "slurm"
time = "00:10:00"
max_parallel = 2
"#,
        gaussian_run(steps)
    )
}

fn mirun(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mirun"));
    c.args(args).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run mirun")
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `summary.csv` rows as (run_id → status), asserting no run id appears twice.
fn summary(path: &Path) -> BTreeMap<String, String> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, status) = (col("run_id"), col("status"));
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("a whole CSV row");
        let prev = out.insert(rec[id].to_string(), rec[status].to_string());
        assert!(prev.is_none(), "run {} has two rows", &rec[id]);
    }
    out
}

#[test]
fn slurm_dry_run_prints_the_array_of_unfinished_points() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("g.toml"), gaussian_sweep(20)).unwrap();
    let o = mirun(
        tmp.path(),
        &[
            "sweep",
            "g.toml",
            "--dry-run",
            "--set",
            "launcher.partition=gpu",
            "--set",
            "launcher.mem=4G",
            "--set",
            "launcher.setup=[\"module load cuda\"]",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let script = String::from_utf8_lossy(&o.stdout);
    for line in [
        "#SBATCH --array=1-6%2",
        "#SBATCH --time=00:10:00",
        "#SBATCH --partition=gpu",
        "#SBATCH --mem=4G",
        "#SBATCH --requeue",
        "module load cuda",
        "--sweep-point",
    ] {
        assert!(script.contains(line), "missing {line:?} in\n{script}");
    }
    assert!(!tmp.path().join("runs").exists(), "--dry-run wrote nothing");

    // Finish points 1 and 2 here: the array then holds only points 3..6.
    let o = mirun(
        tmp.path(),
        &[
            "sweep",
            "g.toml",
            "--launcher",
            "local",
            "--grid",
            "loss.kind=mine,nwj",
            "--seeds",
            "1",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = mirun(tmp.path(), &["sweep", "g.toml", "--dry-run"], &[]);
    let script = String::from_utf8_lossy(&o.stdout);
    assert!(script.contains("#SBATCH --array=3-6%2"), "{script}");
    let o = mirun(tmp.path(), &["sweep", "g.toml", "--status"], &[]);
    let status = String::from_utf8_lossy(&o.stdout);
    assert!(
        status.contains(
            "6 point(s): 2 finished, 0 running, 0 pending, 0 failed, 0 interrupted, 4 new"
        ),
        "{status}"
    );
}

#[test]
fn bad_launcher_keys_name_the_key_and_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    for (extra, sets, expected) in [
        (
            "time = \"ten minutes\"\n",
            vec![],
            "`launcher.time`: expected a Slurm time",
        ),
        (
            "partiton = \"gpu\"\n",
            vec![],
            "`launcher.partiton`: unknown key (did you mean `partition`?)",
        ),
        (
            "",
            vec!["--set", "launcher.mem=lots"],
            "--set launcher.mem=lots: `launcher.mem`: expected a size",
        ),
        (
            "",
            vec!["--set", "launcher.cpus_per_task=0"],
            "`launcher.cpus_per_task`: expected at least 1",
        ),
        (
            "extra = [\"constraint=a100\"]\n",
            vec![],
            "`launcher.extra`: each entry is one sbatch option",
        ),
    ] {
        let file = tmp.path().join("g.toml");
        let base = gaussian_sweep(20).replace("time = \"00:10:00\"\n", "");
        std::fs::write(&file, format!("{base}{extra}")).unwrap();
        let mut args = vec!["sweep", "g.toml", "--dry-run"];
        args.extend(sets);
        let o = mirun(tmp.path(), &args, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{expected}: {}", text(&o));
        assert!(err.contains(expected), "expected {expected:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
        if extra.is_empty() {
            continue;
        }
        assert!(err.contains("g.toml:"), "the file and line: {err}");
    }
}

#[test]
fn missing_or_refusing_sbatch_is_a_clear_error_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("g.toml"), gaussian_sweep(20)).unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let o = mirun(
        tmp.path(),
        &["sweep", "g.toml"],
        &[("PATH", bin.to_str().unwrap())],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("`sbatch` was not found on PATH"), "{err}");

    // A stand-in sbatch that refuses as Slurm does for a bad partition.
    let fake = bin.join("sbatch");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'sbatch: error: invalid partition specified: nope' >&2\necho 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = mirun(
        tmp.path(),
        &["sweep", "g.toml", "--set", "launcher.partition=nope"],
        &[("PATH", bin.to_str().unwrap())],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("Slurm refused the job") && err.contains("invalid partition specified: nope"),
        "{err}"
    );
    let slurm_dir = tmp.path().join("runs/gauss/slurm");
    let left: Vec<_> = std::fs::read_dir(&slurm_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing half-written: {left:?}");
}

#[test]
fn twenty_four_runs_finishing_at_once_keep_every_summary_row() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("g.toml"), gaussian_sweep(20)).unwrap();
    let o = mirun(
        tmp.path(),
        &[
            "sweep",
            "g.toml",
            "--launcher",
            "local",
            "--grid",
            "loss.kind=mine,nwj",
            "--seeds",
            "range(1, 13)",
            "-j",
            "24",
            "--quiet",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let rows = summary(&tmp.path().join("runs/gauss/summary.csv"));
    assert_eq!(rows.len(), 24, "{rows:?}");
    assert!(rows.values().all(|s| s == "finished"), "{rows:?}");
}

#[test]
fn two_processes_racing_for_one_run_train_it_once() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("g.toml"), gaussian_run(20000)).unwrap();
    let args = ["run", "g.toml", "--quiet"];
    let mut first = Command::new(env!("CARGO_BIN_EXE_mirun"))
        .args(args)
        .current_dir(tmp.path())
        .spawn()
        .unwrap();
    // Start the second once the first holds the run's lock.
    let started = Instant::now();
    let lock = loop {
        let found = std::fs::read_dir(tmp.path().join("runs/gauss"))
            .ok()
            .and_then(|d| {
                d.flatten()
                    .map(|e| e.path().join(".lock"))
                    .find(|l| l.exists())
            });
        if let Some(l) = found {
            break l;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no lock appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let second = mirun(tmp.path(), &args, &[]);
    let first = first.wait().unwrap();
    assert!(first.success());
    assert_eq!(second.status.code(), Some(75), "{}", text(&second));
    assert!(
        String::from_utf8_lossy(&second.stderr)
            .contains("already running in another mirun process"),
        "{}",
        text(&second)
    );
    assert!(lock.exists());
    let rows = summary(&tmp.path().join("runs/gauss/summary.csv"));
    assert_eq!(rows.len(), 1);
}

/// A point another process is training is shown as running by `--dry-run`, not as an
/// interrupted run that would resume.
#[test]
fn a_dry_run_says_a_locked_run_is_running() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = format!("{}\n[sweep]\nseeds = [7]\n", gaussian_run(50));
    std::fs::write(tmp.path().join("g.toml"), gaussian_run(50)).unwrap();
    std::fs::write(tmp.path().join("s.toml"), sweep).unwrap();
    let stdout = |args: &[&str]| {
        let o = mirun(tmp.path(), args, &[]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // `run <id> (…) → <dir>  [state]` and `   1  <id>  <state>  <point>  [cost]`.
    let run = stdout(&["run", "g.toml", "--dry-run"]);
    let point = stdout(&["sweep", "s.toml", "--dry-run"]);
    assert!(run.contains("[new]"), "{run}");
    let mut locks = Vec::new();
    for id in [
        run.split_whitespace().nth(1).unwrap(),
        point.split_whitespace().nth(1).unwrap(),
    ] {
        let dir = tmp.path().join("runs/gauss").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let lock = std::fs::File::create(dir.join(".lock")).unwrap();
        lock.try_lock().unwrap();
        locks.push(lock);
    }
    let held = stdout(&["run", "g.toml", "--dry-run"]);
    assert!(held.contains("[running in another process"), "{held}");
    let planned = stdout(&["sweep", "s.toml", "--dry-run"]);
    assert_eq!(
        planned.split_whitespace().nth(2),
        Some("running"),
        "{planned}"
    );
    drop(locks);
    let released = stdout(&["run", "g.toml", "--dry-run"]);
    assert!(
        released.contains("[interrupted: would resume]"),
        "{released}"
    );
}

/// A throwaway single-node cluster, stopped by PID however the test ends.
struct Cluster {
    dir: PathBuf,
    conf: String,
}

impl Cluster {
    /// Starts one if this machine can (root, Slurm and munge installed); `None` says why not.
    fn start() -> Result<Self, String> {
        let have = |b: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        for b in [
            "slurmctld",
            "slurmd",
            "sbatch",
            "squeue",
            "scancel",
            "munged",
        ] {
            if !have(b) {
                return Err(format!("`{b}` is not installed (.ci/run installs Slurm)"));
            }
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("the test cluster runs its daemons as root".into());
        }
        let dir = PathBuf::from(format!("/tmp/mirun-slurm-test-{}", std::process::id()));
        let up = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm/up.sh");
        let o = Command::new("bash")
            .arg(&up)
            .env("SLURM_CI_DIR", &dir)
            .env("SLURM_CI_CTLD_PORT", "6917")
            .env("SLURM_CI_SLURMD_PORT", "6918")
            .output()
            .map_err(|e| e.to_string())?;
        let cluster = Cluster {
            dir: dir.clone(),
            conf: dir.join("etc/slurm.conf").display().to_string(),
        };
        if !o.status.success() {
            return Err(format!(
                "scripts/slurm/up.sh failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        Ok(cluster)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let down = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm/down.sh");
        let _ = Command::new("bash")
            .arg(down)
            .env("SLURM_CI_DIR", &self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn real_slurm_cluster_runs_a_sweep_and_completes_it_after_scancel() {
    let cluster = match Cluster::start() {
        Ok(c) => c,
        Err(why) => {
            eprintln!("skipped: no Slurm cluster for this test: {why}");
            return;
        }
    };
    let env = [("SLURM_CONF", cluster.conf.as_str())];
    let tmp = tempfile::tempdir().unwrap();

    // 1. Six points through the job array, followed to the end.
    std::fs::write(tmp.path().join("g.toml"), gaussian_sweep(300)).unwrap();
    let o = mirun(tmp.path(), &["sweep", "g.toml", "--wait"], &env);
    assert!(o.status.success(), "{}", text(&o));
    let job = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(job.parse::<u64>().is_ok(), "the job id on stdout: {job:?}");
    let rows = summary(&tmp.path().join("runs/gauss/summary.csv"));
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(rows.values().all(|s| s == "finished"));
    for id in rows.keys() {
        let log = tmp.path().join(format!("runs/gauss/logs/{id}.log"));
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(log.contains(&format!("slurm job {job}_")), "{log}");
    }
    let o = mirun(tmp.path(), &["sweep", "g.toml", "--wait"], &env);
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nothing to submit"),
        "{}",
        text(&o)
    );

    // 2. Longer points; cancel the array while two run, resubmit, every point once.
    std::fs::write(
        tmp.path().join("long.toml"),
        gaussian_sweep(6000).replace("\"gauss\"", "\"long\""),
    )
    .unwrap();
    let o = mirun(tmp.path(), &["sweep", "long.toml"], &env);
    assert!(o.status.success(), "{}", text(&o));
    let job = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let started = Instant::now();
    loop {
        let q = Command::new("squeue")
            .args(["-h", "-r", "-t", "R", "-j", &job])
            .env("SLURM_CONF", &cluster.conf)
            .output()
            .unwrap();
        if String::from_utf8_lossy(&q.stdout).lines().count() == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "two tasks never ran"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let o = Command::new("scancel")
        .arg(&job)
        .env("SLURM_CONF", &cluster.conf)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // Until the killed tasks are gone from the queue.
    let started = Instant::now();
    while Command::new("squeue")
        .args(["-h", "-j", &job])
        .env("SLURM_CONF", &cluster.conf)
        .output()
        .is_ok_and(|q| !q.stdout.is_empty())
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "scancel never drained"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let o = mirun(tmp.path(), &["sweep", "long.toml", "--status"], &env);
    let status = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        status.contains("interrupted"),
        "the killed points: {status}"
    );
    let o = mirun(tmp.path(), &["sweep", "long.toml", "--dry-run"], &env);
    let resubmitted = String::from_utf8_lossy(&o.stdout).to_string();
    let o = mirun(tmp.path(), &["sweep", "long.toml", "--wait"], &env);
    assert!(o.status.success(), "{}", text(&o));
    let rows = summary(&tmp.path().join("runs/long/summary.csv"));
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(rows.values().all(|s| s == "finished"), "{rows:?}");
    // The resubmission held only the points that had not finished.
    let finished_before = status.lines().filter(|l| l.contains(" finished ")).count();
    let array = resubmitted
        .lines()
        .find(|l| l.starts_with("#SBATCH --array="))
        .unwrap_or_default()
        .to_string();
    let in_array = resubmitted.lines().filter(|l| l.contains(") RUN=")).count();
    assert_eq!(in_array, 6 - finished_before, "{array}\n{status}");
    let o = mirun(tmp.path(), &["sweep", "long.toml", "--status"], &env);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("6 point(s): 6 finished"),
        "{}",
        text(&o)
    );
    drop(cluster);
}

#[test]
fn array_indices_become_slurm_ranges_and_squeue_lines_map_back() {
    use mirun::sweep::slurm::{array_ranges, is_stuck, parse_queue, Tasks};
    assert_eq!(array_ranges(&[1, 2, 3, 5, 7, 8]), "1-3,5,7-8");
    assert_eq!(array_ranges(&[4]), "4");
    let tasks: Tasks = [
        (("12".to_string(), 3), "aaa".to_string()),
        (("12".to_string(), 4), "bbb".to_string()),
    ]
    .into_iter()
    .collect();
    let q = parse_queue(
        "12_3|RUNNING|None\n12_4|PENDING|JobHeldAdmin\n13_1|RUNNING|None\n12_[5-6%2]|PENDING|Resources\n",
        &tasks,
    );
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!(q["aaa"].state, "RUNNING");
    assert_eq!(q["bbb"].id, "12_4");
    assert!(is_stuck(&q["bbb"]) && !is_stuck(&q["aaa"]));
}
