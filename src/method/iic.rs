//! IIC (Ji et al. 2019): a backbone with N softmax heads trained on (x, G(x)) pairs to maximise
//! the MI of the two cluster assignments; every head is scored on the test set after each
//! epoch and the head with the lowest loss — its training loss, or its loss over a fixed pass
//! of the training set (`heads.select`) — is the honest pick.

use super::{column_max, read_rows, Method, Recorder, StepAt, Table};
use crate::backend::{read_f32, Devices};
use crate::data::batch::mix;
use crate::data::batch::{copies_batch, epoch_order, eval_batch};
use crate::data::{Augmenter, Dataset, ImageSet};
use crate::eval::{merge_by_mi, merge_by_ward, score, Centroids, Scores};
use crate::model::{BackboneConfig, IicNet, IicNetConfig};
use crate::objective::{
    confident_targets, iic_loss, iic_loss_of_joint, joint_counts, self_label_loss,
};
use crate::spec::{
    defaults, AugmentSpec, AuxSchedule, EvaluatorKind, HeadSelect, LossKind, MergeRule, Spec,
    TrainSpec,
};
use crate::store::records::{lowest_by, lowest_loss, EpochRecord, HeadScore};
use crate::store::run_dir::{confusion_rows, evaluator_value, merges_rows, metrics_rows};
use crate::train::TrainError;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use std::path::Path;
use std::time::Instant;

/// One head's clustering of the test set, as scored.
#[derive(Debug, Clone)]
pub struct HeadEval {
    /// The cluster of each test image (the merged group's, with `heads.merge`).
    pub assigned: Vec<usize>,
    pub scores: Scores,
    /// With `heads.merge`: `merged[cluster]`, the group the cluster joined.
    pub merged: Option<Vec<usize>>,
}

/// An IIC pipeline, resolved once from its spec: only what IIC reads, no options left.
#[derive(Debug, Clone)]
pub struct IicConfig {
    pub seed: u64,
    pub net: IicNetConfig,
    pub augment: AugmentSpec,
    pub train: TrainSpec,
    /// Probabilities below this are clipped before taking logs.
    pub eps: f64,
    /// λ: weight of the marginals' entropy in the loss (1 = minus the mutual information).
    pub entropy_weight: f64,
    /// What the main heads minimise (`loss.kind`).
    pub loss: HeadLoss,
    /// How the reported head is chosen.
    pub select: HeadSelect,
    /// How the over-clustering heads share the steps (when there are any).
    pub aux_schedule: Option<AuxSchedule>,
    /// Clustering evaluators reported beside Hungarian accuracy.
    pub extra: Vec<EvaluatorKind>,
    /// The sub-head lottery, when it runs.
    pub lottery: Option<Lottery>,
    /// How surplus clusters are merged down to the classes before scoring, if they are.
    pub merge: Option<MergeRule>,
}

/// The columns of a `metrics.csv` row that say which head was selected and by what loss (the
/// same definitions `weights-best.bpk` is chosen by, read back on resume and by `mirun eval`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SelectedRow {
    pub epoch: usize,
    pub head: usize,
    pub loss: f64,
    pub selected: u8,
    /// With `heads.select = "fixed_pass"`.
    #[serde(default)]
    pub pass_loss: Option<f64>,
}

impl SelectedRow {
    /// The loss the head was selected by (and the best weights kept by).
    pub fn criterion(&self) -> f64 {
        self.pass_loss.unwrap_or(self.loss)
    }
}

/// What an IIC pipeline's main heads minimise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HeadLoss {
    /// Minus the mutual information of the two views' cluster assignments.
    Iic,
    /// The twins learn the argmax of the originals whose top probability reaches `threshold`.
    SelfLabel { threshold: f64 },
}

/// The sub-head lottery: every `every` steps, re-initialise the heads whose mean loss over
/// those steps lags the best head's by more than `margin` nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lottery {
    pub every: usize,
    pub margin: f64,
}

