//! Same-padded, stride-1 2D convolution computed as im2col + one matrix product.
//!
//! burn 0.22's autodiff computes a convolution's weight gradient generically, as a convolution
//! whose kernel is as large as the feature map; on the flex backend that runs as many skinny
//! matrix products and dominates a VGG training step (measured: ~10 s per 1024-row VGG-F step).
//! Written as shifted slices + one GEMM, autodiff's weight gradient becomes one large GEMM
//! (`dY · colsᵀ`) and the input gradient another (`Wᵀ · dY`) plus cheap slice sums.

use burn::tensor::ops::PadMode;
use burn::tensor::Tensor;
use std::sync::atomic::{AtomicBool, Ordering};

static NATIVE: AtomicBool = AtomicBool::new(false);

/// Chooses how VGG convolutions run in this process: the backend's own convolution (`true`:
/// faster on libtorch, whose native forward and input gradient beat the GEMM form) or
/// [`conv2d_same_gemm`] (`false`, the default: much faster on flex). Set once, when the
/// backend is opened (`crate::backend`).
pub fn use_native_conv(native: bool) {
    NATIVE.store(native, Ordering::Relaxed);
}

/// Whether VGG convolutions use the backend's own convolution (see [`use_native_conv`]).
pub fn native_conv() -> bool {
    NATIVE.load(Ordering::Relaxed)
}

/// `x` `[N, Cin, H, W]` convolved with `weight` `[Cout, Cin, k, k]` (k odd), zero "same"
/// padding, stride 1, plus `bias` `[Cout]`: the result is `[N, Cout, H, W]`.
pub fn conv2d_same_gemm(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    let [n, cin, h, w] = x.dims();
    let [cout, _, k, _] = weight.dims();
    let cols = if k == 1 {
        x
    } else {
        let p = k / 2;
        let padded = x.pad((p, p, p, p), PadMode::Constant(0.0));
        let taps: Vec<Tensor<4>> = (0..k * k)
            .map(|t| {
                let (kh, kw) = (t / k, t % k);
                padded.clone().slice([0..n, 0..cin, kh..kh + h, kw..kw + w])
            })
            .collect();
        // Channel index (kh·k + kw)·Cin + ci.
        Tensor::cat(taps, 1)
    };
    let cols: Tensor<2> = cols.swap_dims(0, 1).reshape([k * k * cin, n * h * w]);
    let w2: Tensor<2> = weight.permute([0, 2, 3, 1]).reshape([cout, k * k * cin]);
    let mut out = w2.matmul(cols);
    if let Some(b) = bias {
        out = out + b.reshape([cout, 1]);
    }
    out.reshape([cout, n, h, w]).swap_dims(0, 1)
}
