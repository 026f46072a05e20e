//! Loading `summary.csv` files for `mirun table` and `mirun diff`: input resolution, rows that
//! remember where they came from, column classification and small plain-text/markdown renderers.
//!
//! Column classes: a *parameter* column has a `.` in its name (`heads.count`, `train.lr`); a
//! *metric* column is any other column except the bookkeeping ones in [`NOT_METRICS`]
//! (`wall_seconds` counts as a metric).

use crate::store::{CsvError, CsvFile};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Columns that are never metrics: identity, status, provenance and the per-head list.
pub const NOT_METRICS: &[&str] = &[
    "run_id",
    "status",
    "backend",
    "device",
    "cpu",
    "simd",
    "mirun_version",
    "mirun_commit",
    "git_commit",
    "error",
    "head_accuracies",
];

/// Metric columns left out of default metric choices (still usable when named): an index,
/// not a quantity to average or compare.
pub const NOT_DEFAULT_METRICS: &[&str] = &["selected_head"];

/// Errors while finding or reading summaries.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The path exists but neither is nor contains a `summary.csv`.
    #[error(
        "{path}: no summary.csv found (give a summary.csv or a directory with one at or below it)"
    )]
    NotFound { path: String },
    /// The path cannot be read.
    #[error("{path}: {what}")]
    Io { path: String, what: String },
    /// A CSV record cannot be parsed; `line` is the 1-based file line (header = 1).
    #[error("{path}: line {line}: {what}")]
    Malformed {
        path: String,
        line: u64,
        what: String,
    },
    /// A CSV without the `run_id` column that every summary row has (`mirun table a.csv` on
    /// some other CSV file).
    #[error("{path}: not a mirun summary: no `run_id` column (its columns: {columns})")]
    NotASummary { path: String, columns: String },
    /// A cell in a numeric column is not a number; `line` is the 1-based file line.
    #[error("{path}: line {line}: column `{column}`: `{value}` is not a number")]
    NotNumeric {
        path: String,
        line: u64,
        column: String,
        value: String,
    },
}

impl From<CsvError> for CollectError {
    fn from(e: CsvError) -> Self {
        match e {
            CsvError::Io { path, what } => CollectError::Io { path, what },
            CsvError::Malformed { path, line, what } => {
                CollectError::Malformed { path, line, what }
            }
        }
    }
}

/// One summary row with its origin.
#[derive(Debug, Clone)]
pub struct Row {
    /// The summary.csv it was read from.
    pub source: PathBuf,
    /// 1-based line in `source` where the record starts (the header is line 1).
    pub line: u64,
    /// Cells by column, for the columns of its own file (empty cells kept as `""`).
    pub values: BTreeMap<String, String>,
}

impl Row {
    /// The cell of `column`, `""` when empty or absent.
    pub fn value(&self, column: &str) -> &str {
        self.values.get(column).map(String::as_str).unwrap_or("")
    }

    /// Finished runs, and rows from files without a `status` column, are aggregated.
    pub fn is_finished(&self) -> bool {
        self.values.get("status").is_none_or(|s| s == "finished")
    }

    /// The cell of `column` as a number: `None` when empty, an error naming the file, line
    /// and column when it does not parse.
    pub fn number(&self, column: &str) -> Result<Option<f64>, CollectError> {
        let v = self.value(column).trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<f64>()
            .map(Some)
            .map_err(|_| CollectError::NotNumeric {
                path: self.source.display().to_string(),
                line: self.line,
                column: column.to_string(),
                value: v.to_string(),
            })
    }
}

/// Every row of one or more summary files, with the union of their columns.
#[derive(Debug, Clone)]
pub struct Summaries {
    /// The summary.csv files read, in order.
    pub files: Vec<PathBuf>,
    /// Union of the files' headers, in order of first appearance.
    pub header: Vec<String>,
    /// All rows, file by file.
    pub rows: Vec<Row>,
}

impl Summaries {
    /// The finished rows, and the other rows counted by status (`""` for an empty status).
    pub fn finished(&self) -> (Vec<&Row>, BTreeMap<String, usize>) {
        let mut skipped = BTreeMap::new();
        let mut done = Vec::new();
        for r in &self.rows {
            if r.is_finished() {
                done.push(r);
            } else {
                *skipped.entry(r.value("status").to_string()).or_insert(0) += 1;
            }
        }
        (done, skipped)
    }
}

