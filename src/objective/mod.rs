//! Objectives to minimise.

pub mod iic;
pub mod mine;

pub use iic::iic_loss;
pub use mine::{dv_bound, mine_ema_loss, mine_loss, nwj_bound, nwj_loss, Ema};
