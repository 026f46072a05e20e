//! BatchNorm with batch statistics, optionally followed by ReLU, as one custom op on flex
//! (burn's backend extensions): one pass for the per-channel statistics, one to normalise and
//! activate; the backward pass in two as well (per-channel sums, then the input gradient),
//! straight on NCHW buffers. burn's generic batch norm transposes the activation to
//! `[C, N·H·W]` for every reduction and runs each arithmetic step as its own pass.
//!
//! Statistics are summed in `f64` per channel in a fixed order, so results do not depend on
//! the number of threads.

use super::flex_buf::{par_written, tensor, values};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, Flex};
use burn::tensor::Tensor;
use burn_flex::FlexTensor;
use multiversion::multiversion;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// The fused op as a backend extension: flex runs the kernels below; autodiff records the
/// backward pass written here.
#[backend_extension(Flex, LibTorch: cfg(feature = "tch"), Autodiff)]
pub trait BatchNormReluBackend: Backend {
    /// `x` `[N, C, H, W]` normalised with its own per-channel mean and biased variance, scaled
    /// by `gamma`, shifted by `beta` (both `[C]`), then ReLU when `relu`. Returns the output,
    /// the mean and the variance (the last two are not differentiated).
    fn batch_norm_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// [`BatchNormReluBackend::batch_norm_relu_train`] on burn tensors: (output, mean, variance).
pub fn batch_norm_relu_train(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
    relu: bool,
) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    let (y, mean, var) = <Dispatch as BatchNormReluBackend>::batch_norm_relu_train(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
        relu,
    );
    (
        Tensor::from_dispatch(y),
        Tensor::from_dispatch(mean),
        Tensor::from_dispatch(var),
    )
}

/// BatchNorm with given (running) statistics, optionally followed by ReLU, in one pass: for
/// inference on flex (not differentiated; mirun calls it on inference devices only).
#[backend_extension(Flex, LibTorch: cfg(feature = "tch"))]
pub trait BatchNormReluInference: Backend {
    /// `relu?((x − mean)/√(var + ε)·gamma + beta)` per channel of `x` `[N, C, H, W]`.
    fn batch_norm_relu_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        var: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> FloatTensor<Self>;
}

/// [`BatchNormReluInference::batch_norm_relu_eval`] on burn tensors.
pub fn batch_norm_relu_eval(
    x: Tensor<4>,
    [gamma, beta, mean, var]: [Tensor<1>; 4],
    epsilon: f64,
    relu: bool,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as BatchNormReluInference>::batch_norm_relu_eval(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        mean.into_dispatch(),
        var.into_dispatch(),
        epsilon,
        relu,
    ))
}

impl BatchNormReluInference for Flex {
    fn batch_norm_relu_eval(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        var: FlexTensor,
        epsilon: f64,
        relu: bool,
    ) -> FlexTensor {
        let (gv, bv, mv, vv) = (values(&gamma), values(&beta), values(&mean), values(&var));
        let stats: Vec<(f64, f64)> = mv
            .iter()
            .zip(vv.iter())
            .map(|(&m, &v)| (m as f64, v as f64))
            .collect();
        normalise(&x, &stats, &gv, &bv, epsilon, relu)
    }
}

/// `relu?(x·scale + shift)` per channel, with scale and shift from the statistics.
fn normalise(
    x: &FlexTensor,
    stats: &[(f64, f64)],
    gv: &[f32],
    bv: &[f32],
    epsilon: f64,
    relu: bool,
) -> FlexTensor {
    let (_, c, hw) = dims(x);
    let xv = values(x);
    let (scale, shift): (Vec<f32>, Vec<f32>) = stats
        .iter()
        .zip(gv.iter().zip(bv.iter()))
        .map(|(&(mean, var), (&g, &b))| {
            let s = g as f64 / (var + epsilon).sqrt();
            (s as f32, (b as f64 - mean * s) as f32)
        })
        .unzip();
    // Every channel needs its scale and shift: `normalise_image` writes only channels it has.
    assert!(
        scale.len() == c,
        "batch norm: {c} channels but {} statistics, {} gammas and {} betas",
        stats.len(),
        gv.len(),
        bv.len()
    );
    let per_image = c * hw;
    let write = |img: usize, yi: &mut [MaybeUninit<f32>]| {
        let xi = &xv[img * per_image..][..per_image];
        normalise_image(yi, xi, hw, (&scale, &shift), relu)
    };
    // SAFETY: `normalise_image` writes every element of its image (a scale and a shift for each
    // of its `c` channels, checked above).
    let (y, _) = unsafe { par_written(xv.len(), (per_image, 1), write) };
    tensor(y, x.layout().shape().to_vec())
}

