//! MINE on a correlated Gaussian (Belghazi et al. 2018): T(x, y) alone, trained on the bound
//! for `train.steps` steps of fresh samples; the estimate (mean of the bound over the last
//! [`RUNNING_MEAN`] steps) is written beside the analytic MI and a binned estimate.

pub mod config;
mod memory;
pub mod records;

pub use config::GaussianConfig;
pub use records::{GaussianRun, MetricsRow, MiStep};

use super::{bound_of, opt, scalar, Method, Recorder, StepAt, Table};
use crate::backend::Devices;
use crate::data::batch::mix;
use crate::data::gaussian::shuffled_rows;

use crate::eval::binned_mi_pairs;
use crate::model::StatisticsNet;
use crate::objective::{Critic, Ema};
use crate::spec::MarginalKind;
use crate::store::{Dec, StoreError};
use crate::train::schedule::Schedule;
use crate::train::TrainError;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::time::Instant;

/// Steps over which the reported estimate is averaged (the reference's 100).
pub const RUNNING_MEAN: usize = 100;

/// MINE on the Gaussian, with the reference values computed once.
pub struct MineGaussian<'a> {
    pub config: GaussianConfig,
    analytic: Option<f64>,
    binned: Option<f64>,
    devices: &'a Devices,
}

fn matrix(values: Vec<f32>, n: usize, d: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [n, d]), device)
}

/// Mean of the last [`RUNNING_MEAN`] bounds up to and including `bounds[i]`.
fn running_mean(bounds: &[f64], i: usize) -> f64 {
    let window = &bounds[(i + 1).saturating_sub(RUNNING_MEAN)..=i];
    window.iter().sum::<f64>() / window.len() as f64
}

impl<'a> MineGaussian<'a> {
    /// MINE as `config` describes it; computes the analytic and binned references.
    pub fn new(config: GaussianConfig, devices: &'a Devices) -> Self {
        let g = &config.gaussian;
        let analytic = config.analytic.then(|| g.analytic_mi());
        let binned = config.binned.map(|(n, bins)| {
            let mut rng = ChaCha8Rng::seed_from_u64(mix(config.seed, 1, 1));
            let (x, y) = g.joint(n, &mut rng);
            binned_mi_pairs(&x, &y, g.dim, bins)
        });
        Self {
            config,
            analytic,
            binned,
            devices,
        }
    }
}

/// Joint samples (x, y) and y for the marginal, `[n·d]` each.
pub struct GaussianBatch {
    x: Vec<f32>,
    y: Vec<f32>,
    y_marginal: Vec<f32>,
}

