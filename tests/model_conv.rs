//! The im2col + GEMM convolution agrees with burn's conv2d, forward and backward.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};
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