impl Lottery {
    /// The heads to re-initialise after step `step` (0-based) of an epoch, given the losses of
    /// the epoch's earlier steps and of this one: none unless a full window of `every` steps
    /// ends here.
    pub fn losers(&self, history: &[Vec<f64>], now: &[f64], step: usize) -> Vec<usize> {
        if !(step + 1).is_multiple_of(self.every) || history.len() + 1 < self.every {
            return Vec::new();
        }
        let window = history[history.len() + 1 - self.every..]
            .iter()
            .map(Vec::as_slice)
            .chain([now]);
        let mut sums = vec![0f64; now.len()];
        for values in window {
            for (s, v) in sums.iter_mut().zip(values) {
                *s += v;
            }
        }
        let best = sums.iter().copied().fold(f64::INFINITY, f64::min);
        let limit = best + self.margin * self.every as f64;
        (0..sums.len()).filter(|&h| sums[h] > limit).collect()
    }
}

impl IicConfig {
    /// Reads a validated spec.
    pub fn resolve(spec: &Spec) -> Result<Self, TrainError> {
        Ok(Self {
            seed: spec.pipeline.seed,
            net: IicNetConfig {
                backbone: BackboneConfig::from_spec(
                    &spec.backbone,
                    spec.image_shape().channels,
                    spec.train.precision,
                )?,
                input_size: spec.augment.size,
                heads: spec.heads.count,
                clusters: spec.clusters(),
                overcluster: spec.heads.overcluster,
            },
            augment: spec.augment.clone(),
            train: spec.train.clone(),
            eps: spec.loss.eps,
            entropy_weight: spec.loss.entropy_weight.unwrap_or(defaults::ENTROPY_WEIGHT),
            loss: match spec.loss.kind {
                LossKind::Iic => HeadLoss::Iic,
                LossKind::SelfLabel => HeadLoss::SelfLabel {
                    threshold: spec.loss.threshold.unwrap_or(defaults::SELFLABEL_THRESHOLD),
                },
                other => {
                    return Err(TrainError::Model(format!(
                        "loss.kind {other:?} is a MINE bound, not a loss for clustering heads"
                    )))
                }
            },
            aux_schedule: spec.heads.aux_schedule,
            select: spec.heads.select.unwrap_or_default(),
            extra: spec.evaluator.extra(),
            merge: spec.heads.merge,
            lottery: spec.heads.lottery_every.map(|every| Lottery {
                every,
                margin: spec
                    .heads
                    .lottery_margin
                    .unwrap_or(defaults::LOTTERY_MARGIN),
            }),
        })
    }
}

