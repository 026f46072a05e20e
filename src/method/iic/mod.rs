//! IIC (Ji et al. 2019): a backbone with N softmax heads trained on (x, G(x)) pairs to maximise
//! the MI of the two cluster assignments; every head is scored on the test set after each
//! epoch and the head with the lowest loss — its training loss, or its loss over a fixed pass
//! of the training set (`heads.select`) — is the honest pick.
//!
//! `config` (what the spec resolves to), `step` (training), `evaluate` (scoring a model) and
//! `records` (what an epoch produced and the CSV rows it becomes).

pub mod config;
pub mod evaluate;
mod memory;
pub mod records;
pub mod step;

pub use config::{IicConfig, Lottery};
pub use evaluate::HeadEval;
pub use records::{EpochRecord, HeadScore, MetricsRow};

use super::{column_max, read_rows, Method, Recorder, StepAt, Table};
use crate::backend::Devices;
use crate::data::batch::{copies_batch, epoch_order, mix};
use crate::data::{Augmenter, Dataset};
use crate::model::IicNet;
use crate::spec::{AuxSchedule, HeadSelect};
use crate::store::StoreError;
use crate::train::schedule::Schedule;
use crate::train::TrainError;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Tensor, TensorData};
use records::{lowest_by, lowest_loss};
use std::path::Path;
use std::time::Instant;

/// IIC on a data set, on the run's devices.
pub struct Iic<'a> {
    pub config: IicConfig,
    pub(crate) aug: Augmenter,
    pub(crate) data: &'a Dataset,
    pub(crate) devices: &'a Devices,
}

/// `[n, channels, side, side]` images from their rows.
pub(crate) fn to_tensor(
    rows: Vec<f32>,
    n: usize,
    channels: usize,
    side: usize,
    device: &Device,
) -> Tensor<4> {
    Tensor::from_data(TensorData::new(rows, [n, channels, side, side]), device)
}

impl<'a> Iic<'a> {
    /// IIC as `config` describes it, on `data`.
    pub fn new(config: IicConfig, data: &'a Dataset, devices: &'a Devices) -> Self {
        Self {
            aug: Augmenter::new(config.augment.clone()),
            config,
            data,
            devices,
        }
    }

    /// Images the evaluation runs at once on the evaluation device.
    pub fn eval_chunk(&self) -> usize {
        self.devices.eval_chunk(self.config.net.largest_map())
    }

    /// Channels of the images.
    pub(crate) fn channels(&self) -> usize {
        self.config.net.backbone.in_channels
    }

    /// Rows the network sees per step: the originals and their twins.
    pub(crate) fn rows(&self) -> usize {
        (1 + self.config.augment.copies) * self.config.train.batch_size
    }
}

