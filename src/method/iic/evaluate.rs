//! How an IIC model is scored without training it: every head's clusters of the test set
//! (merged down to the classes with `heads.merge`), the joints and losses over fixed samples of
//! the training set, and the trunk's features.

use super::{argmax, to_tensor, Iic};
use crate::backend::read_f32;
use crate::data::batch::{copies_batch, epoch_order, eval_batch};
use crate::data::ImageSet;
use crate::eval::{merge_by_mi, merge_by_ward, score, Centroids, Scores};
use crate::model::IicNet;
use crate::objective::{iic_loss_of_joint, joint_counts};
use crate::spec::MergeRule;
use crate::train::TrainError;
use burn::module::Module;

/// `heads.merge`: training images (each with one twin) whose joint P(z, z̄) decides the merges.
pub const MERGE_PAIRS: usize = 10_000;

/// One head's clustering of the test set, as scored.
#[derive(Debug, Clone)]
pub struct HeadEval {
    /// The cluster of each test image (the merged group's, with `heads.merge`).
    pub assigned: Vec<usize>,
    pub scores: Scores,
    /// With `heads.merge`: `merged[cluster]`, the group the cluster joined.
    pub merged: Option<Vec<usize>>,
}

impl Iic<'_> {
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

    /// A fixed sample of [`MERGE_PAIRS`] training images (labels dropped).
    fn merge_sample(&self) -> ImageSet {
        let train = &self.data.train;
        let order = epoch_order(train.len(), self.config.seed, usize::MAX);
        let order = &order[..MERGE_PAIRS.min(train.len())];
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
    pub(crate) fn pass_losses(&self, model: &IicNet) -> Result<Vec<f64>, TrainError> {
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
        super::super::eval_rows(set, &self.aug, at, &self.devices.eval, |x| {
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
}
