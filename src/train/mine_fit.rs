//! MINE training loops: T alone on Gaussian samples, or encoder + T on image pairs with the
//! linear probe scoring the codes after every epoch.

use super::checkpoint::Checkpointing;
use super::fit::TrainError;
use super::progress::Progress;
use super::schedule::{adam, lr_at};
use crate::backend::{read_f32, Devices};
use crate::data::batch::{centre_batch, epoch_order, mix, pair_batch};
use crate::data::gaussian::shuffled_rows;
use crate::data::{Augmenter, Dataset, Gaussian, ImageSet};
use crate::eval::probe::{probe_accuracy, Codes};
use crate::model::{MineImageNet, StatisticsNet};
use crate::objective::{mine_ema_loss, mine_loss, nwj_loss, Ema};
use crate::spec::{EvaluatorKind, LossKind, MarginalKind, Spec};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Steps over which the reported estimate is averaged (the reference's 100).
pub const RUNNING_MEAN: usize = 100;

/// One Gaussian training step.
#[derive(Debug, Clone, PartialEq)]
pub struct MiStep {
    /// 1-based.
    pub step: usize,
    /// The bound on this batch (DV for `mine`/`mine_ema`, NWJ for `nwj`), nats.
    pub bound: f64,
    /// Mean of the bound over the last [`RUNNING_MEAN`] steps: the MINE estimate.
    pub estimate: f64,
}

/// The loss of `kind` (minus its bound) on T's joint and marginal values. Every bound is
/// named: a new loss kind must be wired in here, not fall back to DV.
fn loss_of(
    kind: LossKind,
    tj: Tensor<1>,
    tm: Tensor<1>,
    ema: &mut Ema,
) -> Result<Tensor<1>, TrainError> {
    match kind {
        LossKind::Mine => Ok(mine_loss(tj, tm)),
        LossKind::MineEma => Ok(mine_ema_loss(tj, tm, ema)),
        LossKind::Nwj => Ok(nwj_loss(tj, tm)),
        // The validator keeps `iic` out of MINE pipelines; say so if that ever changes.
        LossKind::Iic => Err(TrainError::Model(
            "loss.kind = \"iic\" is not a MINE bound (expected mine, mine_ema or nwj)".into(),
        )),
    }
}

fn scalar(t: Tensor<1>) -> Result<f64, TrainError> {
    let v = read_f32(t).map_err(TrainError::Data)?;
    Ok(v.first().copied().unwrap_or(f32::NAN) as f64)
}

fn matrix(values: Vec<f32>, n: usize, d: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [n, d]), device)
}

