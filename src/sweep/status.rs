//! `mirun sweep FILE --status`: where every point stands, without training — from
//! `summary.csv`, the run directories and their locks, and (when there) Slurm's queue.

use super::slurm::{self, Queue};
use super::{summary_path, PlannedPoint, SweepOptions};
use crate::store::summary;
use std::path::Path;

/// A point's state as seen now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveState {
    /// `summary.csv` has its finished row.
    Finished,
    /// A mirun process holds its run lock, or Slurm says its task runs.
    Running,
    /// Waiting in Slurm's queue.
    Pending,
    /// Its last attempt failed (`summary.csv` says so) and nothing is running or queued.
    Failed,
    /// Started, then killed before it finished; the next run resumes it.
    Interrupted,
    /// Never started.
    New,
}

impl LiveState {
    /// The word `--status` prints.
    pub fn name(self) -> &'static str {
        match self {
            LiveState::Finished => "finished",
            LiveState::Running => "running",
            LiveState::Pending => "pending",
            LiveState::Failed => "failed",
            LiveState::Interrupted => "interrupted",
            LiveState::New => "new",
        }
    }
}

/// Whether another process holds the run's lock (`<run-dir>/.lock`); never creates it.
pub fn is_locked(run_dir: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new()
        .write(true)
        .open(run_dir.join(".lock"))
    else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// Every point's state, indexed by point (0-based), reading `summary.csv` once.
pub fn states(
    opts: &SweepOptions,
    planned: &[PlannedPoint],
    queue: Option<&Queue>,
) -> anyhow::Result<Vec<LiveState>> {
    let Some(first) = planned.first() else {
        return Ok(Vec::new());
    };
    let statuses = summary::statuses(&summary_path(&opts.out, &first.spec))?;
    let mut out = vec![LiveState::New; planned.len()];
    for p in planned {
        let dir = opts.out.join(&p.spec.pipeline.name).join(&p.run_id);
        let queued = queue.and_then(|q| q.get(&p.run_id));
        let status = statuses.get(&p.run_id).map(String::as_str);
        out[p.point.index] = if status == Some("finished") {
            LiveState::Finished
        } else if is_locked(&dir) {
            LiveState::Running
        } else if let Some(task) = queued {
            match task.state.as_str() {
                "RUNNING" | "COMPLETING" | "CONFIGURING" | "STAGE_OUT" => LiveState::Running,
                _ => LiveState::Pending,
            }
        } else if status == Some("failed") {
            LiveState::Failed
        } else if dir.exists() {
            LiveState::Interrupted
        } else {
            LiveState::New
        };
    }
    Ok(out)
}

/// The `--status` table: one line per point, then the counts.
pub fn report(opts: &SweepOptions, planned: &[PlannedPoint]) -> anyhow::Result<String> {
    let jobs = slurm::known_jobs(opts, planned);
    let queue = slurm::queue(&slurm::tasks(opts, planned, &jobs));
    let unknown = match &queue {
        Ok(Some(_)) => None,
        Ok(None) => Some("squeue not available".to_string()),
        Err(e) => Some(format!("squeue failed: {e}")),
    };
    let queue = queue.ok().flatten();
    let states = states(opts, planned, queue.as_ref())?;
    let mut s = String::new();
    for p in planned {
        let state = states[p.point.index];
        let slurm_id = queue
            .as_ref()
            .and_then(|q| q.get(&p.run_id))
            .map(|t| {
                if t.state == "PENDING" {
                    format!("  [slurm {} PENDING: {}]", t.id, t.reason)
                } else {
                    format!("  [slurm {} {}]", t.id, t.state)
                }
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "{:>4}  {}  {:<11}  {}{slurm_id}\n",
            p.point.index + 1,
            p.run_id,
            state.name(),
            p.point.label()
        ));
    }
    let count = |st: LiveState| states.iter().filter(|&&x| x == st).count();
    s.push_str(&format!(
        "{} point(s): {} finished, {} running, {} pending, {} failed, {} interrupted, {} new\n",
        planned.len(),
        count(LiveState::Finished),
        count(LiveState::Running),
        count(LiveState::Pending),
        count(LiveState::Failed),
        count(LiveState::Interrupted),
        count(LiveState::New)
    ));
    if !jobs.is_empty() {
        s.push_str(&match unknown {
            None => format!("slurm jobs of this sweep: {}\n", jobs.join(", ")),
            Some(why) => format!(
                "slurm jobs of this sweep: {} ({why}: queue state unknown)\n",
                jobs.join(", ")
            ),
        });
    }
    Ok(s)
}
