//! `mirun eval`: reload a run's saved weights and score every head again, without training.

use crate::backend::BackendKind;
use crate::eval::Scores;
use crate::method::iic::{Iic, IicConfig};
use crate::spec::{load, SpecSource};
use crate::store::weights::{self, Which};
use crate::store::write_atomic;
use crate::train::Progress;

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
    let devices = backend.open()?;
    let data = crate::data::load(&spec.dataset)?;
    let iic = Iic::new(IicConfig::resolve(&spec)?, &data, &devices);
    let model = iic.config.net.init(&devices.eval)?;
    let model = weights::load(model, &run_dir.join(which.file_name()))?;
    let clusters = iic.config.net.clusters;
    let assigned = iic.assignments(&model, &data.test)?;
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
