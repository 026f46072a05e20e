//! Running a resolved spec end to end: data → model → train → eval → results.

use crate::backend::BackendKind;
use crate::data::Augmenter;
use crate::eval::Scores;
use crate::model::{IicNet, IicNetConfig};
use crate::results::weights::{self, Which};
use crate::results::{evaluator_value, git_commit, run_id, summary, write_atomic, RunDir, RunInfo};
use crate::spec::Spec;
use crate::spec::{load, SpecSource};
use crate::train::{evaluate, fit, EpochRecord, Progress};
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How to run, beyond the spec itself.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Results root (default `results/`).
    pub out: PathBuf,
    pub backend: BackendKind,
    /// The overrides given (env / `--set`), recorded in `run.toml`.
    pub overrides: Vec<String>,
    pub progress: Progress,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_dir: PathBuf,
    pub summary: PathBuf,
    pub records: Vec<EpochRecord>,
    pub wall_seconds: f64,
}

/// Trains and evaluates `spec`, writing `config.toml`, `run.toml`, `metrics.csv` (after every
/// epoch) and the run's row of `summary.csv`.
pub fn run(spec: &Spec, opts: &RunOptions) -> anyhow::Result<RunReport> {
    use anyhow::Context;
    let started = Instant::now();
    let devices = opts.backend.open().map_err(anyhow::Error::msg)?;
    let device_name = format!("{:?}", devices.eval);
    let p = opts.progress;
    p.info(&format!(
        "mirun {}: pipeline `{}`, backend {} ({device_name})",
        env!("CARGO_PKG_VERSION"),
        spec.pipeline.name,
        opts.backend.name()
    ));
    let data = crate::data::load(&spec.dataset)?;
    p.info(&format!(
        "data: {} — {} train / {} test images from {}",
        spec.dataset.kind.name(),
        data.train.len(),
        data.test.len(),
        spec.dataset.dir.join(spec.dataset.kind.name()).display()
    ));
    let info = RunInfo {
        run_id: run_id(spec),
        seed: spec.pipeline.seed,
        backend: opts.backend.name().into(),
        device: device_name.clone(),
        mirun_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: git_commit(),
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
    match train_and_record(spec, opts, &data, &devices, &dir, &info, started) {
        Ok(report) => Ok(report),
        Err(e) => {
            // The run is marked failed, with the reason, rather than silently missing.
            let mut row = summary_row(spec, &info, &[], started.elapsed().as_secs_f64());
            row[1].1 = "failed".into();
            row.push(("error".into(), format!("{e:#}").replace('\n', " ")));
            if let Err(w) = summary::upsert(&summary_path, &row) {
                p.info(&format!("could not record the failure: {w}"));
            }
            Err(e)
        }
    }
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
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "run {} is already running in another mirun process (it holds {})",
            path.display(),
            lock_path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", lock_path.display()))
        }
    }
}

/// Trains, writing metrics and weights after every epoch, then the summary row.
fn train_and_record(
    spec: &Spec,
    opts: &RunOptions,
    data: &crate::data::Dataset,
    devices: &crate::backend::Devices,
    dir: &RunDir,
    info: &RunInfo,
    started: Instant,
) -> anyhow::Result<RunReport> {
    let p = opts.progress;

    let extra = spec.evaluator.extra();
    let mut so_far: Vec<EpochRecord> = Vec::new();
    let mut best_loss = f64::INFINITY;
    let mut observe = |r: &EpochRecord, model: &IicNet| -> Result<(), String> {
        weights::save(model, &dir.path.join(Which::Last.file_name()))?;
        let loss = r.heads[r.selected].loss;
        if loss < best_loss {
            best_loss = loss;
            weights::save(model, &dir.path.join(Which::Best.file_name()))?;
        }
        so_far.push(r.clone());
        dir.write_metrics(&so_far, &extra)
            .map_err(|e| format!("{}: {e}", dir.path.join("metrics.csv").display()))?;
        p.info(&epoch_line(r, spec.train.epochs));
        Ok(())
    };
    let records = fit(spec, data, devices, p, &mut observe)?;
    let wall = started.elapsed().as_secs_f64();

    let summary_path = opts.out.join(&spec.pipeline.name).join("summary.csv");
    let row = summary_row(spec, info, &records, wall);
    summary::upsert(&summary_path, &row)?;
    if let Some(last) = records.last() {
        p.info(&format!(
            "done in {wall:.1}s: selected head {} (lowest training loss) accuracy {:.4}; summary → {}",
            last.selected,
            last.heads[last.selected].accuracy,
            summary_path.display()
        ));
    }
    Ok(RunReport {
        run_dir: dir.path.clone(),
        summary: summary_path,
        records,
        wall_seconds: wall,
    })
}

