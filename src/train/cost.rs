//! What a run costs in wall time, said before it is spent: an estimate from the run's own
//! first steps (the first step is left out: it warms caches and the allocator), refined by the
//! first epoch as a whole (evaluation included), and the time the whole run has left.

use super::method::{Method, StepAt};
use super::TrainError;
use std::time::Instant;

/// Steps timed after the warm-up step before the first estimate is printed.
pub const TIMED_STEPS: usize = 3;

/// Above this, the estimate says the run will not finish in any sensible time.
const ONE_DAY: f64 = 24.0 * 3600.0;

/// A run's wall time from per-step and per-epoch timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Epochs still to train.
    pub epochs: usize,
    /// Steps per epoch.
    pub steps: usize,
    /// Mean seconds of a training step.
    pub step_secs: f64,
    /// Seconds an epoch spends outside its steps (evaluation, records), once timed.
    pub close_secs: Option<f64>,
}

impl Estimate {
    /// Seconds of one whole epoch (steps only while the evaluation is not timed yet).
    pub fn epoch_secs(&self) -> f64 {
        self.steps as f64 * self.step_secs + self.close_secs.unwrap_or(0.0)
    }

    /// Seconds for all the epochs left.
    pub fn total_secs(&self) -> f64 {
        self.epochs as f64 * self.epoch_secs()
    }

    /// `16 epochs × 469 steps ≈ 27 min on this machine (flex, 2 threads)`, with what the
    /// figure leaves out, and a warning (with an epoch count that fits a day) when it is over a
    /// day.
    pub fn describe(&self, machine: &str) -> String {
        let total = self.total_secs();
        let mut line = format!(
            "{} epoch{} × {} steps ≈ {} on this machine ({machine})",
            self.epochs,
            if self.epochs == 1 { "" } else { "s" },
            self.steps,
            duration(total)
        );
        match self.close_secs {
            None => line.push_str(&format!(
                ", from {:.2} s a step; each epoch's evaluation comes on top",
                self.step_secs
            )),
            Some(c) => line.push_str(&format!(
                ", from {} an epoch ({} of it evaluation)",
                duration(self.epoch_secs()),
                duration(c)
            )),
        }
        if total > ONE_DAY {
            let per_day = (ONE_DAY / self.epoch_secs()).floor().max(1.0) as usize;
            line.push_str(&format!(
                " — more than a day: `--set train.epochs={per_day}` fits in one"
            ));
        }
        line
    }
}

/// `45 s`, `27 min`, `3.4 h`, `61 h`, `2.5 days`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "an unknown time".into();
    }
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 90.0 * 60.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 10.0 * 3600.0 {
        format!("{:.1} h", secs / 3600.0)
    } else if secs < 3.0 * ONE_DAY {
        format!("{:.0} h", secs / 3600.0)
    } else {
        format!("{:.1} days", secs / ONE_DAY)
    }
}

/// Seconds of one training step of `method` here: a fresh model takes one warm-up step and
/// then `steps` timed ones on epoch 0's batches, and is thrown away (a quick calibration, for
/// `mirun sweep --dry-run --calibrate`). `None` when the epoch has no step to time.
pub fn time_steps<M: Method>(method: &M, steps: usize) -> Result<Option<f64>, TrainError> {
    let n = steps.min(method.steps().saturating_sub(1));
    let mut model = method.init()?;
    let mut optim = method.schedule().adam();
    let mut carry = method.initial_carry();
    let mut make = method.batches(0);
    let mut history: Vec<Vec<f64>> = Vec::new();
    let mut timed_from = None;
    for step in 0..=n {
        if step == 1 {
            timed_from = Some(Instant::now());
        }
        let at = StepAt {
            epoch: 0,
            step,
            lr: method.lr(0),
        };
        let (m, values) = method.step(model, &mut optim, make(step), at, &mut carry, &history)?;
        model = m;
        history.push(values);
    }
    Ok(timed_from.map(|t| t.elapsed().as_secs_f64() / n as f64))
}

/// Times a run as it trains: when its estimate can first be made, and how long it has left.
#[derive(Debug)]
pub struct CostMeter {
    /// Epochs this process trains (a resumed run's remaining ones).
    epochs: usize,
    steps: usize,
    /// When the warm-up step (the first of this process) ended.
    warm: Option<Instant>,
    /// Steps timed since then.
    timed: usize,
    /// Mean step seconds, once [`TIMED_STEPS`] steps are timed (then from every epoch's steps).
    step_secs: Option<f64>,
    close_secs: Option<f64>,
    /// Epochs finished in this process.
    done: usize,
}

impl CostMeter {
    /// A meter for `epochs` epochs of `steps` steps.
    pub fn new(epochs: usize, steps: usize) -> Self {
        Self {
            epochs,
            steps,
            warm: None,
            timed: 0,
            step_secs: None,
            close_secs: None,
            done: 0,
        }
    }

    /// The estimate so far, or `None` before any steps are timed.
    pub fn estimate(&self) -> Option<Estimate> {
        Some(Estimate {
            epochs: self.epochs,
            steps: self.steps,
            step_secs: self.step_secs?,
            close_secs: self.close_secs,
        })
    }

