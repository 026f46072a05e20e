//! The convolutions (burn's composition and mirun's own op) and mirun's max-pool agree with
//! burn, forward and backward.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use mirun::model::gemm_conv::conv2d_same_gemm;

fn max_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

#[test]
fn matches_burn_conv2d_and_its_gradients() {
    let dev = Device::flex().autodiff();
    dev.seed(5);
    for k in [1usize, 3, 5] {
        let x =
            Tensor::<4>::random([2, 3, 6, 5], Distribution::Normal(0.0, 1.0), &dev).require_grad();
        let w =
            Tensor::<4>::random([4, 3, k, k], Distribution::Normal(0.0, 1.0), &dev).require_grad();
        let b = Tensor::<1>::random([4], Distribution::Normal(0.0, 1.0), &dev).require_grad();
        let p = k / 2;
        let reference = conv2d(
            x.clone(),
            w.clone(),
            Some(b.clone()),
            ConvOptions::new([1, 1], [p, p], [1, 1], 1),
        );
        let ours = conv2d_same_gemm(x.clone(), w.clone(), Some(b.clone()));
        assert_eq!(ours.dims(), [2, 4, 6, 5]);
        assert!(
            max_diff(ours.clone(), reference.clone()) < 1e-4,
            "forward, k={k}"
        );

        // Compare gradients of a non-trivial scalar function of the output.
        let g_ref = (reference.clone() * reference).sum().backward();
        let g_ours = (ours.clone() * ours).sum().backward();
        let dx = (x.grad(&g_ref).unwrap() - x.grad(&g_ours).unwrap())
            .abs()
            .max();
        let dw = (w.grad(&g_ref).unwrap() - w.grad(&g_ours).unwrap())
            .abs()
            .max();
        let db = (b.grad(&g_ref).unwrap() - b.grad(&g_ours).unwrap())
            .abs()
            .max();
        for (name, d) in [("x", dx), ("weight", dw), ("bias", db)] {
            let d = d.into_scalar::<f32>();
            assert!(d < 1e-3, "gradient of {name}, k={k}: max diff {d}");
        }
    }
}

/// mirun's own convolution op (`model::conv_op`) against burn's conv2d on `dev`: forward and
/// the gradients of input, weight and bias, for each `(n, cin, cout, h, w, k)`. With `bf16`
/// the op multiplies bf16-rounded operands, so the input, the weight and the loss's weights
/// are drawn as bf16 values: then only the order of the f32 sums may differ from burn's.
fn check_conv_op_against_burn(dev: &Device, cases: &[[usize; 6]], bf16: bool) {
    use mirun::model::conv_op::conv2d_same;
    let draw = |shape: [usize; 4]| {
        let t = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), dev);
        if !bf16 {
            return t;
        }
        let v: Vec<f32> = t.into_data().try_to_vec().unwrap();
        let rounded: Vec<f32> = v.into_iter().map(round_to_bf16).collect();
        Tensor::<4>::from_data(TensorData::new(rounded, shape), dev)
    };
    for (case, &[n, cin, cout, h, w, k]) in cases.iter().enumerate() {
        let normal = Distribution::Normal(0.0, 1.0);
        let x = draw([n, cin, h, w]).require_grad();
        let wt = draw([cout, cin, k, k]).require_grad();
        let b = Tensor::<1>::random([cout], normal, dev).require_grad();
        let p = k / 2;
        let options = ConvOptions::new([1, 1], [p, p], [1, 1], 1);
        let reference = conv2d(x.clone(), wt.clone(), Some(b.clone()), options);
        let ours = conv2d_same(x.clone(), wt.clone(), b.clone(), bf16);
        assert_eq!(ours.dims(), [n, cout, h, w]);
        let at = format!("case {case}: n {n} cin {cin} cout {cout} {h}×{w} k {k}");
        assert!(
            max_diff(ours.clone(), reference.clone()) < 1e-4,
            "forward, {at}"
        );
        // A loss that weights every output differently, so every gradient entry is checked.
        let weights = draw([n, cout, h, w]);
        let g_ref = (reference * weights.clone()).sum().backward();
        let g_ours = (ours * weights).sum().backward();
        let dx = max_diff(x.grad(&g_ref).unwrap(), x.grad(&g_ours).unwrap());
        let dw = max_diff(wt.grad(&g_ref).unwrap(), wt.grad(&g_ours).unwrap());
        let db = (b.grad(&g_ref).unwrap() - b.grad(&g_ours).unwrap())
            .abs()
            .max()
            .into_scalar::<f32>();
        for (name, d) in [("x", dx), ("weight", dw), ("bias", db)] {
            assert!(d < 1e-3, "gradient of {name}, {at}: max diff {d}");
        }
    }
}

