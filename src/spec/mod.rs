//! The pipeline spec: TOML → typed structs. One name per concept, from TOML key to struct
//! field to CSV column (`heads.count` in TOML is `heads.count` in `summary.csv`).

pub mod defaults;
mod launcher;
mod load;
mod origin;
mod sweep;
mod validate;
pub mod vgg_layout;

pub use launcher::{LauncherError, LauncherKind, LauncherSpec};
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

/// Which image data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    #[default]
    Mnist,
    FashionMnist,
    /// Samples of a correlated bivariate (or d-variate) Gaussian, for checking MINE.
    Gaussian,
}

/// The shape of a data set's images and the number of classes of its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageShape {
    /// Side of the square images, in pixels.
    pub side: usize,
    pub channels: usize,
    pub classes: usize,
}

/// MNIST and Fashion-MNIST: 28×28 grey images of 10 classes.
pub const IDX_SHAPE: ImageShape = ImageShape {
    side: 28,
    channels: 1,
    classes: 10,
};

impl DatasetKind {
    /// The name used in TOML, on the command line and as the data sub-folder.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Gaussian => "gaussian",
        }
    }

    /// Whether the data set is images (read from IDX files) rather than generated.
    pub fn is_image(self) -> bool {
        match self {
            DatasetKind::Mnist | DatasetKind::FashionMnist => true,
            DatasetKind::Gaussian => false,
        }
    }

    /// Images in the (train, test) splits (none for generated data).
    pub fn sizes(self) -> (usize, usize) {
        match self {
            DatasetKind::Mnist | DatasetKind::FashionMnist => (60_000, 10_000),
            DatasetKind::Gaussian => (0, 0),
        }
    }

    /// The shape of the images (`None` for generated data).
    pub fn shape(self) -> Option<ImageShape> {
        match self {
            DatasetKind::Mnist | DatasetKind::FashionMnist => Some(IDX_SHAPE),
            DatasetKind::Gaussian => None,
        }
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
    /// Gaussian: correlation ρ of each (x, y) pair (default 0.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cov_xy: Option<f64>,
    /// Gaussian: number of independent correlated pairs (x, y ∈ ℝᵈ; default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dim: Option<usize>,
    /// Gaussian: how marginal samples are made (default `independent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marginal: Option<MarginalKind>,
    /// Images the network trains on: `train` (the default and the honest protocol: the test
    /// split is only scored) or `train+test` (the IIC paper's protocol: training also sees the
    /// test images, never their labels). Left out of the config when `train`.
    #[serde(default, skip_serializing_if = "TrainOn::is_train")]
    pub train_on: TrainOn,
}

/// Which images training sees (`dataset.train_on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum TrainOn {
    /// The training split only.
    #[default]
    #[serde(rename = "train")]
    Train,
    /// The training and the test split (labels unused).
    #[serde(rename = "train+test")]
    TrainAndTest,
}

impl TrainOn {
    /// Whether this is the default, `train`.
    pub fn is_train(&self) -> bool {
        *self == TrainOn::Train
    }
}

/// How MINE's marginal samples pair x with a y that is independent of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum MarginalKind {
    /// y from a second, independent draw (the reference).
    #[default]
    Independent,
    /// y of the same batch, shuffled.
    Shuffle,
}

impl Default for DatasetSpec {
    fn default() -> Self {
        Self {
            kind: DatasetKind::Mnist,
            dir: PathBuf::from("data"),
            train_size: None,
            test_size: None,
            cov_xy: None,
            dim: None,
            marginal: None,
            train_on: TrainOn::Train,
        }
    }
}

/// `[augment]`: by default (the book's scheme) the original view is a centre crop to `size`
/// and the transformed view a weighted choice between `rotate` and `random_crop`, both resized
/// to `size`. Declared pipelines (`[[augment.original]]`, `[[augment.transformed]]`,
/// `[[augment.eval]]`) replace a view with an ordered list of transforms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentSpec {
    /// Side of both views fed to the network (24 in the reference).
    pub size: usize,
    /// Transformed twins per image and step (the IIC paper's repeats: 5); each original is
    /// encoded once and paired with every twin. 1 (the reference) is left out of the config.
    #[serde(skip_serializing_if = "is_one")]
    pub copies: usize,
    pub rotate: RotateSpec,
    pub random_crop: RandomCropSpec,
    /// The original (x) view as a declared pipeline; empty: a centre crop to `size`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub original: Vec<Transform>,
    /// The transformed (x̄) view as a declared pipeline; empty: `rotate` or `random_crop`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transformed: Vec<Transform>,
    /// The evaluation view (deterministic: centre crops and resizes only); empty: a centre
    /// crop to `size`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub eval: Vec<Transform>,
}

