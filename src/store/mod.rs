//! Results as training writes them: atomic writes, run directories (config, provenance,
//! `metrics.csv`), the per-pipeline `summary.csv`, weights, and the per-epoch records.
//! Reading results back for people (tables, diffs, plots) is `report`'s job.

pub mod atomic;
pub mod csv_file;
pub mod error;
pub mod records;
pub mod run_dir;
pub mod summary;
pub mod weights;

pub use atomic::{check_writable_dir, write_atomic};
pub use csv_file::{CsvError, CsvFile};
pub use error::StoreError;
pub use records::{lowest_loss, EpochRecord, HeadScore};
pub use run_dir::{evaluator_value, git_commit, metrics_rows, run_id, RunDir, RunInfo};
