//! The backbone seam: one encoder type shared by IIC and MINE, `[N, C, S, S]` images →
//! `[N, C', S', S']` feature maps, built from the `[backbone]` section's layer list.
//!
//! A new backbone kind is its file here (a module with `new(&BackboneConfig, &Device)` and
//! `forward`) plus its line in the `backbones!` registration below (and its name in
//! `spec::BackboneKind`).

pub mod resnet;
pub mod vgg;

use super::gemm_conv::{conv2d_same_gemm, native_conv};
use crate::spec::vgg_layout::{LayoutError, VggLayer, VggLayout};
use crate::spec::{BackboneKind, BackboneSpec, BatchNormEval, Precision};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::tensor::activation;
use burn::tensor::{Device, Tensor};

/// What every backbone is built from.
#[derive(Debug, Clone)]
pub struct BackboneConfig {
    pub kind: BackboneKind,
    /// Stages in order: convolutions (VGG) or residual blocks (ResNet) of a width, and pools.
    pub layout: VggLayout,
    pub batch_norm: bool,
    pub kernel_size: usize,
    /// Channels of the input images.
    pub in_channels: usize,
    /// BatchNorm uses each evaluated batch's own statistics at evaluation, not the running ones.
    pub eval_batch_stats: bool,
    /// Convolutions in bf16 (`train.precision = "bf16"`: libtorch, or flex on AVX-512-BF16).
    pub bf16: bool,
}

impl BackboneConfig {
    /// Reads a (validated) `[backbone]` section for images of `in_channels` channels, its
    /// convolutions at `precision` (`train.precision`).
    pub fn from_spec(
        b: &BackboneSpec,
        in_channels: usize,
        precision: Precision,
    ) -> Result<Self, LayoutError> {
        Ok(Self {
            kind: b.kind,
            layout: VggLayout::from_cfg(&b.cfg)?,
            batch_norm: b.batch_norm,
            kernel_size: b.kernel_size,
            in_channels,
            eval_batch_stats: b.batch_norm_eval == BatchNormEval::Batch,
            bf16: precision == Precision::Bf16,
        })
    }

    /// Features per image after the backbone, flattened, for `side`-pixel inputs.
    pub fn output_features(&self, side: usize) -> Result<usize, LayoutError> {
        self.layout.output_features(side)
    }

    /// The largest activation per image, in floats, for `side`-pixel inputs.
    pub fn largest_map(&self, side: usize) -> usize {
        self.layout.largest_map(side, self.in_channels)
    }

    /// Multiply-adds × 2 of one image's forward pass through the convolutions, for
    /// `side`-pixel inputs (BatchNorm, activations and pools, a few per cent, left out): VGG a
    /// k×k same-padded convolution per width; ResNet two per block and a 1×1 projection where
    /// the width changes. The bench's GFLOP/s are computed from it.
    pub fn forward_flops(&self, side: usize) -> f64 {
        let k2 = (self.kernel_size * self.kernel_size) as f64;
        let (mut s, mut cin) = (side as f64, self.in_channels as f64);
        let mut flops = 0.0;
        for l in &self.layout.0 {
            match *l {
                VggLayer::Conv(c) => {
                    let c = c as f64;
                    let map = s * s;
                    flops += match self.kind {
                        BackboneKind::Vgg => 2.0 * k2 * cin * c * map,
                        BackboneKind::ResNet => {
                            let project = if cin != c { 2.0 * cin * c * map } else { 0.0 };
                            2.0 * k2 * (cin * c + c * c) * map + project
                        }
                    };
                    cin = c;
                }
                VggLayer::Pool => s = (s / 2.0).floor(),
            }
        }
        flops
    }

    /// What training keeps per `side`-pixel image, for the memory estimate: every
    /// convolution's output with its normalised and activated copies and their gradients (×4),
    /// the convolutions' weights, and the flattened output's size. In f64: an absurd width
    /// must give an absurd estimate, not an overflow.
    pub fn training_floats(&self, side: usize) -> TrainingFloats {
        // Convolutions per width in the layer list.
        let convs = match self.kind {
            BackboneKind::Vgg => 1.0,
            BackboneKind::ResNet => 2.0,
        };
        let k2 = (self.kernel_size * self.kernel_size) as f64;
        let (mut s, mut cin) = (side.max(1) as f64, self.in_channels as f64);
        let (mut activations, mut weights) = (cin * s * s, 0.0);
        for l in &self.layout.0 {
            match *l {
                VggLayer::Conv(c) => {
                    let c = c as f64;
                    activations += 4.0 * convs * c * s * s;
                    weights += convs * cin * c * k2;
                    cin = c;
                }
                VggLayer::Pool => s = (s / 2.0).floor().max(1.0),
            }
        }
        TrainingFloats {
            activations,
            weights,
            features: s * s * cin,
        }
    }
}

/// Floats a backbone keeps while training, per image (see
/// [`BackboneConfig::training_floats`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingFloats {
    /// Activations and their gradients, per image.
    pub activations: f64,
    /// The convolutions' weights.
    pub weights: f64,
    /// The flattened output, per image.
    pub features: f64,
}

/// Registers the backbone kinds: each `Kind => module` pairs a `BackboneKind` variant with the
/// module that implements it.
macro_rules! backbones {
    ($($kind:ident => $module:ty),+ $(,)?) => {
        /// An encoder of one of the registered kinds.
        #[derive(Module, Debug)]
        pub enum Backbone {
            $($kind($module)),+
        }

        impl BackboneConfig {
            /// Creates the backbone on `device` (parameters are initialised lazily by burn).
            pub fn init(&self, device: &Device) -> Backbone {
                match self.kind {
                    $(BackboneKind::$kind => Backbone::$kind(<$module>::new(self, device))),+
                }
            }
        }

        impl Backbone {
            /// `[N, C, S, S]` → feature maps.
            pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
                match self {
                    $(Backbone::$kind(m) => m.forward(x)),+
                }
            }
        }
    };
}

