//! MINE's networks: the statistics network T(x, y) and, on images, an encoder E(x) (the VGG
//! backbone plus a linear code) trained jointly with T.

use super::backbone::{Backbone, BackboneConfig};
use crate::spec::vgg_layout::LayoutError;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// `simple_mine`: T(x, y) = Dense(1)(ReLU(Dense_h(x) + Dense_h(y))).
#[derive(Module, Debug)]
pub struct StatisticsNet {
    x: Linear,
    y: Linear,
    out: Linear,
}

impl StatisticsNet {
    /// T for `dx`- and `dy`-dimensional inputs with `hidden` units.
    pub fn new(dx: usize, dy: usize, hidden: usize, device: &Device) -> Self {
        Self {
            x: LinearConfig::new(dx, hidden).init(device),
            y: LinearConfig::new(dy, hidden).init(device),
            out: LinearConfig::new(hidden, 1).init(device),
        }
    }

    /// `[N, dx]`, `[N, dy]` → `[N]` values of T.
    pub fn forward(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        let h = relu(self.x.forward(x) + self.y.forward(y));
        self.out.forward(h).flatten(0, 1)
    }

    /// `[N, dx]`, `[N, dy]` → `[N, N]`: T(x_i, y_j) for every pair (each input projected once).
    pub fn all_pairs(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<2> {
        let n = x.dims()[0];
        let a = self.x.forward(x).unsqueeze_dim::<3>(1);
        let b = self.y.forward(y).unsqueeze_dim::<3>(0);
        self.out.forward(relu(a + b)).reshape([n, n])
    }
}

/// MINE on images: encoder E (VGG + linear code) and T on pairs of codes — the learned
/// [`StatisticsNet`], or with `cosine` set, the separable critic T(x, y) = cos(x, y) / τ.
#[derive(Module, Debug)]
pub struct MineImageNet {
    backbone: Backbone,
    code: Linear,
    t: Option<StatisticsNet>,
    /// The cosine critic, when T is not learned.
    #[module(skip)]
    cosine: Option<CosineCritic>,
}

/// Which T a [`MineImageNet`] uses on pairs of codes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CriticConfig {
    /// The learned `simple_mine` T with this many hidden units (the reference's).
    Concat { hidden: usize },
    /// T(x, y) = cos(x, y) / τ: separable, no parameters.
    Cosine { temperature: f64 },
}

/// Configuration of [`MineImageNet`].
#[derive(Debug, Clone)]
pub struct MineImageNetConfig {
    pub backbone: BackboneConfig,
    pub input_size: usize,
    /// Size of the code E(x).
    pub latent: usize,
    /// T on pairs of codes.
    pub critic: CriticConfig,
}

impl MineImageNetConfig {
    /// The largest activation per image, in floats.
    pub fn largest_map(&self) -> usize {
        self.backbone.largest_map(self.input_size)
    }

    /// Builds E and T on `device`.
    pub fn init(&self, device: &Device) -> Result<MineImageNet, LayoutError> {
        let features = self.backbone.output_features(self.input_size)?;
        Ok(MineImageNet {
            backbone: self.backbone.init(device),
            code: LinearConfig::new(features, self.latent).init(device),
            t: match self.critic {
                CriticConfig::Concat { hidden } => {
                    Some(StatisticsNet::new(self.latent, self.latent, hidden, device))
                }
                CriticConfig::Cosine { .. } => None,
            },
            cosine: match self.critic {
                CriticConfig::Cosine { temperature } => Some(CosineCritic { temperature }),
                CriticConfig::Concat { .. } => None,
            },
        })
    }
}

impl MineImageNet {
    /// `[N, 1, S, S]` images → `[N, latent]` codes (linear, no activation).
    pub fn encode(&self, x: Tensor<4>) -> Tensor<2> {
        self.code.forward(self.backbone.forward(x).flatten(1, 3))
    }

    /// `[N, latent]` codes of x and y → `[N]` values of T(x_i, y_i).
    pub fn critic(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        match (&self.t, &self.cosine) {
            (Some(t), _) => t.forward(x, y),
            (None, c) => c.unwrap_or_default().forward(x, y),
        }
    }

    /// `[N, latent]` codes of x and y → `[N, N]`: T(x_i, y_j) for every pair.
    pub fn critic_all_pairs(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<2> {
        match (&self.t, &self.cosine) {
            (Some(t), _) => t.all_pairs(x, y),
            (None, c) => c.unwrap_or_default().all_pairs(x, y),
        }
    }
}

/// The separable critic T(x, y) = cos(x, y) / τ (no parameters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineCritic {
    /// τ: T lies in [−1/τ, 1/τ].
    pub temperature: f64,
}

impl Default for CosineCritic {
    fn default() -> Self {
        Self { temperature: 1.0 }
    }
}

impl CosineCritic {
    /// `[N, d]`, `[N, d]` → `[N]` values of T.
    pub fn forward(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        (unit_rows(x) * unit_rows(y))
            .sum_dim(1)
            .flatten(0, 1)
            .div_scalar(self.temperature)
    }

    /// `[N, d]`, `[N, d]` → `[N, N]`: T(x_i, y_j) for every pair.
    pub fn all_pairs(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<2> {
        unit_rows(x)
            .matmul(unit_rows(y).transpose())
            .div_scalar(self.temperature)
    }
}

/// Each row divided by its Euclidean norm (rows of zeros stay zero).
fn unit_rows(z: Tensor<2>) -> Tensor<2> {
    let norm = z.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-8);
    z / norm
}

/// The linear probe: Dense(256) with no activation, then Dense(classes) (softmax in the loss).
#[derive(Module, Debug)]
pub struct LinearProbe {
    hidden: Linear,
    out: Linear,
}

impl LinearProbe {
    /// A probe from `latent`-dimensional codes to `classes` logits.
    pub fn new(latent: usize, classes: usize, device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(latent, 256).init(device),
            out: LinearConfig::new(256, classes).init(device),
        }
    }

    /// `[N, latent]` → `[N, classes]` logits.
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        self.out.forward(self.hidden.forward(z))
    }
}