/// The summary files for `path`: the file itself; or `<dir>/summary.csv` if it exists; or every
/// `summary.csv` below the directory, sorted by path.
pub fn summary_files(path: &Path) -> Result<Vec<PathBuf>, CollectError> {
    let meta = std::fs::metadata(path).map_err(|e| CollectError::Io {
        path: path.display().to_string(),
        what: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let direct = path.join("summary.csv");
    if direct.is_file() {
        return Ok(vec![direct]);
    }
    let mut found = Vec::new();
    walk(path, &mut found)?;
    found.sort();
    if found.is_empty() {
        return Err(CollectError::NotFound {
            path: path.display().to_string(),
        });
    }
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), CollectError> {
    let io = |e: std::io::Error| CollectError::Io {
        path: dir.display().to_string(),
        what: e.to_string(),
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            walk(&entry.path(), found)?;
        } else if entry.file_name() == "summary.csv" {
            found.push(entry.path());
        }
    }
    Ok(())
}

/// Reads every summary for `path` (see [`summary_files`]) and concatenates their rows.
pub fn load_summaries(path: &Path) -> Result<Summaries, CollectError> {
    let files = summary_files(path)?;
    let mut header: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for file in &files {
        let csv = CsvFile::read(file)?;
        if !csv.header.iter().any(|c| c == "run_id") {
            return Err(CollectError::NotASummary {
                path: file.display().to_string(),
                columns: csv.header.join(", "),
            });
        }
        for c in &csv.header {
            if !header.contains(c) {
                header.push(c.clone());
            }
        }
        for (rec, values) in csv.pairs() {
            rows.push(Row {
                source: file.clone(),
                line: rec.line,
                values: values.into_iter().collect(),
            });
        }
    }
    let summaries = Summaries {
        files,
        header,
        rows,
    };
    summaries.check_numbers()?;
    Ok(summaries)
}

impl Summaries {
    /// Every cell of a finished row in a numeric metric column must parse, so a hand-edited
    /// bad row is reported with its line whichever command reads it (failed rows may hold
    /// anything).
    fn check_numbers(&self) -> Result<(), CollectError> {
        let all: Vec<&Row> = self.rows.iter().filter(|r| r.is_finished()).collect();
        for col in numeric_metrics(&self.header, &all) {
            for r in &all {
                r.number(&col)?;
            }
        }
        Ok(())
    }
}

/// Parameter columns are exactly those with a `.` in their name.
pub fn is_param(column: &str) -> bool {
    column.contains('.')
}

/// Metric columns: neither parameters nor bookkeeping ([`NOT_METRICS`]).
pub fn is_metric(column: &str) -> bool {
    !is_param(column) && !NOT_METRICS.contains(&column)
}

/// The `columns` whose value (empty counts as a value) is not the same on all `rows`.
pub fn varying<'a>(columns: impl IntoIterator<Item = &'a String>, rows: &[&Row]) -> Vec<String> {
    columns
        .into_iter()
        .filter(|c| rows.iter().any(|r| r.value(c) != rows[0].value(c)))
        .cloned()
        .collect()
}

/// Numeric metric columns of `header` for default choices: metric columns (not in
/// [`NOT_DEFAULT_METRICS`]) whose first non-empty cell among `rows` parses as a number. The
/// other cells are checked when the column is aggregated.
pub fn numeric_metrics(header: &[String], rows: &[&Row]) -> Vec<String> {
    header
        .iter()
        .filter(|c| is_metric(c) && !NOT_DEFAULT_METRICS.contains(&c.as_str()))
        .filter(|c| {
            rows.iter()
                .map(|r| r.value(c).trim())
                .find(|v| !v.is_empty())
                .is_some_and(|v| v.parse::<f64>().is_ok())
        })
        .cloned()
        .collect()
}

/// Orders cell values: numerically when both parse as numbers (numbers before text), else as
/// strings.
pub fn cmp_values(a: &str, b: &str) -> Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal).then(a.cmp(b)),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        _ => a.cmp(b),
    }
}

/// Orders keys (lists of cell values) column by column with [`cmp_values`].
pub fn cmp_keys(a: &[String], b: &[String]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp_values(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(a.len().cmp(&b.len()))
}

/// "2 failed runs not shown" / "3 runs not shown (2 failed, 1 running)"; `None` if none.
pub fn skipped_note(skipped: &BTreeMap<String, usize>) -> Option<String> {
    let total: usize = skipped.values().sum();
    let runs = |n: usize| if n == 1 { "run" } else { "runs" };
    let status = |s: &str| {
        if s.is_empty() {
            "no-status".to_string()
        } else {
            s.to_string()
        }
    };
    match (skipped.len(), skipped.iter().next()) {
        (0, _) | (_, None) => None,
        (1, Some((s, n))) => Some(format!("{n} {} {} not shown", status(s), runs(*n))),
        _ => {
            let parts: Vec<String> = skipped
                .iter()
                .map(|(s, n)| format!("{n} {}", status(s)))
                .collect();
            Some(format!(
                "{total} {} not shown ({})",
                runs(total),
                parts.join(", ")
            ))
        }
    }
}

/// An aligned plain-text table; `right[i]` right-aligns column `i`.
pub fn render_text(header: &[String], rows: &[Vec<String>], right: &[bool]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i] - c.chars().count());
                if right.get(i).copied().unwrap_or(false) {
                    format!("{pad}{c}")
                } else {
                    format!("{c}{pad}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header);
    out += &line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for r in rows {
        out += &line(r);
    }
    out
}

/// A markdown table; `right[i]` right-aligns column `i`. `|` in cells is escaped.
pub fn render_md(header: &[String], rows: &[Vec<String>], right: &[bool]) -> String {
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        format!("| {} |\n", parts.join(" | "))
    };
    let mut out = line(header);
    let rule: Vec<String> = (0..header.len())
        .map(|i| {
            if right.get(i).copied().unwrap_or(false) {
                "---:".to_string()
            } else {
                "---".to_string()
            }
        })
        .collect();
    out += &format!("|{}|\n", rule.join("|"));
    for r in rows {
        out += &line(r);
    }
    out
}
