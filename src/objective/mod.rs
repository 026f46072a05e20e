//! Objectives to minimise.

pub mod iic;
pub mod mine;

pub use iic::iic_loss;
pub use mine::{dv_bound, mine_ema_loss, mine_loss, nwj_bound, nwj_loss, Ema, MiBound};

use crate::spec::LossKind;

/// The MINE bound a `loss.kind` names (`None` for IIC's loss): the registry of bounds. Every
/// kind is named, so a new one must be registered here rather than fall back to another.
pub fn mi_bound(kind: LossKind) -> Option<&'static dyn MiBound> {
    match kind {
        LossKind::Iic => None,
        LossKind::Mine => Some(&mine::Dv),
        LossKind::MineEma => Some(&mine::DvEma),
        LossKind::Nwj => Some(&mine::Nwj),
    }
}
