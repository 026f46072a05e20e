//! Networks: the VGG backbone and the IIC clustering network built on it.

pub mod gemm_conv;
pub mod iic_net;
pub mod mine_net;
pub mod vgg;

pub use iic_net::{IicNet, IicNetConfig};
pub use mine_net::{LinearProbe, MineImageNet, MineImageNetConfig, StatisticsNet};
