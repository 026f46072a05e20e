//! What a sweep's missing points will cost, before any of it is spent (`mirun sweep
//! --dry-run`): each point's time from the epochs it already ran (an interrupted point), else
//! from a point of the same config with another seed that ran on this results tree. A point
//! with neither is said to be untimed — no number is invented for it.

use super::{PlannedPoint, PointState};
use crate::store::CsvFile;
use crate::train::cost::duration;
use std::path::Path;

/// A point's expected wall time.
#[derive(Debug, Clone, PartialEq)]
pub enum PointCost {
    /// Finished: nothing to spend.
    Done,
    /// Seconds still to spend, and the run whose epochs timed them.
    Timed { secs: f64, from: String },
    /// Seconds of training steps from a quick calibration (`--calibrate`); evaluation not
    /// counted.
    Calibrated { secs: f64 },
    /// No epoch of this config has run here yet.
    Untimed,
}

/// Mean seconds of an epoch of the run in `dir`, and how many epochs it has finished (its
/// `metrics.csv`: one or more rows per epoch, each with the epoch's `seconds`).
fn epoch_seconds(dir: &Path) -> Option<(f64, usize)> {
    let csv = CsvFile::read(&dir.join("metrics.csv")).ok()?;
    let (e, s) = (csv.column("epoch")?, csv.column("seconds")?);
    let mut seen: Vec<(usize, f64)> = Vec::new();
    // A row that does not parse is skipped, not the whole run.
    for row in &csv.rows {
        let cell = |i: usize| row.fields.get(i).map(String::as_str).unwrap_or("");
        let (Ok(epoch), Ok(secs)) = (cell(e).parse::<usize>(), cell(s).parse::<f64>()) else {
            continue;
        };
        if !seen.iter().any(|(done, _)| *done == epoch) {
            seen.push((epoch, secs));
        }
    }
    (!seen.is_empty()).then(|| {
        let mean = seen.iter().map(|(_, s)| s).sum::<f64>() / seen.len() as f64;
        (mean, seen.len())
    })
}

/// A resolved config as dotted keys and values.
type ConfigKey = Vec<(String, String)>;

/// The resolved config of `p` without its seed (points that differ only in seed cost the same).
fn config_key(p: &PlannedPoint) -> ConfigKey {
    key_of(&p.spec)
}

/// A resolved config without its seed and where its data sits (neither changes the cost).
fn key_of(spec: &crate::spec::Spec) -> ConfigKey {
    spec.flatten()
        .into_iter()
        .filter(|(k, _)| k != "pipeline.seed" && k != "dataset.dir")
        .collect()
}

/// The timed runs of the pipelines `names` on the results tree `out` that are not among
/// `planned` (a sweep narrowed with `--seeds` or `--grid` still finds the seeds it left out):
/// each run's config key (from its `config.toml`), id and mean epoch seconds. A folder that is
/// not a readable run is skipped.
fn other_runs(
    out: &Path,
    names: &[&str],
    planned: &[PlannedPoint],
) -> Vec<(ConfigKey, String, f64)> {
    let mut found = Vec::new();
    for name in names {
        let Ok(entries) = std::fs::read_dir(out.join(name)) else {
            continue;
        };
        for dir in entries.flatten().map(|e| e.path()) {
            let id = dir.file_name().map(|n| n.to_string_lossy().to_string());
            let Some(id) = id.filter(|id| !planned.iter().any(|p| &p.run_id == id)) else {
                continue;
            };
            let Some((secs, _)) = epoch_seconds(&dir) else {
                continue;
            };
            let source = crate::spec::SpecSource {
                file: Some(dir.join("config.toml")),
                overrides: Vec::new(),
            };
            if let Ok(spec) = crate::spec::load(&source) {
                found.push((key_of(&spec), id, secs));
            }
        }
    }
    found
}

/// Times a config's training steps on this machine (a quick calibration).
pub type Calibrate<'a> = dyn Fn(&crate::spec::Spec) -> anyhow::Result<Option<f64>> + 'a;

