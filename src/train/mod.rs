//! Training: the loop, the learning-rate schedule, progress output.

pub mod bench;
pub mod checkpoint;
pub mod fit;
pub mod mine_fit;
pub mod progress;
pub mod schedule;

pub use checkpoint::{Checkpoint, Checkpointing};
pub use fit::{assignments, evaluate, fit, lowest_loss, EpochRecord, HeadScore, TrainError};
pub use mine_fit::{fit_gaussian, fit_images, MiStep, MineEpoch};
pub use progress::Progress;
