//! A small ResNet (He et al. 2016) built from the same layer list as VGG: every integer is a
//! basic residual block of that width (two same-padded convolutions, each with optional
//! BatchNorm, and a 1×1 projection on the skip path when the width changes), `"M"` a 2×2
//! max-pool.

use super::{conv, max_pool, norm_act, same_conv, BackboneConfig};
use crate::spec::vgg_layout::VggLayer;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// relu(norm2(conv2(relu(norm1(conv1(x))))) + skip(x)).
#[derive(Module, Debug)]
pub struct BasicBlock {
    conv1: Conv2d,
    norm1: Option<BatchNorm>,
    conv2: Conv2d,
    norm2: Option<BatchNorm>,
    /// 1×1 convolution on the skip path when the block changes the width.
    project: Option<Conv2d>,
    /// BatchNorm's batch statistics at evaluation (`backbone.batch_norm_eval = "batch"`).
    #[module(skip)]
    eval_batch: bool,
    /// Convolutions in bf16 (`train.precision = "bf16"`).
    #[module(skip)]
    bf16: bool,
}

impl BasicBlock {
    fn new(cin: usize, cout: usize, c: &BackboneConfig, device: &Device) -> Self {
        let k = c.kernel_size;
        let bn = || {
            c.batch_norm
                .then(|| BatchNormConfig::new(cout).init(device))
        };
        Self {
            conv1: same_conv(cin, cout, k, device),
            norm1: bn(),
            conv2: same_conv(cout, cout, k, device),
            norm2: bn(),
            project: (cin != cout).then(|| same_conv(cin, cout, 1, device)),
            eval_batch: c.eval_batch_stats,
            bf16: c.bf16,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = norm_act(
            self.norm1.as_ref(),
            conv(&self.conv1, x.clone(), self.bf16),
            true,
            self.eval_batch,
        );
        let y = norm_act(
            self.norm2.as_ref(),
            conv(&self.conv2, y, self.bf16),
            false,
            self.eval_batch,
        );
        let skip = match &self.project {
            Some(p) => conv(p, x, self.bf16),
            None => x,
        };
        relu(y + skip)
    }
}

/// A ResNet stage: residual block or max-pool.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // a handful per network; boxing buys nothing
pub enum ResNetStage {
    Block(BasicBlock),
    Pool(MaxPool2d),
}

/// The ResNet encoder: `[N, C, H, W] → [N, C', H', W']`.
#[derive(Module, Debug)]
pub struct ResNet {
    stages: Vec<ResNetStage>,
}

impl ResNet {
    /// Creates the module on `device` (parameters are initialised lazily by burn).
    pub fn new(c: &BackboneConfig, device: &Device) -> Self {
        let mut cin = c.in_channels;
        let stages = c
            .layout
            .0
            .iter()
            .map(|l| match *l {
                VggLayer::Conv(cout) => {
                    let block = BasicBlock::new(cin, cout, c, device);
                    cin = cout;
                    ResNetStage::Block(block)
                }
                VggLayer::Pool => ResNetStage::Pool(MaxPool2dConfig::new([2, 2]).init()),
            })
            .collect();
        Self { stages }
    }

    /// Runs every stage in order.
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        for s in &self.stages {
            x = match s {
                ResNetStage::Block(b) => b.forward(x),
                ResNetStage::Pool(p) => max_pool(p, x),
            };
        }
        x
    }
}