impl Method for Iic<'_> {
    type Model = IicNet;
    type Batch = Vec<f32>;
    type Record = EpochRecord;

    fn schedule(&self) -> &Schedule {
        &self.config.train
    }

    fn steps(&self) -> usize {
        self.data.train.len() / self.config.train.batch_size
    }

    fn init(&self) -> Result<IicNet, TrainError> {
        let c = &self.config;
        self.devices.check_batch(self.rows(), c.net.largest_map())?;
        let joint = c.aux_schedule == Some(AuxSchedule::Joint);
        self.devices.init_model(
            c.seed,
            true,
            |d| Ok::<_, TrainError>(c.net.init(d)?),
            |m, d| m.first_use(c.augment.size, c.net.backbone.in_channels, joint, d),
        )
    }

    fn batches(&self, epoch: usize) -> impl FnMut(usize) -> Vec<f32> + Send + '_ {
        let c = &self.config;
        let b = c.train.batch_size;
        let order = epoch_order(self.data.train.len(), c.seed, epoch);
        move |step| {
            let span = step * b..(step + 1) * b;
            copies_batch(
                &self.data.train,
                &order[span.clone()],
                span,
                &self.aug,
                c.seed,
                epoch,
                c.augment.copies,
            )
        }
    }

    fn step(
        &self,
        model: IicNet,
        optim: &mut ModuleOptimizer,
        batch: Vec<f32>,
        at: StepAt,
        _carry: &mut Option<f64>,
        history: &[Vec<f64>],
    ) -> Result<(IicNet, Vec<f64>), TrainError> {
        let x = to_tensor(
            batch,
            self.rows(),
            self.channels(),
            self.aug.size(),
            &self.devices.train,
        );
        let (mut model, values) = self.train_step(model, optim, x, at.step, at.lr)?;
        let mut values: Vec<f64> = values.into_iter().map(f64::from).collect();
        if let Some(lottery) = self.config.lottery {
            // One 0/1 per head after the losses: re-initialised after this step.
            let losers = if values.iter().all(|v| v.is_finite()) {
                lottery.losers(history, &values, at.step)
            } else {
                Vec::new()
            };
            let heads = values.len();
            values.extend((0..heads).map(|h| f64::from(u8::from(losers.contains(&h)))));
            for h in losers {
                // Drawn from a stream of its own (seed, epoch, step, head), so a resumed run
                // draws the same weights.
                let device = &self.devices.train;
                device.seed(mix(
                    self.config.seed,
                    (at.epoch as u64) << 32 | at.step as u64,
                    1 + h as u64,
                ));
                model = model.reinit_head(h, device);
            }
        }
        Ok((model, values))
    }

    fn losses(&self, values: &[f64]) -> usize {
        // With the lottery, a 0/1 per head follows the losses.
        if self.config.lottery.is_some() {
            values.len() / 2
        } else {
            values.len()
        }
    }

    fn progress(&self, history: &[Vec<f64>]) -> (String, Option<String>) {
        let last = history.last().map_or(&[][..], Vec::as_slice);
        let last = &last[..self.losses(last)];
        let mean = last.iter().sum::<f64>() / last.len().max(1) as f64;
        (format!("loss {mean:.4}"), None)
    }

    fn end_epoch(
        &self,
        model: &IicNet,
        history: &[Vec<f64>],
        at: StepAt,
        started: Instant,
    ) -> Result<EpochRecord, TrainError> {
        let heads = model.heads();
        let mut sums = vec![0f64; heads];
        let mut reinits = vec![0usize; heads];
        for values in history {
            for (s, v) in sums.iter_mut().zip(values) {
                *s += v;
            }
            for (r, v) in reinits.iter_mut().zip(values.iter().skip(heads)) {
                *r += *v as usize;
            }
        }
        let pass: Vec<Option<f64>> = match self.config.select {
            HeadSelect::TrainLoss => vec![None; heads],
            HeadSelect::FixedPass => self.pass_losses(model)?.into_iter().map(Some).collect(),
        };
        let head_scores: Vec<HeadScore> = sums
            .iter()
            .zip(self.evaluate(model)?)
            .zip(reinits)
            .zip(pass)
            .map(|(((s, e), reinits), pass_loss)| HeadScore {
                loss: s / history.len().max(1) as f64,
                accuracy: e.scores.accuracy,
                scores: e.scores,
                reinits,
                merged: e.merged,
                pass_loss,
            })
            .collect();
        let selected = match self.config.select {
            HeadSelect::TrainLoss => lowest_loss(&head_scores),
            HeadSelect::FixedPass => lowest_by(&head_scores, |h| h.pass_loss.unwrap_or(f64::NAN)),
        };
        Ok(EpochRecord {
            epoch: at.epoch + 1,
            lr: at.lr,
            seconds: started.elapsed().as_secs_f64(),
            selected,
            heads: head_scores,
        })
    }
}

