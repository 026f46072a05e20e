//! The IIC training loop, written out: batch → forward → loss per head → backward → Adam step,
//! then an evaluation of every head on the test set after each epoch.

use super::checkpoint::Checkpointing;
use super::progress::Progress;
use super::schedule::{adam, lr_at};
use crate::backend::{read_f32, Devices};
use crate::data::batch::{centre_batch, copies_batch, epoch_order, prefetch};
use crate::data::{Augmenter, Dataset};
use crate::eval::{score, Scores};
use crate::model::{IicNet, IicNetConfig};
use crate::objective::iic_loss;
use crate::spec::{AuxSchedule, Spec};
pub use crate::store::records::{lowest_loss, EpochRecord, HeadScore};
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use std::time::Instant;

/// Errors that stop training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("model: {0}")]
    Model(String),
    #[error("numerical failure: loss of head {head} is {value} at epoch {epoch}, step {step}")]
    NonFinite {
        epoch: usize,
        step: usize,
        head: usize,
        value: f32,
    },
    #[error("reading a tensor back: {0}")]
    Data(String),
    #[error("{0}")]
    Observer(String),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}

fn to_tensor(rows: Vec<f32>, n: usize, side: usize, device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(rows, [n, 1, side, side]), device)
}

/// Trains the spec's network on `data`; `observer` sees each epoch and the model as it ends (to
/// write results and weights) and may stop the run by returning an error.
///
/// The state is saved to `checkpoint` after every epoch but the last; when resuming, training
/// continues from the saved state (only the epochs after it are trained and returned).
pub fn fit(
    spec: &Spec,
    data: &Dataset,
    devices: &Devices,
    progress: Progress,
    checkpoint: Checkpointing,
    observer: &mut dyn FnMut(&EpochRecord, &IicNet) -> Result<(), String>,
) -> Result<Vec<EpochRecord>, TrainError> {
    let seed = spec.pipeline.seed;
    let aug = Augmenter::new(spec.augment.clone());
    let side = aug.size();
    let b = spec.train.batch_size;
    let (model, chunk) = new_model(spec, devices)?;
    let (start, mut model, mut optim, _) = checkpoint
        .restore(model, adam(&spec.train), None)
        .map_err(TrainError::Checkpoint)?;
    let heads = model.heads();
    let steps = data.train.len() / b;
    let mut records = Vec::with_capacity(spec.train.epochs);

    let copies = spec.augment.copies;
    for epoch in start..spec.train.epochs {
        let started = Instant::now();
        let lr = lr_at(&spec.train, epoch);
        let order = epoch_order(data.train.len(), seed, epoch);
        let bar = progress.epoch_bar(epoch + 1, spec.train.epochs, steps);
        let mut sums = vec![0f64; heads];
        let make = |step: usize| {
            let span = step * b..(step + 1) * b;
            copies_batch(
                &data.train,
                &order[span.clone()],
                span,
                &aug,
                seed,
                epoch,
                copies,
            )
        };
        model = std::thread::scope(|scope| -> Result<IicNet, TrainError> {
            for (step, rows) in prefetch(scope, steps, make).into_iter().enumerate() {
                let x = to_tensor(rows, (1 + copies) * b, side, &devices.train);
                let (m, values) = train_step(model, &mut optim, x, spec, step, lr)?;
                model = m;
                for (head, &v) in values.iter().enumerate() {
                    if !v.is_finite() {
                        return Err(TrainError::NonFinite {
                            epoch: epoch + 1,
                            step: step + 1,
                            head,
                            value: v,
                        });
                    }
                    sums[head] += v as f64;
                }
                bar.inc(1);
                let mean: f64 = values.iter().map(|&v| v as f64).sum::<f64>() / heads as f64;
                bar.set_message(format!("loss {mean:.4}"));
            }
            Ok(model)
        })?;
        bar.finish_and_clear();
        let accuracies = evaluate(&model, data, &aug, &devices.eval, spec.clusters(), chunk)?;
        let head_scores: Vec<HeadScore> = sums
            .iter()
            .zip(accuracies)
            .map(|(s, scores)| HeadScore {
                loss: s / steps.max(1) as f64,
                accuracy: scores.accuracy,
                scores,
            })
            .collect();
        let record = EpochRecord {
            epoch: epoch + 1,
            lr,
            seconds: started.elapsed().as_secs_f64(),
            selected: lowest_loss(&head_scores),
            heads: head_scores,
        };
        observer(&record, &model).map_err(TrainError::Observer)?;
        records.push(record);
        checkpoint
            .save_between(epoch + 1, spec.train.epochs, &model, &optim, None)
            .map_err(TrainError::Checkpoint)?;
    }
    Ok(records)
}

