//! Running a resolved spec end to end: data → model → train → eval → results. This module sets
//! a run up (devices, data, run directory, lock) and records failures; `iic` and `mine` train.

mod eval;
mod init;
mod record;
mod stages;

pub use eval::{eval_run, EvalExtras, Grid};
pub use init::{init_from, InitFrom};

use crate::backend::BackendKind;
use crate::method::{self, Pipeline};
use crate::spec::Spec;
use crate::store::{git_commit, run_id, summary, RunDir, RunInfo};
use crate::train::Progress;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How to run, beyond the spec itself.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Results root (the CLI's default is `runs/`).
    pub out: PathBuf,
    pub backend: BackendKind,
    /// The overrides given (env / `--set`), recorded in `run.toml`.
    pub overrides: Vec<String>,
    pub progress: Progress,
    /// Ignore a checkpoint left by an interrupted run and start over.
    pub fresh: bool,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_dir: PathBuf,
    pub summary: PathBuf,
    /// The run's row of `summary.csv`.
    pub row: Vec<(String, String)>,
    pub wall_seconds: f64,
}

/// What every training stage gets: the spec, where to write, and the run's provenance.
pub struct RunContext<'a> {
    pub spec: &'a Spec,
    pub opts: &'a RunOptions,
    pub devices: &'a crate::backend::Devices,
    pub dir: &'a RunDir,
    pub info: &'a RunInfo,
    pub started: Instant,
    /// `<out>/<name>/summary.csv`.
    pub summary: PathBuf,
}

/// The start of every summary row: run id, status, every resolved parameter (dotted keys; the
/// data directory left out: it does not change results).
pub fn base_row(spec: &Spec, info: &RunInfo) -> Vec<(String, String)> {
    let mut row = vec![("run_id".to_string(), info.run_id.clone())];
    row.push(("status".into(), "finished".into()));
    row.extend(
        spec.flatten()
            .into_iter()
            .filter(|(k, _)| k != "dataset.dir" && k != "train.memory_limit_gib"),
    );
    row
}

/// The end of every summary row: wall time and provenance (the CPU and its vector level too:
/// a seed reproduces bit for bit only on the same level, so rows from two CPUs can differ).
fn close_row(row: &mut Vec<(String, String)>, info: &RunInfo, wall: f64) {
    row.push(("wall_seconds".into(), format!("{wall:.1}")));
    row.extend([
        ("backend".into(), info.backend.clone()),
        ("device".into(), info.device.clone()),
        ("cpu".into(), info.cpu.clone()),
        ("simd".into(), info.simd.clone()),
        ("mirun_version".into(), info.mirun_version.clone()),
        ("mirun_commit".into(), info.mirun_commit.clone()),
        ("git_commit".into(), info.git_commit.clone()),
    ]);
}

impl RunContext<'_> {
    /// Completes a finished run's summary row (`base_row` + the stage's metrics) with wall
    /// time and provenance, upserts it into `summary.csv` and reports the run.
    fn record(&self, mut row: Vec<(String, String)>) -> anyhow::Result<RunReport> {
        let wall = self.started.elapsed().as_secs_f64();
        close_row(&mut row, self.info, wall);
        summary::upsert(&self.summary, &row)?;
        Ok(RunReport {
            run_dir: self.dir.path.clone(),
            summary: self.summary.clone(),
            row,
            wall_seconds: wall,
        })
    }
}

