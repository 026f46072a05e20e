//! Defaults that depend on what the pipeline trains: filled in after validation, so the
//! resolved config (and `summary.csv`) shows every value that applies and none that does not.

use super::{EvaluatorKind, Evaluators, MarginalKind, Method, Spec};

/// Fills the method-dependent defaults of a validated spec.
pub fn fill(spec: &mut Spec) {
    let method = spec.method();
    let clusters = spec.clusters();
    let d = &mut spec.dataset;
    if d.kind.is_image() {
        let (train, test) = d.kind.sizes();
        d.train_size = Some(d.train_size.unwrap_or(train));
        d.test_size = Some(d.test_size.unwrap_or(test));
    } else {
        d.cov_xy.get_or_insert(0.5);
        d.dim.get_or_insert(1);
        d.marginal.get_or_insert(MarginalKind::Independent);
    }
    if spec.loss.kind == super::LossKind::MineEma {
        spec.loss.ema_rate.get_or_insert(0.01);
    }
    let e = &mut spec.evaluator;
    match method {
        Method::Iic => {
            spec.heads.clusters = Some(clusters);
            if spec.heads.overcluster.is_some() {
                spec.heads
                    .aux_schedule
                    .get_or_insert(super::AuxSchedule::Alternate);
            }
            e.kind
                .get_or_insert(Evaluators::One(EvaluatorKind::Hungarian));
        }
        Method::MineGaussian => {
            spec.model.hidden.get_or_insert(16);
            spec.train.steps.get_or_insert(1000);
            e.kind.get_or_insert(Evaluators::Many(vec![
                EvaluatorKind::AnalyticMi,
                EvaluatorKind::BinnedMi,
            ]));
        }
        Method::MineImages => {
            spec.model.hidden.get_or_insert(1024);
            spec.model.latent_dim.get_or_insert(10);
            e.kind
                .get_or_insert(Evaluators::One(EvaluatorKind::LinearProbe));
        }
    }
    if e.has(EvaluatorKind::BinnedMi) {
        e.bins.get_or_insert(100);
        e.binned_samples.get_or_insert(1_000_000);
    }
    if e.has(EvaluatorKind::LinearProbe) {
        e.probe_epochs.get_or_insert(10);
    }
}
