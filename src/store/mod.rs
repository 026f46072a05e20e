//! Results as training writes them: atomic writes, run directories (config, provenance,
//! `metrics.csv`), the per-pipeline `summary.csv`, weights, and the tables methods write from their typed rows.
//! Reading results back for people (tables, diffs, plots) is `report`'s job.

pub mod atomic;
pub mod csv_file;
pub mod error;
pub mod run_dir;
pub mod summary;
pub mod table;
pub mod weights;

pub use atomic::{check_writable_dir, write_atomic};
pub use csv_file::{CsvError, CsvFile};
pub use error::StoreError;
pub use run_dir::{git_commit, run_id, RunDir, RunInfo, BUILD_COMMIT};
pub use table::{Dec, Sci, Table};
