//! Training: the generic epoch driver, checkpoints, the learning-rate schedule, progress
//! output. What a step does is each method's (`crate::method`).

pub mod checkpoint;
pub mod cost;
pub mod driver;
pub mod method;
pub mod progress;
pub mod schedule;

pub use checkpoint::{Checkpoint, Checkpointing};
pub use progress::Progress;

use crate::backend::BackendError;
use crate::spec::vgg_layout::LayoutError;
use crate::store::StoreError;

/// Errors that stop training; each keeps its source.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("model: {0}")]
    Layout(#[from] LayoutError),
    #[error("model: {0}")]
    Model(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("numerical failure: loss of head {head} is {value} at epoch {epoch}, step {step}")]
    NonFinite {
        epoch: usize,
        step: usize,
        head: usize,
        value: f32,
    },
    /// Writing the run's results (tables, weights).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An interrupted run's checkpoint that cannot be read back.
    #[error(
        "cannot resume the interrupted run from its checkpoint (`--fresh` starts over; \
         `mirun sweep --fresh` for a sweep's points)"
    )]
    Resume(#[source] StoreError),
    /// A checkpoint that cannot be written between epochs.
    #[error("cannot save a checkpoint")]
    Checkpoint(#[source] StoreError),
}
