//! Objectives to minimise.

pub mod iic;

pub use iic::iic_loss;
