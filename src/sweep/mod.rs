//! Running a sweep: every point resolved and validated first, finished points skipped, the
//! rest run as child `mirun run` processes (`-j` at a time), each with its own log. A point's
//! run id is the hash of its resolved config, so rerunning a killed sweep completes it.

pub mod cost;
pub mod slurm;
pub mod status;

use crate::backend::BackendKind;
use crate::method::memory::{load_sized, Limit};
use crate::spec::{Override, Spec, SpecSource, SweepPoint, SweepSpec};
use crate::store::{run_id, summary};
use crate::train::Progress;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// How to run a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The pipeline file (its `[sweep]` already merged with the flags into `sweep`).
    pub file: PathBuf,
    pub sweep: SweepSpec,
    /// `--set` arguments, passed on to every point (env overrides are inherited).
    pub sets: Vec<String>,
    /// Env then `--set` overrides, for resolving points here.
    pub overrides: Vec<Override>,
    pub out: PathBuf,
    pub backend: Option<BackendKind>,
    /// Points run at once.
    pub jobs: usize,
    /// Rerun finished points too (from scratch).
    pub force: bool,
    /// Start interrupted points over instead of resuming them from their checkpoints.
    pub fresh: bool,
    /// What every point's memory estimate must fit in (here, a Slurm task's `launcher.mem`,
    /// or unchecked).
    pub memory: Limit,
    pub progress: Progress,
}

impl SweepOptions {
    /// Whether the points run start over instead of resuming a checkpoint (`--fresh`, or
    /// `--force`, which reruns from scratch).
    pub fn starts_over(&self) -> bool {
        self.force || self.fresh
    }
}

/// Where a point stands before the sweep runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointState {
    /// `summary.csv` has its finished row: skipped.
    Finished,
    /// Another process holds its run lock: it is training now (a second run of it is refused).
    Running,
    /// Its run directory exists without a finished row (killed or failed): run again.
    Interrupted,
    /// Never started.
    New,
}

impl PointState {
    fn name(self) -> &'static str {
        match self {
            PointState::Finished => "finished",
            PointState::Running => "running",
            PointState::Interrupted => "interrupted",
            PointState::New => "new",
        }
    }
}

/// A resolved point.
#[derive(Debug, Clone)]
pub struct PlannedPoint {
    pub point: SweepPoint,
    pub spec: Spec,
    pub run_id: String,
    pub state: PointState,
}

/// What a sweep did.
#[derive(Debug, Clone, Default)]
pub struct SweepReport {
    pub points: usize,
    pub ran: usize,
    pub skipped: usize,
    /// (point label, log file) of each failed point.
    pub failed: Vec<(String, PathBuf)>,
    pub summary: PathBuf,
}

/// Resolves and validates every point; all invalid points are reported together.
pub fn plan(opts: &SweepOptions) -> anyhow::Result<Vec<PlannedPoint>> {
    let points = opts.sweep.points()?;
    let mut planned = Vec::new();
    let mut problems = Vec::new();
    for point in points {
        let mut overrides = opts.overrides.clone();
        overrides.extend(point.overrides.iter().cloned());
        let src = SpecSource {
            file: Some(opts.file.clone()),
            overrides,
        };
        match load_sized(&src, opts.memory) {
            Ok((spec, _)) => planned.push(PlannedPoint {
                run_id: run_id(&spec),
                spec,
                point,
                state: PointState::New,
            }),
            Err(e) => problems.push(match point.overrides.is_empty() {
                true => format!("point {}: {e}", point.index + 1),
                false => format!("point {} ({}): {e}", point.index + 1, point.label()),
            }),
        }
    }
    if !problems.is_empty() {
        anyhow::bail!(
            "{} of the sweep's points are invalid; nothing was run:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    if let Some(first) = planned.first() {
        crate::data::fetch::check_available(&first.spec.dataset)?;
    }
    let mut statuses = BTreeMap::new();
    for p in &mut planned {
        let path = summary_path(&opts.out, &p.spec);
        if !statuses.contains_key(&path) {
            let read = summary::statuses(&path)?;
            statuses.insert(path.clone(), read);
        }
        let dir = opts.out.join(&p.spec.pipeline.name).join(&p.run_id);
        p.state = classify(&statuses[&path], &dir, &p.run_id);
    }
    Ok(planned)
}

/// `<out>/<name>/summary.csv` of a point's pipeline.
pub fn summary_path(out: &Path, spec: &Spec) -> PathBuf {
    out.join(&spec.pipeline.name).join("summary.csv")
}

/// Whether run `id` of `spec` finished, is training in another process, was interrupted, or
/// never started.
pub fn state_of(out: &Path, spec: &Spec, id: &str) -> anyhow::Result<PointState> {
    let statuses = summary::statuses(&summary_path(out, spec))?;
    Ok(classify(
        &statuses,
        &out.join(&spec.pipeline.name).join(id),
        id,
    ))
}

/// A point's state from its pipeline's run statuses (`summary::statuses`) and its run directory.
fn classify(statuses: &BTreeMap<String, String>, dir: &Path, id: &str) -> PointState {
    if statuses.get(id).map(String::as_str) == Some("finished") {
        PointState::Finished
    } else if status::is_locked(dir) {
        PointState::Running
    } else if dir.exists() {
        PointState::Interrupted
    } else {
        PointState::New
    }
}

/// `mirun sweep --dry-run`: one line per point (with its expected wall time on the results
/// tree `out`), then the time the missing points will take.
pub fn describe(
    out: &Path,
    planned: &[PlannedPoint],
    calibrate: Option<&cost::Calibrate>,
) -> anyhow::Result<String> {
    let costs = cost::estimate(out, planned, calibrate)?;
    let mut s = String::new();
    for (p, c) in planned.iter().zip(&costs) {
        s.push_str(&format!(
            "{:>4}  {}  {:<11}  {}  [{}]\n",
            p.point.index + 1,
            p.run_id,
            p.state.name(),
            p.point.label(),
            cost::cell(c)
        ));
    }
    s.push_str(&format!("cost: {}\n", cost::total_line(&costs)));
    Ok(s)
}

/// Runs the points not yet finished (all with `force`), `jobs` at a time.
pub fn run_sweep(opts: &SweepOptions, planned: &[PlannedPoint]) -> anyhow::Result<SweepReport> {
    let p = opts.progress;
    let n = planned.len();
    let todo: Vec<&PlannedPoint> = planned
        .iter()
        .filter(|pp| {
            let skip = pp.state == PointState::Finished && !opts.force;
            if skip {
                p.info(&format!(
                    "[{}/{n}] {} — skipped: run {} already finished",
                    pp.point.index + 1,
                    pp.point.label(),
                    pp.run_id
                ));
            }
            !skip
        })
        .collect();
    let mut report = SweepReport {
        points: n,
        skipped: n - todo.len(),
        summary: planned
            .first()
            .map(|pp| summary_path(&opts.out, &pp.spec))
            .unwrap_or_default(),
        ..Default::default()
    };
    let exe = std::env::current_exe()?;
    let queue = Mutex::new(todo.into_iter());
    let failed = Mutex::new(Vec::new());
    let jobs = opts.jobs.max(1);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                while let Some(pp) = queue.lock().map(|mut q| q.next()).ok().flatten() {
                    if let Err(log) = run_point(&exe, opts, pp, n, jobs) {
                        if let Ok(mut f) = failed.lock() {
                            f.push((pp.point.label(), log));
                        }
                    }
                }
            });
        }
    });
    report.failed = failed.into_inner().unwrap_or_default();
    report.ran = n - report.skipped;
    Ok(report)
}

