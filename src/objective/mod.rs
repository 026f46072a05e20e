//! Objectives to minimise: IIC's loss and the MINE bounds, and the `loss.kind` names for them.

pub mod iic;
pub mod mine;
pub mod selflabel;

pub use iic::{iic_loss, iic_loss_of_joint, joint_counts};
pub use mine::{
    dv_bound, infonce_bound, mine_ema_loss, mine_loss, nwj_bound, nwj_loss, Critic, Ema, MiBound,
};
pub use selflabel::{confident_targets, self_label_loss};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Registers the MINE bounds: each line is a `loss.kind` variant, its TOML name and the type
/// that implements [`MiBound`]. A new bound is its file (`pub mod` above) plus one line here.
macro_rules! mine_bounds {
    ($($(#[$attr:meta])* $variant:ident = $name:literal => $bound:path),+ $(,)?) => {
        /// Which objective (`loss.kind`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
        pub enum LossKind {
            /// Invariant Information Clustering: −I between the cluster assignments of the two
            /// views.
            #[default]
            #[serde(rename = "iic")]
            Iic,
            /// Self-labelling (SCAN's last stage): the twins learn, by class-balanced
            /// cross-entropy, the argmax of the originals a head is confident about
            /// (`loss.threshold`); a second stage after IIC.
            #[serde(rename = "selflabel")]
            SelfLabel,
            $($(#[$attr])* #[serde(rename = $name)] $variant,)+
        }

        impl LossKind {
            /// The TOML names of the MINE bounds, in registration order.
            pub const MINE_BOUNDS: &[&str] = &[$($name),+];

            /// Whether this is one of the MINE family (needs a statistics network).
            pub fn is_mine(self) -> bool {
                match self {
                    LossKind::Iic | LossKind::SelfLabel => false,
                    $(LossKind::$variant => true,)+
                }
            }
        }

        /// The MINE bound a `loss.kind` names (`None` for IIC's loss).
        pub fn mi_bound(kind: LossKind) -> Option<&'static dyn MiBound> {
            match kind {
                LossKind::Iic | LossKind::SelfLabel => None,
                $(LossKind::$variant => Some(&$bound),)+
            }
        }
    };
}

mine_bounds! {
    /// MINE with the Donsker–Varadhan bound E_joint[T] − ln E_marginal[e^T] (the reference).
    Mine = "mine" => mine::Dv,
    /// MINE with the paper's bias-corrected gradient: E[e^T] in the gradient divided by a
    /// moving average instead of the batch mean.
    #[serde(alias = "mine-ema")]
    MineEma = "mine_ema" => mine::DvEma,
    /// The NWJ (f-divergence) bound E_joint[T] − E_marginal[e^(T−1)].
    Nwj = "nwj" => mine::Nwj,
    /// InfoNCE: E_i[T(x_i, y_i) − ln mean_j e^T(x_i, y_j)] over all pairs of the batch; at
    /// most ln(batch size).
    InfoNce = "infonce" => mine::InfoNce,
}
