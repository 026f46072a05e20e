//! The generic epoch driver: for every epoch, batches made on a prefetch thread → the method's
//! step → NaN check → progress; then the method closes the epoch, the sink records it, and the
//! state is checkpointed. Every method trains through this one loop.

use super::checkpoint::Checkpointing;
use super::cost::{duration, CostMeter};
use super::method::{Method, StepAt};
use super::progress::Progress;
use super::schedule::Schedule;
use super::TrainError;
use crate::data::batch::prefetch;
use crate::store::StoreError;
use std::time::Instant;

/// Receives every finished epoch and the model as it ends (to write results and weights); an
/// error stops the run.
pub type Sink<'a, M> =
    dyn FnMut(&<M as Method>::Record, &<M as Method>::Model) -> Result<(), StoreError> + 'a;

/// Trains `method` with Adam (`optim`'s epsilon) from `start` (else the method's initial
/// weights), continuing from `checkpoint` when it resumes; returns the records of the epochs
/// trained here. The run's cost is said after its
/// first steps and again after its first epoch (`machine` names what it runs on), and the
/// progress bar shows the whole run's time left.
pub fn fit<M: Method>(
    method: &M,
    optim: &Schedule,
    progress: Progress,
    machine: &str,
    checkpoint: Checkpointing,
    start: Option<M::Model>,
    sink: &mut Sink<M>,
) -> Result<Vec<M::Record>, TrainError> {
    let model = match start {
        Some(m) => m,
        None => method.init()?,
    };
    let (start, mut model, mut optim, mut carry) = checkpoint
        .restore(model, optim.adam(), method.initial_carry())
        .map_err(TrainError::Resume)?;
    let (epochs, steps) = (method.epochs(), method.steps());
    let mut records = Vec::with_capacity(epochs.saturating_sub(start));
    let mut cost = CostMeter::new(epochs.saturating_sub(start), steps);
    for epoch in start..epochs {
        let started = Instant::now();
        let lr = method.lr(epoch);
        let bar = progress.epoch_bar(epoch + 1, epochs, steps);
        let mut history: Vec<Vec<f64>> = Vec::with_capacity(steps);
        model = std::thread::scope(|scope| -> Result<M::Model, TrainError> {
            let batches = prefetch(scope, steps, method.batches(epoch));
            for (step, batch) in batches.into_iter().enumerate() {
                let at = StepAt { epoch, step, lr };
                let (m, values) =
                    method.step(model, &mut optim, batch, at, &mut carry, &history)?;
                model = m;
                let losses = &values[..method.losses(&values).min(values.len())];
                if let Some((head, &v)) = losses.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                    return Err(TrainError::NonFinite {
                        epoch: epoch + 1,
                        step: step + 1,
                        head,
                        value: v as f32,
                    });
                }
                history.push(values);
                bar.inc(1);
                if let Some(e) = cost.step_done(Instant::now()) {
                    bar.suspend(|| progress.info(&format!("cost: {}", e.describe(machine))));
                }
                let (mut message, line) = method.progress(&history);
                if let Some(left) = cost.left(step + 1) {
                    message.push_str(&format!("  run left ≈ {}", duration(left)));
                }
                bar.set_message(message);
                if let Some(line) = line {
                    bar.suspend(|| progress.info(&line));
                }
            }
            Ok(model)
        })?;
        bar.finish_and_clear();
        let trained = started.elapsed().as_secs_f64();
        let at = StepAt {
            epoch,
            step: steps,
            lr,
        };
        let record = method.end_epoch(&model, &history, at, started)?;
        sink(&record, &model)?;
        records.push(record);
        let closed = started.elapsed().as_secs_f64() - trained;
        if let Some(e) = cost.epoch_done(trained, closed) {
            progress.info(&format!("cost: {}", e.describe(machine)));
        }
        checkpoint
            .save_between(epoch + 1, epochs, &model, &optim, carry)
            .map_err(TrainError::Checkpoint)?;
    }
    Ok(records)
}