/// IIC on a data set, on the run's devices.
pub struct Iic<'a> {
    pub config: IicConfig,
    aug: Augmenter,
    data: &'a Dataset,
    devices: &'a Devices,
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
    fn channels(&self) -> usize {
        self.config.net.backbone.in_channels
    }

    /// Rows the network sees per step: the originals and their twins.
    fn rows(&self) -> usize {
        (1 + self.config.augment.copies) * self.config.train.batch_size
    }

    /// Every head's clustering of the test set's centre crops (running BatchNorm statistics)
    /// and its scores; with `heads.merge`, after merging its clusters down to the classes.
    pub fn evaluate(&self, model: &IicNet) -> Result<Vec<HeadEval>, TrainError> {
        let assigned = self.assignments(model, &self.data.test)?;
        let labels: Vec<usize> = self.data.test.labels.iter().map(|&l| l as usize).collect();
        let (clusters, classes) = (self.config.net.clusters, self.data.classes);
        // Validation allows a merge only where there are more clusters than classes.
        let groups: Vec<Option<Vec<usize>>> = match self.config.merge {
            Some(MergeRule::Mi) => self
                .pair_joints(model)?
                .iter()
                .map(|p| Some(merge_by_mi(p, classes)))
                .collect(),
            Some(MergeRule::Ward) => self
                .pixel_means(model)?
                .iter()
                .map(|c| Some(merge_by_ward(c, classes)))
                .collect(),
            None => vec![None; assigned.len()],
        };
        Ok(assigned
            .into_iter()
            .zip(groups)
            .map(|(a, merged)| {
                let (assigned, k): (Vec<usize>, usize) = match &merged {
                    Some(g) => (a.iter().map(|&c| g[c]).collect(), classes),
                    None => (a, clusters),
                };
                HeadEval {
                    scores: score(&assigned, &labels, k, classes),
                    assigned,
                    merged,
                }
            })
            .collect())
    }

    /// A fixed sample of [`defaults::MERGE_PAIRS`] training images (labels dropped).
    fn merge_sample(&self) -> ImageSet {
        let train = &self.data.train;
        let order = epoch_order(train.len(), self.config.seed, usize::MAX);
        let order = &order[..defaults::MERGE_PAIRS.min(train.len())];
        ImageSet {
            pixels: order
                .iter()
                .flat_map(|&i| train.image(i))
                .copied()
                .collect(),
            labels: vec![0; order.len()],
        }
    }

    /// Every head's clusters on the merge sample: members and mean pixels (evaluation view).
    fn pixel_means(&self, model: &IicNet) -> Result<Vec<Centroids>, TrainError> {
        let sample = self.merge_sample();
        let k = self.config.net.clusters;
        let s2 = self.aug.size() * self.aug.size();
        let pixels = eval_batch(&sample, 0..sample.len(), &self.aug);
        Ok(self
            .assignments(model, &sample)?
            .iter()
            .map(|assigned| {
                let mut counts = vec![0usize; k];
                let mut means = vec![vec![0f64; s2]; k];
                for (&c, image) in assigned.iter().zip(pixels.chunks(s2)) {
                    counts[c] += 1;
                    for (m, &p) in means[c].iter_mut().zip(image) {
                        *m += f64::from(p);
                    }
                }
                for (m, &n) in means.iter_mut().zip(&counts) {
                    m.iter_mut().for_each(|v| *v /= n.max(1) as f64);
                }
                Centroids { counts, means }
            })
            .collect())
    }

    /// Every head's joint P(z, z̄) (unnormalised, `clusters × clusters`) over a fixed sample
    /// of training images and one twin each, drawn as in training (running statistics).
    fn pair_joints(&self, model: &IicNet) -> Result<Vec<Vec<Vec<f64>>>, TrainError> {
        self.joints_over(model, &self.merge_sample())
    }

    /// Every head's IIC loss over one fixed augmented pass of the training set: every image
    /// and one twin, drawn the same way at every epoch (`heads.select = "fixed_pass"`).
    fn pass_losses(&self, model: &IicNet) -> Result<Vec<f64>, TrainError> {
        let c = &self.config;
        Ok(self
            .joints_over(model, &self.data.train)?
            .iter()
            .map(|j| iic_loss_of_joint(j, c.eps, c.entropy_weight))
            .collect())
    }

    /// Every head's joint P(z, z̄) (unnormalised) over `sample` and one twin of each image
    /// (drawn with the run's seed, as at epoch 0), running statistics.
    fn joints_over(
        &self,
        model: &IicNet,
        sample: &ImageSet,
    ) -> Result<Vec<Vec<Vec<f64>>>, TrainError> {
        let valid = model.valid();
        let c = &self.config;
        let k = c.net.clusters;
        let chunk = (self.eval_chunk() / 2).max(1);
        let mut joints = vec![vec![vec![0f64; k]; k]; valid.heads()];
        for start in (0..sample.len()).step_by(chunk) {
            let end = (start + chunk).min(sample.len());
            let b = end - start;
            let images: Vec<usize> = (start..end).collect();
            let rows = copies_batch(sample, &images, start..end, &self.aug, c.seed, 0, 1);
            let x = to_tensor(
                rows,
                2 * b,
                self.channels(),
                self.aug.size(),
                &self.devices.eval,
            );
            for (joint, z) in joints.iter_mut().zip(valid.forward(x)) {
                let counts = read_f32(joint_counts(z.clone().narrow(0, 0, b), z.narrow(0, b, b)))?;
                for (v, &n) in joint.iter_mut().flatten().zip(&counts) {
                    *v += f64::from(n);
                }
            }
        }
        Ok(joints)
    }

    /// The trunk's features of every image of `set` (evaluation view, running statistics),
    /// row-major `len × features`.
    pub fn features(&self, model: &IicNet, set: &ImageSet) -> Result<Vec<f32>, TrainError> {
        let valid = model.valid();
        let at = (self.eval_chunk(), self.channels());
        super::eval_rows(set, &self.aug, at, &self.devices.eval, |x| {
            valid.features(x)
        })
    }

    /// Every head's cluster (argmax) for each image of `set` (centre crops, running
    /// statistics), [`Self::eval_chunk`] images at a time.
    pub fn assignments(
        &self,
        model: &IicNet,
        set: &ImageSet,
    ) -> Result<Vec<Vec<usize>>, TrainError> {
        let valid = model.valid();
        let (side, chunk) = (self.aug.size(), self.eval_chunk());
        let clusters = self.config.net.clusters;
        let n = set.len();
        let mut assigned: Vec<Vec<usize>> = vec![Vec::with_capacity(n); valid.heads()];
        for start in (0..n).step_by(chunk) {
            let end = (start + chunk).min(n);
            let rows = eval_batch(set, start..end, &self.aug);
            let x = to_tensor(rows, end - start, self.channels(), side, &self.devices.eval);
            for (head, z) in valid.forward(x).into_iter().enumerate() {
                let probs = read_f32(z)?;
                assigned[head].extend(probs.chunks(clusters).map(argmax));
            }
        }
        Ok(assigned)
    }

    /// One IIC training step on `x` (`[(1 + copies)·B, 1, S, S]`: B originals, then `copies`
    /// blocks of B twins, as `copies_batch` lays them out): forward, the loss of every main head
    /// — and of the over-clustering heads when this `step` trains them — backward, Adam step.
    /// Returns the model and the main heads' losses, read back before the update; when one is
    /// not finite the model is returned unchanged. (Also `mirun bench`'s step.)
    pub fn train_step(
        &self,
        model: IicNet,
        optim: &mut ModuleOptimizer,
        x: Tensor<4>,
        step: usize,
        lr: f64,
    ) -> Result<(IicNet, Vec<f32>), TrainError> {
        let c = &self.config;
        let (b, copies, eps, weight) = (
            c.train.batch_size,
            c.augment.copies,
            c.eps,
            c.entropy_weight,
        );
        // Main heads train on every step, except the odd steps of the alternating schedule.
        let (main_on, aux_on) = match c.aux_schedule {
            None => (true, false),
            Some(AuxSchedule::Joint) => (true, true),
            Some(AuxSchedule::Alternate) => (step.is_multiple_of(2), !step.is_multiple_of(2)),
        };
        let (zs, aux_zs) = model.forward_with_aux(x, aux_on);
        let pair_loss = |z: Tensor<2>| {
            let originals = z.clone().narrow(0, 0, b);
            let tiled = Tensor::cat(vec![originals; copies], 0);
            iic_loss(tiled, z.narrow(0, b, copies * b), eps, weight)
        };
        // Self-labelling: the originals' confident argmax, read back, labels their twins.
        let self_label = |z: Tensor<2>, threshold: f64| -> Result<Tensor<1>, TrainError> {
            let k = z.dims()[1];
            let weak = read_f32(z.clone().narrow(0, 0, b))?;
            let (targets, weights) = confident_targets(&weak, k, threshold);
            Ok(self_label_loss(
                z.narrow(0, b, copies * b),
                &targets,
                &weights,
                eps,
            ))
        };
        let main = match c.loss {
            HeadLoss::Iic => Tensor::cat(zs.into_iter().map(pair_loss).collect(), 0),
            HeadLoss::SelfLabel { threshold } => {
                let losses = zs.into_iter().map(|z| self_label(z, threshold));
                Tensor::cat(losses.collect::<Result<Vec<_>, _>>()?, 0)
            }
        };
        let values = read_f32(main.clone())?;
        if values.iter().any(|v| !v.is_finite()) {
            return Ok((model, values));
        }
        // Without over-clustering heads `aux_zs` is empty, and the alternate schedule (which
        // has them, by validation) always trains one of the two groups.
        let aux = (!aux_zs.is_empty())
            .then(|| Tensor::cat(aux_zs.into_iter().map(pair_loss).collect(), 0).mean());
        let objective = [main_on.then(|| main.mean()), aux]
            .into_iter()
            .flatten()
            .reduce(|a, b| a + b);
        let model = match objective {
            Some(o) => {
                let grads = GradientsParams::from_grads(o.backward(), &model);
                optim.step(lr, model, grads)
            }
            None => model,
        };
        Ok((model, values))
    }

    /// A copies batch of training images at `positions` of the epoch order (for `mirun bench`).
    pub fn batch_at(
        &self,
        order: &[usize],
        positions: std::ops::Range<usize>,
        epoch: usize,
    ) -> Tensor<4> {
        let c = &self.config;
        let rows = copies_batch(
            &self.data.train,
            &order[positions.clone()],
            positions,
            &self.aug,
            c.seed,
            epoch,
            c.augment.copies,
        );
        to_tensor(
            rows,
            self.rows(),
            self.channels(),
            self.aug.size(),
            &self.devices.train,
        )
    }
}