/// Runs one point as `mirun run FILE --sweep-point --set …`, its output in
/// `<out>/<name>/logs/<run-id>.log`. Returns the log path on failure.
fn run_point(
    exe: &Path,
    opts: &SweepOptions,
    pp: &PlannedPoint,
    n: usize,
    jobs: usize,
) -> Result<(), PathBuf> {
    let p = opts.progress;
    let tag = format!("[{}/{n}] {}", pp.point.index + 1, pp.point.label());
    let logs = opts.out.join(&pp.spec.pipeline.name).join("logs");
    let log_path = logs.join(format!("{}.log", pp.run_id));
    let fail = |why: String| {
        p.warn(&format!(
            "{tag} — FAILED: {why}; log: {}",
            log_path.display()
        ));
        log_path.clone()
    };
    let log = std::fs::create_dir_all(&logs)
        .and_then(|()| std::fs::File::create(&log_path))
        .map_err(|e| fail(format!("cannot create the log: {e}")))?;
    let err_log = log
        .try_clone()
        .map_err(|e| fail(format!("cannot share the log: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .arg(&opts.file)
        .arg("--sweep-point")
        .arg("--out")
        .arg(&opts.out);
    if opts.starts_over() {
        cmd.arg("--fresh");
    }
    if let Some(b) = opts.backend {
        cmd.arg("--device").arg(b.name());
    }
    for s in opts.sets.iter().cloned().chain(pp.point.set_args()) {
        cmd.arg("--set").arg(s);
    }
    if jobs > 1 && std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        cmd.env("RAYON_NUM_THREADS", (cores / jobs).max(1).to_string());
    }
    cmd.stdout(log).stderr(err_log);
    die_with_parent(&mut cmd);
    let state = match pp.state {
        PointState::Finished => " (rerun: --force)",
        PointState::Running => " (another process was training it)",
        PointState::Interrupted if opts.fresh => " (interrupted before: started over, --fresh)",
        PointState::Interrupted => " (interrupted before: restarted)",
        PointState::New => "",
    };
    p.info(&format!("{tag} — run {}{state}", pp.run_id));
    let started = std::time::Instant::now();
    let status = cmd
        .status()
        .map_err(|e| fail(format!("cannot start {}: {e}", exe.display())))?;
    if status.success() {
        p.info(&format!(
            "{tag} — finished in {:.0}s",
            started.elapsed().as_secs_f64()
        ));
        Ok(())
    } else if status.code() == Some(i32::from(crate::pipeline::RunLocked::EXIT_CODE)) {
        // Another sweep (or run) of the same results tree holds this point: it will finish it.
        p.info(&format!(
            "{tag} — skipped: run {} is running in another mirun process",
            pp.run_id
        ));
        Ok(())
    } else {
        let last = std::fs::read_to_string(&log_path)
            .ok()
            .and_then(|t| {
                t.lines()
                    .rev()
                    .find(|l| l.starts_with("error"))
                    .map(String::from)
            })
            .unwrap_or_else(|| format!("exit status {status}"));
        Err(fail(last))
    }
}

/// On Linux the child is killed when the sweep dies, so a killed sweep leaves no orphan
/// training (and writing) behind; the rerun restarts the point.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the calling (child) process.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}