/// One step of a declared view pipeline, applied in order; the view is resized to
/// `augment.size` at the end if a step left it at another side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Transform {
    /// With probability `p`, rotate by a whole number of degrees in
    /// `-max_degrees..=max_degrees` about the centre (zeros outside); the side is kept.
    Rotate {
        max_degrees: u32,
        #[serde(default = "one_f64")]
        p: f64,
    },
    /// With probability `p`, cut a square of one of `sizes` (drawn uniformly), centred with
    /// probability `centre_prob`, else anywhere. No resampling.
    Crop {
        sizes: Vec<usize>,
        #[serde(default)]
        centre_prob: f64,
        #[serde(default = "one_f64")]
        p: f64,
    },
    /// Resize bilinearly to `side` (default `augment.size`).
    Resize {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        side: Option<usize>,
    },
    /// With probability `p`, a horizontal shear by an angle drawn from `±shear` degrees (the
    /// stem slants, horizontal strokes stay horizontal) after scaling width and height by
    /// factors drawn independently from `1 ± scale`, about the centre (zeros outside); the side
    /// is kept.
    Affine {
        #[serde(default)]
        shear: f64,
        #[serde(default)]
        scale: f64,
        #[serde(default = "one_f64")]
        p: f64,
    },
    /// With probability `p`, set a rectangle to 0 (background): its width and height drawn
    /// independently from 1 to `size` × the image's side, anywhere in the image.
    Erase {
        size: f64,
        #[serde(default = "one_f64")]
        p: f64,
    },
    /// With probability `p`, set a full-width horizontal band to 0 (background): 1 to
    /// `height` × the image's side rows, anywhere from top to bottom.
    Stripe {
        height: f64,
        #[serde(default = "one_f64")]
        p: f64,
    },
    /// With probability `p`, scale brightness by a factor drawn from `1 ± brightness`, then
    /// contrast (about the image mean) by one from `1 ± contrast`; pixels clamped to [0, 1].
    Jitter {
        #[serde(default)]
        brightness: f64,
        #[serde(default)]
        contrast: f64,
        #[serde(default = "one_f64")]
        p: f64,
    },
}

