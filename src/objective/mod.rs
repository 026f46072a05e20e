//! Objectives to minimise: the losses of clustering heads (IIC's, self-labelling) and the MINE
//! bounds, each registered for the `loss.kind` that names it.

pub mod heads;
pub mod iic;
pub mod mine;
pub mod selflabel;

pub use heads::{head_loss, HeadLoss};
pub use iic::{iic_loss, iic_loss_of_joint, joint_counts};
pub use mine::{
    dv_bound, infonce_bound, mine_ema_loss, mine_loss, nwj_bound, nwj_loss, Critic, Ema, MiBound,
};
pub use selflabel::{confident_targets, self_label_loss};

use crate::spec::LossKind;

/// The MINE bound a `loss.kind` names (`None` for IIC's losses). A new bound is its type (in
/// `mine.rs` or its own file), its `LossKind` variant and its arm here.
pub fn mi_bound(kind: LossKind) -> Option<&'static dyn MiBound> {
    match kind {
        LossKind::Iic | LossKind::SelfLabel => None,
        LossKind::Mine => Some(&mine::Dv),
        LossKind::MineEma => Some(&mine::DvEma),
        LossKind::Nwj => Some(&mine::Nwj),
        LossKind::InfoNce => Some(&mine::InfoNce),
    }
}