backbones! {
    Vgg => vgg::Vgg,
    ResNet => resnet::ResNet,
}

/// A `k×k` convolution from `cin` to `cout` channels with zero "same" padding.
pub(crate) fn same_conv(cin: usize, cout: usize, k: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([cin, cout], [k, k])
        .with_padding(PaddingConfig2d::Same)
        .init(device)
}

/// Whether mirun's own ops run on `device`: flex, and libtorch when it is compiled in.
#[cfg(feature = "flex")]
fn has_ops(device: &Device) -> bool {
    is_flex(device) || is_libtorch(device)
}

/// Whether `device` is flex (with or without autodiff).
#[cfg(feature = "flex")]
fn is_flex(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

/// Whether `device` is a libtorch device (with or without autodiff).
#[cfg(feature = "flex")]
fn is_libtorch(device: &Device) -> bool {
    #[cfg(feature = "tch")]
    if let burn::backend::DispatchDevice::LibTorch(_) = device.clone().inner().as_dispatch() {
        return true;
    }
    let _ = device;
    false
}

/// A max-pool: mirun's own 2×2 op on flex and libtorch (`model::pool_op`), burn's elsewhere.
pub(crate) fn max_pool(p: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if p.kernel_size == [2, 2]
        && p.stride == [2, 2]
        && p.dilation == [1, 1]
        && !p.ceil_mode
        && matches!(p.padding, PaddingConfig2d::Valid)
        && has_ops(&x.device())
    {
        return crate::model::pool_op::max_pool2x2(x);
    }
    p.forward(x)
}

/// BatchNorm (when there is one), then ReLU when `relu`. At evaluation (no autodiff) the
/// running statistics normalise, or the batch's own when `eval_batch`. On flex and libtorch
/// both run as one op ([`crate::model::bn_op`]), which in training updates the running
/// statistics exactly as burn's `BatchNorm` does; elsewhere burn's `BatchNorm` and ReLU run.
pub(crate) fn norm_act(
    norm: Option<&BatchNorm>,
    x: Tensor<4>,
    relu: bool,
    eval_batch: bool,
) -> Tensor<4> {
    let Some(n) = norm else {
        return if relu { activation::relu(x) } else { x };
    };
    if eval_batch && !x.device().is_autodiff() {
        #[cfg(feature = "flex")]
        if has_ops(&x.device()) {
            let (g, b) = (n.gamma.val(), n.beta.val());
            return crate::model::bn_op::batch_norm_relu_train(x, g, b, n.epsilon, relu).0;
        }
        let out = burn::tensor::module::batch_norm_train(x, n.gamma.val(), n.beta.val(), n.epsilon);
        return if relu {
            activation::relu(out.output)
        } else {
            out.output
        };
    }
    #[cfg(feature = "flex")]
    {
        let device = x.device();
        if device.is_autodiff() && n.training.is_enabled() && has_ops(&device) {
            let (y, mean, var) = crate::model::bn_op::batch_norm_relu_train(
                x,
                n.gamma.val(),
                n.beta.val(),
                n.epsilon,
                relu,
            );
            let m = n.momentum;
            let running = |state: &burn::module::RunningState<Tensor<1>>, batch: Tensor<1>| {
                let old = state.value_sync().to_device(&device);
                state.update(
                    old.mul_scalar(1.0 - m)
                        .add(batch.detach().mul_scalar(m))
                        .detach(),
                );
            };
            running(&n.running_mean, mean);
            running(&n.running_var, var);
            return y;
        }
        if !device.is_autodiff() && has_ops(&device) {
            let stats = [
                n.gamma.val(),
                n.beta.val(),
                n.running_mean.value(),
                n.running_var.value(),
            ];
            return crate::model::bn_op::batch_norm_relu_eval(x, stats, n.epsilon, relu);
        }
    }
    let x = n.forward(x);
    if relu {
        activation::relu(x)
    } else {
        x
    }
}

/// Runs a same-padded convolution (burn's `Conv2d` holds and initialises the parameters), in
/// one of three forms, decided here only:
/// - mirun's op ([`crate::model::conv_op`]): on libtorch always (libtorch's own kernels, forward
///   and backward), on flex unless the backend's own convolution is asked for (`mirun bench
///   --conv native`);
/// - the backend's own `conv2d` where that is the choice ([`native_conv`]: GPUs);
/// - the im2col + GEMM form composed from burn ops (`--conv gemm` off flex).
pub(crate) fn conv(c: &Conv2d, x: Tensor<4>, bf16: bool) -> Tensor<4> {
    let bias = c.bias.as_ref().map(|b| b.val());
    #[cfg(feature = "flex")]
    if let Some(b) = bias.clone() {
        let device = x.device();
        if is_libtorch(&device) {
            return crate::model::conv_op::conv2d_same(x, c.weight.val(), b, bf16);
        }
        if !native_conv() && is_flex(&device) {
            return crate::model::conv_op::conv2d_same(x, c.weight.val(), b, bf16);
        }
    }
    // Opening a backend refuses bf16 where neither op above computes it
    // (`BackendKind::check_precision`).
    let _ = bf16;
    if native_conv() {
        c.forward(x)
    } else {
        conv2d_same_gemm(x, c.weight.val(), bias)
    }
}
