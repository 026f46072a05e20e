//! MINE as an encoder objective on images: encoder E and T trained jointly on (x, G(x)) pairs —
//! joint (E(x), E(G(x))), marginal (E(x), E(G(x'))) with the twins shuffled within the batch —
//! and the codes scored by a linear probe after every epoch.

pub mod config;
mod memory;
pub mod records;

pub use config::MineImagesConfig;
pub use records::{MetricsRow, MineEpoch};

use super::iic::to_tensor;
use super::{bound_of, column_max, opt, read_rows, scalar, Method, Recorder, StepAt, Table};
use crate::backend::Devices;
use crate::data::batch::{epoch_order, mix, pair_batch};
use crate::data::{Augmenter, Dataset, ImageSet};
use crate::eval::probe::{probe_accuracy, Codes};
use crate::model::MineImageNet;
use crate::objective::{dv_bound, Critic, Ema};
use crate::store::StoreError;
use crate::train::schedule::Schedule;
use crate::train::TrainError;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::time::Instant;

/// MINE on a data set, on the run's devices.
pub struct MineImages<'a> {
    pub config: MineImagesConfig,
    aug: Augmenter,
    data: &'a Dataset,
    devices: &'a Devices,
}

/// A step's input: `[2B, S·S]` rows (originals, then twins) and the permutation of the twins
/// that makes the marginal pairs.
pub struct PairBatch {
    rows: Vec<f32>,
    perm: Vec<i64>,
}

impl<'a> MineImages<'a> {
    /// MINE as `config` describes it, on `data`.
    pub fn new(config: MineImagesConfig, data: &'a Dataset, devices: &'a Devices) -> Self {
        Self {
            aug: Augmenter::new(config.augment.clone()),
            config,
            data,
            devices,
        }
    }

    /// Channels of the images.
    fn channels(&self) -> usize {
        self.config.net.backbone.in_channels
    }

    /// Codes of every image's centre crop, with the running BatchNorm statistics.
    pub fn encode_all(&self, model: &MineImageNet, set: &ImageSet) -> Result<Vec<f32>, TrainError> {
        let valid = model.valid();
        let chunk = self.devices.eval_chunk(self.config.net.largest_map());
        let at = (chunk, self.channels());
        super::eval_rows(set, &self.aug, at, &self.devices.eval, |x| valid.encode(x))
    }

    /// (held-out, book) probe accuracies of the current codes.
    /// The linear probe's accuracy on the codes after epoch index `epoch` (0-based), as
    /// `(held-out, book)`: fitted on train codes or on the test codes, scored on the test codes.
    /// The probe's seed depends on the epoch, so re-scoring saved weights reproduces the
    /// recorded numbers.
    pub fn probe_scores(
        &self,
        model: &MineImageNet,
        epoch: usize,
        probe_epochs: usize,
    ) -> Result<(f64, f64), TrainError> {
        let (data, devices) = (self.data, self.devices);
        let dim = self.config.net.latent;
        let seed = mix(self.config.seed, epoch as u64, 7);
        let train_codes = self.encode_all(model, &data.train)?;
        let test_codes = self.encode_all(model, &data.test)?;
        let train = Codes {
            values: &train_codes,
            labels: &data.train.labels,
            dim,
        };
        let test = Codes {
            values: &test_codes,
            labels: &data.test.labels,
            dim,
        };
        let run = |fit: Codes| {
            probe_accuracy(
                fit,
                test,
                data.classes,
                probe_epochs,
                seed,
                &devices.train,
                &devices.eval,
            )
        };
        Ok((run(train)?, run(test)?))
    }
}