    /// A step of the first epoch ended at `now`; returns the estimate once, when
    /// [`TIMED_STEPS`] steps after the warm-up step have been timed (or the epoch ends first).
    pub fn step_done(&mut self, now: Instant) -> Option<Estimate> {
        if self.done > 0 || self.step_secs.is_some() {
            return None;
        }
        let Some(warm) = self.warm else {
            self.warm = Some(now);
            return None;
        };
        self.timed += 1;
        if self.timed >= TIMED_STEPS.min(self.steps.saturating_sub(1)) {
            self.step_secs = Some(now.duration_since(warm).as_secs_f64() / self.timed as f64);
            return self.estimate();
        }
        None
    }

    /// An epoch ended: its steps took `step_secs` in all, closing it `close_secs`. Returns the
    /// refined estimate after the first epoch.
    pub fn epoch_done(&mut self, step_secs: f64, close_secs: f64) -> Option<Estimate> {
        self.done += 1;
        let per_step = step_secs / self.steps.max(1) as f64;
        // From the second epoch on, whole epochs are the measure (a mean over them).
        let n = self.done as f64;
        self.step_secs = Some(match (self.done, self.step_secs) {
            (1, _) | (_, None) => per_step,
            (_, Some(s)) => s + (per_step - s) / n,
        });
        self.close_secs = Some(match self.close_secs {
            None => close_secs,
            Some(c) => c + (close_secs - c) / n,
        });
        if self.done == 1 && self.epochs > 1 {
            self.estimate()
        } else {
            None
        }
    }

    /// Seconds the whole run has left when `steps_into` steps of the current epoch are done,
    /// or `None` before the first estimate.
    pub fn left(&self, steps_into: usize) -> Option<f64> {
        let e = self.estimate()?;
        let epochs_left = self.epochs.saturating_sub(self.done + 1) as f64;
        let steps_left = self.steps.saturating_sub(steps_into) as f64;
        Some(steps_left * e.step_secs + e.close_secs.unwrap_or(0.0) + epochs_left * e.epoch_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(45.0), "45 s");
        assert_eq!(duration(27.0 * 60.0), "27 min");
        assert_eq!(duration(3.4 * 3600.0), "3.4 h");
        assert_eq!(duration(61.0 * 3600.0), "61 h");
        assert_eq!(duration(5.0 * ONE_DAY), "5.0 days");
        assert_eq!(duration(f64::NAN), "an unknown time");
    }

    #[test]
    fn a_run_over_a_day_is_flagged_with_an_epoch_count_that_fits() {
        // The reference iic_heads3: 1200 epochs of 117 steps at ~1.5 s a step + 15 s evaluation.
        let e = Estimate {
            epochs: 1200,
            steps: 117,
            step_secs: 1.5,
            close_secs: Some(15.0),
        };
        let line = e.describe("flex, 2 threads");
        assert!(
            line.starts_with("1200 epochs × 117 steps ≈ 64 h on this machine (flex, 2 threads)"),
            "{line}"
        );
        // 190.5 s an epoch: 453 fit in a day.
        assert!(
            line.ends_with("`--set train.epochs=453` fits in one"),
            "{line}"
        );
        let short = Estimate { epochs: 16, ..e };
        assert!(!short.describe("flex").contains("more than a day"));
    }

    #[test]
    fn the_first_estimate_skips_the_warm_up_step_and_says_evaluation_is_not_counted() {
        let t0 = Instant::now();
        let mut m = CostMeter::new(10, 100);
        assert!(m.left(0).is_none(), "no number before any step is timed");
        assert!(m.step_done(t0 + Duration::from_secs(30)).is_none()); // warm-up: not timed
        assert!(m.step_done(t0 + Duration::from_secs(32)).is_none());
        assert!(m.step_done(t0 + Duration::from_secs(34)).is_none());
        let e = m
            .step_done(t0 + Duration::from_secs(36))
            .expect("3 steps timed");
        assert!((e.step_secs - 2.0).abs() < 1e-9);
        assert_eq!(e.total_secs(), 10.0 * 100.0 * 2.0);
        assert!(e.describe("flex").contains("evaluation comes on top"));
        assert!(
            m.step_done(t0 + Duration::from_secs(38)).is_none(),
            "said once"
        );
        // 4 steps done: 96 left at 2 s, then 9 epochs of 200 s.
        assert_eq!(m.left(4), Some(96.0 * 2.0 + 9.0 * 200.0));
        let e = m
            .epoch_done(250.0, 10.0)
            .expect("refined after the first epoch");
        assert_eq!(e.epoch_secs(), 260.0);
        assert_eq!(e.total_secs(), 2600.0);
        // Into epoch 2: its 100 steps, its evaluation and 8 more epochs.
        assert_eq!(m.left(0), Some(250.0 + 10.0 + 8.0 * 260.0));
        assert!(m.epoch_done(150.0, 10.0).is_none(), "refined once");
        assert_eq!(m.estimate().map(|e| e.step_secs), Some(2.0));
    }

    #[test]
    fn a_one_step_epoch_is_estimated_from_whole_epochs() {
        let mut m = CostMeter::new(3, 1);
        assert!(m.step_done(Instant::now()).is_none());
        assert!(m.left(1).is_none());
        let e = m.epoch_done(2.0, 1.0).expect("after the first epoch");
        assert_eq!(e.total_secs(), 9.0);
    }
}
