//! MINE: on the Gaussian, the estimate per step beside the analytic and binned values; on
//! images, the encoder's codes scored by the linear probe every epoch.

use super::{base_row, RunContext, RunReport};
use crate::data::batch::mix;
use crate::eval::binned_mi_pairs;
use crate::spec::EvaluatorKind;
use crate::store::weights::{self, Which};
use crate::store::write_atomic;
use crate::train::mine_fit::gaussian_of;
use crate::train::{fit_gaussian, fit_images, Checkpoint, Checkpointing, MiStep, MineEpoch};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.6}"))
}

/// Trains T on the Gaussian; writes `metrics.csv` (one row per step) and the summary row with
/// the final estimate, the analytic MI and the binned estimate.
pub(super) fn gaussian(ctx: &RunContext) -> anyhow::Result<RunReport> {
    let (spec, p) = (ctx.spec, ctx.opts.progress);
    let g = gaussian_of(spec);
    let analytic = spec
        .evaluator
        .has(EvaluatorKind::AnalyticMi)
        .then(|| g.analytic_mi());
    let binned = if spec.evaluator.has(EvaluatorKind::BinnedMi) {
        let n = spec.evaluator.binned_samples.unwrap_or(1_000_000);
        let mut rng = ChaCha8Rng::seed_from_u64(mix(spec.pipeline.seed, 1, 1));
        let (x, y) = g.joint(n, &mut rng);
        Some(binned_mi_pairs(
            &x,
            &y,
            g.dim,
            spec.evaluator.bins.unwrap_or(100),
        ))
    } else {
        None
    };
    p.info(&format!(
        "gaussian ρ = {}, d = {}: analytic MI {}, binned MI {}",
        g.rho,
        g.dim,
        opt(analytic),
        opt(binned)
    ));
    let steps = spec.train.steps.unwrap_or(1000);
    let mut observe = |s: &MiStep| {
        if s.step.is_multiple_of((steps / 10).max(1)) {
            p.info(&format!(
                "step {}/{steps}  bound {:.4}  estimate (mean of last {}) {:.4}",
                s.step,
                s.bound,
                crate::train::mine_fit::RUNNING_MEAN.min(s.step),
                s.estimate
            ));
        }
    };
    let records = fit_gaussian(spec, ctx.devices, p, &mut observe)?;
    let mut csv = String::from("step,bound,estimate,analytic_mi,binned_mi\n");
    for r in &records {
        csv.push_str(&format!(
            "{},{:.6},{:.6},{},{}\n",
            r.step,
            r.bound,
            r.estimate,
            opt(analytic),
            opt(binned)
        ));
    }
    write_atomic(&ctx.dir.path.join("metrics.csv"), csv.as_bytes())?;
    let last = records.last();
    let mut row = base_row(spec, ctx.info);
    row.push(("steps_done".into(), records.len().to_string()));
    row.push(("mi_estimate".into(), opt(last.map(|r| r.estimate))));
    row.push(("analytic_mi".into(), opt(analytic)));
    row.push(("binned_mi".into(), opt(binned)));
    let report = ctx.record(row)?;
    p.info(&format!(
        "done in {:.1}s: MINE estimate {} (analytic {}, binned {}); summary → {}",
        report.wall_seconds,
        opt(last.map(|r| r.estimate)),
        opt(analytic),
        opt(binned),
        report.summary.display()
    ));
    Ok(report)
}

/// `metrics.csv` of a MINE-on-images run: the rows kept from before a resume, then `records`.
fn epoch_csv(prefix: &str, records: &[MineEpoch]) -> String {
    let mut s = String::from("epoch,loss,mi_estimate,probe_heldout,probe_book,lr,seconds\n");
    s.push_str(prefix);
    for r in records {
        s.push_str(&format!(
            "{},{:.6},{:.6},{},{},{:e},{:.3}\n",
            r.epoch,
            r.loss,
            r.estimate,
            opt(r.probe_heldout),
            opt(r.probe_book),
            r.lr,
            r.seconds
        ));
    }
    s
}

/// Trains encoder + T on image pairs; `metrics.csv` per epoch, weights (last and lowest loss),
/// and the summary row with the held-out probe accuracy as the headline.
pub(super) fn images(ctx: &RunContext, data: &crate::data::Dataset) -> anyhow::Result<RunReport> {
    let (spec, p, dir) = (ctx.spec, ctx.opts.progress, ctx.dir);
    let ckpt = Checkpoint::new(&dir.path);
    let resume = super::resume_point(&ckpt, ctx.opts, spec.train.epochs, p)?;
    let prefix = match resume {
        Some(done) => dir.read_prefix(done)?.metrics,
        None => String::new(),
    };
    let mut so_far: Vec<MineEpoch> = Vec::new();
    // The lowest loss among the kept rows (column 2).
    let mut best = prefix
        .lines()
        .filter_map(|l| l.split(',').nth(1)?.parse::<f64>().ok())
        .fold(f64::INFINITY, f64::min);
    let mut observe = |r: &MineEpoch, model: &crate::model::MineImageNet| -> Result<(), String> {
        weights::save(model, &dir.path.join(Which::Last.file_name()))?;
        if r.loss < best {
            best = r.loss;
            weights::save(model, &dir.path.join(Which::Best.file_name()))?;
        }
        so_far.push(r.clone());
        let path = dir.path.join("metrics.csv");
        write_atomic(&path, epoch_csv(&prefix, &so_far).as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        p.info(&format!(
            "epoch {}/{}  loss {:.4}  MI estimate {:.4}  probe held-out {}  book {}  lr {:.2e}  {:.1}s",
            r.epoch,
            spec.train.epochs,
            r.loss,
            r.estimate,
            opt(r.probe_heldout),
            opt(r.probe_book),
            r.lr,
            r.seconds
        ));
        Ok(())
    };
    let records = fit_images(
        spec,
        data,
        ctx.devices,
        p,
        Checkpointing {
            at: &ckpt,
            resume: resume.is_some(),
        },
        &mut observe,
    )?;
    ckpt.clear();
    let last = records.last();
    let mut row = base_row(spec, ctx.info);
    row.push(("epochs_done".into(), records.len().to_string()));
    row.push((
        "probe_heldout".into(),
        opt(last.and_then(|r| r.probe_heldout)),
    ));
    row.push(("probe_book".into(), opt(last.and_then(|r| r.probe_book))));
    // The reference's selection, for comparison only: best book-protocol epoch on the test set.
    let best_book = super::iic::column_max(&dir.path.join("metrics.csv"), "probe_book");
    row.push(("probe_book_best".into(), format!("{best_book:.6}")));
    row.push(("mi_estimate".into(), opt(last.map(|r| r.estimate))));
    row.push(("loss".into(), opt(last.map(|r| r.loss))));
    let report = ctx.record(row)?;
    p.info(&format!(
        "done in {:.1}s: probe accuracy held-out {} (book protocol {}); summary → {}",
        report.wall_seconds,
        opt(last.and_then(|r| r.probe_heldout)),
        opt(last.and_then(|r| r.probe_book)),
        report.summary.display()
    ));
    Ok(report)
}
