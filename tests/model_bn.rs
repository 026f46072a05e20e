//! mirun's fused BatchNorm (+ ReLU) op on flex (`model::bn_op`) against burn's batch norm with
//! batch statistics followed by ReLU: output, statistics and the gradients of input, gamma and
//! beta, on random shapes.

use burn::tensor::activation::relu;
use burn::tensor::module::batch_norm_train;
use burn::tensor::{Device, Distribution, Tensor};
use mirun::model::bn_op::batch_norm_relu_train;
use rand::{Rng, SeedableRng};

fn max4(a: Tensor<4>, b: Tensor<4>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

fn max1(a: Tensor<1>, b: Tensor<1>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

#[test]
fn the_fused_batch_norm_matches_burns_and_its_gradients() {
    let dev = Device::flex().autodiff();
    dev.seed(21);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    for case in 0..8 {
        let with_relu = case % 2 == 0;
        let (n, c) = (rng.random_range(2..9), rng.random_range(1..6));
        let (h, w) = (rng.random_range(1..7), rng.random_range(1..7));
        let at = format!("case {case}: n {n} c {c} {h}×{w} relu {with_relu}");
        // Shifted and scaled, so the statistics are not trivially 0 and 1.
        let x =
            Tensor::<4>::random([n, c, h, w], Distribution::Normal(0.5, 2.0), &dev).require_grad();
        let gamma = Tensor::<1>::random([c], Distribution::Normal(1.0, 0.5), &dev).require_grad();
        let beta = Tensor::<1>::random([c], Distribution::Normal(0.0, 0.5), &dev).require_grad();
        let eps = 1e-5;
        let reference = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), eps);
        let ref_out = if with_relu {
            relu(reference.output)
        } else {
            reference.output
        };
        let (ours, mean, var) =
            batch_norm_relu_train(x.clone(), gamma.clone(), beta.clone(), eps, with_relu);
        assert!(max4(ours.clone(), ref_out.clone()) < 1e-4, "output, {at}");
        assert!(max1(mean, reference.mean) < 1e-5, "mean, {at}");
        assert!(max1(var, reference.variance) < 1e-4, "variance, {at}");
        let weights = Tensor::<4>::random([n, c, h, w], Distribution::Normal(0.0, 1.0), &dev);
        let g_ref = (ref_out * weights.clone()).sum().backward();
        let g_ours = (ours * weights).sum().backward();
        let dx = max4(x.grad(&g_ref).unwrap(), x.grad(&g_ours).unwrap());
        let dg = max1(gamma.grad(&g_ref).unwrap(), gamma.grad(&g_ours).unwrap());
        let db = max1(beta.grad(&g_ref).unwrap(), beta.grad(&g_ours).unwrap());
        for (name, d) in [("x", dx), ("gamma", dg), ("beta", db)] {
            assert!(d < 1e-3, "gradient of {name}, {at}: max diff {d}");
        }
    }
}

#[test]
fn the_fused_inference_batch_norm_matches_the_formula() {
    use mirun::model::bn_op::batch_norm_relu_eval;
    let dev = Device::flex();
    dev.seed(5);
    for with_relu in [true, false] {
        let (n, c, h, w) = (3, 4, 5, 6);
        let x = Tensor::<4>::random([n, c, h, w], Distribution::Normal(0.3, 2.0), &dev);
        let stat = |mean, sd| Tensor::<1>::random([c], Distribution::Normal(mean, sd), &dev);
        let (gamma, beta, mean) = (stat(1.0, 0.5), stat(0.0, 0.5), stat(0.2, 1.0));
        let var = stat(0.0, 1.0).abs().add_scalar(0.1);
        let eps = 1e-5;
        let per = |t: Tensor<1>| t.reshape([1, c, 1, 1]);
        let expected = (x.clone() - per(mean.clone())) / per(var.clone().add_scalar(eps).sqrt())
            * per(gamma.clone())
            + per(beta.clone());
        let expected = if with_relu { relu(expected) } else { expected };
        let ours = batch_norm_relu_eval(x, [gamma, beta, mean, var], eps, with_relu);
        assert!(max4(ours, expected) < 1e-4, "relu {with_relu}");
    }
}

/// The same op on libtorch (its own batch norm, backward through its autograd).
#[cfg(feature = "tch")]
#[test]
#[allow(deprecated)]
fn the_libtorch_batch_norm_op_matches_burns_and_its_gradients() {
    let dev = Device::libtorch().autodiff();
    dev.seed(4);
    for with_relu in [true, false] {
        let (n, c, h, w) = (5, 3, 4, 6);
        let x =
            Tensor::<4>::random([n, c, h, w], Distribution::Normal(0.5, 2.0), &dev).require_grad();
        let gamma = Tensor::<1>::random([c], Distribution::Normal(1.0, 0.5), &dev).require_grad();
        let beta = Tensor::<1>::random([c], Distribution::Normal(0.0, 0.5), &dev).require_grad();
        let reference = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
        let ref_out = if with_relu {
            relu(reference.output)
        } else {
            reference.output
        };
        let (ours, mean, var) =
            batch_norm_relu_train(x.clone(), gamma.clone(), beta.clone(), 1e-5, with_relu);
        assert!(max4(ours.clone(), ref_out.clone()) < 1e-4);
        assert!(max1(mean, reference.mean) < 1e-5);
        assert!(max1(var, reference.variance) < 1e-3);
        let weights = Tensor::<4>::random([n, c, h, w], Distribution::Normal(0.0, 1.0), &dev);
        let g_ref = (ref_out * weights.clone()).sum().backward();
        let g_ours = (ours * weights).sum().backward();
        assert!(max4(x.grad(&g_ref).unwrap(), x.grad(&g_ours).unwrap()) < 1e-3);
        assert!(max1(gamma.grad(&g_ref).unwrap(), gamma.grad(&g_ours).unwrap()) < 1e-3);
        assert!(max1(beta.grad(&g_ref).unwrap(), beta.grad(&g_ours).unwrap()) < 1e-3);
    }
}
