//! `mirun eval`: reload a run's saved weights and score every head again, without training.

use crate::backend::BackendKind;
use crate::eval::{Scores, CLUSTER_SCORES};
use crate::method::iic::{Iic, IicConfig};
use crate::method::mine_images::{MineImages, MineImagesConfig};
use crate::spec::{load, Method, Spec, SpecSource};
use crate::store::weights::{self, Which};
use crate::store::write_atomic;
use crate::train::Progress;

/// The model a run ends with: the spec that built it and the folder of its weights and
/// metrics.
pub(super) struct RunModel {
    pub spec: Spec,
    pub dir: std::path::PathBuf,
    /// The last stage's name, for a multi-stage run.
    pub stage: Option<String>,
}

/// The model `run_dir` ends with: the run's own, or a multi-stage run's last stage's (that
/// stage's spec and folder).
pub(super) fn last_stage(
    run_dir: &std::path::Path,
    overrides: Vec<crate::spec::Override>,
) -> anyhow::Result<RunModel> {
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
    Ok(match (spec.stages.last(), spec.stage_specs.last()) {
        (Some(stage), Some(last)) => RunModel {
            dir: super::stages::stage_dir(run_dir, spec.stages.len() - 1, &stage.name),
            stage: Some(stage.name.clone()),
            spec: last.clone(),
        },
        _ => RunModel {
            spec,
            dir: run_dir.to_path_buf(),
            stage: None,
        },
    })
}

/// `mirun eval --grid`: per head, a PNG of the first `k` test images of every cluster.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub k: usize,
    /// Only the images whose label is not the cluster's matched label.
    pub errors_only: bool,
}

/// What `mirun eval` does beyond scoring every head.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvalExtras {
    /// Per head, a PNG of each cluster's images.
    pub grid: Option<Grid>,
    /// The neighbour diagnostic for the images of this class (see [`neighbours`]).
    pub neighbours: Option<u8>,
}

/// Reloads a run's saved weights and scores every head on its test set without training
/// (`mirun eval`); writes `eval-<last|best>.csv` into the run directory.
pub fn eval_run(
    run_dir: &std::path::Path,
    which: Which,
    backend: BackendKind,
    overrides: Vec<crate::spec::Override>,
    extras: EvalExtras,
    progress: Progress,
) -> anyhow::Result<Vec<Scores>> {
    let grid = extras.grid;
    let RunModel { spec, dir, stage } = last_stage(run_dir, overrides)?;
    if let Some(stage) = stage {
        progress.info(&format!(
            "multi-stage run: the last stage, `{stage}` ({})",
            dir.display()
        ));
    }
    let run_dir = dir.as_path();
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
    if let Some(class) = extras.neighbours {
        // Before the evaluation, not after it.
        if !data.test.labels.contains(&class) {
            let max = data.test.labels.iter().max().copied().unwrap_or(0);
            anyhow::bail!("--neighbours {class}: no test image has label {class} (labels 0–{max})");
        }
    }
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
    if let Some(class) = extras.neighbours {
        let head = selected_head(run_dir, which)?;
        let e = heads.get(head).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: metrics.csv selects head {head}, the run has {}",
                run_dir.display(),
                heads.len()
            )
        })?;
        // Under `train+test` the training set ends with the test images: neighbours come from
        // the training images proper, so no test image finds itself.
        let train_only = match spec.dataset.train_on {
            crate::spec::TrainOn::Train => data.train.len(),
            crate::spec::TrainOn::TrainAndTest => data.train.len() - data.test.len(),
        };
        let train_clusters = iic.assignments(&model, &data.train)?.swap_remove(head);
        let table = neighbours(
            &iic,
            &model,
            &data,
            (train_only, &train_clusters),
            e,
            class,
            progress,
        )?;
        let out = run_dir.join(format!("neighbours-{}.csv", which.name()));
        write_atomic(&out, table.as_bytes())?;
        progress.info(&format!(
            "head {head} (selected): neighbours of class {class} → {}",
            out.display()
        ));
    }
    let scores: Vec<Scores> = heads.into_iter().map(|e| e.scores).collect();
    let mut csv = String::from("head,accuracy");
    for c in CLUSTER_SCORES {
        csv.push_str(&format!(",{}", c.kind().name()));
    }
    csv.push('\n');
    for (h, s) in scores.iter().enumerate() {
        csv.push_str(&format!("{h},{:.6}", s.accuracy));
        let mut line = format!("head {h}: accuracy {:.4}", s.accuracy);
        for &(k, v) in &s.named.0 {
            csv.push_str(&format!(",{v:.6}"));
            line.push_str(&format!("  {} {v:.4}", k.name()));
        }
        csv.push('\n');
        progress.info(&line);
    }
    let out = run_dir.join(format!("eval-{}.csv", which.name()));
    write_atomic(&out, csv.as_bytes())?;
    progress.info(&format!("scores → {}", out.display()));
    Ok(scores)
}

