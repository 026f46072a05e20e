//! One home per method. Each file implements [`Method`]: how to build its network, make a
//! batch, take a step (loss, backward, update), close an epoch (evaluate, record) and write its
//! records; the generic epoch driver (`train::driver`) and the run recorder (`pipeline`) do the
//! rest: prefetching, progress, NaN checks, checkpoints, weights, `metrics.csv`, `summary.csv`.
//!
//! Adding a method is its file here, one variant of [`Pipeline`] (with its arm in
//! [`Pipeline::resolve`]) and one arm in [`crate::pipeline::run`]'s dispatch; the compiler
//! points at both arms.

pub mod iic;
pub mod memory;
pub mod mine_gaussian;
pub mod mine_images;

pub use crate::train::method::{Method, Recorder, StepAt, Table};
pub use iic::Iic;
pub use mine_gaussian::MineGaussian;
pub use mine_images::MineImages;

use crate::backend::read_f32;
use crate::objective::{mi_bound, MiBound};
use crate::spec::LossKind;
use crate::store::CsvFile;
use crate::train::TrainError;
use burn::tensor::Tensor;
use std::path::Path;

/// A validated spec resolved once into its method's typed config (no defaults left to apply):
/// the registry of methods.
#[derive(Debug, Clone)]
pub enum Pipeline {
    Iic(iic::IicConfig),
    MineGaussian(mine_gaussian::GaussianConfig),
    MineImages(mine_images::MineImagesConfig),
}

impl Pipeline {
    /// The config of the method `spec` trains.
    pub fn resolve(spec: &crate::spec::Spec) -> Result<Self, TrainError> {
        use crate::spec::Method;
        Ok(match spec.method() {
            Method::Iic => Pipeline::Iic(iic::IicConfig::resolve(spec)?),
            Method::MineGaussian => {
                Pipeline::MineGaussian(mine_gaussian::GaussianConfig::resolve(spec)?)
            }
            Method::MineImages => {
                Pipeline::MineImages(mine_images::MineImagesConfig::resolve(spec)?)
            }
        })
    }
}

/// `f`'s rows for every image of `set` in its evaluation view, `chunk` images at a time on
/// `device`, concatenated row-major (the trunk's features, a MINE code, …).
pub(crate) fn eval_rows(
    set: &crate::data::ImageSet,
    aug: &crate::data::Augmenter,
    (chunk, channels): (usize, usize),
    device: &burn::tensor::Device,
    f: impl Fn(Tensor<4>) -> Tensor<2>,
) -> Result<Vec<f32>, TrainError> {
    let side = aug.size();
    let mut out = Vec::new();
    for start in (0..set.len()).step_by(chunk.max(1)) {
        let end = (start + chunk.max(1)).min(set.len());
        let rows = crate::data::batch::eval_batch(set, start..end, aug);
        let x = iic::to_tensor(rows, end - start, channels, side, device);
        out.extend(read_f32(f(x))?);
    }
    Ok(out)
}

/// A value the spec's defaults fill (`spec::defaults`, when the spec is loaded): missing only
/// from a spec that was built without loading it.
pub(crate) fn filled<T>(v: Option<T>, key: &str) -> Result<T, TrainError> {
    v.ok_or_else(|| {
        TrainError::Model(format!(
            "{key} has no value: the spec's defaults were not filled"
        ))
    })
}

/// `v` with six decimals, or empty when there is none.
pub(crate) fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.6}"))
}

/// The largest value of `column` in a CSV file (NaN if none parses).
pub(crate) fn column_max(path: &Path, column: &str) -> f64 {
    CsvFile::read(path).map_or(f64::NAN, |f| f.column_max(column))
}

/// The rows of a CSV file deserialised by column name (missing or unreadable file: none).
pub(crate) fn read_rows<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    CsvFile::read(path)
        .and_then(|f| f.deserialize())
        .unwrap_or_default()
}

/// The bound a MINE pipeline's `loss.kind` names.
pub(crate) fn bound_of(kind: LossKind) -> Result<&'static dyn MiBound, TrainError> {
    // The validator keeps `iic` out of MINE pipelines; say so if that ever changes.
    mi_bound(kind).ok_or_else(|| {
        TrainError::Model(format!(
            "loss.kind = {kind:?} is not a MINE bound (expected one of {})",
            LossKind::MINE.map(LossKind::name).join(", ")
        ))
    })
}

/// The value of a one-element tensor.
pub(crate) fn scalar(t: Tensor<1>) -> Result<f64, TrainError> {
    let v = read_f32(t)?;
    Ok(v.first().copied().unwrap_or(f32::NAN) as f64)
}
