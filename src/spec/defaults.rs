//! Defaults that depend on what the pipeline trains: filled in after validation, so the
//! resolved config (and `summary.csv`) shows every value that applies and none that does not.

use super::{EvaluatorKind, Evaluators, MarginalKind, Method, Spec};

/// Gaussian: correlation ρ of each (x, y) pair.
pub const COV_XY: f64 = 0.5;
/// Gaussian: number of correlated pairs.
pub const GAUSSIAN_DIM: usize = 1;
/// Gaussian: training steps (the reference's).
pub const GAUSSIAN_STEPS: usize = 1000;
/// Gaussian: width of T's hidden layer.
pub const GAUSSIAN_HIDDEN: usize = 16;
/// MINE on images: width of T's hidden layer.
pub const IMAGES_HIDDEN: usize = 1024;
/// MINE on images: size of the encoder's code.
pub const LATENT_DIM: usize = 10;
/// MINE on images: τ of the cosine critic.
pub const TEMPERATURE: f64 = 0.1;
/// `selflabel`: the confidence an original needs to lend its label (SCAN's).
pub const SELFLABEL_THRESHOLD: f64 = 0.99;
/// `mine_ema`: rate of the moving average.
pub const EMA_RATE: f64 = 0.01;
/// `binned_mi`: bins per axis.
pub const BINS: usize = 100;
/// `binned_mi`: samples drawn.
pub const BINNED_SAMPLES: usize = 1_000_000;
/// Sub-head lottery: how far a head's mean loss may lag the best (nats).
pub const LOTTERY_MARGIN: f64 = 0.05;
/// `linear_probe`: training epochs of the classifier.
pub const PROBE_EPOCHS: usize = 10;

/// Fills the method-dependent defaults of a validated spec.
pub(super) fn fill(spec: &mut Spec) {
    let method = spec.method();
    let clusters = spec.clusters();
    let d = &mut spec.dataset;
    if d.kind.is_image() {
        let (train, test) = d.kind.sizes();
        d.train_size = Some(d.train_size.unwrap_or(train));
        d.test_size = Some(d.test_size.unwrap_or(test));
    } else {
        d.cov_xy.get_or_insert(COV_XY);
        d.dim.get_or_insert(GAUSSIAN_DIM);
        d.marginal.get_or_insert(MarginalKind::Independent);
    }
    if spec.loss.kind == super::LossKind::MineEma {
        spec.loss.ema_rate.get_or_insert(EMA_RATE);
    }
    if spec.loss.kind == super::LossKind::SelfLabel {
        spec.loss.threshold.get_or_insert(SELFLABEL_THRESHOLD);
    }
    let e = &mut spec.evaluator;
    match method {
        Method::Iic => {
            spec.heads.clusters = Some(clusters);
            if spec.heads.lottery_every.is_some() {
                spec.heads.lottery_margin.get_or_insert(LOTTERY_MARGIN);
            }
            if spec.heads.overcluster.is_some() {
                spec.heads
                    .aux_schedule
                    .get_or_insert(super::AuxSchedule::Alternate);
            }
            e.kind
                .get_or_insert(Evaluators::One(EvaluatorKind::Hungarian));
        }
        Method::MineGaussian => {
            spec.model.hidden.get_or_insert(GAUSSIAN_HIDDEN);
            spec.train.steps.get_or_insert(GAUSSIAN_STEPS);
            e.kind.get_or_insert(Evaluators::Many(vec![
                EvaluatorKind::AnalyticMi,
                EvaluatorKind::BinnedMi,
            ]));
        }
        Method::MineImages => {
            if spec.model.critic == Some(super::CriticKind::Cosine) {
                spec.model.temperature.get_or_insert(TEMPERATURE);
            } else {
                spec.model.hidden.get_or_insert(IMAGES_HIDDEN);
            }
            spec.model.latent_dim.get_or_insert(LATENT_DIM);
            e.kind
                .get_or_insert(Evaluators::One(EvaluatorKind::LinearProbe));
        }
    }
    if e.has(EvaluatorKind::BinnedMi) {
        e.bins.get_or_insert(BINS);
        e.binned_samples.get_or_insert(BINNED_SAMPLES);
    }
    if e.has(EvaluatorKind::LinearProbe) {
        e.probe_epochs.get_or_insert(PROBE_EPOCHS);
    }
}