/// The head the run selected (no labels: by training loss, or by the fixed pass) at the epoch
/// the weights are from: the last epoch, or for `best` the selected row of lowest loss by the
/// same criterion.
pub(super) fn selected_head(run_dir: &std::path::Path, which: Which) -> anyhow::Result<usize> {
    use crate::method::iic::MetricsRow;
    let metrics = run_dir.join("metrics.csv");
    let rows: Vec<MetricsRow> = crate::store::CsvFile::read(&metrics)?.deserialize()?;
    let selected = rows.iter().filter(|r| r.selected == 1);
    let row = match which {
        Which::Last => selected.max_by_key(|r| r.epoch),
        Which::Best => selected.min_by(|a, b| a.criterion().total_cmp(&b.criterion())),
    };
    row.map(|r| r.head)
        .ok_or_else(|| anyhow::anyhow!("{}: no selected head recorded", metrics.display()))
}

/// The neighbour diagnostic (issue 31; labels only to look): the test images of `class` that
/// head `e` gives to a cluster matched to another label (`moved`) and those it keeps with
/// their class (`kept`), and for k = 5, 10, 20 the share of their k nearest training images
/// that are of `class`, and the share the head puts in `class`'s cluster — in pixel space
/// after deskewing and a 3×3 blur, in the trunk's features (cosine), and among the neighbours
/// both spaces share (over the images that share any). Returns the CSV text. `eval_run` has
/// checked that some test image is of `class`.
fn neighbours(
    iic: &Iic,
    model: &crate::model::IicNet,
    data: &crate::data::Dataset,
    (train_only, train_clusters): (usize, &[usize]),
    e: &crate::method::iic::HeadEval,
    class: u8,
    progress: Progress,
) -> anyhow::Result<String> {
    use crate::data::deskew::{blur, deskew};
    use crate::eval::neighbours::{both, nearest, shares, Metric, Rows};
    const KS: [usize; 3] = [5, 10, 20];
    let (test, train) = (&data.test, &data.train);
    let matched = |i: usize| e.scores.mapping.get(e.assigned[i]).copied().flatten();
    let of_class: Vec<usize> = (0..test.len())
        .filter(|&i| test.labels[i] == class)
        .collect();
    let moved: Vec<usize> = of_class
        .iter()
        .copied()
        .filter(|&i| matched(i) != Some(usize::from(class)))
        .collect();
    let kept: Vec<usize> = of_class
        .iter()
        .copied()
        .filter(|&i| matched(i) == Some(usize::from(class)))
        .collect();
    let mut went: std::collections::BTreeMap<String, usize> = Default::default();
    for &i in &moved {
        let to = matched(i).map_or("an unmatched cluster".into(), |l| {
            format!("the {l}s' cluster")
        });
        *went.entry(to).or_default() += 1;
    }
    progress.info(&format!(
        "class {class}: {} test images, {} kept, {} moved ({})",
        of_class.len(),
        kept.len(),
        moved.len(),
        went.iter()
            .map(|(k, n)| format!("{n} to {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let side = crate::data::SIDE;
    let pixels = |set: &crate::data::ImageSet, idx: &[usize]| -> Vec<f32> {
        idx.iter()
            .flat_map(|&i| blur(&deskew(set.image(i), side), side))
            .collect()
    };
    let all_train: Vec<usize> = (0..train_only).collect();
    let train_px = pixels(train, &all_train);
    let test_feat = iic.features(model, test)?;
    let dim = test_feat.len() / test.len().max(1);
    let mut train_feat = iic.features(model, train)?;
    train_feat.truncate(train_only * dim);
    let k_max = KS[KS.len() - 1];
    let mut csv = String::from(
        "group,space,k,images,mean_share,majority,mean_in_cluster,majority_in_cluster,\
         mean_neighbours,no_neighbours\n",
    );
    // A training image the head puts in the class's own cluster (by the test set's matching).
    let in_cluster = |j: usize| {
        e.scores.mapping.get(train_clusters[j]).copied().flatten() == Some(usize::from(class))
    };
    let pct = |v: Option<f64>| v.map_or("–".into(), |v| format!("{:5.1} %", 100.0 * v));
    let cell = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for (group, idx) in [("moved", &moved), ("kept", &kept)] {
        let q_px = pixels(test, idx);
        let q_feat: Vec<f32> = idx
            .iter()
            .flat_map(|&i| test_feat[i * dim..(i + 1) * dim].iter().copied())
            .collect();
        let by_px = nearest(
            &Rows {
                data: &q_px,
                dim: side * side,
            },
            &Rows {
                data: &train_px,
                dim: side * side,
            },
            k_max,
            Metric::Euclidean,
        );
        let by_feat = nearest(
            &Rows { data: &q_feat, dim },
            &Rows {
                data: &train_feat,
                dim,
            },
            k_max,
            Metric::Cosine,
        );
        for k in KS {
            let px: Vec<Vec<usize>> = by_px.iter().map(|l| l[..k.min(l.len())].to_vec()).collect();
            let ft: Vec<Vec<usize>> = by_feat
                .iter()
                .map(|l| l[..k.min(l.len())].to_vec())
                .collect();
            let bo: Vec<Vec<usize>> = px.iter().zip(&ft).map(|(a, b)| both(a, b)).collect();
            for (space, lists) in [("pixels", &px), ("features", &ft), ("both", &bo)] {
                let s = shares(lists, |j| train.labels[j] == class);
                let c = shares(lists, in_cluster);
                csv.push_str(&format!(
                    "{group},{space},{k},{},{},{},{},{},{:.2},{}\n",
                    s.images,
                    cell(s.mean_share),
                    cell(s.majority),
                    cell(c.mean_share),
                    cell(c.majority),
                    s.mean_neighbours,
                    s.without
                ));
                if s.images == 0 {
                    continue;
                }
                progress.info(&format!(
                    "  {group:<5} {space:<8} k={k:<2}  {:>4} images: {} of neighbours are {class}s, \
                     {} in the {class}s' cluster; {} of images have mostly {class}s{}",
                    s.images,
                    pct(s.mean_share),
                    pct(c.mean_share),
                    pct(s.majority),
                    if space == "both" {
                        format!(
                            " ({:.1} shared neighbours; {} images share none)",
                            s.mean_neighbours, s.without
                        )
                    } else {
                        String::new()
                    }
                ));
            }
        }
    }
    Ok(csv)
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
    use crate::method::mine_images::MetricsRow;
    let metrics = run_dir.join("metrics.csv");
    let rows: Vec<MetricsRow> = crate::store::CsvFile::read(&metrics)?.deserialize()?;
    // The weights' epoch: the last one, or the lowest loss (what the recorder keeps as best).
    let row = match which {
        Which::Last => rows.iter().max_by_key(|r| r.epoch),
        Which::Best => rows.iter().min_by(|a, b| a.loss.0.total_cmp(&b.loss.0)),
    }
    .ok_or_else(|| anyhow::anyhow!("{}: no epochs recorded", metrics.display()))?;
    let config = MineImagesConfig::resolve(spec)?;
    let probe_epochs = config.probe_epochs;
    let devices = backend.open_for(spec.train.precision)?;
    let data = crate::data::load(&spec.dataset)?;
    let model = config.net.init(&devices.eval)?;
    let model = weights::load(model, &run_dir.join(which.file_name()))?;
    let mine = MineImages::new(config, &data, &devices);
    let index = row.epoch.checked_sub(1).ok_or_else(|| {
        anyhow::anyhow!("{}: epochs are counted from 1, got 0", metrics.display())
    })?;
    let (heldout, book) = mine.probe_scores(&model, index, probe_epochs)?;
    let shown = |v: Option<crate::store::Dec<6>>| {
        v.map_or_else(|| "-".to_string(), |v| format!("{:.6}", v.0))
    };
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
