//! The pipeline spec: TOML → typed structs. One name per concept, from TOML key to struct
//! field to CSV column (`heads.count` in TOML is `heads.count` in `summary.csv`).

mod data;
pub mod defaults;
mod eval;
mod launcher;
mod load;
mod model;
mod objective;
mod origin;
mod sweep;
mod train;
mod validate;
pub mod vgg_layout;

pub use data::*;
pub use eval::*;
pub use launcher::{LauncherError, LauncherKind, LauncherSpec};
pub use load::{load, resolve, Override, Resolved, SpecError, SpecSource};
pub use model::*;
pub use objective::*;
pub use sweep::{SweepError, SweepPoint, SweepSpec};
pub use train::*;
pub use validate::{validate, Problem};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A whole pipeline: every section of the TOML file, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Spec {
    pub pipeline: PipelineSpec,
    pub dataset: DatasetSpec,
    pub augment: AugmentSpec,
    pub backbone: BackboneSpec,
    pub heads: HeadsSpec,
    #[serde(skip_serializing_if = "ModelSpec::is_empty")]
    pub model: ModelSpec,
    pub loss: LossSpec,
    pub evaluator: EvaluatorSpec,
    pub train: TrainSpec,
    /// Trained in order, each stage the pipeline's settings with its own changes, the next
    /// starting from the previous one's weights; empty: one stage, the pipeline itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageSpec>,
    /// Each stage's resolved spec (filled in by loading; not part of the file).
    #[serde(skip)]
    #[schemars(skip)]
    pub stage_specs: Vec<Spec>,
}

/// `[[stages]]`: one stage of a multi-stage pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Names the stage's folder in the run directory, `stage-<n>-<name>`.
    pub name: String,
    /// What this stage changes from the pipeline's settings, as dotted keys:
    /// `set = { "heads.count" = 1, "train.epochs" = 4 }`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schemars(with = "std::collections::BTreeMap<String, serde_json::Value>")]
    pub set: std::collections::BTreeMap<String, toml::Value>,
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

/// What a spec trains, decided by its dataset and loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// IIC clustering heads on images.
    Iic,
    /// MINE estimating the MI of a Gaussian.
    MineGaussian,
    /// MINE as an encoder objective on images.
    MineImages,
}

impl Spec {
    /// What this spec trains (Gaussian data with an IIC loss is rejected by validation).
    pub fn method(&self) -> Method {
        match (self.dataset.kind.is_image(), self.loss.kind.is_mine()) {
            (false, _) => Method::MineGaussian,
            (true, true) => Method::MineImages,
            (true, false) => Method::Iic,
        }
    }

    /// The shape of the images (a Gaussian, which has none, reads as MNIST's).
    pub fn image_shape(&self) -> ImageShape {
        self.dataset.kind.shape().unwrap_or(IDX_SHAPE)
    }

    /// Number of label classes of the data set.
    pub fn classes(&self) -> usize {
        self.image_shape().classes
    }

    /// Clusters per head, with the default resolved.
    pub fn clusters(&self) -> usize {
        self.heads.clusters.unwrap_or_else(|| self.classes())
    }

    /// The resolved spec as a TOML table holding only what applies to its method: a Gaussian
    /// run has no image augmentation, backbone, heads, data folder, IIC epsilon or epochs.
    pub fn applicable(&self) -> toml::Table {
        let Ok(toml::Value::Table(mut t)) = toml::Value::try_from(self) else {
            return toml::Table::new();
        };
        if self.method() == Method::MineGaussian {
            for section in ["augment", "backbone", "heads"] {
                t.remove(section);
            }
            for (section, keys) in [
                ("dataset", &["dir"][..]),
                ("loss", &["eps"][..]),
                ("train", &["epochs", "lr_decay", "lr_decay_every"][..]),
            ] {
                if let Some(toml::Value::Table(sec)) = t.get_mut(section) {
                    for k in keys {
                        sec.remove(*k);
                    }
                }
            }
        }
        t
    }

    /// The resolved spec as TOML text (what `config.toml` in a run directory holds).
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.applicable())
            .unwrap_or_else(|e| format!("# could not serialise spec: {e}\n"))
    }

    /// Every leaf that applies, as a dotted key and its TOML value, in spec order.
    pub fn leaves(&self) -> Vec<(String, toml::Value)> {
        let mut out = Vec::new();
        leaves_into("", self.applicable(), &mut out);
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
