//! `[train]`: the optimizer, schedule, batch and precision.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
