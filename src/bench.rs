//! `mirun bench`: the numbers a speed comparison needs, measured in one process on the real
//! model and data — training step (forward + backward + Adam), pair augmentation throughput,
//! and evaluation of a test set — as medians after warm-up.

use crate::backend::Devices;
use crate::data::batch::{epoch_order, pair_batch};
use crate::data::{Augmenter, Dataset, Views};
use crate::method::iic::{Iic, IicConfig};
use crate::method::Method;
use crate::spec::Spec;
use crate::train::TrainError;
use burn::tensor::Tensor;
use std::time::Instant;

/// One measured quantity.
#[derive(Debug, Clone)]
pub struct Measure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Median seconds of `steps` training steps (after `warmup`) of the spec's network at its
/// batch size, on real pairs: the training loop's own step (copies and over-clustering heads
/// included).
pub fn step_seconds(
    spec: &Spec,
    data: &Dataset,
    devices: &Devices,
    warmup: usize,
    steps: usize,
) -> Result<f64, TrainError> {
    let iic = Iic::new(IicConfig::resolve(spec)?, data, devices);
    let b = spec.train.batch_size;
    let mut model = iic.init()?;
    let mut optim = crate::train::schedule::Schedule::of(&spec.train).adam();
    let order = epoch_order(data.train.len(), spec.pipeline.seed, 0);
    let mut times = Vec::new();
    for step in 0..warmup + steps {
        let at = (step * b) % (data.train.len() - b + 1);
        let x = iic.batch_at(&order, at..at + b, 0);
        let started = Instant::now();
        let (m, _) = iic.train_step(model, &mut optim, x, step, 1e-3)?;
        model = m;
        if step >= warmup {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    Ok(median(times))
}

/// FLOPs of one image's forward pass through the spec's network (a training step costs 3×
/// that per row: forward and backward).
pub fn image_flops(spec: &Spec) -> Result<f64, TrainError> {
    IicConfig::resolve(spec)?
        .net
        .forward_flops()
        .map_err(|e| TrainError::Model(e.to_string()))
}

/// Rows of one training step: the originals and their twins.
pub fn step_rows(spec: &Spec) -> usize {
    (1 + spec.augment.copies) * spec.train.batch_size
}

/// GFLOP/s of an `n`×`n` by `n`×`n` f32 matrix product on the training device through the
/// backend's own matmul (on flex, the `gemm` crate it multiplies with): the practical peak the
/// step's rate is set against. Median of 5 after 2 warm-up products.
pub fn gemm_gflop_per_s(devices: &Devices, n: usize) -> Result<f64, TrainError> {
    let d = &devices.train;
    let a: Tensor<2> = Tensor::ones([n, n], d);
    let b: Tensor<2> = Tensor::ones([n, n], d);
    let mut times = Vec::new();
    for i in 0..7 {
        let started = Instant::now();
        let c = a.clone().matmul(b.clone());
        // Reading one value back waits for the product on lazy backends.
        crate::backend::read_f32(c.slice([0..1, 0..1]))?;
        if i >= 2 {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    Ok(2.0 * (n as f64).powi(3) / median(times) / 1e9)
}

/// Pairs per second of the augmentation (original + transformed twin), over `seconds`.
pub fn pairs_per_second(spec: &Spec, data: &Dataset, seconds: f64) -> f64 {
    let aug = Augmenter::new(Views::of(&spec.augment));
    let b = spec.train.batch_size;
    let order = epoch_order(data.train.len(), 1, 0);
    let started = Instant::now();
    let mut pairs = 0usize;
    let mut at = 0;
    while started.elapsed().as_secs_f64() < seconds {
        if at + b > order.len() {
            at = 0;
        }
        let rows = pair_batch(&data.train, &order[at..at + b], at..at + b, &aug, 1, 0);
        std::hint::black_box(&rows);
        pairs += b;
        at += b;
    }
    pairs as f64 / started.elapsed().as_secs_f64()
}

/// Median seconds to score every head on the whole test set (centre crops, Hungarian), of
/// `repeats` passes with a freshly initialised network.
pub fn eval_seconds(
    spec: &Spec,
    data: &Dataset,
    devices: &Devices,
    repeats: usize,
) -> Result<f64, TrainError> {
    let iic = Iic::new(IicConfig::resolve(spec)?, data, devices);
    let (net, side) = (&iic.config.net, spec.augment.size);
    let c = net.backbone.in_channels;
    let model = devices.init_model(
        spec.pipeline.seed,
        false,
        |d| Ok::<_, TrainError>(net.init(d)?),
        |m, d| {
            let _ = m.forward(Tensor::zeros([2, c, side, side], d));
        },
    )?;
    let mut times = Vec::new();
    for _ in 0..repeats {
        let started = Instant::now();
        iic.evaluate(&model)?;
        times.push(started.elapsed().as_secs_f64());
    }
    Ok(median(times))
}
