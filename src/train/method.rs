//! What a training method supplies: to the epoch driver ([`super::driver`]), as [`Method`],
//! how to build its network, make a batch, take a step (loss, backward, update) and close an
//! epoch (evaluate); to the run recorder (`pipeline`), as [`Recorder`], its files, summary
//! columns and console lines. The methods themselves live in `crate::method`.

use super::schedule::Schedule;
use super::TrainError;
use crate::store::StoreError;
pub use crate::store::Table;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use std::path::Path;
use std::time::Instant;

/// Where a step sits in the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepAt {
    /// 0-based.
    pub epoch: usize,
    /// 0-based, within the epoch.
    pub step: usize,
    /// The learning rate of this epoch.
    pub lr: f64,
}

/// What the epoch driver needs of a training method.
pub trait Method: Sync {
    /// The trained network.
    type Model: Module + Clone;
    /// One step's input, made on the prefetch thread (a pure function of seed, epoch and step,
    /// so a resumed run sees the same data).
    type Batch: Send;
    /// What one epoch produced.
    type Record: Clone;

    /// Epochs, batch size and the learning-rate schedule.
    fn schedule(&self) -> &Schedule;
    /// Epochs to train (the schedule's).
    fn epochs(&self) -> usize {
        self.schedule().epochs
    }
    /// Steps per epoch.
    fn steps(&self) -> usize;
    /// Learning rate of a 0-based epoch (the schedule's step decay).
    fn lr(&self, epoch: usize) -> f64 {
        self.schedule().lr_at(epoch)
    }
    /// The network with the run's initial weights on the training device; refuses what the
    /// device cannot hold.
    fn init(&self) -> Result<Self::Model, TrainError>;
    /// The batches of `epoch`, made in step order.
    fn batches(&self, epoch: usize) -> impl FnMut(usize) -> Self::Batch + Send + '_;
    /// State carried from step to step and saved with checkpoints (MINE's moving average).
    fn initial_carry(&self) -> Option<f64> {
        None
    }
    /// One step: forward, loss, backward, update. Returns the model and the step's values
    /// (losses first); when a loss is not finite the model comes back un-updated and the driver
    /// stops the run. `history` holds the values of the epoch's earlier steps.
    fn step(
        &self,
        model: Self::Model,
        optim: &mut ModuleOptimizer,
        batch: Self::Batch,
        at: StepAt,
        carry: &mut Option<f64>,
        history: &[Vec<f64>],
    ) -> Result<(Self::Model, Vec<f64>), TrainError>;
    /// How many leading values of a step are losses (checked for NaN); the default: all.
    fn losses(&self, values: &[f64]) -> usize {
        values.len()
    }
    /// The progress bar's message after the steps of the epoch so far, and a line to print
    /// now, if any.
    fn progress(&self, history: &[Vec<f64>]) -> (String, Option<String>);
    /// Closes an epoch that began at `started`: evaluates the model and makes the record from
    /// the steps' values.
    fn end_epoch(
        &self,
        model: &Self::Model,
        history: &[Vec<f64>],
        at: StepAt,
        started: Instant,
    ) -> Result<Self::Record, TrainError>;
}

/// How a method's epochs become files and lines: what the run recorder needs beyond training.
pub trait Recorder: Method {
    /// A line printed before training, if any.
    fn intro(&self) -> Option<String> {
        None
    }
    /// The files written after every epoch from all records so far.
    fn tables(&self, records: &[Self::Record]) -> Result<Vec<Table>, StoreError>;
    /// The loss by which `weights-best.bpk` is chosen; `None`: the method keeps no weights.
    fn weights_loss(&self, record: &Self::Record) -> Option<f64>;
    /// The lowest such loss among the `metrics.csv` rows of epochs `1..=upto`, which a
    /// resumed run keeps.
    fn kept_best_loss(&self, metrics: &Path, upto: usize) -> f64;
    /// The line printed after an epoch, if any.
    fn epoch_line(&self, record: &Self::Record) -> Option<String>;
    /// The method's columns of the run's `summary.csv` row.
    fn summary(&self, records: &[Self::Record], run_dir: &Path) -> Vec<(String, String)>;
    /// The last line of a finished run.
    fn done_line(&self, records: &[Self::Record], wall_seconds: f64, summary: &Path) -> String;
}