/// One image of [`normalise`]: `y = relu?(x·scale + shift)`, channel by channel. Compiled for
/// AVX2 too (chosen at run time, like every kernel here marked `multiversion`): each element
/// is computed alike either way, so the result does not depend on the CPU's vector width.
#[multiversion(targets("x86_64+avx2+fma"))]
fn normalise_image(
    y: &mut [MaybeUninit<f32>],
    x: &[f32],
    hw: usize,
    (scale, shift): (&[f32], &[f32]),
    relu: bool,
) {
    if hw == 0 {
        return;
    }
    for ((yo, xo), (&s, &t)) in y
        .chunks_exact_mut(hw)
        .zip(x.chunks_exact(hw))
        .zip(scale.iter().zip(shift))
    {
        if relu {
            yo.iter_mut()
                .zip(xo)
                .for_each(|(o, &v)| _ = o.write((v * s + t).max(0.0)));
        } else {
            yo.iter_mut()
                .zip(xo)
                .for_each(|(o, &v)| _ = o.write(v * s + t));
        }
    }
}

/// (N, C, H·W) of an NCHW tensor.
fn dims(x: &FlexTensor) -> (usize, usize, usize) {
    let s = x.layout().shape();
    let hw = (2..s.num_dims()).map(|i| s[i]).product();
    (s[0], s[1], hw)
}

/// The runs of channel `ch`: `N` ranges of `hw` floats.
fn runs(n: usize, c: usize, hw: usize, ch: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..n).map(move |i| (i * c + ch) * hw..(i * c + ch + 1) * hw)
}

/// Σ f(v) over `values` in `f64`, accumulated in 16 `f32` lanes (so it vectorises) in a fixed
/// order.
#[inline]
fn lanes(values: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut acc = [0f32; 16];
    let chunks = values.chunks_exact(16);
    let tail: f64 = chunks.remainder().iter().map(|&v| f(v) as f64).sum();
    for c in chunks {
        for l in 0..16 {
            acc[l] += f(c[l]);
        }
    }
    acc.iter().map(|&a| a as f64).sum::<f64>() + tail
}

/// Channel `ch`'s mean and (biased) variance over `m` values: each run summed in 16 lanes.
#[multiversion(targets("x86_64+avx2+fma"))]
fn channel_stats(xv: &[f32], (n, c, hw): (usize, usize, usize), ch: usize, m: f64) -> (f64, f64) {
    let sum: f64 = runs(n, c, hw, ch).map(|r| lanes(&xv[r], |v| v)).sum();
    let mean = sum / m;
    let mu = mean as f32;
    let sq: f64 = runs(n, c, hw, ch)
        .map(|r| lanes(&xv[r], |v| (v - mu) * (v - mu)))
        .sum();
    (mean, sq / m)
}

/// The gradient reaching the normalisation: `dy`, masked by ReLU's active outputs.
#[inline(always)]
fn mask(relu: bool, y: f32, dy: f32) -> f32 {
    if !relu || y > 0.0 {
        dy
    } else {
        0.0
    }
}

/// Channel `ch`'s Σ g (dbeta) and Σ g·(x − μ)/σ (dgamma), g the masked gradient: each run
/// summed in 16 lanes.
#[multiversion(targets("x86_64+avx2+fma"))]
fn channel_grad_sums(
    (xv, yv, dyv): (&[f32], &[f32], &[f32]),
    (n, c, hw): (usize, usize, usize),
    ch: usize,
    mu: f32,
    relu: bool,
    inv_std: f64,
) -> (f64, f64) {
    runs(n, c, hw, ch).fold((0.0, 0.0), |(sb, sg), r| {
        let (x, y, dy) = (&xv[r.clone()], &yv[r.clone()], &dyv[r]);
        let (mut ab, mut ag) = ([0f32; 16], [0f32; 16]);
        let (xc, yc, dc) = (x.chunks_exact(16), y.chunks_exact(16), dy.chunks_exact(16));
        let (mut tb, mut tg) = (0f64, 0f64);
        for ((x, y), d) in xc
            .remainder()
            .iter()
            .zip(yc.remainder())
            .zip(dc.remainder())
        {
            let g = mask(relu, *y, *d);
            tb += g as f64;
            tg += (g * (x - mu)) as f64;
        }
        for ((x, y), d) in xc.zip(yc).zip(dc) {
            for l in 0..16 {
                let g = mask(relu, y[l], d[l]);
                ab[l] += g;
                ag[l] += g * (x[l] - mu);
            }
        }
        let total = |a: [f32; 16]| a.iter().map(|&v| v as f64).sum::<f64>();
        (sb + total(ab) + tb, sg + (total(ag) + tg) * inv_std)
    })
}

