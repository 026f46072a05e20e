//! The `linear_probe` evaluator: how linearly decodable the labels are from frozen codes.
//! Dense(256) (no activation) → Dense(classes) softmax, cross-entropy, Adam 1e-3, batch 128.

use crate::model::LinearProbe;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Codes `[n, dim]` (row-major) with their labels.
#[derive(Debug, Clone, Copy)]
pub struct Codes<'a> {
    pub values: &'a [f32],
    pub labels: &'a [u8],
    pub dim: usize,
}

impl Codes<'_> {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn rows(&self, idx: &[usize], device: &Device) -> Tensor<2> {
        let rows: Vec<f32> = idx
            .iter()
            .flat_map(|&i| {
                self.values[i * self.dim..(i + 1) * self.dim]
                    .iter()
                    .copied()
            })
            .collect();
        Tensor::from_data(TensorData::new(rows, [idx.len(), self.dim]), device)
    }
}

/// Fits a probe on `fit` (seeded) and returns its accuracy on `score`. `train` is an autodiff
/// device, `eval` its plain twin.
pub fn probe_accuracy(
    fit: Codes,
    score: Codes,
    classes: usize,
    epochs: usize,
    seed: u64,
    train: &Device,
    eval: &Device,
) -> Result<f64, crate::backend::BackendError> {
    const BATCH: usize = 128;
    train.seed(seed);
    let mut model = LinearProbe::new(fit.dim, classes, train);
    let mut optim = AdamConfig::new().with_epsilon(1e-7).init();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..fit.len()).collect();
    for _ in 0..epochs {
        order.shuffle(&mut rng);
        for idx in order.chunks(BATCH) {
            let x = fit.rows(idx, train);
            let mut onehot = vec![0f32; idx.len() * classes];
            for (r, &i) in idx.iter().enumerate() {
                onehot[r * classes + fit.labels[i] as usize] = 1.0;
            }
            let y = Tensor::<2>::from_data(TensorData::new(onehot, [idx.len(), classes]), train);
            let loss = (log_softmax(model.forward(x), 1) * y)
                .sum_dim(1)
                .mean()
                .neg();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-3, model, grads);
        }
    }
    let valid = model.valid();
    let mut correct = 0usize;
    let all: Vec<usize> = (0..score.len()).collect();
    for idx in all.chunks(4096) {
        let logits = crate::backend::read_f32(valid.forward(score.rows(idx, eval)))?;
        for (r, &i) in idx.iter().enumerate() {
            let row = &logits[r * classes..(r + 1) * classes];
            let best = (0..classes)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            correct += usize::from(best == score.labels[i] as usize);
        }
    }
    Ok(correct as f64 / score.len().max(1) as f64)
}