/// Trains T on the spec's Gaussian for `train.steps` steps of `train.batch_size` samples with a
/// constant learning rate; `observer` sees every step.
pub fn fit_gaussian(
    spec: &Spec,
    devices: &Devices,
    progress: Progress,
    observer: &mut dyn FnMut(&MiStep),
) -> Result<Vec<MiStep>, TrainError> {
    let g = gaussian_of(spec);
    let seed = spec.pipeline.seed;
    let n = spec.train.batch_size;
    let steps = spec.train.steps.unwrap_or(1000);
    let hidden = spec.model.hidden.unwrap_or(16);
    let mut model = devices
        .init_model(
            seed,
            true,
            |d| Ok(StatisticsNet::new(g.dim, g.dim, hidden, d)),
            |m, d| {
                let z = Tensor::<2>::zeros([1, g.dim], d);
                let _ = m.forward(z.clone(), z);
            },
        )
        .map_err(TrainError::Model)?;
    let mut optim = adam(&spec.train);
    let mut ema = Ema::new(spec.loss.ema_rate.unwrap_or(0.01));
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, 0, 0));
    let bar = progress.epoch_bar(1, 1, steps);
    let mut out: Vec<MiStep> = Vec::with_capacity(steps);
    for step in 1..=steps {
        let (x, y) = g.joint(n, &mut rng);
        let y_marginal = match spec.dataset.marginal.unwrap_or_default() {
            MarginalKind::Independent => g.joint(n, &mut rng).1,
            MarginalKind::Shuffle => shuffled_rows(&y, g.dim, &mut rng),
        };
        let dev = &devices.train;
        let x = matrix(x, n, g.dim, dev);
        let tj = model.forward(x.clone(), matrix(y, n, g.dim, dev));
        let tm = model.forward(x, matrix(y_marginal, n, g.dim, dev));
        let loss = loss_of(spec.loss.kind, tj, tm, &mut ema)?;
        let bound = -scalar(loss.clone())?;
        if !bound.is_finite() {
            return Err(TrainError::NonFinite {
                epoch: 1,
                step,
                head: 0,
                value: bound as f32,
            });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(spec.train.lr, model, grads);
        let from = out.len().saturating_sub(RUNNING_MEAN - 1);
        let window: Vec<f64> = out[from..].iter().map(|s| s.bound).chain([bound]).collect();
        let record = MiStep {
            step,
            bound,
            estimate: window.iter().sum::<f64>() / window.len() as f64,
        };
        bar.inc(1);
        bar.set_message(format!("estimate {:.4}", record.estimate));
        observer(&record);
        out.push(record);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// The spec's Gaussian (resolved defaults: ρ 0.5, d 1).
pub fn gaussian_of(spec: &Spec) -> Gaussian {
    Gaussian {
        rho: spec.dataset.cov_xy.unwrap_or(0.5),
        dim: spec.dataset.dim.unwrap_or(1),
    }
}

/// One epoch of MINE on images.
#[derive(Debug, Clone, PartialEq)]
pub struct MineEpoch {
    /// 1-based.
    pub epoch: usize,
    pub lr: f64,
    pub seconds: f64,
    /// Mean training loss (minus the bound), nats.
    pub loss: f64,
    /// Mean of the bound over the epoch's batches: MINE's estimate of I(E(x); E(G(x))).
    pub estimate: f64,
    /// Probe fitted on train-set codes, scored on test-set codes (the honest number).
    pub probe_heldout: Option<f64>,
    /// Probe fitted and scored on the test-set codes (the reference's protocol).
    pub probe_book: Option<f64>,
}

/// Trains encoder + T on (x, G(x)) pairs: joint (E(x), E(G(x))), marginal (E(x), E(G(x')))
/// with the twins shuffled within the batch; the probe scores the codes after every epoch.
pub fn fit_images(
    spec: &Spec,
    data: &Dataset,
    devices: &Devices,
    progress: Progress,
    checkpoint: Checkpointing,
    observer: &mut dyn FnMut(&MineEpoch, &MineImageNet) -> Result<(), String>,
) -> Result<Vec<MineEpoch>, TrainError> {
    let seed = spec.pipeline.seed;
    let aug = Augmenter::new(spec.augment.clone());
    let side = aug.size();
    let b = spec.train.batch_size;
    let mut model = devices
        .init_model(
            seed,
            true,
            |d| MineImageNet::from_spec(spec, d),
            |m, d| {
                let z = m.encode(Tensor::zeros([2, 1, side, side], d));
                let _ = m.t.forward(z.clone(), z);
            },
        )
        .map_err(TrainError::Model)?;
    devices
        .check_batch(
            2 * b,
            MineImageNet::largest_map(spec).map_err(TrainError::Model)?,
        )
        .map_err(TrainError::Model)?;
    let mut ema = Ema::new(spec.loss.ema_rate.unwrap_or(0.01));
    let (start, m, mut optim, e) = checkpoint
        .restore(model, adam(&spec.train), None)
        .map_err(TrainError::Checkpoint)?;
    (model, ema.value) = (m, e);
    let steps = data.train.len() / b;
    let mut records = Vec::with_capacity(spec.train.epochs);
    for epoch in start..spec.train.epochs {
        let started = Instant::now();
        let lr = lr_at(&spec.train, epoch);
        let order = epoch_order(data.train.len(), seed, epoch);
        let bar = progress.epoch_bar(epoch + 1, spec.train.epochs, steps);
        let (mut loss_sum, mut bound_sum) = (0.0, 0.0);
        for step in 0..steps {
            let span = step * b..(step + 1) * b;
            let rows = pair_batch(&data.train, &order[span.clone()], span, &aug, seed, epoch);
            let dev = &devices.train;
            let x = Tensor::from_data(TensorData::new(rows, [2 * b, 1, side, side]), dev);
            let z = model.encode(x);
            let (z1, z2) = (z.clone().narrow(0, 0, b), z.narrow(0, b, b));
            let mut perm: Vec<i64> = (0..b as i64).collect();
            perm.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(
                seed,
                epoch as u64,
                step as u64,
            )));
            let perm = Tensor::<1, Int>::from_data(TensorData::new(perm, [b]), dev);
            let tj = model.t.forward(z1.clone(), z2.clone());
            let tm = model.t.forward(z1, z2.select(0, perm));
            let bound_now = crate::objective::dv_bound(tj.clone(), tm.clone()).detach();
            let loss = loss_of(spec.loss.kind, tj, tm, &mut ema)?;
            let value = scalar(loss.clone())?;
            if !value.is_finite() {
                return Err(TrainError::NonFinite {
                    epoch: epoch + 1,
                    step: step + 1,
                    head: 0,
                    value: value as f32,
                });
            }
            loss_sum += value;
            bound_sum += scalar(bound_now)?;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            bar.inc(1);
            bar.set_message(format!("loss {value:.4}"));
        }
        bar.finish_and_clear();
        let (probe_heldout, probe_book) = if spec.evaluator.has(EvaluatorKind::LinearProbe) {
            let (h, bk) = probe_scores(spec, &model, data, &aug, devices, epoch)?;
            (Some(h), Some(bk))
        } else {
            (None, None)
        };
        let record = MineEpoch {
            epoch: epoch + 1,
            lr,
            seconds: started.elapsed().as_secs_f64(),
            loss: loss_sum / steps.max(1) as f64,
            estimate: bound_sum / steps.max(1) as f64,
            probe_heldout,
            probe_book,
        };
        observer(&record, &model).map_err(TrainError::Observer)?;
        records.push(record);
        checkpoint
            .save_between(epoch + 1, spec.train.epochs, &model, &optim, ema.value)
            .map_err(TrainError::Checkpoint)?;
    }
    Ok(records)
}

