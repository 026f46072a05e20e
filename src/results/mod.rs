//! Results on disk: run directories, metrics, the per-pipeline summary.

pub mod atomic;
pub mod collect;
pub mod diff;
pub mod plot;
pub mod run_dir;
pub mod summary;
pub mod table;
pub mod weights;

pub use atomic::write_atomic;
pub use run_dir::{evaluator_value, git_commit, metrics_csv, run_id, Prefix, RunDir, RunInfo};
