//! VGG backbone built from a cfg list: conv (same padding) + BatchNorm + ReLU per integer,
//! 2×2 max-pool per `"M"` (mirun's own op on flex and libtorch).

use super::{conv, max_pool, norm_act, same_conv, BackboneConfig};
use crate::spec::vgg_layout::VggLayer;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::{Device, Tensor};

/// Conv → optional BatchNorm → ReLU.
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv: Conv2d,
    norm: Option<BatchNorm>,
    /// BatchNorm's batch statistics at evaluation (`backbone.batch_norm_eval = "batch"`).
    #[module(skip)]
    eval_batch: bool,
    /// Convolutions in bf16 (`train.precision = "bf16"`).
    #[module(skip)]
    bf16: bool,
}

impl ConvBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        norm_act(
            self.norm.as_ref(),
            conv(&self.conv, x, self.bf16),
            true,
            self.eval_batch,
        )
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

impl Vgg {
    /// Creates the module on `device` (parameters are initialised lazily by burn).
    pub fn new(c: &BackboneConfig, device: &Device) -> Vgg {
        let mut cin = c.in_channels;
        let k = c.kernel_size;
        let stages = c
            .layout
            .0
            .iter()
            .map(|l| match *l {
                VggLayer::Conv(cout) => {
                    let conv = same_conv(cin, cout, k, device);
                    let norm = c
                        .batch_norm
                        .then(|| BatchNormConfig::new(cout).init(device));
                    cin = cout;
                    VggStage::Conv(ConvBlock {
                        conv,
                        norm,
                        eval_batch: c.eval_batch_stats,
                        bf16: c.bf16,
                    })
                }
                VggLayer::Pool => VggStage::Pool(MaxPool2dConfig::new([2, 2]).init()),
            })
            .collect();
        Vgg { stages }
    }

    /// Runs every stage in order.
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        for s in &self.stages {
            x = match s {
                VggStage::Conv(b) => b.forward(x),
                VggStage::Pool(p) => max_pool(p, x),
            };
        }
        x
    }
}