/// `count` shapes drawn from `ranges` with a seeded generator (each range in turn).
fn random_shapes<const N: usize>(
    seed: u64,
    count: usize,
    ranges: [std::ops::Range<usize>; N],
) -> Vec<[usize; N]> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| ranges.clone().map(|r| rng.random_range(r)))
        .collect()
}

/// The op on flex, on random shapes (odd kernels 1, 3, 5; batch sizes that do not split evenly
/// into the op's chunks; non-square maps).
#[test]
fn the_flex_conv_op_matches_burn_conv2d_and_its_gradients() {
    let dev = Device::flex().autodiff();
    dev.seed(11);
    let mut cases: Vec<[usize; 6]> = random_shapes(4, 8, [1..12, 1..5, 1..7, 1..9, 1..9])
        .into_iter()
        .enumerate()
        .map(|(case, [n, cin, cout, h, w])| [n, cin, cout, h, w, [1, 3, 5][case % 3]])
        .collect();
    // These span several of the op's image chunks (about 2048 pixels each for the weight
    // gradient, 512 for the rest), the last partial.
    cases.extend([[70, 2, 3, 9, 9, 5], [45, 3, 4, 7, 11, 3]]);
    // The backbones' map widths (24, 12, 6, 3), which im2col copies as fixed-width rows.
    cases.extend([
        [3, 1, 4, 24, 24, 3],
        [9, 2, 3, 12, 12, 3],
        [41, 3, 2, 6, 6, 3],
        [130, 2, 3, 3, 3, 3],
    ]);
    check_conv_op_against_burn(&dev, &cases, false);
}

/// `x` rounded to bfloat16 (nearest, ties to even) and back.
fn round_to_bf16(x: f32) -> f32 {
    let b = x.to_bits();
    f32::from_bits(b.wrapping_add(0x7fff + ((b >> 16) & 1)) & 0xffff_0000)
}

/// The op on flex in bf16 (AVX-512-BF16): on inputs that are bf16 values, its products are
/// exact, so it must match burn's f32 convolution forward and backward, on the same random
/// shapes plus wide layers that fill the bf16 kernel's tiles and span its k-blocks.
#[cfg(target_arch = "x86_64")]
#[test]
fn the_flex_conv_op_in_bf16_matches_burn_on_bf16_values() {
    if !mirun::backend::flex_has_bf16() {
        eprintln!("skipped: this CPU has no AVX-512-BF16");
        return;
    }
    let dev = Device::flex().autodiff();
    dev.seed(12);
    let mut cases: Vec<[usize; 6]> = random_shapes(5, 8, [1..12, 1..5, 1..7, 1..9, 1..9])
        .into_iter()
        .enumerate()
        .map(|(case, [n, cin, cout, h, w])| [n, cin, cout, h, w, [1, 3, 5][case % 3]])
        .collect();
    cases.extend([[70, 2, 3, 9, 9, 5], [9, 40, 33, 6, 7, 3]]);
    check_conv_op_against_burn(&dev, &cases, true);
}

