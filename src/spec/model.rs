//! `[backbone]`, `[heads]` and `[model]`: the trunk, the clustering heads, and MINE's critic.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which backbone family (each is registered in `model::backbone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BackboneKind {
    /// Conv (+ BatchNorm) + ReLU per integer of `cfg`, 2×2 max-pool per `"M"`.
    #[default]
    Vgg,
    /// A basic residual block per integer of `cfg` (1×1 projection when the width changes),
    /// 2×2 max-pool per `"M"`.
    #[serde(rename = "resnet")]
    ResNet,
}

/// A VGG layer list: a named config (`"F"`, `"A"`) or an explicit list such as
/// `[64, "M", 128, "M"]` (integers are conv channels, `"M"` is a 2×2 max-pool).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VggCfg {
    Named(String),
    Layers(Vec<CfgToken>),
}

/// One entry of an explicit VGG cfg list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CfgToken {
    Channels(i64),
    Pool(String),
}

/// `[backbone]`: the encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BackboneSpec {
    pub kind: BackboneKind,
    pub cfg: VggCfg,
    pub batch_norm: bool,
    pub kernel_size: usize,
    /// Which statistics BatchNorm uses at evaluation: `running` (the default: the averages
    /// kept during training) or `batch` (each evaluated chunk's own, as the IIC reference
    /// does). Left out of the config when `running`.
    #[serde(default, skip_serializing_if = "BatchNormEval::is_running")]
    pub batch_norm_eval: BatchNormEval,
}

/// BatchNorm's statistics at evaluation (`backbone.batch_norm_eval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum BatchNormEval {
    /// The running averages kept during training.
    #[default]
    Running,
    /// The statistics of the batch being evaluated (chunks of up to 1000 images).
    Batch,
}

impl BatchNormEval {
    /// Whether this is the default, `running`.
    pub fn is_running(&self) -> bool {
        *self == BatchNormEval::Running
    }
}

impl BackboneSpec {
    /// The settings that shape the trunk's weights and differ between `self` and `other`, as
    /// (`backbone.<key>`, self's value, other's value; `unset` where one has none) — all but
    /// `batch_norm_eval`, which only says how BatchNorm evaluates.
    pub fn trunk_differences(&self, other: &Self) -> Vec<(String, String, String)> {
        let table = |b: &Self| match toml::Value::try_from(b) {
            Ok(toml::Value::Table(t)) => t,
            _ => toml::Table::new(),
        };
        let (a, b) = (table(self), table(other));
        let keys: std::collections::BTreeSet<&String> = a
            .keys()
            .chain(b.keys())
            .filter(|k| *k != "batch_norm_eval")
            .collect();
        let show = |t: &toml::Table, k: &str| t.get(k).map_or("unset".into(), |v| v.to_string());
        keys.into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| (format!("backbone.{k}"), show(&a, k), show(&b, k)))
            .collect()
    }
}

impl Default for BackboneSpec {
    fn default() -> Self {
        Self {
            kind: BackboneKind::Vgg,
            cfg: VggCfg::Named("F".into()),
            batch_norm: true,
            kernel_size: 3,
            batch_norm_eval: BatchNormEval::Running,
        }
    }
}

/// `[heads]`: how many softmax clustering heads, and clusters per head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HeadsSpec {
    pub count: usize,
    /// Defaults to the number of classes of the data set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clusters: Option<usize>,
    /// Clusters of the auxiliary over-clustering heads (the IIC paper: 50), one per main head;
    /// trained alongside the main heads (see `aux_schedule`) and never scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overcluster: Option<usize>,
    /// How the over-clustering heads share the steps: `alternate` (odd steps train them, even
    /// steps the main heads: the paper's alternation at step granularity) or `joint` (every
    /// step minimises the sum of both losses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux_schedule: Option<AuxSchedule>,
    /// Sub-head lottery: every this many steps, the heads whose mean loss over those steps
    /// lags the best head's by more than `lottery_margin` are re-initialised (the trunk is
    /// kept). The selected head is always the lowest-loss one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lottery_every: Option<usize>,
    /// Sub-head lottery: how far (nats) a head's mean loss may lag the best before it is
    /// re-initialised (default 0.05).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lottery_margin: Option<f64>,
    /// Heads with more clusters than the data set has classes are scored after merging their
    /// clusters down to the classes, one pair at a time, without labels: `mi` joins the two
    /// whose union keeps the most mutual information between the cluster of a training image
    /// and that of its twin (the IIC objective); `ward` the two whose union adds the least
    /// within-cluster scatter of the training images' pixels (Ward's criterion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeRule>,
    /// How the reported head is chosen, without labels: `train_loss` (the default: the lowest
    /// mean training loss over the epoch's steps) or `fixed_pass` (the lowest IIC loss over one
    /// fixed augmented pass of the training set — every image and one twin, the same for every
    /// head and epoch — as the IIC authors' code selects its sub-head).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub select: Option<HeadSelect>,
}

/// How the reported head is chosen (`heads.select`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum HeadSelect {
    /// The lowest mean training loss over the epoch's steps.
    #[default]
    TrainLoss,
    /// The lowest IIC loss over one fixed augmented pass of the training set.
    FixedPass,
}

/// How a head's surplus clusters are merged before scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MergeRule {
    /// Keep the most mutual information between a training image's cluster and its twin's.
    Mi,
    /// Add the least within-cluster sum of squares of the training images' pixels (as the
    /// evaluation view shows them).
    Ward,
}

/// How over-clustering heads and main heads share the training steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuxSchedule {
    Alternate,
    Joint,
}

impl Default for HeadsSpec {
    fn default() -> Self {
        Self {
            count: 1,
            clusters: None,
            overcluster: None,
            aux_schedule: None,
            lottery_every: None,
            lottery_margin: None,
            merge: None,
            select: None,
        }
    }
}

/// `[model]`: the MINE networks (the statistics network T, and on images the encoder's latent
/// code). Unused keys are left out of the resolved config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSpec {
    /// Images: size of the encoder's linear code E(x) (default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latent_dim: Option<usize>,
    /// Width h of T(x, y) = Dense(1)(ReLU(Dense_h(x) + Dense_h(y))) (default 16 on the
    /// Gaussian, 1024 on images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    /// Images: which T scores pairs of codes (default `concat`, left out of the config).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critic: Option<CriticKind>,
    /// τ of `critic = "cosine"` (default 0.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
}

impl ModelSpec {
    /// True when no key applies (IIC), so the section is not written.
    pub fn is_empty(&self) -> bool {
        self.latent_dim.is_none()
            && self.hidden.is_none()
            && self.critic.is_none()
            && self.temperature.is_none()
    }
}

/// The statistics network of MINE on images (`model.critic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum CriticKind {
    /// T(x, y) = Dense(1)(ReLU(Dense_h(x) + Dense_h(y))): the reference's `simple_mine`.
    #[default]
    Concat,
    /// T(x, y) = cos(x, y) / τ: a separable critic with no parameters (as in CPC and SimCLR),
    /// which asks the codes themselves to carry the match.
    Cosine,
}