/// Codes of every image's centre crop, with the running BatchNorm statistics.
pub fn encode_all(
    model: &MineImageNet,
    set: &ImageSet,
    aug: &Augmenter,
    device: &Device,
    chunk: usize,
) -> Result<Vec<f32>, TrainError> {
    let valid = model.valid();
    let side = aug.size();
    let mut out = Vec::new();
    for start in (0..set.len()).step_by(chunk) {
        let end = (start + chunk).min(set.len());
        let x = Tensor::from_data(
            TensorData::new(
                centre_batch(set, start..end, aug),
                [end - start, 1, side, side],
            ),
            device,
        );
        out.extend(read_f32(valid.encode(x)).map_err(TrainError::Data)?);
    }
    Ok(out)
}

/// (held-out, book) probe accuracies of the current codes.
fn probe_scores(
    spec: &Spec,
    model: &MineImageNet,
    data: &Dataset,
    aug: &Augmenter,
    devices: &Devices,
    epoch: usize,
) -> Result<(f64, f64), TrainError> {
    let dim = spec.model.latent_dim.unwrap_or(10);
    let epochs = spec.evaluator.probe_epochs.unwrap_or(10);
    let seed = mix(spec.pipeline.seed, epoch as u64, 7);
    let chunk = devices.eval_chunk(MineImageNet::largest_map(spec).map_err(TrainError::Model)?);
    let train_codes = encode_all(model, &data.train, aug, &devices.eval, chunk)?;
    let test_codes = encode_all(model, &data.test, aug, &devices.eval, chunk)?;
    let train = Codes {
        values: &train_codes,
        labels: &data.train.labels,
        dim,
    };
    let test = Codes {
        values: &test_codes,
        labels: &data.test.labels,
        dim,
    };
    let run = |fit: Codes| {
        probe_accuracy(
            fit,
            test,
            data.classes,
            epochs,
            seed,
            &devices.train,
            &devices.eval,
        )
        .map_err(TrainError::Data)
    };
    Ok((run(train)?, run(test)?))
}
