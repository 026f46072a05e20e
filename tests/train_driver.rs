//! The epoch driver with a fake method (one weight pulled towards a target, no data set): every
//! step sees its own batch in order with the schedule's learning rate, every epoch reaches the
//! sink once, a non-finite loss stops the run naming epoch, step and head, and a run killed
//! after an epoch resumes from its checkpoint to the very weight of an uninterrupted run.

use burn::module::{Module, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use mirun::method::{Method, StepAt};
use mirun::spec::TrainSpec;
use mirun::store::StoreError;
use mirun::train::schedule::Schedule;
use mirun::train::{driver, Checkpoint, Checkpointing, Progress, TrainError};
use std::time::Instant;

#[derive(Module, Debug)]
struct OneWeight {
    w: Param<Tensor<1>>,
}

/// What an epoch of the fake method produced.
#[derive(Debug, Clone, PartialEq)]
struct Epoch {
    /// 1-based.
    epoch: usize,
    /// (epoch, step) of each batch, in the order the steps took them.
    batches: Vec<(usize, usize)>,
    lr: f64,
    mean_loss: f64,
}

struct Fake {
    train: Schedule,
    dev: Device,
    /// (0-based epoch, step) whose loss is NaN.
    nan_at: Option<(usize, usize)>,
}

const STEPS: usize = 5;
const TARGET: f32 = 3.0;

impl Fake {
    fn new(epochs: usize) -> Self {
        let train = Schedule::of(&TrainSpec {
            epochs,
            lr: 0.2,
            lr_decay: 0.5,
            lr_decay_every: 1,
            ..TrainSpec::default()
        });
        Self {
            train,
            dev: Device::flex().autodiff(),
            nan_at: None,
        }
    }

    fn fit(
        &self,
        run: &Checkpoint,
        resume: bool,
        fail_after: Option<usize>,
    ) -> Result<Vec<Epoch>, TrainError> {
        let mut seen = Vec::new();
        let mut sink = |r: &Epoch, _: &OneWeight| -> Result<(), StoreError> {
            seen.push(r.epoch);
            match fail_after {
                Some(e) if r.epoch > e => {
                    Err(StoreError::io("killed", std::io::Error::other("killed")))
                }
                _ => Ok(()),
            }
        };
        let at = Checkpointing { at: run, resume };
        let records = driver::fit(
            self,
            &self.train,
            Progress { quiet: true },
            "test",
            at,
            None,
            &mut sink,
        )?;
        assert_eq!(
            seen,
            records.iter().map(|r| r.epoch).collect::<Vec<_>>(),
            "one sink call per epoch"
        );
        Ok(records)
    }
}

impl Method for Fake {
    type Model = OneWeight;
    type Batch = (usize, usize);
    type Record = Epoch;

    fn schedule(&self) -> &Schedule {
        &self.train
    }

    fn steps(&self) -> usize {
        STEPS
    }

    fn init(&self) -> Result<OneWeight, TrainError> {
        Ok(OneWeight {
            w: Param::from_tensor(Tensor::zeros([1], &self.dev)),
        })
    }

    fn batches(&self, epoch: usize) -> impl FnMut(usize) -> (usize, usize) + Send + '_ {
        move |step| (epoch, step)
    }

    fn step(
        &self,
        model: OneWeight,
        optim: &mut ModuleOptimizer,
        batch: (usize, usize),
        at: StepAt,
        _carry: &mut Option<f64>,
        history: &[Vec<f64>],
    ) -> Result<(OneWeight, Vec<f64>), TrainError> {
        assert_eq!(batch, (at.epoch, at.step), "the batch made for this step");
        assert_eq!(history.len(), at.step, "the epoch's earlier steps");
        let diff = model.w.val() - TARGET;
        let loss = (diff.clone() * diff).sum();
        let mut value = loss.clone().into_scalar::<f32>() as f64;
        if self.nan_at == Some((at.epoch, at.step)) {
            value = f64::NAN;
        }
        let values = vec![value, batch.0 as f64, batch.1 as f64, at.lr];
        if !value.is_finite() {
            return Ok((model, values));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        Ok((optim.step(at.lr, model, grads), values))
    }

    fn losses(&self, _values: &[f64]) -> usize {
        1
    }

    fn progress(&self, _history: &[Vec<f64>]) -> (String, Option<String>) {
        (String::new(), None)
    }

    fn end_epoch(
        &self,
        _model: &OneWeight,
        history: &[Vec<f64>],
        at: StepAt,
        _started: Instant,
    ) -> Result<Epoch, TrainError> {
        Ok(Epoch {
            epoch: at.epoch + 1,
            batches: history
                .iter()
                .map(|v| (v[1] as usize, v[2] as usize))
                .collect(),
            lr: history[0][3],
            mean_loss: history.iter().map(|v| v[0]).sum::<f64>() / history.len() as f64,
        })
    }
}

fn weight(run: &std::path::Path, fake: &Fake) -> f32 {
    // The last checkpoint holds the weight after the epochs it names.
    let ckpt = Checkpoint::new(run);
    let optim = burn::optim::AdamConfig::new().init();
    let (_, m, _, _) = ckpt.load(fake.init().unwrap(), optim).unwrap();
    m.w.val().into_scalar::<f32>()
}

#[test]
fn every_step_gets_its_batch_and_the_schedules_rate_and_every_epoch_reaches_the_sink() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new(4);
    let records = fake.fit(&Checkpoint::new(dir.path()), false, None).unwrap();
    assert_eq!(records.len(), 4);
    for (e, r) in records.iter().enumerate() {
        assert_eq!(r.epoch, e + 1);
        assert_eq!(r.batches, (0..STEPS).map(|s| (e, s)).collect::<Vec<_>>());
        assert!((r.lr - 0.2 * 0.5f64.powi(e as i32)).abs() < 1e-12, "{r:?}");
    }
    assert!(
        records.windows(2).all(|w| w[1].mean_loss < w[0].mean_loss),
        "the weight moves towards its target: {records:?}"
    );
    // After the last epoch there is nothing to resume: the checkpoint stays at the one before.
    assert_eq!(Checkpoint::new(dir.path()).latest().unwrap(), Some(3));
}