/// One line per epoch: losses and accuracies of every head, the selected head, lr and time.
pub fn epoch_line(r: &EpochRecord, epochs: usize) -> String {
    let losses: Vec<_> = r.heads.iter().map(|h| format!("{:.4}", h.loss)).collect();
    let accs: Vec<_> = r
        .heads
        .iter()
        .map(|h| format!("{:.4}", h.accuracy))
        .collect();
    format!(
        "epoch {}/{epochs}  loss [{}]  acc [{}]  selected h{} {:.4}  lr {:.2e}  {:.1}s",
        r.epoch,
        losses.join(" "),
        accs.join(" "),
        r.selected,
        r.heads[r.selected].accuracy,
        r.lr,
        r.seconds
    )
}

/// The run's row of `summary.csv`: id, every resolved parameter (dotted keys), final
/// per-head accuracy, the selected head, wall time and provenance.
pub fn summary_row(
    spec: &Spec,
    info: &RunInfo,
    records: &[EpochRecord],
    wall: f64,
) -> Vec<(String, String)> {
    let mut row = vec![("run_id".to_string(), info.run_id.clone())];
    row.push(("status".into(), "finished".into()));
    row.extend(
        spec.flatten()
            .into_iter()
            .filter(|(k, _)| k != "dataset.dir"),
    );
    if let Some(last) = records.last() {
        let accs: Vec<_> = last
            .heads
            .iter()
            .map(|h| format!("{:.6}", h.accuracy))
            .collect();
        let mean = last.heads.iter().map(|h| h.accuracy).sum::<f64>() / last.heads.len() as f64;
        row.push(("epochs_done".into(), last.epoch.to_string()));
        row.push(("head_accuracies".into(), accs.join(";")));
        row.push(("mean_accuracy".into(), format!("{mean:.6}")));
        row.push(("selected_head".into(), last.selected.to_string()));
        row.push((
            "selected_accuracy".into(),
            format!("{:.6}", last.heads[last.selected].accuracy),
        ));
        row.push((
            "selected_loss".into(),
            format!("{:.6}", last.heads[last.selected].loss),
        ));
        for k in spec.evaluator.extra() {
            let v = evaluator_value(&last.heads[last.selected].scores, k);
            row.push((format!("selected_{}", k.name()), format!("{v:.6}")));
        }
    }
    row.push(("wall_seconds".into(), format!("{wall:.1}")));
    row.push(("backend".into(), info.backend.clone()));
    row.push(("device".into(), info.device.clone()));
    row.push(("mirun_version".into(), info.mirun_version.clone()));
    row.push(("git_commit".into(), info.git_commit.clone()));
    row
}

/// Reloads a run's saved weights and scores every head on its test set without training
/// (`mirun eval`); writes `eval-<last|best>.csv` into the run directory.
pub fn eval_run(
    run_dir: &std::path::Path,
    which: Which,
    backend: BackendKind,
    overrides: Vec<crate::spec::Override>,
    progress: Progress,
) -> anyhow::Result<Vec<Scores>> {
    let config = run_dir.join("config.toml");
    if !config.is_file() {
        anyhow::bail!(
            "{}: not a run directory (no config.toml)",
            run_dir.display()
        );
    }
    let spec = load(&SpecSource {
        file: Some(config),
        overrides,
    })?;
    let devices = backend.open().map_err(anyhow::Error::msg)?;
    let data = crate::data::load(&spec.dataset)?;
    let net = IicNetConfig::from_spec(&spec).map_err(anyhow::Error::msg)?;
    let model = net.init(&devices.eval).map_err(anyhow::Error::msg)?;
    let model =
        weights::load(model, &run_dir.join(which.file_name())).map_err(anyhow::Error::msg)?;
    let aug = Augmenter::new(spec.augment.clone());
    let scores = evaluate(&model, &data, &aug, &devices.eval, spec.clusters())?;
    let mut csv = String::from("head,accuracy,nmi,ari,majority\n");
    for (h, s) in scores.iter().enumerate() {
        csv.push_str(&format!(
            "{h},{:.6},{:.6},{:.6},{:.6}\n",
            s.accuracy, s.nmi, s.ari, s.majority
        ));
        progress.info(&format!(
            "head {h}: accuracy {:.4}  nmi {:.4}  ari {:.4}  majority {:.4}",
            s.accuracy, s.nmi, s.ari, s.majority
        ));
    }
    let out = run_dir.join(format!("eval-{}.csv", which.name()));
    write_atomic(&out, csv.as_bytes())?;
    progress.info(&format!("scores → {}", out.display()));
    Ok(scores)
}