impl Recorder for Iic<'_> {
    fn tables(&self, records: &[EpochRecord]) -> Result<Vec<Table>, StoreError> {
        records::tables(records, &self.config)
    }

    /// The selected head's loss by the run's own criterion: its training loss, or with
    /// `heads.select = "fixed_pass"` its loss over the fixed pass.
    fn weights_loss(&self, r: &EpochRecord) -> Option<f64> {
        let h = &r.heads[r.selected];
        Some(h.pass_loss.unwrap_or(h.loss))
    }

    fn kept_best_loss(&self, metrics: &Path, upto: usize) -> f64 {
        read_rows::<MetricsRow>(metrics)
            .into_iter()
            .filter(|r| r.epoch <= upto && r.selected == 1)
            .map(|r| r.criterion())
            .fold(f64::INFINITY, f64::min)
    }

    fn epoch_line(&self, r: &EpochRecord) -> Option<String> {
        Some(epoch_line(r, self.config.train.epochs))
    }

    fn summary(&self, records: &[EpochRecord], run_dir: &Path) -> Vec<(String, String)> {
        let mut row = Vec::new();
        if let Some(last) = records.last() {
            let accs: Vec<_> = last
                .heads
                .iter()
                .map(|h| format!("{:.6}", h.accuracy))
                .collect();
            let mean = last.heads.iter().map(|h| h.accuracy).sum::<f64>() / last.heads.len() as f64;
            let selected = &last.heads[last.selected];
            row.push(("epochs_done".into(), last.epoch.to_string()));
            row.push(("head_accuracies".into(), accs.join(";")));
            row.push(("mean_accuracy".into(), format!("{mean:.6}")));
            row.push(("selected_head".into(), last.selected.to_string()));
            row.push((
                "selected_accuracy".into(),
                format!("{:.6}", selected.accuracy),
            ));
            row.push(("selected_loss".into(), format!("{:.6}", selected.loss)));
            for &k in &self.config.extra {
                let v = selected.scores.get(k);
                row.push((format!("selected_{}", k.name()), format!("{v:.6}")));
            }
        }
        // The textbook's selection, for comparison only: the best accuracy of any head at any
        // epoch, picked on the test set (read back from metrics.csv, so resumed epochs count).
        let book = column_max(&run_dir.join("metrics.csv"), "accuracy");
        row.push(("book_accuracy".into(), format!("{book:.6}")));
        row
    }

    fn done_line(&self, records: &[EpochRecord], wall_seconds: f64, summary: &Path) -> String {
        match records.last() {
            Some(last) => format!(
                "done in {wall_seconds:.1}s: selected head {} (lowest loss, no labels) accuracy \
                 {:.4}; summary → {}",
                last.selected,
                last.heads[last.selected].accuracy,
                summary.display()
            ),
            None => format!(
                "done in {wall_seconds:.1}s: nothing left to train; summary → {}",
                summary.display()
            ),
        }
    }
}

/// Heads listed one by one on the epoch line; with more, the line gives their range.
const LISTED_HEADS: usize = 8;

/// One line per epoch: losses and accuracies of every head (with many heads, their range and
/// median), the selected head, lr and time.
pub fn epoch_line(r: &EpochRecord, epochs: usize) -> String {
    let losses: Vec<f64> = r.heads.iter().map(|h| h.loss).collect();
    let accs: Vec<f64> = r.heads.iter().map(|h| h.accuracy).collect();
    let heads = if r.heads.len() <= LISTED_HEADS {
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.4}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        format!("loss [{}]  acc [{}]", list(&losses), list(&accs))
    } else {
        format!(
            "{} heads: loss {}  acc {}",
            r.heads.len(),
            spread(&losses),
            spread(&accs)
        )
    };
    format!(
        "epoch {}/{epochs}  {heads}  selected h{} {:.4}  lr {:.2e}  {:.1}s",
        r.epoch, r.selected, r.heads[r.selected].accuracy, r.lr, r.seconds
    )
}

/// `min…max (median m)` of some values.
fn spread(values: &[f64]) -> String {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let median = v[v.len() / 2];
    format!("{:.4}…{:.4} (median {median:.4})", v[0], v[v.len() - 1])
}

pub(crate) fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(heads: usize) -> EpochRecord {
        let head = |i: usize| HeadScore {
            loss: -2.0 - i as f64 / 100.0,
            accuracy: 0.9 + i as f64 / 1000.0,
            scores: crate::eval::score(&[0, 1], &[0, 1], 2, 2),
            reinits: 0,
            merged: None,
            pass_loss: None,
        };
        EpochRecord {
            epoch: 3,
            lr: 1e-3,
            seconds: 12.0,
            heads: (0..heads).map(head).collect(),
            selected: heads - 1,
        }
    }

    /// A few heads are listed one by one; forty are a range, so the line stays readable.
    #[test]
    fn the_epoch_line_lists_few_heads_and_ranges_many() {
        let few = epoch_line(&record(3), 16);
        assert!(few.contains("acc [0.9000 0.9010 0.9020]"), "{few}");
        assert!(few.contains("selected h2 0.9020"), "{few}");
        let many = epoch_line(&record(40), 16);
        assert!(many.contains("40 heads: loss -2.3900…-2.0000"), "{many}");
        assert!(many.contains("acc 0.9000…0.9390 (median 0.9200)"), "{many}");
        assert!(many.contains("selected h39 0.9390"), "{many}");
        assert!(many.len() < 200, "{many}");
    }
}
