//! `mirun eval`: reload a run's saved weights and score every head again, without training.

use crate::backend::BackendKind;
use crate::eval::Scores;
use crate::method::iic::{Iic, IicConfig};
use crate::method::mine_images::{MineImages, MineImagesConfig};
use crate::spec::{load, Method, Spec, SpecSource};
use crate::store::weights::{self, Which};
use crate::store::write_atomic;
use crate::train::Progress;

/// `mirun eval --grid`: per head, a PNG of the first `k` test images of every cluster.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub k: usize,
    /// Only the images whose label is not the cluster's matched label.
    pub errors_only: bool,
}

/// Reloads a run's saved weights and scores every head on its test set without training
/// (`mirun eval`); writes `eval-<last|best>.csv` into the run directory.
pub fn eval_run(
    run_dir: &std::path::Path,
    which: Which,
    backend: BackendKind,
    overrides: Vec<crate::spec::Override>,
    grid: Option<Grid>,
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
    match spec.method() {
        Method::Iic => {}
        Method::MineImages => {
            return eval_mine_images(run_dir, &spec, which, backend, progress).map(|_| Vec::new())
        }
        Method::MineGaussian => anyhow::bail!(
            "{}: `mirun eval` does not apply to a MINE Gaussian run: it has no encoder to \
             re-score — T(x, y) is the estimator itself, and metrics.csv already holds its bound, \
             the running estimate and the analytic and binned MI at every step",
            run_dir.display()
        ),
    }
    let devices = backend.open_for(spec.train.precision)?;
    let data = crate::data::load(&spec.dataset)?;
    let iic = Iic::new(IicConfig::resolve(&spec)?, &data, &devices);
    let model = iic.config.net.init(&devices.eval)?;
    let model = weights::load(model, &run_dir.join(which.file_name()))?;
    let heads = iic.evaluate(&model)?;
    let labels = &data.test.labels;
    if let Some(g) = grid {
        let suffix = if g.errors_only { "-errors" } else { "" };
        for (h, e) in heads.iter().enumerate() {
            let path = run_dir.join(format!("clusters-{}{suffix}-h{h}.png", which.name()));
            let a = &e.assigned;
            let wrong = |i: usize| {
                e.scores.mapping.get(a[i]).copied().flatten() != Some(labels[i] as usize)
            };
            let show = |i: usize| !g.errors_only || wrong(i);
            crate::report::plot::cluster_grid(&data.test, a, e.scores.clusters, g.k, show, &path)?;
            progress.info(&format!("head {h}: image grid → {}", path.display()));
        }
    }
    for (h, e) in heads.iter().enumerate() {
        if let Some(g) = &e.merged {
            progress.info(&format!("head {h}: {}", describe_merges(g)));
        }
    }
    let scores: Vec<Scores> = heads.into_iter().map(|e| e.scores).collect();
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

/// The groups of more than one cluster, as `merged clusters 3+7 → group 3, 5+10 → group 5`.
fn describe_merges(group: &[usize]) -> String {
    let groups = group.iter().copied().max().map_or(0, |g| g + 1);
    let joined: Vec<String> = (0..groups)
        .filter_map(|g| {
            let members: Vec<String> = (0..group.len())
                .filter(|&c| group[c] == g)
                .map(|c| c.to_string())
                .collect();
            (members.len() > 1).then(|| format!("{} → group {g}", members.join("+")))
        })
        .collect();
    format!("merged clusters {}", joined.join(", "))
}

/// `mirun eval` of a MINE-on-images run: reloads the encoder, refits the linear probe under
/// both protocols with the seed of the epoch the weights come from, and sets the numbers beside
/// the recorded ones; writes `eval-<last|best>.csv`. Returns (held-out, book).
fn eval_mine_images(
    run_dir: &std::path::Path,
    spec: &Spec,
    which: Which,
    backend: BackendKind,
    progress: Progress,
) -> anyhow::Result<(f64, f64)> {
    #[derive(serde::Deserialize)]
    struct Row {
        epoch: usize,
        loss: f64,
        probe_heldout: Option<f64>,
        probe_book: Option<f64>,
    }
    let metrics = run_dir.join("metrics.csv");
    let rows: Vec<Row> = crate::store::CsvFile::read(&metrics)?.deserialize()?;
    // The weights' epoch: the last one, or the lowest loss (what the recorder keeps as best).
    let row = match which {
        Which::Last => rows.iter().max_by_key(|r| r.epoch),
        Which::Best => rows.iter().min_by(|a, b| a.loss.total_cmp(&b.loss)),
    }
    .ok_or_else(|| anyhow::anyhow!("{}: no epochs recorded", metrics.display()))?;
    let config = MineImagesConfig::resolve(spec)?;
    let probe_epochs = config
        .probe_epochs
        .unwrap_or(crate::spec::defaults::PROBE_EPOCHS);
    let devices = backend.open_for(spec.train.precision)?;
    let data = crate::data::load(&spec.dataset)?;
    let model = config.net.init(&devices.eval)?;
    let model = weights::load(model, &run_dir.join(which.file_name()))?;
    let mine = MineImages::new(config, &data, &devices);
    let index = row.epoch.checked_sub(1).ok_or_else(|| {
        anyhow::anyhow!("{}: epochs are counted from 1, got 0", metrics.display())
    })?;
    let (heldout, book) = mine.probe_scores(&model, index, probe_epochs)?;
    let shown = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.6}"));
    progress.info(&format!(
        "{} weights (epoch {}): probe held-out {heldout:.4} (recorded {}), book protocol \
         {book:.4} (recorded {})",
        which.name(),
        row.epoch,
        shown(row.probe_heldout),
        shown(row.probe_book)
    ));
    let csv = format!(
        "epoch,probe_heldout,probe_book,recorded_probe_heldout,recorded_probe_book\n{},{heldout:.6},{book:.6},{},{}\n",
        row.epoch,
        shown(row.probe_heldout),
        shown(row.probe_book)
    );
    let out = run_dir.join(format!("eval-{}.csv", which.name()));
    write_atomic(&out, csv.as_bytes())?;
    progress.info(&format!("scores → {}", out.display()));
    Ok((heldout, book))
}