impl Method for MineImages<'_> {
    type Model = MineImageNet;
    type Batch = PairBatch;
    type Record = MineEpoch;

    fn schedule(&self) -> &Schedule {
        &self.config.train
    }

    fn steps(&self) -> usize {
        self.data.train.len() / self.config.train.batch_size
    }

    fn init(&self) -> Result<MineImageNet, TrainError> {
        let (net, side, c) = (&self.config.net, self.aug.size(), self.channels());
        let model = self.devices.init_model(
            self.config.seed,
            true,
            |d| Ok::<_, TrainError>(net.init(d)?),
            |m, d| {
                let z = m.encode(Tensor::zeros([2, c, side, side], d));
                let _ = m.critic(z.clone(), z);
            },
        )?;
        self.devices
            .check_batch(2 * self.config.train.batch_size, net.largest_map())?;
        Ok(model)
    }

    fn batches(&self, epoch: usize) -> impl FnMut(usize) -> PairBatch + Send + '_ {
        let (seed, b) = (self.config.seed, self.config.train.batch_size);
        let order = epoch_order(self.data.train.len(), seed, epoch);
        move |step| {
            let span = step * b..(step + 1) * b;
            let rows = pair_batch(
                &self.data.train,
                &order[span.clone()],
                span,
                &self.aug,
                seed,
                epoch,
            );
            let mut perm: Vec<i64> = (0..b as i64).collect();
            perm.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(
                seed,
                epoch as u64,
                step as u64,
            )));
            PairBatch { rows, perm }
        }
    }

    fn step(
        &self,
        model: MineImageNet,
        optim: &mut ModuleOptimizer,
        batch: PairBatch,
        at: StepAt,
        carry: &mut Option<f64>,
        _history: &[Vec<f64>],
    ) -> Result<(MineImageNet, Vec<f64>), TrainError> {
        let (b, side) = (self.config.train.batch_size, self.aug.size());
        let dev = &self.devices.train;
        let x = to_tensor(batch.rows, 2 * b, self.channels(), side, dev);
        let z = model.encode(x);
        let (z1, z2) = (z.clone().narrow(0, 0, b), z.narrow(0, b, b));
        let perm = Tensor::<1, Int>::from_data(TensorData::new(batch.perm, [b]), dev);
        let critic = Critic::new(
            model.critic(z1.clone(), z2.clone()),
            model.critic(z1.clone(), z2.clone().select(0, perm)),
            || model.critic_all_pairs(z1.clone(), z2.clone()),
        );
        let bound_now = dv_bound(critic.joint.clone(), critic.marginal.clone()).detach();
        let mut ema = Ema {
            // Only `mine_ema` reads the rate.
            rate: self.config.ema_rate.unwrap_or_default(),
            value: *carry,
        };
        let loss = bound_of(self.config.loss)?.loss(&critic, &mut ema);
        drop(critic);
        *carry = ema.value;
        let value = scalar(loss.clone())?;
        if !value.is_finite() {
            return Ok((model, vec![value]));
        }
        let bound = scalar(bound_now)?;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        Ok((optim.step(at.lr, model, grads), vec![value, bound]))
    }

    fn losses(&self, _: &[f64]) -> usize {
        1
    }

    fn progress(&self, history: &[Vec<f64>]) -> (String, Option<String>) {
        let value = history.last().map_or(f64::NAN, |v| v[0]);
        (format!("loss {value:.4}"), None)
    }

    fn end_epoch(
        &self,
        model: &MineImageNet,
        history: &[Vec<f64>],
        at: StepAt,
        started: Instant,
    ) -> Result<MineEpoch, TrainError> {
        let (mut loss_sum, mut bound_sum) = (0.0, 0.0);
        for v in history {
            loss_sum += v[0];
            bound_sum += v[1];
        }
        let (probe_heldout, probe_book) = if self.config.probe {
            let (h, bk) = self.probe_scores(model, at.epoch, self.config.probe_epochs)?;
            (Some(h), Some(bk))
        } else {
            (None, None)
        };
        let steps = history.len().max(1) as f64;
        Ok(MineEpoch {
            epoch: at.epoch + 1,
            lr: at.lr,
            seconds: started.elapsed().as_secs_f64(),
            loss: loss_sum / steps,
            estimate: bound_sum / steps,
            probe_heldout,
            probe_book,
        })
    }
}

impl Recorder for MineImages<'_> {
    fn tables(&self, records: &[MineEpoch]) -> Result<Vec<Table>, StoreError> {
        let rows: Vec<MetricsRow> = records.iter().map(MetricsRow::of).collect();
        Ok(vec![Table::of("metrics.csv", &rows)?])
    }

    fn weights_loss(&self, r: &MineEpoch) -> Option<f64> {
        Some(r.loss)
    }

    fn kept_best_loss(&self, metrics: &Path, upto: usize) -> f64 {
        read_rows::<MetricsRow>(metrics)
            .into_iter()
            .filter(|r| r.epoch <= upto)
            .map(|r| r.loss.0)
            .fold(f64::INFINITY, f64::min)
    }

    fn epoch_line(&self, r: &MineEpoch) -> Option<String> {
        Some(format!(
            "epoch {}/{}  loss {:.4}  MI estimate {:.4}  probe held-out {}  book {}  lr {:.2e}  \
             {:.1}s",
            r.epoch,
            self.config.train.epochs,
            r.loss,
            r.estimate,
            opt(r.probe_heldout),
            opt(r.probe_book),
            r.lr,
            r.seconds
        ))
    }

    fn summary(&self, records: &[MineEpoch], run_dir: &Path) -> Vec<(String, String)> {
        let last = records.last();
        // The reference's selection, for comparison only: best book-protocol epoch on the
        // test set (read back from metrics.csv, so resumed epochs count).
        let best_book = column_max(&run_dir.join("metrics.csv"), "probe_book");
        vec![
            // The last epoch's number, not this process's count: a resumed run counts all.
            (
                "epochs_done".into(),
                last.map_or(0, |r| r.epoch).to_string(),
            ),
            (
                "probe_heldout".into(),
                opt(last.and_then(|r| r.probe_heldout)),
            ),
            ("probe_book".into(), opt(last.and_then(|r| r.probe_book))),
            ("probe_book_best".into(), format!("{best_book:.6}")),
            ("mi_estimate".into(), opt(last.map(|r| r.estimate))),
            ("loss".into(), opt(last.map(|r| r.loss))),
        ]
    }

    fn done_line(&self, records: &[MineEpoch], wall_seconds: f64, summary: &Path) -> String {
        let last = records.last();
        format!(
            "done in {wall_seconds:.1}s: probe accuracy held-out {} (book protocol {}); summary \
             → {}",
            opt(last.and_then(|r| r.probe_heldout)),
            opt(last.and_then(|r| r.probe_book)),
            summary.display()
        )
    }
}
