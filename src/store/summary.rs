//! `<out>/<pipeline-name>/summary.csv`: one row per run, keyed by run id. A rerun replaces its
//! row; columns from older rows are kept. Updates hold a lock and go through a temp file.

use super::atomic::write_atomic;
use super::CsvFile;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::Path;

/// A summary row: ordered (column, value) pairs; must include `run_id`.
pub type SummaryRow = Vec<(String, String)>;

/// A parsed summary: its header and its rows keyed by column.
pub type Summary = (Vec<String>, Vec<BTreeMap<String, String>>);

/// Errors while reading or updating a summary: the one CSV reader's.
pub type SummaryError = super::CsvError;

/// Inserts or replaces the row with the same `run_id` in `path`.
pub fn upsert(path: &Path, row: &SummaryRow) -> Result<(), SummaryError> {
    let io = |e: std::io::Error| SummaryError::Io {
        path: path.display().to_string(),
        what: e.to_string(),
    };
    let lock_path = path.with_extension("csv.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io)?;
    lock.lock().map_err(io)?;

    let (mut columns, mut rows) = if path.exists() {
        read(path)?
    } else {
        (Vec::new(), Vec::new())
    };
    for (k, _) in row {
        if !columns.contains(k) {
            columns.push(k.clone());
        }
    }
    let new: BTreeMap<String, String> = row.iter().cloned().collect();
    let id = new.get("run_id").cloned().unwrap_or_default();
    rows.retain(|r| r.get("run_id") != Some(&id));
    rows.push(new);

    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| SummaryError::Io {
        path: path.display().to_string(),
        what: e.to_string(),
    };
    w.write_record(&columns).map_err(csv_err)?;
    for r in &rows {
        w.write_record(
            columns
                .iter()
                .map(|c| r.get(c).map(String::as_str).unwrap_or("")),
        )
        .map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| SummaryError::Io {
        path: path.display().to_string(),
        what: e.to_string(),
    })?;
    write_atomic(path, &bytes).map_err(io)?;
    drop(lock);
    Ok(())
}

/// Reads a summary as its header and rows keyed by column.
pub fn read(path: &Path) -> Result<Summary, SummaryError> {
    let file = CsvFile::read(path)?;
    let rows = file
        .pairs()
        .map(|(_, values)| values.into_iter().collect())
        .collect();
    Ok((file.header, rows))
}

/// Each run's `status` column (`finished`, `failed`, …) by run id; empty when `path` does not
/// exist yet. A run has one row (a rerun replaces it), so its status is its last attempt's.
pub fn statuses(path: &Path) -> Result<BTreeMap<String, String>, SummaryError> {
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    Ok(read(path)?
        .1
        .into_iter()
        .filter_map(|mut r| Some((r.remove("run_id")?, r.remove("status").unwrap_or_default())))
        .collect())
}