fn one_f64() -> f64 {
    1.0
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

impl Default for AugmentSpec {
    fn default() -> Self {
        Self {
            size: 24,
            copies: 1,
            rotate: RotateSpec::default(),
            random_crop: RandomCropSpec::default(),
            original: Vec::new(),
            transformed: Vec::new(),
            eval: Vec::new(),
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

/// Which evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
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
    /// Gaussian: the true MI, −(d/2)·ln(1−ρ²).
    AnalyticMi,
    /// Gaussian: histogram plug-in estimate from many samples (the reference's check).
    BinnedMi,
    /// Images + MINE: a linear classifier on the frozen codes (held-out and book protocols).
    LinearProbe,
}

impl EvaluatorKind {
    /// TOML name, also the metrics column.
    pub fn name(self) -> &'static str {
        match self {
            EvaluatorKind::Hungarian => "hungarian",
            EvaluatorKind::Nmi => "nmi",
            EvaluatorKind::Ari => "ari",
            EvaluatorKind::Majority => "majority",
            EvaluatorKind::AnalyticMi => "analytic_mi",
            EvaluatorKind::BinnedMi => "binned_mi",
            EvaluatorKind::LinearProbe => "linear_probe",
        }
    }

    /// Every evaluator, in the order the docs list them (a test checks it against the enum).
    pub const ALL: [EvaluatorKind; 7] = [
        EvaluatorKind::Hungarian,
        EvaluatorKind::Nmi,
        EvaluatorKind::Ari,
        EvaluatorKind::Majority,
        EvaluatorKind::AnalyticMi,
        EvaluatorKind::BinnedMi,
        EvaluatorKind::LinearProbe,
    ];

    /// What it scores, which decides the method it applies to.
    pub fn scores(self) -> Scored {
        match self {
            EvaluatorKind::Hungarian
            | EvaluatorKind::Nmi
            | EvaluatorKind::Ari
            | EvaluatorKind::Majority => Scored::Clustering,
            EvaluatorKind::AnalyticMi | EvaluatorKind::BinnedMi => Scored::MiEstimate,
            EvaluatorKind::LinearProbe => Scored::Code,
        }
    }

    /// Whether it scores a clustering (IIC) rather than an MI estimate or a code.
    pub fn is_clustering(self) -> bool {
        self.scores() == Scored::Clustering
    }
}

/// What an evaluator scores: an IIC clustering, a MINE estimate on the Gaussian, or the
/// codes a MINE encoder gives images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scored {
    Clustering,
    MiEstimate,
    Code,
}

impl Scored {
    /// What the evaluators of `method`'s pipelines score.
    pub fn by(method: Method) -> Scored {
        match method {
            Method::Iic => Scored::Clustering,
            Method::MineGaussian => Scored::MiEstimate,
            Method::MineImages => Scored::Code,
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
/// The default depends on the pipeline: `hungarian` for IIC, `["analytic_mi", "binned_mi"]`
/// for MINE on the Gaussian, `linear_probe` for MINE on images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluatorSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Evaluators>,
    /// `binned_mi`: bins per axis (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bins: Option<usize>,
    /// `binned_mi`: samples drawn (default 1,000,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binned_samples: Option<usize>,
    /// `linear_probe`: training epochs of the classifier (default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_epochs: Option<usize>,
}

impl EvaluatorSpec {
    /// Every evaluator named, in order (after resolution: never empty).
    pub fn all(&self) -> Vec<EvaluatorKind> {
        match &self.kind {
            None => Vec::new(),
            Some(Evaluators::One(k)) => vec![*k],
            Some(Evaluators::Many(v)) => v.clone(),
        }
    }

    /// Whether `k` is among the evaluators.
    pub fn has(&self, k: EvaluatorKind) -> bool {
        self.all().contains(&k)
    }

    /// The clustering evaluators besides Hungarian accuracy (always reported), in order.
    pub fn extra(&self) -> Vec<EvaluatorKind> {
        let all: Vec<EvaluatorKind> = self
            .all()
            .into_iter()
            .filter(|k| k.is_clustering())
            .collect();
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
    /// Gaussian: training steps of `batch_size` samples (default 1000, the reference's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// The memory a run may plan for, in GiB, instead of the machine's available memory
    /// (pipelines estimated above it are refused before anything is allocated). Not part of
    /// the run id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit_gib: Option<f64>,
    /// The backbone convolutions' arithmetic: `f32`, or `bf16` (flex: mirun's AVX-512-BF16
    /// products; libtorch: its bf16 kernels on a CPU with AVX-512-BF16 or AMX, or on a CUDA
    /// GPU; weights, BatchNorm, heads and loss stay `f32`, like PyTorch's autocast). Left out of
    /// the config when `f32`.
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
    /// IIC: a finished run's folder (`results/iic_heads_cpu/23053b755b20`) whose last weights
    /// this run starts from — its trunk, and its heads where they fit, as a stage starts from
    /// the stage before (a multi-stage run: its last stage's). Only the first stage of a
    /// multi-stage run uses it. Relative to the working directory; part of the run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_from: Option<PathBuf>,
}

/// The backbone convolutions' arithmetic (`train.precision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// 32-bit floats throughout.
    #[default]
    F32,
    /// Convolutions on bfloat16 inputs and weights, results in `f32`.
    Bf16,
}

impl Precision {
    /// Whether this is the default, `f32`.
    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
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
            steps: None,
            memory_limit_gib: None,
            precision: Precision::F32,
            init_from: None,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `EvaluatorKind::ALL` is what the validator's messages list: it must hold every variant.
    #[test]
    fn every_evaluator_is_in_all() {
        let schema = serde_json::to_value(schemars::schema_for!(EvaluatorKind)).unwrap();
        let text = schema.to_string();
        let names: Vec<&str> = EvaluatorKind::ALL.iter().map(|k| k.name()).collect();
        let variants = schema["oneOf"].as_array().map_or(0, |v| v.len());
        assert_eq!(variants, names.len(), "{text}");
        for n in names {
            assert!(text.contains(&format!("\"{n}\"")), "{n} in {text}");
        }
    }

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
