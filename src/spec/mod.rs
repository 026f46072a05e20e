//! The pipeline spec: TOML → typed structs. One name per concept, from TOML key to struct
//! field to CSV column (`heads.count` in TOML is `heads.count` in `summary.csv`).

mod load;
mod origin;
mod sweep;
mod validate;

pub use load::{load, resolve, Override, Resolved, SpecError, SpecSource};
pub use sweep::{SweepError, SweepPoint, SweepSpec};
pub use validate::{validate, Problem};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A whole pipeline: every section of the TOML file, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Spec {
    pub pipeline: PipelineSpec,
    pub dataset: DatasetSpec,
    pub augment: AugmentSpec,
    pub backbone: BackboneSpec,
    pub heads: HeadsSpec,
    pub loss: LossSpec,
    pub evaluator: EvaluatorSpec,
    pub train: TrainSpec,
}

/// `[pipeline]`: the run's name (its results folder) and its seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSpec {
    /// Results go to `<out>/<name>/`; defaults to the file's stem.
    pub name: String,
    /// Seeds parameter init, shuffling and augmentation.
    pub seed: u64,
}

/// Which image data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    #[default]
    Mnist,
    FashionMnist,
}

impl DatasetKind {
    /// The name used in TOML, on the command line and as the data sub-folder.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }

    /// Images in the (train, test) splits.
    pub fn sizes(self) -> (usize, usize) {
        match self {
            DatasetKind::Mnist | DatasetKind::FashionMnist => (60_000, 10_000),
        }
    }

    /// Side of the square images.
    pub fn image_side(self) -> usize {
        crate::data::SIDE
    }
}

/// `[dataset]`: where the IDX files live and which subset to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetSpec {
    pub kind: DatasetKind,
    /// Data root; files are read from `<dir>/<kind>/`. `MIRUN_DATA_DIR` overrides it.
    pub dir: PathBuf,
    /// Use only the first `train_size` training images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_size: Option<usize>,
    /// Use only the first `test_size` test images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_size: Option<usize>,
}

impl Default for DatasetSpec {
    fn default() -> Self {
        Self {
            kind: DatasetKind::Mnist,
            dir: PathBuf::from("data"),
            train_size: None,
            test_size: None,
        }
    }
}

/// `[augment]`: the original view is a centre crop to `size`; the transformed view is a
/// weighted choice between `rotate` and `random_crop`, both resized to `size`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentSpec {
    /// Side of both views fed to the network (24 in the reference).
    pub size: usize,
    pub rotate: RotateSpec,
    pub random_crop: RandomCropSpec,
}

impl Default for AugmentSpec {
    fn default() -> Self {
        Self {
            size: 24,
            rotate: RotateSpec::default(),
            random_crop: RandomCropSpec::default(),
        }
    }
}

/// `[augment.rotate]`: rotate the whole image by a whole number of degrees, then resize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RotateSpec {
    /// Relative weight of this transform in the random choice.
    pub weight: f64,
    /// Angles are drawn uniformly from `-max_degrees..=max_degrees`.
    pub max_degrees: u32,
}

impl Default for RotateSpec {
    fn default() -> Self {
        Self {
            weight: 0.5,
            max_degrees: 20,
        }
    }
}

/// `[augment.random_crop]`: crop a square of one of `sizes`, then resize it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RandomCropSpec {
    /// Relative weight of this transform in the random choice.
    pub weight: f64,
    /// Crop sides, one drawn uniformly per image.
    pub sizes: Vec<usize>,
    /// Probability that the crop is centred rather than placed anywhere (the reference: 0.5).
    pub centre_prob: f64,
}

impl Default for RandomCropSpec {
    fn default() -> Self {
        Self {
            weight: 0.5,
            sizes: vec![16, 18, 20],
            centre_prob: 0.5,
        }
    }
}

/// Which backbone family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BackboneKind {
    #[default]
    Vgg,
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
}

impl Default for BackboneSpec {
    fn default() -> Self {
        Self {
            kind: BackboneKind::Vgg,
            cfg: VggCfg::Named("F".into()),
            batch_norm: true,
            kernel_size: 3,
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
}

impl Default for HeadsSpec {
    fn default() -> Self {
        Self {
            count: 1,
            clusters: None,
        }
    }
}

/// Which objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    #[default]
    Iic,
}

/// `[loss]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LossSpec {
    pub kind: LossKind,
    /// Entries of the joint P below `eps` are clipped to it before taking logs.
    pub eps: f64,
}