/// The spec's IIC network with the seed's initial weights, on the training device, and how many
/// images to evaluate at once there; refuses a batch the device cannot hold. (`fit`, `bench`.)
pub(crate) fn new_model(spec: &Spec, devices: &Devices) -> Result<(IicNet, usize), TrainError> {
    let config = IicNetConfig::from_spec(spec).map_err(TrainError::Model)?;
    let per_image = config.largest_map();
    let rows = (1 + spec.augment.copies) * spec.train.batch_size;
    devices
        .check_batch(rows, per_image)
        .map_err(TrainError::Model)?;
    let joint = spec.heads.aux_schedule == Some(AuxSchedule::Joint);
    let model = devices
        .init_model(
            spec.pipeline.seed,
            true,
            |d| config.init(d),
            |m, d| m.first_use(spec.augment.size, joint, d),
        )
        .map_err(TrainError::Model)?;
    Ok((model, devices.eval_chunk(per_image)))
}

/// One IIC training step on `x` (`[(1 + copies)·B, 1, S, S]`: B originals, then `copies`
/// blocks of B twins, as `copies_batch` lays them out): forward, the loss of every main head
/// — and of the over-clustering heads when this `step` trains them — backward, Adam step.
/// Returns the updated model and the main heads' losses, read back before the update; when
/// one is not finite the model is returned unchanged and the caller reports it.
pub fn train_step(
    model: IicNet,
    optim: &mut ModuleOptimizer,
    x: Tensor<4>,
    spec: &Spec,
    step: usize,
    lr: f64,
) -> Result<(IicNet, Vec<f32>), TrainError> {
    let (b, copies, eps) = (spec.train.batch_size, spec.augment.copies, spec.loss.eps);
    // Main heads train on every step, except the odd steps of the alternating schedule.
    let (main_on, aux_on) = match spec.heads.aux_schedule {
        None => (true, false),
        Some(AuxSchedule::Joint) => (true, true),
        Some(AuxSchedule::Alternate) => (step.is_multiple_of(2), !step.is_multiple_of(2)),
    };
    let (zs, aux_zs) = model.forward_with_aux(x, aux_on);
    let pair_loss = |z: Tensor<2>| {
        let originals = z.clone().narrow(0, 0, b);
        let tiled = Tensor::cat(vec![originals; copies], 0);
        iic_loss(tiled, z.narrow(0, b, copies * b), eps)
    };
    let main = Tensor::cat(zs.into_iter().map(pair_loss).collect(), 0);
    let values = read_f32(main.clone()).map_err(TrainError::Data)?;
    if values.iter().any(|v| !v.is_finite()) {
        return Ok((model, values));
    }
    // Without over-clustering heads `aux_zs` is empty, and the alternate schedule (which has
    // them, by validation) always trains one of the two groups.
    let aux = (!aux_zs.is_empty())
        .then(|| Tensor::cat(aux_zs.into_iter().map(pair_loss).collect(), 0).mean());
    let objective = [main_on.then(|| main.mean()), aux]
        .into_iter()
        .flatten()
        .reduce(|a, b| a + b);
    let model = match objective {
        Some(o) => {
            let grads = GradientsParams::from_grads(o.backward(), &model);
            optim.step(lr, model, grads)
        }
        None => model,
    };
    Ok((model, values))
}

/// Scores of every head on the test set's centre crops, using the running BatchNorm
/// statistics (`model.valid()`), `chunk` images at a time (`Devices::eval_chunk`).
pub fn evaluate(
    model: &IicNet,
    data: &Dataset,
    aug: &Augmenter,
    device: &Device,
    clusters: usize,
    chunk: usize,
) -> Result<Vec<Scores>, TrainError> {
    let assigned = assignments(model, &data.test, aug, device, clusters, chunk)?;
    let labels: Vec<usize> = data.test.labels.iter().map(|&l| l as usize).collect();
    Ok(assigned
        .iter()
        .map(|a| score(a, &labels, clusters, data.classes))
        .collect())
}

/// Every head's cluster (argmax) for each image of `set` (centre crops, running statistics),
/// `chunk` images at a time.
pub fn assignments(
    model: &IicNet,
    set: &crate::data::ImageSet,
    aug: &Augmenter,
    device: &Device,
    clusters: usize,
    chunk: usize,
) -> Result<Vec<Vec<usize>>, TrainError> {
    let valid = model.valid();
    let side = aug.size();
    let n = set.len();
    let mut assigned: Vec<Vec<usize>> = vec![Vec::with_capacity(n); valid.heads()];
    for start in (0..n).step_by(chunk) {
        let end = (start + chunk).min(n);
        let x = to_tensor(
            centre_batch(set, start..end, aug),
            end - start,
            side,
            device,
        );
        for (head, z) in valid.forward(x).into_iter().enumerate() {
            let probs = read_f32(z).map_err(TrainError::Data)?;
            assigned[head].extend(probs.chunks(clusters).map(argmax));
        }
    }
    Ok(assigned)
}

fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}
