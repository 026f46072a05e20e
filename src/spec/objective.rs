//! `[loss]`: the objective, IIC or a MINE bound, and its settings.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which objective (`loss.kind`). A MINE bound's computation is a type in `objective/`, which
/// `objective::mi_bound` maps its variant to (the compiler points at that arm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum LossKind {
    /// Invariant Information Clustering: −I between the cluster assignments of the two views.
    #[default]
    #[serde(rename = "iic")]
    Iic,
    /// Self-labelling (SCAN's last stage): the twins learn, by class-balanced cross-entropy,
    /// the argmax of the originals a head is confident about (`loss.threshold`); a second
    /// stage after IIC.
    #[serde(rename = "selflabel")]
    SelfLabel,
    /// MINE with the Donsker–Varadhan bound E_joint[T] − ln E_marginal[e^T] (the reference).
    #[serde(rename = "mine")]
    Mine,
    /// MINE with the paper's bias-corrected gradient: E[e^T] in the gradient divided by a
    /// moving average instead of the batch mean.
    #[serde(rename = "mine_ema", alias = "mine-ema")]
    MineEma,
    /// The NWJ (f-divergence) bound E_joint[T] − E_marginal[e^(T−1)].
    #[serde(rename = "nwj")]
    Nwj,
    /// InfoNCE: E_i[T(x_i, y_i) − ln mean_j e^T(x_i, y_j)] over all pairs of the batch; at
    /// most ln(batch size).
    #[serde(rename = "infonce")]
    InfoNce,
}

impl LossKind {
    /// The MINE bounds, in the order the docs list them.
    pub const MINE: [LossKind; 4] = [
        LossKind::Mine,
        LossKind::MineEma,
        LossKind::Nwj,
        LossKind::InfoNce,
    ];

    /// Its TOML name.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Iic => "iic",
            LossKind::SelfLabel => "selflabel",
            LossKind::Mine => "mine",
            LossKind::MineEma => "mine_ema",
            LossKind::Nwj => "nwj",
            LossKind::InfoNce => "infonce",
        }
    }

    /// Whether this is one of the MINE family (needs a statistics network).
    pub fn is_mine(self) -> bool {
        match self {
            LossKind::Iic | LossKind::SelfLabel => false,
            LossKind::Mine | LossKind::MineEma | LossKind::Nwj | LossKind::InfoNce => true,
        }
    }
}

/// `[loss]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LossSpec {
    pub kind: LossKind,
    /// IIC: entries of the joint P below `eps` are clipped to it before taking logs.
    pub eps: f64,
    /// IIC: weight λ of the marginals' entropy (1 = the mutual information; default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entropy_weight: Option<f64>,
    /// `mine_ema`: rate of the moving average of E_marginal[e^T] (default 0.01).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ema_rate: Option<f64>,
    /// `selflabel`: the probability an original's top cluster needs before its twins learn it
    /// (default 0.99, SCAN's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

impl Default for LossSpec {
    fn default() -> Self {
        Self {
            kind: LossKind::Iic,
            eps: 1e-7,
            entropy_weight: None,
            ema_rate: None,
            threshold: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `LossKind::MINE` lists every MINE bound, and each name is its TOML name.
    #[test]
    fn every_mine_bound_is_listed_and_named_as_in_toml() {
        let schema = serde_json::to_value(schemars::schema_for!(LossKind)).unwrap();
        let variants = schema["oneOf"].as_array().map_or(0, |v| v.len());
        let mine = LossKind::MINE.iter().filter(|k| k.is_mine()).count();
        assert_eq!(mine, LossKind::MINE.len());
        assert_eq!(variants, 2 + mine, "{schema}");
        for k in [LossKind::Iic, LossKind::SelfLabel]
            .into_iter()
            .chain(LossKind::MINE)
        {
            let v: LossKind = serde_json::from_value(k.name().into()).unwrap();
            assert_eq!(v, k);
        }
    }
}
