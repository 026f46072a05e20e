//! Training: the generic epoch driver, checkpoints, the learning-rate schedule, progress
//! output, and the step benchmark. What a step does is each method's (`method`).

pub mod bench;
pub mod checkpoint;
pub mod driver;
pub mod progress;
pub mod schedule;

pub use checkpoint::{Checkpoint, Checkpointing};
pub use progress::Progress;

/// Errors that stop training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("model: {0}")]
    Model(String),
    #[error("numerical failure: loss of head {head} is {value} at epoch {epoch}, step {step}")]
    NonFinite {
        epoch: usize,
        step: usize,
        head: usize,
        value: f32,
    },
    #[error("reading a tensor back: {0}")]
    Data(String),
    #[error("{0}")]
    Observer(String),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}
