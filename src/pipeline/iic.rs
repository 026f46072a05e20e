//! IIC: train the clustering heads, evaluate them every epoch, record the honest head.

use super::{base_row, RunContext, RunReport};
use crate::backend::BackendKind;
use crate::data::Augmenter;
use crate::eval::Scores;
use crate::model::{IicNet, IicNetConfig};
use crate::spec::{load, Spec, SpecSource};
use crate::store::weights::{self, Which};
use crate::store::{evaluator_value, write_atomic, Prefix, RunInfo};
use crate::train::{assignments, fit, Checkpoint, Checkpointing, EpochRecord, Progress};

/// Trains, writing metrics and weights after every epoch, then the summary row.
pub(super) fn train_and_record(
    ctx: &RunContext,
    data: &crate::data::Dataset,
) -> anyhow::Result<RunReport> {
    let RunContext {
        spec,
        opts,
        devices,
        dir,
        info,
        ..
    } = *ctx;
    let p = opts.progress;

    let extra = spec.evaluator.extra();
    let ckpt = Checkpoint::new(&dir.path);
    let resume = super::resume_point(&ckpt, opts, spec.train.epochs, p)?;
    let prefix = match resume {
        Some(done) => dir.read_prefix(done)?,
        None => Prefix::default(),
    };
    let mut so_far: Vec<EpochRecord> = Vec::new();
    let mut best_loss = prefix.best_selected_loss();
    let mut observe = |r: &EpochRecord, model: &IicNet| -> Result<(), String> {
        weights::save(model, &dir.path.join(Which::Last.file_name()))?;
        let loss = r.heads[r.selected].loss;
        if loss < best_loss {
            best_loss = loss;
            weights::save(model, &dir.path.join(Which::Best.file_name()))?;
        }
        so_far.push(r.clone());
        dir.write_metrics(&prefix, &so_far, &extra)
            .map_err(|e| format!("{}: {e}", dir.path.join("metrics.csv").display()))?;
        p.info(&epoch_line(r, spec.train.epochs));
        Ok(())
    };
    let records = fit(
        spec,
        data,
        devices,
        p,
        Checkpointing {
            at: &ckpt,
            resume: resume.is_some(),
        },
        &mut observe,
    )?;
    ckpt.clear();
    let mut row = summary_row(spec, info, &records);
    // The textbook's selection, for comparison only: the best accuracy of any head at any
    // epoch, picked on the test set (read back from metrics.csv, so resumed epochs count too).
    let book = column_max(&dir.path.join("metrics.csv"), "accuracy");
    row.push(("book_accuracy".into(), format!("{book:.6}")));
    let report = ctx.record(row)?;
    if let Some(last) = records.last() {
        p.info(&format!(
            "done in {:.1}s: selected head {} (lowest training loss) accuracy {:.4}; summary → {}",
            report.wall_seconds,
            last.selected,
            last.heads[last.selected].accuracy,
            report.summary.display()
        ));
    }
    Ok(report)
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

/// The run's row of `summary.csv` before wall time and provenance: id, every resolved
/// parameter (dotted keys), final per-head accuracy, the selected head and its scores.
pub fn summary_row(spec: &Spec, info: &RunInfo, records: &[EpochRecord]) -> Vec<(String, String)> {
    let mut row = base_row(spec, info);
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
    row
}

/// Reloads a run's saved weights and scores every head on its test set without training
/// (`mirun eval`); writes `eval-<last|best>.csv` into the run directory.
pub fn eval_run(
    run_dir: &std::path::Path,
    which: Which,
    backend: BackendKind,
    overrides: Vec<crate::spec::Override>,
    grid: Option<usize>,
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
    if spec.method() != crate::spec::Method::Iic {
        anyhow::bail!(
            "{}: `mirun eval` re-scores IIC runs; this run trains MINE (its metrics.csv already \
             holds every evaluation)",
            run_dir.display()
        );
    }
    let devices = backend.open().map_err(anyhow::Error::msg)?;
    let data = crate::data::load(&spec.dataset)?;
    let net = IicNetConfig::from_spec(&spec).map_err(anyhow::Error::msg)?;
    let model = net.init(&devices.eval).map_err(anyhow::Error::msg)?;
    let model =
        weights::load(model, &run_dir.join(which.file_name())).map_err(anyhow::Error::msg)?;
    let aug = Augmenter::new(spec.augment.clone());
    let clusters = spec.clusters();
    let chunk = devices.eval_chunk(net.largest_map());
    let assigned = assignments(&model, &data.test, &aug, &devices.eval, clusters, chunk)?;
    let labels: Vec<usize> = data.test.labels.iter().map(|&l| l as usize).collect();
    let scores: Vec<Scores> = assigned
        .iter()
        .map(|a| crate::eval::score(a, &labels, clusters, data.classes))
        .collect();
    if let Some(k) = grid {
        for (h, a) in assigned.iter().enumerate() {
            let path = run_dir.join(format!("clusters-{}-h{h}.png", which.name()));
            crate::report::plot::cluster_grid(&data.test, a, clusters, k, &path)?;
            progress.info(&format!("head {h}: image grid → {}", path.display()));
        }
    }
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

/// The largest value of `column` in a CSV file (NaN if none parses).
pub(super) fn column_max(path: &std::path::Path, column: &str) -> f64 {
    let Ok(mut r) = csv::Reader::from_path(path) else {
        return f64::NAN;
    };
    let Some(i) = r
        .headers()
        .ok()
        .and_then(|h| h.iter().position(|c| c == column))
    else {
        return f64::NAN;
    };
    r.records()
        .filter_map(|rec| rec.ok()?.get(i)?.parse::<f64>().ok())
        .fold(f64::NAN, f64::max)
}
