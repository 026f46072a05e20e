//! `[dataset]` and `[augment]`: which images, which split, and how each pair's second view is drawn.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