/// With `bf16` the op on `dev` rounds its operands to bfloat16 and returns f32 values and
/// gradients close to the f32 op's (bf16 keeps 8 significant bits: relative error ~0.4 % per
/// product, accumulated in f32) — and not equal to them (the rounding happens).
#[cfg(any(target_arch = "x86_64", feature = "tch"))]
fn check_bf16_stays_close_to_f32(dev: &Device) {
    use mirun::model::conv_op::conv2d_same;
    dev.seed(9);
    let normal = Distribution::Normal(0.0, 1.0);
    let x = Tensor::<4>::random([4, 8, 10, 10], normal, dev).require_grad();
    let w = Tensor::<4>::random([16, 8, 3, 3], normal, dev).require_grad();
    let b = Tensor::<1>::random([16], normal, dev).require_grad();
    let weights = Tensor::<4>::random([4, 16, 10, 10], normal, dev);
    let run = |bf16: bool| {
        let y = conv2d_same(x.clone(), w.clone(), b.clone(), bf16);
        let g = (y.clone() * weights.clone()).sum().backward();
        (y, x.grad(&g).unwrap(), w.grad(&g).unwrap())
    };
    let (y32, dx32, dw32) = run(false);
    let (y16, dx16, dw16) = run(true);
    assert_eq!(y16.dims(), y32.dims());
    // Relative to each tensor's largest entry.
    let rel = |a: Tensor<4>, b: Tensor<4>| {
        let scale = b.clone().abs().max().into_scalar::<f32>();
        max_diff(a, b) / scale
    };
    for (name, r) in [
        ("output", rel(y16, y32)),
        ("input gradient", rel(dx16, dx32)),
        ("weight gradient", rel(dw16, dw32)),
    ] {
        assert!(r > 0.0 && r < 0.03, "{name}: relative difference {r}");
    }
}

/// The flex op in bf16 (AVX-512-BF16).
#[cfg(target_arch = "x86_64")]
#[test]
fn the_flex_conv_op_in_bf16_stays_close_to_f32() {
    if !mirun::backend::flex_has_bf16() {
        eprintln!("skipped: this CPU has no AVX-512-BF16");
        return;
    }
    check_bf16_stays_close_to_f32(&Device::flex().autodiff());
}

/// The op's result and gradients do not depend on how many threads run it (the weight gradient
/// is summed over a fixed split of the batch; the output and the input gradient are split by
/// the thread count, which must not change a value).
#[test]
fn the_flex_conv_op_is_the_same_on_one_thread_and_on_many() {
    use mirun::model::conv_op::conv2d_same;
    use rand::{Rng, SeedableRng};
    // 10×10 maps: two chunks of images for every sum; 4×4 maps: one for the weight gradient,
    // one per thread for the output and the input gradient; 64 channels on 3×3 maps: a sum
    // over 576 products, which the GEMM blocks differently in chunks of at most 64 columns.
    for [n, c, h, cout] in [[37, 3, 10, 8], [37, 3, 4, 8], [8, 64, 3, 64]] {
        // Inputs from a local stream: the device's generator is shared with tests running alongside.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut draw =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-1.0..1.0)).collect() };
        let (xs, ws, bs) = (draw(n * c * h * h), draw(cout * c * 3 * 3), draw(cout));
        let run = || {
            let dev = Device::flex().autodiff();
            let x = Tensor::<4>::from_data(TensorData::new(xs.clone(), [n, c, h, h]), &dev)
                .require_grad();
            let w = Tensor::<4>::from_data(TensorData::new(ws.clone(), [cout, c, 3, 3]), &dev)
                .require_grad();
            let b =
                Tensor::<1>::from_data(TensorData::new(bs.clone(), [cout]), &dev).require_grad();
            let y = conv2d_same(x.clone(), w.clone(), b.clone(), false);
            let g = y.clone().powf_scalar(2.0).sum().backward();
            [
                y.into_data(),
                x.grad(&g).unwrap().into_data(),
                w.grad(&g).unwrap().into_data(),
                b.grad(&g).unwrap().into_data(),
            ]
        };
        let on = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads);
            pool.build().unwrap().install(run)
        };
        let one = on(1);
        for threads in [2, 3] {
            assert_eq!(on(threads), one, "{n}×{c}×{h}×{h} on {threads} threads");
        }
    }
}

