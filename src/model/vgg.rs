//! VGG backbone built from a cfg list: conv (same padding) + BatchNorm + ReLU per integer,
//! 2×2 max-pool per `"M"`.

use super::gemm_conv::{conv2d_same_gemm, native_conv};
pub use crate::spec::vgg_layout::{VggLayer, VggLayout};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Builds a [`Vgg`] from a layout.
#[derive(Debug, Clone)]
pub struct VggConfig {
    pub layout: VggLayout,
    pub batch_norm: bool,
    pub kernel_size: usize,
    pub in_channels: usize,
}

/// Conv → optional BatchNorm → ReLU.
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv: Conv2d,
    norm: Option<BatchNorm>,
}

impl ConvBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        // burn's Conv2d holds and initialises the parameters; the product runs as im2col + GEMM
        // unless the backend's own convolution is the faster one.
        let x = if native_conv() {
            self.conv.forward(x)
        } else {
            let bias = self.conv.bias.as_ref().map(|b| b.val());
            conv2d_same_gemm(x, self.conv.weight.val(), bias)
        };
        let x = match &self.norm {
            Some(n) => n.forward(x),
            None => x,
        };
        relu(x)
    }
}

/// A VGG stage: conv block or max-pool.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // a handful per network; boxing buys nothing
pub enum VggStage {
    Conv(ConvBlock),
    Pool(MaxPool2d),
}

/// The VGG encoder: `[N, C, H, W] → [N, C', H', W']`.
#[derive(Module, Debug)]
pub struct Vgg {
    stages: Vec<VggStage>,
}

impl VggConfig {
    /// Creates the module on `device` (parameters are initialised lazily by burn).
    pub fn init(&self, device: &Device) -> Vgg {
        let mut cin = self.in_channels;
        let k = self.kernel_size;
        let stages = self
            .layout
            .0
            .iter()
            .map(|l| match *l {
                VggLayer::Conv(cout) => {
                    let conv = Conv2dConfig::new([cin, cout], [k, k])
                        .with_padding(PaddingConfig2d::Same)
                        .init(device);
                    let norm = self
                        .batch_norm
                        .then(|| BatchNormConfig::new(cout).init(device));
                    cin = cout;
                    VggStage::Conv(ConvBlock { conv, norm })
                }
                VggLayer::Pool => VggStage::Pool(MaxPool2dConfig::new([2, 2]).init()),
            })
            .collect();
        Vgg { stages }
    }
}

impl Vgg {
    /// Runs every stage in order.
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        for s in &self.stages {
            x = match s {
                VggStage::Conv(b) => b.forward(x),
                VggStage::Pool(p) => p.forward(x),
            };
        }
        x
    }
}