/// One image of the input gradient: `dx = a·g − b − c·(x − μ)` per channel, from the
/// channels' `(a, b, c, μ)`.
#[multiversion(targets("x86_64+avx2+fma"))]
fn dx_image(
    dx: &mut [MaybeUninit<f32>],
    (x, y, dy): (&[f32], &[f32], &[f32]),
    hw: usize,
    coefficients: &[(f32, f32, f32, f32)],
    relu: bool,
) {
    if hw == 0 {
        return;
    }
    let rows = dx.chunks_exact_mut(hw).zip(x.chunks_exact(hw));
    let rows = rows.zip(y.chunks_exact(hw).zip(dy.chunks_exact(hw)));
    for (((out, x), (y, dy)), &(a, b, cc, mu)) in rows.zip(coefficients) {
        for (((o, &x), &y), &d) in out.iter_mut().zip(x).zip(y).zip(dy) {
            o.write(a * mask(relu, y, d) - b - cc * (x - mu));
        }
    }
}

/// Forward: (output, mean, variance).
fn forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
    relu: bool,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (n, c, hw) = dims(x);
    let (xv, gv, bv) = (values(x), values(gamma), values(beta));
    let m = (n * hw).max(1) as f64;
    let stats: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| channel_stats(&xv, (n, c, hw), ch, m))
        .collect();
    let y = normalise(x, &stats, &gv, &bv, epsilon, relu);
    let (mean, var): (Vec<f32>, Vec<f32>) =
        stats.iter().map(|&(m, v)| (m as f32, v as f32)).unzip();
    (y, tensor(mean, vec![c]), tensor(var, vec![c]))
}

/// Backward: (dx, dgamma, dbeta) from the forward's input, output, statistics and `dy`.
#[allow(clippy::too_many_arguments)]
fn backward(
    x: &FlexTensor,
    y: &FlexTensor,
    gamma: &FlexTensor,
    mean: &FlexTensor,
    var: &FlexTensor,
    epsilon: f64,
    relu: bool,
    dy: &FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (n, c, hw) = dims(x);
    let (xv, yv, gv, mv, vv, dyv) = (
        values(x),
        values(y),
        values(gamma),
        values(mean),
        values(var),
        values(dy),
    );
    let inv_std: Vec<f64> = vv
        .iter()
        .map(|&v| 1.0 / (v as f64 + epsilon).sqrt())
        .collect();
    // Per channel: Σ g (dbeta) and Σ g·(x − μ) (dgamma, once scaled by 1/σ), each run summed
    // in 16 lanes.
    let sums: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| channel_grad_sums((&xv, &yv, &dyv), (n, c, hw), ch, mv[ch], relu, inv_std[ch]))
        .collect();
    let m = (n * hw).max(1) as f64;
    // dx = γ/σ · (g − Σg/M − x̂·Σ(g·x̂)/M) = a·g − b − c·(x − μ), per channel.
    let coefficients: Vec<(f32, f32, f32, f32)> = (0..c)
        .map(|ch| {
            let (db, dg) = sums[ch];
            let k = gv[ch] as f64 * inv_std[ch];
            let (a, b, cc) = (k, k * db / m, k * inv_std[ch] * dg / m);
            (a as f32, b as f32, cc as f32, mv[ch])
        })
        .collect();
    let write = |img: usize, dxi: &mut [MaybeUninit<f32>]| {
        let r = img * c * hw..(img + 1) * c * hw;
        let image = (&xv[r.clone()], &yv[r.clone()], &dyv[r]);
        dx_image(dxi, image, hw, &coefficients, relu)
    };
    // SAFETY: `dx_image` writes every element of its image.
    let (dx, _) = unsafe { par_written(xv.len(), (c * hw, 1), write) };
    let (dbeta, dgamma): (Vec<f32>, Vec<f32>) =
        sums.iter().map(|&(b, g)| (b as f32, g as f32)).unzip();
    (
        tensor(dx, x.layout().shape().to_vec()),
        tensor(dgamma, vec![c]),
        tensor(dbeta, vec![c]),
    )
}

impl BatchNormReluBackend for Flex {
    fn batch_norm_relu_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        relu: bool,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        forward(&x, &gamma, &beta, epsilon, relu)
    }
}

#[derive(Debug)]
struct BatchNormReluBackward;

impl Backward<Flex, 3> for BatchNormReluBackward {
    /// Input, output, gamma, mean, variance, epsilon, relu.
    type State = (
        FlexTensor,
        FlexTensor,
        FlexTensor,
        FlexTensor,
        FlexTensor,
        f64,
        bool,
    );

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, y, gamma, mean, var, epsilon, relu) = ops.state;
        let (dx, dgamma, dbeta) = backward(&x, &y, &gamma, &mean, &var, epsilon, relu, &dy);
        for (node, g) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, g);
            }
        }
    }
}