impl Method for MineGaussian<'_> {
    type Model = StatisticsNet;
    type Batch = GaussianBatch;
    type Record = GaussianRun;

    fn schedule(&self) -> &Schedule {
        &self.config.train
    }

    /// One "epoch" of `train.steps` steps.
    fn epochs(&self) -> usize {
        1
    }

    fn steps(&self) -> usize {
        self.config.steps
    }

    /// A constant learning rate (the reference's).
    fn lr(&self, _epoch: usize) -> f64 {
        self.config.train.lr
    }

    fn init(&self) -> Result<StatisticsNet, TrainError> {
        let (d, hidden) = (self.config.gaussian.dim, self.config.hidden);
        self.devices.init_model(
            self.config.seed,
            true,
            |dev| Ok::<_, TrainError>(StatisticsNet::new(d, d, hidden, dev)),
            |m, dev| {
                let z = Tensor::<2>::zeros([1, d], dev);
                let _ = m.forward(z.clone(), z);
            },
        )
    }

    fn batches(&self, _epoch: usize) -> impl FnMut(usize) -> GaussianBatch + Send + '_ {
        // One stream for the whole run, drawn in step order.
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.config.seed, 0, 0));
        let (g, n) = (&self.config.gaussian, self.config.train.batch_size);
        let marginal = self.config.marginal;
        move |_| {
            let (x, y) = g.joint(n, &mut rng);
            let y_marginal = match marginal {
                MarginalKind::Independent => g.joint(n, &mut rng).1,
                MarginalKind::Shuffle => shuffled_rows(&y, g.dim, &mut rng),
            };
            GaussianBatch { x, y, y_marginal }
        }
    }

    fn step(
        &self,
        model: StatisticsNet,
        optim: &mut ModuleOptimizer,
        batch: GaussianBatch,
        at: StepAt,
        carry: &mut Option<f64>,
        _history: &[Vec<f64>],
    ) -> Result<(StatisticsNet, Vec<f64>), TrainError> {
        let (n, d) = (self.config.train.batch_size, self.config.gaussian.dim);
        let dev = &self.devices.train;
        let x = matrix(batch.x, n, d, dev);
        let y = matrix(batch.y, n, d, dev);
        let critic = Critic::new(
            model.forward(x.clone(), y.clone()),
            model.forward(x.clone(), matrix(batch.y_marginal, n, d, dev)),
            || model.all_pairs(x.clone(), y.clone()),
        );
        let mut ema = Ema {
            // Only `mine_ema` reads the rate.
            rate: self.config.ema_rate.unwrap_or_default(),
            value: *carry,
        };
        let loss = bound_of(self.config.loss)?.loss(&critic, &mut ema);
        drop(critic);
        *carry = ema.value;
        let bound = -scalar(loss.clone())?;
        if !bound.is_finite() {
            return Ok((model, vec![bound]));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        Ok((optim.step(at.lr, model, grads), vec![bound]))
    }

    fn progress(&self, history: &[Vec<f64>]) -> (String, Option<String>) {
        // Only the last window: this runs every step.
        let from = history.len().saturating_sub(RUNNING_MEAN);
        let bounds: Vec<f64> = history[from..].iter().map(|v| v[0]).collect();
        let i = bounds.len() - 1;
        let estimate = running_mean(&bounds, i);
        let steps = self.config.steps;
        let step = history.len();
        let line = step.is_multiple_of((steps / 10).max(1)).then(|| {
            format!(
                "step {step}/{steps}  bound {:.4}  estimate (mean of last {}) {estimate:.4}",
                bounds[i],
                RUNNING_MEAN.min(step),
            )
        });
        (format!("estimate {estimate:.4}"), line)
    }

    fn end_epoch(
        &self,
        _model: &StatisticsNet,
        history: &[Vec<f64>],
        _at: StepAt,
        _started: Instant,
    ) -> Result<GaussianRun, TrainError> {
        let bounds: Vec<f64> = history.iter().map(|v| v[0]).collect();
        let steps = (0..bounds.len())
            .map(|i| MiStep {
                step: i + 1,
                bound: bounds[i],
                estimate: running_mean(&bounds, i),
            })
            .collect();
        Ok(GaussianRun { steps })
    }
}

impl Recorder for MineGaussian<'_> {
    fn intro(&self) -> Option<String> {
        let g = &self.config.gaussian;
        Some(format!(
            "gaussian ρ = {}, d = {}: analytic MI {}, binned MI {}",
            g.rho,
            g.dim,
            opt(self.analytic),
            opt(self.binned)
        ))
    }

    fn tables(&self, records: &[GaussianRun]) -> Result<Vec<Table>, StoreError> {
        let rows: Vec<MetricsRow> = records
            .iter()
            .flat_map(|r| &r.steps)
            .map(|r| MetricsRow {
                step: r.step,
                bound: Dec(r.bound),
                estimate: Dec(r.estimate),
                analytic_mi: self.analytic.map(Dec),
                binned_mi: self.binned.map(Dec),
            })
            .collect();
        Ok(vec![Table::of("metrics.csv", &rows)?])
    }

    fn weights_loss(&self, _: &GaussianRun) -> Option<f64> {
        None
    }

    fn kept_best_loss(&self, _: &Path, _: usize) -> f64 {
        f64::INFINITY
    }

    fn epoch_line(&self, _: &GaussianRun) -> Option<String> {
        None
    }

    fn summary(&self, records: &[GaussianRun], _: &Path) -> Vec<(String, String)> {
        let steps: Vec<&MiStep> = records.iter().flat_map(|r| &r.steps).collect();
        vec![
            ("steps_done".into(), steps.len().to_string()),
            ("mi_estimate".into(), opt(steps.last().map(|r| r.estimate))),
            ("analytic_mi".into(), opt(self.analytic)),
            ("binned_mi".into(), opt(self.binned)),
        ]
    }

    fn done_line(&self, records: &[GaussianRun], wall_seconds: f64, summary: &Path) -> String {
        let last = records.last().and_then(|r| r.steps.last());
        let mut line = format!(
            "done in {wall_seconds:.1}s: MINE estimate {}",
            opt(last.map(|r| r.estimate))
        );
        let refs: Vec<String> = [("analytic", self.analytic), ("binned", self.binned)]
            .into_iter()
            .filter_map(|(name, v)| v.map(|v| format!("{name} {v:.6}")))
            .collect();
        if !refs.is_empty() {
            line.push_str(&format!(" ({})", refs.join(", ")));
        }
        line + &format!("; summary → {}", summary.display())
    }
}
