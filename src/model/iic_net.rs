//! The IIC network: a backbone, flattened, feeding N softmax clustering heads.

use super::backbone::{Backbone, BackboneConfig};
use crate::spec::vgg_layout::LayoutError;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

/// Configuration of [`IicNet`].
#[derive(Debug, Clone)]
pub struct IicNetConfig {
    pub backbone: BackboneConfig,
    pub input_size: usize,
    pub heads: usize,
    pub clusters: usize,
    /// Clusters of the over-clustering heads (one per main head), if any.
    pub overcluster: Option<usize>,
}

impl IicNetConfig {
    /// The largest activation per image, in floats.
    pub fn largest_map(&self) -> usize {
        self.backbone.largest_map(self.input_size)
    }

    /// FLOPs of one image's forward pass: the backbone's convolutions and every head (main and
    /// over-clustering).
    pub fn forward_flops(&self) -> Result<f64, LayoutError> {
        let features = self.backbone.output_features(self.input_size)? as f64;
        let outputs = self.heads * (self.clusters + self.overcluster.unwrap_or(0));
        Ok(self.backbone.forward_flops(self.input_size) + 2.0 * features * outputs as f64)
    }

    /// Builds the network on `device`.
    pub fn init(&self, device: &Device) -> Result<IicNet, LayoutError> {
        let features = self.backbone.output_features(self.input_size)?;
        Ok(IicNet {
            backbone: self.backbone.init(device),
            heads: (0..self.heads)
                .map(|_| LinearConfig::new(features, self.clusters).init(device))
                .collect(),
            aux: self
                .overcluster
                .map(|k| {
                    (0..self.heads)
                        .map(|_| LinearConfig::new(features, k).init(device))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// Encoder + clustering heads.
#[derive(Module, Debug)]
pub struct IicNet {
    backbone: Backbone,
    heads: Vec<Linear>,
    /// Over-clustering heads (empty without `heads.overcluster`).
    aux: Vec<Linear>,
}

impl IicNet {
    /// `[N, C, S, S]` images → one `[N, clusters]` matrix of cluster probabilities per head.
    pub fn forward(&self, x: Tensor<4>) -> Vec<Tensor<2>> {
        self.forward_with_aux(x, false).0
    }

    /// The trunk's features of `[N, C, S, S]` images, flattened: what every head reads.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        self.backbone.forward(x).flatten(1, 3)
    }

    /// Main heads' probabilities and, when `aux` is set, the over-clustering heads' too
    /// (one shared encoder pass).
    pub fn forward_with_aux(&self, x: Tensor<4>, aux: bool) -> (Vec<Tensor<2>>, Vec<Tensor<2>>) {
        let features: Tensor<2> = self.backbone.forward(x).flatten(1, 3);
        let run = |heads: &[Linear]| -> Vec<Tensor<2>> {
            heads
                .iter()
                .map(|h| softmax(h.forward(features.clone()), 1))
                .collect()
        };
        let extra = if aux { run(&self.aux) } else { Vec::new() };
        (run(&self.heads), extra)
    }

    /// The forward passes of a first training step, on a dummy `[2, C, side, side]` batch:
    /// burn draws parameters lazily, and this touches them in training's order — main and
    /// over-clustering heads in one pass when they train `joint`ly, else the main heads first.
    /// (For `Devices::init_model`.)
    pub fn first_use(&self, side: usize, channels: usize, joint: bool, device: &Device) {
        let x = Tensor::<4>::zeros([2, channels, side, side], device);
        let _ = self.forward_with_aux(x.clone(), joint);
        if !joint {
            let _ = self.forward_with_aux(x, true);
        }
    }

    /// The network with main head `head` replaced by a freshly initialised one (its
    /// parameters drawn now, on `device`; new parameters, so the optimiser starts them afresh).
    pub fn reinit_head(mut self, head: usize, device: &Device) -> Self {
        let [features, clusters] = self.heads[head].weight.dims();
        let fresh = LinearConfig::new(features, clusters).init(device);
        let _ = (fresh.weight.val(), fresh.bias.as_ref().map(|b| b.val()));
        self.heads[head] = fresh;
        self
    }

    /// This network with `prev`'s trunk (a multi-stage pipeline's next stage), and `prev`'s
    /// heads where they fit: all of them when the counts and shapes match, else its head
    /// `selected` when this network has a single head of that shape; otherwise this network's
    /// own fresh heads. Over-clustering heads are carried when they match too. Returns the
    /// network and what it took, in words.
    pub fn carry_from(mut self, mut prev: IicNet, selected: usize) -> (Self, String) {
        fn same(a: &[Linear], b: &[Linear]) -> bool {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.weight.dims() == y.weight.dims())
        }
        self.backbone = prev.backbone;
        let n = self.heads.len();
        let what = if same(&self.heads, &prev.heads) {
            self.heads = prev.heads;
            format!("the trunk and its {n} head(s)")
        } else if n == 1
            && selected < prev.heads.len()
            && same(&self.heads, &prev.heads[selected..=selected])
        {
            self.heads = vec![prev.heads.swap_remove(selected)];
            format!("the trunk and its selected head {selected}")
        } else {
            "the trunk (the heads start afresh)".to_string()
        };
        if !self.aux.is_empty() && same(&self.aux, &prev.aux) {
            self.aux = prev.aux;
        }
        (self, what)
    }

    /// Number of heads.
    pub fn heads(&self) -> usize {
        self.heads.len()
    }
}