/// Trains and evaluates `spec`, writing `config.toml`, `run.toml`, `metrics.csv` (after every
/// epoch) and the run's row of `summary.csv`.
pub fn run(spec: &Spec, opts: &RunOptions) -> anyhow::Result<RunReport> {
    use anyhow::Context;
    let started = Instant::now();
    let devices = opts.backend.open_for(spec.train.precision)?;
    let device_name = devices.label.clone();
    let p = opts.progress;
    p.info(&format!(
        "mirun {}: pipeline `{}`, backend {} ({device_name})",
        env!("CARGO_PKG_VERSION"),
        spec.pipeline.name,
        opts.backend.name()
    ));
    // A new run whose `train.init_from` cannot be used is refused before anything is read or
    // written; one that resumes (its folder is there) checks it only if it starts from it, so
    // a run past its first epoch no longer needs the other run's weights.
    let resumes = opts
        .out
        .join(&spec.pipeline.name)
        .join(run_id(spec))
        .is_dir();
    let checked = match resumes {
        true => None,
        false => Some(init_from(spec)?),
    };
    let init = move || match checked {
        Some(init) => Ok(init),
        None => init_from(spec),
    };
    let data = if spec.dataset.kind.is_image() {
        let data = crate::data::load(&spec.dataset)?;
        let protocol = match spec.dataset.train_on {
            crate::spec::TrainOn::Train => "",
            crate::spec::TrainOn::TrainAndTest => " (training on train + test: the IIC protocol)",
        };
        p.info(&format!(
            "data: {} — {} train / {} test images from {}{protocol}",
            spec.dataset.kind.name(),
            data.train.len(),
            data.test.len(),
            spec.dataset.dir.join(spec.dataset.kind.name()).display()
        ));
        Some(data)
    } else {
        None
    };
    let info = RunInfo {
        run_id: run_id(spec),
        seed: spec.pipeline.seed,
        backend: opts.backend.name().into(),
        device: device_name.clone(),
        mirun_version: env!("CARGO_PKG_VERSION").into(),
        mirun_commit: crate::store::BUILD_COMMIT.into(),
        git_commit: git_commit(),
        cpu: crate::backend::cpu_model(),
        simd: crate::backend::simd_level().into(),
        started_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        overrides: opts.overrides.clone(),
    };
    let _lock = lock_run(&opts.out.join(&spec.pipeline.name).join(&info.run_id))?;
    let dir = RunDir::create(&opts.out, spec, &info).with_context(|| {
        format!(
            "cannot write the run directory under {}",
            opts.out.display()
        )
    })?;
    p.info(&format!("run {} → {}", info.run_id, dir.path.display()));
    let summary_path = opts.out.join(&spec.pipeline.name).join("summary.csv");
    let ctx = RunContext {
        spec,
        opts,
        devices: &devices,
        dir: &dir,
        info: &info,
        started,
        summary: summary_path.clone(),
    };
    // Each method's config is resolved once from the spec (the registry: `method::Pipeline`).
    let outcome = (|| match (Pipeline::resolve(spec)?, &data) {
        // A staged run trains its stages (each checked to be IIC), whatever the file's own
        // settings would train.
        (_, Some(data)) if !spec.stage_specs.is_empty() => stages::run_stages(&ctx, data, init),
        (Pipeline::Iic(config), Some(data)) => {
            let iic = method::Iic::new(config, data, &devices);
            record::train_and_record(&ctx, &iic, || {
                let Some(init) = init()? else { return Ok(None) };
                let (model, what) = init.start(method::Method::init(&iic)?, &devices)?;
                p.info(&format!("starts from {what}"));
                Ok(Some(model))
            })
        }
        (Pipeline::MineGaussian(config), _) => {
            let mine = method::MineGaussian::new(config, &devices);
            record::train_and_record(&ctx, &mine, || Ok(None))
        }
        (Pipeline::MineImages(config), Some(data)) => {
            let mine = method::MineImages::new(config, data, &devices);
            record::train_and_record(&ctx, &mine, || Ok(None))
        }
        (Pipeline::Iic(_) | Pipeline::MineImages(_), None) => {
            Err(anyhow::anyhow!("no image data loaded"))
        }
    })();
    match outcome {
        Ok(report) => Ok(report),
        Err(e) => {
            // The run is marked failed, with the reason, rather than silently missing.
            let mut row = base_row(spec, &info);
            row[1].1 = "failed".into();
            row.push((
                "error".into(),
                crate::errors::message(&e).replace('\n', " "),
            ));
            close_row(&mut row, &info, started.elapsed().as_secs_f64());
            if let Err(w) = summary::upsert(&summary_path, &row) {
                p.info(&format!("could not record the failure: {w}"));
            }
            Err(e)
        }
    }
}