impl Default for LossSpec {
    fn default() -> Self {
        Self {
            kind: LossKind::Iic,
            eps: 1e-7,
        }
    }
}

/// Which evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EvaluatorKind {
    /// One-to-one cluster→label matching accuracy (always computed: the `accuracy` column).
    #[default]
    Hungarian,
    /// Normalised mutual information (arithmetic normalisation).
    Nmi,
    /// Adjusted Rand index.
    Ari,
    /// Many-to-one accuracy, for heads with more clusters than classes.
    Majority,
}

impl EvaluatorKind {
    /// TOML name, also the metrics column.
    pub fn name(self) -> &'static str {
        match self {
            EvaluatorKind::Hungarian => "hungarian",
            EvaluatorKind::Nmi => "nmi",
            EvaluatorKind::Ari => "ari",
            EvaluatorKind::Majority => "majority",
        }
    }
}

/// One evaluator or a list of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Evaluators {
    One(EvaluatorKind),
    Many(Vec<EvaluatorKind>),
}

impl Default for Evaluators {
    fn default() -> Self {
        Evaluators::One(EvaluatorKind::Hungarian)
    }
}

/// `[evaluator]`: `kind = "hungarian"` or a list such as `["hungarian", "nmi", "ari"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluatorSpec {
    pub kind: Evaluators,
}

impl EvaluatorSpec {
    /// The evaluators besides Hungarian accuracy (which is always reported), in order.
    pub fn extra(&self) -> Vec<EvaluatorKind> {
        let all = match &self.kind {
            Evaluators::One(k) => vec![*k],
            Evaluators::Many(v) => v.clone(),
        };
        let mut out: Vec<EvaluatorKind> = Vec::new();
        for k in all {
            if k != EvaluatorKind::Hungarian && !out.contains(&k) {
                out.push(k);
            }
        }
        out
    }
}

/// `[train]`: Adam with the step schedule `lr · lr_decay^(epoch div lr_decay_every)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSpec {
    pub epochs: usize,
    /// Pairs per step; the network sees twice as many rows (originals + transformed).
    pub batch_size: usize,
    pub lr: f64,
    pub lr_decay: f64,
    pub lr_decay_every: usize,
    /// Adam's epsilon (Keras' 1e-7 as in the reference; burn's own default is 1e-5).
    pub adam_eps: f64,
}

impl Default for TrainSpec {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 512,
            lr: 1e-3,
            lr_decay: 0.8,
            lr_decay_every: 400,
            adam_eps: 1e-7,
        }
    }
}

impl Spec {
    /// Number of label classes of the data set (10 for both MNIST variants).
    pub fn classes(&self) -> usize {
        10
    }

    /// Clusters per head, with the default resolved.
    pub fn clusters(&self) -> usize {
        self.heads.clusters.unwrap_or_else(|| self.classes())
    }

    /// The resolved spec as TOML text (what `config.toml` in a run directory holds).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# could not serialise spec: {e}\n"))
    }

    /// Every leaf as a dotted key and its TOML value, in spec order.
    pub fn leaves(&self) -> Vec<(String, toml::Value)> {
        let mut out = Vec::new();
        if let Ok(toml::Value::Table(t)) = toml::Value::try_from(self) {
            leaves_into("", t, &mut out);
        }
        out
    }

    /// Every leaf as a dotted key and a plain value (strings unquoted), for CSV columns.
    pub fn flatten(&self) -> Vec<(String, String)> {
        self.leaves()
            .into_iter()
            .map(|(k, v)| match v {
                toml::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect()
    }
}

fn leaves_into(prefix: &str, table: toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => leaves_into(&key, t, out),
            other => out.push((key, other)),
        }
    }
}

/// JSON Schema of a pipeline file, for editors (`mirun schema`).
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(Spec);
    if let Some(obj) = schema.schema.object.as_mut() {
        obj.properties.insert(
            "extends".into(),
            schemars::schema_for!(String).schema.into(),
        );
    }
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
