//! One IIC training step: the loss of every head on a batch of originals and twins, backward,
//! and the optimiser's update.

use super::to_tensor;
use crate::backend::read_f32;
use crate::data::batch::copies_batch;
use crate::model::IicNet;
use crate::objective::heads::Iic;
use crate::objective::HeadLoss;
use crate::spec::AuxSchedule;
use crate::train::TrainError;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

impl super::Iic<'_> {
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
        let losses = zs.into_iter().map(|z| c.loss.loss(z, b, copies));
        let main = Tensor::cat(losses.collect::<Result<Vec<_>, _>>()?, 0);
        let values = read_f32(main.clone())?;
        if values.iter().any(|v| !v.is_finite()) {
            return Ok((model, values));
        }
        // Without over-clustering heads `aux_zs` is empty, and the alternate schedule (which
        // has them, by validation) always trains one of the two groups.
        // The over-clustering heads always minimise IIC's loss.
        let aux_loss = Iic {
            eps,
            entropy_weight: weight,
        };
        let aux = match aux_zs.is_empty() {
            true => None,
            false => {
                let losses = aux_zs.into_iter().map(|z| aux_loss.loss(z, b, copies));
                Some(Tensor::cat(losses.collect::<Result<Vec<_>, _>>()?, 0).mean())
            }
        };
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