/// The same op on libtorch (its own convolution, and its backward through libtorch's autograd).
#[cfg(feature = "tch")]
#[test]
#[allow(deprecated)]
fn the_libtorch_conv_op_matches_burn_conv2d_and_its_gradients() {
    let dev = Device::libtorch().autodiff();
    dev.seed(2);
    check_conv_op_against_burn(
        &dev,
        &[[3, 2, 4, 6, 5, 3], [70, 1, 3, 9, 9, 5], [2, 3, 2, 4, 4, 1]],
        false,
    );
}

/// mirun's 2×2 max-pool op (`model::pool_op`) against burn's max_pool2d on `dev`: forward and
/// the input gradient, for each `[n, c, h, w]` (odd sides drop their last row or column).
fn check_pool_op_against_burn(dev: &Device, cases: &[[usize; 4]]) {
    use burn::tensor::module::max_pool2d;
    use mirun::model::pool_op::max_pool2x2;
    let normal = Distribution::Normal(0.0, 1.0);
    for &[n, c, h, w] in cases {
        let x = Tensor::<4>::random([n, c, h, w], normal, dev).require_grad();
        let options = burn::tensor::ops::MaxPoolOptions::new([2, 2]).with_stride([2, 2]);
        let reference = max_pool2d(x.clone(), options);
        let ours = max_pool2x2(x.clone());
        assert_eq!(
            ours.dims(),
            [n, c, h / 2, w / 2],
            "shape of {n}×{c}×{h}×{w}"
        );
        if h < 2 || w < 2 {
            continue; // an empty output: nothing more to compare
        }
        assert_eq!(
            max_diff(ours.clone(), reference.clone()),
            0.0,
            "forward, {n}×{c}×{h}×{w}"
        );
        let weights = Tensor::<4>::random([n, c, h / 2, w / 2], normal, dev);
        let g_ref = (reference * weights.clone()).sum().backward();
        let g_ours = (ours * weights).sum().backward();
        let d = max_diff(x.grad(&g_ref).unwrap(), x.grad(&g_ours).unwrap());
        assert_eq!(d, 0.0, "gradient, {n}×{c}×{h}×{w}");
    }
}

/// The pool on flex, on random shapes including odd sides and maps smaller than a window.
#[test]
fn the_flex_pool_op_matches_burn_max_pool2d_and_its_gradient() {
    let dev = Device::flex().autodiff();
    dev.seed(13);
    let mut cases = random_shapes(6, 8, [1..6, 1..70, 1..10, 1..10]);
    cases.extend([[3, 2, 1, 4], [2, 3, 24, 24], [1, 1, 7, 2]]);
    check_pool_op_against_burn(&dev, &cases);
}

/// The same op on libtorch.
#[cfg(feature = "tch")]
#[test]
#[allow(deprecated)]
fn the_libtorch_pool_op_matches_burn_max_pool2d_and_its_gradient() {
    let dev = Device::libtorch().autodiff();
    dev.seed(4);
    check_pool_op_against_burn(&dev, &[[3, 5, 6, 7], [2, 70, 9, 9], [1, 2, 3, 2]]);
}

/// The libtorch op in bf16 (oneDNN's bf16 kernels).
#[cfg(feature = "tch")]
#[test]
#[allow(deprecated)]
fn the_libtorch_conv_op_in_bf16_stays_close_to_f32() {
    check_bf16_stays_close_to_f32(&Device::libtorch().autodiff());
}