/// Each planned point's cost on the results tree `out`; with `calibrate`, the points of a
/// config that has not run there are timed by a calibration of that config (once for all its
/// seeds).
pub fn estimate(
    out: &Path,
    planned: &[PlannedPoint],
    calibrate: Option<&Calibrate>,
) -> anyhow::Result<Vec<PointCost>> {
    let dir_of = |p: &PlannedPoint| out.join(&p.spec.pipeline.name).join(&p.run_id);
    let mut timed: Vec<(ConfigKey, String, f64)> = planned
        .iter()
        .filter_map(|p| {
            let (secs, _) = epoch_seconds(&dir_of(p))?;
            Some((config_key(p), p.run_id.clone(), secs))
        })
        .collect();
    let mut names: Vec<&str> = planned
        .iter()
        .map(|p| p.spec.pipeline.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    timed.extend(other_runs(out, &names, planned));
    let costs: Vec<PointCost> = planned
        .iter()
        .map(|p| {
            let own = of_run(&dir_of(p), p.spec.train.epochs, p.state);
            if own != PointCost::Untimed {
                return own;
            }
            let epochs = p.spec.train.epochs;
            let key = config_key(p);
            match timed.iter().find(|(k, _, _)| *k == key) {
                Some((_, id, secs)) => PointCost::Timed {
                    secs: secs * epochs as f64,
                    from: format!("run {id}"),
                },
                None => PointCost::Untimed,
            }
        })
        .collect();
    let Some(calibrate) = calibrate else {
        return Ok(costs);
    };
    let mut calibrated: Vec<(ConfigKey, Option<f64>)> = Vec::new();
    let mut out_costs = Vec::with_capacity(costs.len());
    for (p, c) in planned.iter().zip(costs) {
        if c != PointCost::Untimed {
            out_costs.push(c);
            continue;
        }
        let key = config_key(p);
        let secs = match calibrated.iter().find(|(k, _)| *k == key) {
            Some((_, s)) => *s,
            None => {
                let s = calibrate(&p.spec)?;
                calibrated.push((key, s));
                s
            }
        };
        out_costs.push(secs.map_or(PointCost::Untimed, |secs| PointCost::Calibrated { secs }));
    }
    Ok(out_costs)
}

/// The cost of the run in `dir` (`epochs` in all) from its own finished epochs.
pub fn of_run(dir: &Path, epochs: usize, state: PointState) -> PointCost {
    if state == PointState::Finished {
        return PointCost::Done;
    }
    match epoch_seconds(dir) {
        Some((secs, done)) => PointCost::Timed {
            secs: secs * epochs.saturating_sub(done) as f64,
            from: format!("its own {done} epoch(s)"),
        },
        None => PointCost::Untimed,
    }
}

/// The dry run's closing lines: the time the missing points will take, one at a time.
pub fn total_line(costs: &[PointCost]) -> String {
    let secs: f64 = costs
        .iter()
        .map(|c| match c {
            PointCost::Timed { secs, .. } | PointCost::Calibrated { secs } => *secs,
            PointCost::Done | PointCost::Untimed => 0.0,
        })
        .sum();
    let timed = costs
        .iter()
        .filter(|c| matches!(c, PointCost::Timed { .. } | PointCost::Calibrated { .. }))
        .count();
    let calibrated = costs
        .iter()
        .any(|c| matches!(c, PointCost::Calibrated { .. }));
    let note = if calibrated {
        " (calibrated points: training steps only)"
    } else {
        ""
    };
    let untimed = costs.iter().filter(|c| **c == PointCost::Untimed).count();
    match (timed, untimed) {
        (0, 0) => "nothing left to run".into(),
        (0, n) => format!(
            "{n} point(s) left, none timed yet: no estimate until a point of each config has \
             run (each run prints its own estimate after its first steps; --calibrate times a \
             few steps of each config now)"
        ),
        (t, 0) => format!("{t} point(s) left ≈ {} one at a time{note}", duration(secs)),
        (t, n) => format!(
            "{} point(s) left: {t} ≈ {} one at a time{note}, and {n} not timed yet (no epoch \
             of their config has run here; --calibrate times them)",
            t + n,
            duration(secs)
        ),
    }
}

/// A point's cost as its dry-run line shows it.
pub fn cell(c: &PointCost) -> String {
    match c {
        PointCost::Done => "done".into(),
        PointCost::Timed { secs, from } => format!("≈ {} (from {from})", duration(*secs)),
        PointCost::Calibrated { secs } => format!("≈ {} (calibrated: steps only)", duration(*secs)),
        PointCost::Untimed => "not timed yet".into(),
    }
}