/// A constant (untracked) autodiff tensor holding a flex tensor's values.
fn constant<C: CheckpointStrategy>(t: FlexTensor) -> FloatTensor<Autodiff<Flex, C>> {
    <Autodiff<Flex, C> as FloatTensorOps<_>>::float_from_data(t.into_data(), &Default::default())
}

impl<C: CheckpointStrategy> BatchNormReluBackend for Autodiff<Flex, C> {
    fn batch_norm_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        match BatchNormReluBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, gp) = (x.primitive().clone(), gamma.primitive().clone());
                let (y, mean, var) = forward(&xp, &gp, beta.primitive(), epsilon, relu);
                let state = (xp, y.clone(), gp, mean.clone(), var.clone(), epsilon, relu);
                (
                    prep.finish(state, y),
                    constant::<C>(mean),
                    constant::<C>(var),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (y, mean, var) = forward(
                    x.primitive(),
                    gamma.primitive(),
                    beta.primitive(),
                    epsilon,
                    relu,
                );
                (prep.finish(y), constant::<C>(mean), constant::<C>(var))
            }
        }
    }
}

/// libtorch: its own batch norm forward and backward (through libtorch's autograd, recorded in
/// the forward), ReLU included.
#[cfg(feature = "tch")]
mod libtorch {
    use super::*;
    use crate::model::tch_graph::recorded;
    use burn::backend::LibTorch;
    use burn::tensor::TensorData;
    use burn_tch::TchTensor;

    /// (output, batch mean, biased batch variance) with libtorch's batch norm.
    fn train(
        x: &tch::Tensor,
        g: &tch::Tensor,
        b: &tch::Tensor,
        epsilon: f64,
        relu: bool,
    ) -> (tch::Tensor, tch::Tensor, tch::Tensor) {
        let none: Option<&tch::Tensor> = None;
        let (mut y, mean, invstd) =
            tch::Tensor::native_batch_norm(x, Some(g), Some(b), none, none, true, 0.1, epsilon);
        let var = invstd.detach().pow_tensor_scalar(-2.0) - epsilon;
        // In place: the batch norm's backward does not read its output.
        let y = if relu { y.relu_() } else { y };
        (y, mean.detach(), var)
    }

    impl BatchNormReluBackend for LibTorch {
        fn batch_norm_relu_train(
            x: TchTensor,
            gamma: TchTensor,
            beta: TchTensor,
            epsilon: f64,
            relu: bool,
        ) -> (TchTensor, TchTensor, TchTensor) {
            let (y, m, v) = train(&x.tensor, &gamma.tensor, &beta.tensor, epsilon, relu);
            (TchTensor::new(y), TchTensor::new(m), TchTensor::new(v))
        }
    }

    impl BatchNormReluInference for LibTorch {
        fn batch_norm_relu_eval(
            x: TchTensor,
            gamma: TchTensor,
            beta: TchTensor,
            mean: TchTensor,
            var: TchTensor,
            epsilon: f64,
            relu: bool,
        ) -> TchTensor {
            let y = tch::Tensor::batch_norm(
                &x.tensor,
                Some(&gamma.tensor),
                Some(&beta.tensor),
                Some(&mean.tensor),
                Some(&var.tensor),
                false,
                0.1,
                epsilon,
                false,
            );
            TchTensor::new(if relu { y.relu() } else { y })
        }
    }

    impl<C: CheckpointStrategy> BatchNormReluBackend for Autodiff<LibTorch, C> {
        fn batch_norm_relu_train(
            x: FloatTensor<Self>,
            gamma: FloatTensor<Self>,
            beta: FloatTensor<Self>,
            epsilon: f64,
            relu: bool,
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            let device = x.primitive().tensor.device();
            // The statistics are [C] constants, made on x's device.
            let constant = |t: tch::Tensor| {
                let v: Vec<f32> = Vec::try_from(&t.to_kind(tch::Kind::Float)).unwrap_or_default();
                let n = v.len();
                let device = burn_tch::LibTorchDevice::from(device);
                <Self as FloatTensorOps<_>>::float_from_data(TensorData::new(v, [n]), &device)
            };
            let forward = |l: &[tch::Tensor]| {
                let (y, mean, var) = train(&l[0], &l[1], &l[2], epsilon, relu);
                (y, (mean, var))
            };
            // No copy of the output: `recorded` keeps burn-tch from updating it in place
            // (libtorch's ReLU backward reads it).
            let (y, (mean, var)) = recorded::<C, 3, _>([&x, &gamma, &beta], forward);
            (y, constant(mean), constant(var))
        }
    }
}