impl Method for Iic<'_> {
    type Model = IicNet;
    type Batch = Vec<f32>;
    type Record = EpochRecord;

    fn schedule(&self) -> &TrainSpec {
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
    fn tables(&self, records: &[EpochRecord]) -> Vec<Table> {
        let lottery = self.config.lottery.is_some();
        let pass = self.config.select == HeadSelect::FixedPass;
        let (header, rows) = metrics_rows(records, &self.config.extra, lottery, pass);
        let (c_header, c_rows) = confusion_rows(records);
        let mut tables = vec![
            Table {
                file: "metrics.csv",
                header,
                rows,
            },
            Table {
                file: "confusion.csv",
                header: c_header,
                rows: c_rows,
            },
        ];
        if self.config.merge.is_some() {
            let (header, rows) = merges_rows(records);
            tables.push(Table {
                file: "merges.csv",
                header,
                rows,
            });
        }
        tables
    }

    /// The selected head's loss by the run's own criterion: its training loss, or with
    /// `heads.select = "fixed_pass"` its loss over the fixed pass.
    fn weights_loss(&self, r: &EpochRecord) -> Option<f64> {
        let h = &r.heads[r.selected];
        Some(h.pass_loss.unwrap_or(h.loss))
    }

    fn kept_best_loss(&self, metrics: &Path, upto: usize) -> f64 {
        read_rows::<SelectedRow>(metrics)
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
                let v = evaluator_value(&selected.scores, k);
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

/// One line per epoch: losses and accuracies of every head, the selected head, lr and time.
pub fn epoch_line(r: &EpochRecord, epochs: usize) -> String {
    let losses: Vec<_> = r.heads.iter().map(|h| format!("{:.4}", h.loss)).collect();
    let accs: Vec<_> = r
        .heads
        .iter()
        .map(|h| format!("{:.4}", h.accuracy))
        .collect();
    format!(
        "epoch {}/{epochs}  loss [{}]  acc [{}]  selected h{} {:.4}  lr {:.2e}  {:.1}s",
        r.epoch,
        losses.join(" "),
        accs.join(" "),
        r.selected,
        r.heads[r.selected].accuracy,
        r.lr,
        r.seconds
    )
}

fn argmax(row: &[f32]) -> usize {
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
    use super::Lottery;

    #[test]
    fn the_lottery_draws_at_the_end_of_each_full_window_only() {
        let l = Lottery {
            every: 2,
            margin: 0.1,
        };
        let history = vec![vec![-1.0, -0.5, -0.95]];
        // Step 1 ends the first window of 2 steps: head 1 lags by 0.5 per step, head 2 by 0.05.
        assert_eq!(l.losers(&history, &[-1.0, -0.5, -0.95], 1), vec![1]);
        // Step 0 ends no window.
        assert!(l.losers(&[], &[-1.0, -0.5, -0.95], 0).is_empty());
        // A zero margin re-initialises every head but the best.
        let l0 = Lottery {
            every: 1,
            margin: 0.0,
        };
        assert_eq!(l0.losers(&[], &[-1.0, -0.5, -0.9], 0), vec![1, 2]);
    }
}