#[test]
fn a_non_finite_loss_stops_the_run_naming_where() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = Fake::new(3);
    fake.nan_at = Some((1, 2));
    match fake.fit(&Checkpoint::new(dir.path()), false, None) {
        Err(
            e @ TrainError::NonFinite {
                epoch: 2,
                step: 3,
                head: 0,
                ..
            },
        ) => {
            assert!(
                e.to_string()
                    .contains("loss of head 0 is NaN at epoch 2, step 3"),
                "{e}"
            );
        }
        other => panic!("expected a non-finite loss at epoch 2, step 3: {other:?}"),
    }
}

#[test]
fn a_killed_run_resumes_to_the_weight_of_an_uninterrupted_one() {
    let fake = Fake::new(4);
    let straight = tempfile::tempdir().unwrap();
    let all = fake
        .fit(&Checkpoint::new(straight.path()), false, Some(3))
        .unwrap_err();
    assert!(all.to_string().contains("killed"), "{all}");
    // Epochs 1-3 ran without interruption: its checkpoint holds the weight after epoch 3.
    let after_three = weight(straight.path(), &fake);

    let killed = tempfile::tempdir().unwrap();
    let err = fake
        .fit(&Checkpoint::new(killed.path()), false, Some(1))
        .unwrap_err();
    assert!(err.to_string().contains("killed"), "{err}");
    assert_eq!(Checkpoint::new(killed.path()).latest().unwrap(), Some(1));
    // Resumed: epochs 2 and 3 only, killed again after epoch 3.
    let resumed = fake.fit(&Checkpoint::new(killed.path()), true, Some(3));
    assert!(resumed.is_err());
    assert_eq!(Checkpoint::new(killed.path()).latest().unwrap(), Some(3));
    assert_eq!(
        weight(killed.path(), &fake).to_bits(),
        after_three.to_bits()
    );
    // And the rest of the run from there gives the straight run's last epoch.
    let rest = fake
        .fit(&Checkpoint::new(killed.path()), true, None)
        .unwrap();
    assert_eq!(rest.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![4]);
    let whole = Fake::new(4)
        .fit(
            &Checkpoint::new(tempfile::tempdir().unwrap().path()),
            false,
            None,
        )
        .unwrap();
    assert_eq!(rest[0], whole[3]);
}
