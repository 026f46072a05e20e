//! VGG backbone built from a cfg list: conv (same padding) + BatchNorm + ReLU per integer,
//! 2×2 max-pool per `"M"`.

use super::gemm_conv::{conv2d_same_gemm, native_conv};
use crate::spec::{CfgToken, VggCfg};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// One layer of a VGG cfg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VggLayer {
    /// 3×3 (or `kernel_size`) convolution with this many output channels.
    Conv(usize),
    /// 2×2 max-pool, stride 2.
    Pool,
}

/// A validated layer list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VggLayout(pub Vec<VggLayer>);

/// Named configs: the book's `F` and the standard VGG ones.
const NAMED: &[(&str, &str)] = &[
    ("F", "64 M 128 M 256 M 512"),
    ("A", "64 M 128 M 256 256 M 512 512 M 512 512 M"),
    ("B", "64 64 M 128 128 M 256 256 M 512 512 M 512 512 M"),
    (
        "D",
        "64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M",
    ),
];

impl VggLayout {
    /// Parses a named config or an explicit list; errors say what was expected.
    pub fn from_cfg(cfg: &VggCfg) -> Result<Self, String> {
        let layers = match cfg {
            VggCfg::Named(name) => {
                let (_, text) = NAMED.iter().find(|(n, _)| n == name).ok_or_else(|| {
                    let names: Vec<_> = NAMED.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                    format!(
                        "unknown named config \"{name}\"; expected one of {} or a list like [64, \"M\", 128]",
                        names.join(", ")
                    )
                })?;
                text.split(' ')
                    .map(|t| match t {
                        "M" => VggLayer::Pool,
                        n => VggLayer::Conv(n.parse().unwrap_or(1)),
                    })
                    .collect()
            }
            VggCfg::Layers(tokens) => tokens
                .iter()
                .enumerate()
                .map(|(i, t)| match t {
                    CfgToken::Channels(c) if *c > 0 => Ok(VggLayer::Conv(*c as usize)),
                    CfgToken::Pool(s) if s == "M" => Ok(VggLayer::Pool),
                    CfgToken::Channels(c) => Err(format!(
                        "entry {i}: expected a positive channel count or \"M\", got {c}"
                    )),
                    CfgToken::Pool(s) => Err(format!(
                        "entry {i}: expected a positive channel count or \"M\", got \"{s}\""
                    )),
                })
                .collect::<Result<_, _>>()?,
        };
        let layout = Self(layers);
        if layout.channels_out() == 0 {
            return Err("expected at least one convolution (an integer) in the cfg".into());
        }
        Ok(layout)
    }

    fn channels_out(&self) -> usize {
        self.0
            .iter()
            .rev()
            .find_map(|l| match l {
                VggLayer::Conv(c) => Some(*c),
                VggLayer::Pool => None,
            })
            .unwrap_or(0)
    }

    /// Flattened feature count for a square input of side `size`; errors if pooling would
    /// shrink the map to nothing.
    pub fn output_features(&self, size: usize) -> Result<usize, String> {
        let mut side = size;
        for l in &self.0 {
            if *l == VggLayer::Pool {
                if side < 2 {
                    return Err(format!(
                        "too many \"M\" pools for {size}×{size} inputs: the feature map shrinks to nothing"
                    ));
                }
                side /= 2;
            }
        }
        Ok(side * side * self.channels_out())
    }
}

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