/// The seconds a run of `spec` spends in training steps here, from a quick calibration:
/// `steps` timed steps of every stage (after a warm-up step), times its steps; evaluation is
/// not counted. `None` when an epoch has a single step (nothing to time after the warm-up).
pub fn calibrate(spec: &Spec, backend: BackendKind, steps: usize) -> anyhow::Result<Option<f64>> {
    use crate::train::cost::time_steps;
    fn whole<M: crate::train::method::Method>(
        m: &M,
        steps: usize,
    ) -> Result<Option<f64>, crate::train::TrainError> {
        Ok(time_steps(m, steps)?.map(|s| s * m.steps() as f64 * m.epochs() as f64))
    }
    let devices = backend.open_for(spec.train.precision)?;
    let data = match spec.dataset.kind.is_image() {
        true => Some(crate::data::load(&spec.dataset)?),
        false => None,
    };
    let stages: Vec<&Spec> = match spec.stage_specs.is_empty() {
        true => vec![spec],
        false => spec.stage_specs.iter().collect(),
    };
    let mut total = 0.0;
    for s in stages {
        let secs = match (Pipeline::resolve(s)?, &data) {
            (Pipeline::Iic(c), Some(d)) => whole(&method::Iic::new(c, d, &devices), steps)?,
            (Pipeline::MineGaussian(c), _) => {
                whole(&method::MineGaussian::new(c, &devices), steps)?
            }
            (Pipeline::MineImages(c), Some(d)) => {
                whole(&method::MineImages::new(c, d, &devices), steps)?
            }
            (Pipeline::Iic(_) | Pipeline::MineImages(_), None) => {
                anyhow::bail!("no image data loaded")
            }
        };
        match secs {
            Some(s) => total += s,
            None => return Ok(None),
        }
    }
    Ok(Some(total))
}

/// Another process holds the run's lock. `mirun run` exits with [`RunLocked::EXIT_CODE`] for
/// it, so a sweep can tell "someone else is running this point" from a failure.
#[derive(Debug, thiserror::Error)]
#[error("this run is already running in another mirun process (it holds {})", .lock.display())]
pub struct RunLocked {
    pub lock: PathBuf,
}

impl RunLocked {
    /// EX_TEMPFAIL from sysexits.h: try again later.
    pub const EXIT_CODE: u8 = 75;
}

/// Holds `<run-dir>/.lock` for the run's lifetime, so two processes never train (and write)
/// the same run at once; released when the process ends, however it ends.
fn lock_run(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use anyhow::Context;
    std::fs::create_dir_all(path)
        .with_context(|| format!("cannot create the run directory {}", path.display()))?;
    let lock_path = path.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    // A few tries over a second: `mirun sweep --status` takes the lock for an instant to see
    // whether anyone holds it, and must not make a starting run give up.
    for attempt in 0..10 {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if attempt < 9 => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(std::fs::TryLockError::WouldBlock) => break,
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()))
            }
        }
    }
    Err(RunLocked { lock: lock_path }.into())
}

/// Whether to resume: the epochs a checkpoint holds (said out loud), or `None` to start over
/// (`--fresh` removes the checkpoint).
fn resume_point(
    ckpt: &crate::train::Checkpoint,
    opts: &RunOptions,
    epochs: usize,
    p: Progress,
) -> anyhow::Result<Option<usize>> {
    if opts.fresh {
        ckpt.clear();
        return Ok(None);
    }
    match ckpt.latest()? {
        Some(done) if done < epochs => {
            p.info(&format!(
                "resuming an interrupted run after epoch {done}/{epochs} (--fresh starts over)"
            ));
            Ok(Some(done))
        }
        _ => Ok(None),
    }
}
