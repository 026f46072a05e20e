//! Networks: the backbones (VGG, ResNet) and the IIC and MINE networks built on them.

pub mod backbone;
#[cfg(all(feature = "flex", target_arch = "x86_64"))]
pub mod bf16_gemm;
#[cfg(feature = "flex")]
#[cfg_attr(feature = "tch", allow(deprecated))]
pub mod bn_op;
#[cfg(feature = "flex")]
// burn marks libtorch deprecated; the `tch` feature uses it on purpose.
#[cfg_attr(feature = "tch", allow(deprecated))]
pub mod conv_op;
#[cfg(feature = "flex")]
mod flex_buf;
pub mod gemm_conv;
pub mod iic_net;
pub mod mine_net;
#[cfg(feature = "flex")]
#[cfg_attr(feature = "tch", allow(deprecated))]
pub mod pool_op;
#[cfg(all(feature = "flex", feature = "tch"))]
#[allow(deprecated)]
mod tch_graph;

pub use backbone::{Backbone, BackboneConfig, TrainingFloats};
pub use iic_net::{IicNet, IicNetConfig};
pub use mine_net::{
    CosineCritic, CriticConfig, LinearProbe, MineImageNet, MineImageNetConfig, StatisticsNet,
};
