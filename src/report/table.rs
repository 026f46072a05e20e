//! `mirun table`: a results table from one or more summary.csv files, one line per parameter
//! setting, metrics as mean ± sample std over the remaining runs (usually seeds).
//!
//! Behaviour:
//! - input resolution as [`load_summaries`](super::collect::load_summaries); only `finished`
//!   rows (or rows of files without a `status` column) are aggregated, the others are counted
//!   in [`Table::skipped`] and mentioned in a footnote (text and markdown; not in CSV);
//! - default group keys: parameter columns whose value varies across the finished rows, except
//!   `pipeline.seed`; no varying parameter → one group;
//! - default metrics: `selected_accuracy` if it is a column, else every numeric metric column
//!   (see [`numeric_metrics`](super::collect::numeric_metrics));
//! - std is the sample std (n − 1), absent when fewer than two values; empty cells are left out
//!   of a metric's n, and a cell that does not parse is an error naming file, line and column;
//! - groups are sorted by their key, numerically where values parse as numbers;
//! - text and markdown show a declared augmentation pipeline (`augment.original` …) by its op
//!   names, `rotate → crop → resize → jitter`, so the table stays readable; CSV keeps the
//!   whole value.

use super::collect::{
    cmp_keys, is_metric, is_param, load_summaries, numeric_metrics, render_md, render_text,
    skipped_note, varying, CollectError,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Output format of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned plain text.
    #[default]
    Text,
    /// A markdown table.
    Markdown,
    /// CSV with separate mean, std and n columns per metric, full precision.
    Csv,
}

/// What to group by and aggregate.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Group-by columns (any column); empty = the varying parameters except `pipeline.seed`.
    pub by: Vec<String>,
    /// Metric columns; empty = `selected_accuracy`, or every numeric metric if it is absent.
    pub metrics: Vec<String>,
    /// Output format (for the caller; [`Table::render`] takes it explicitly).
    pub format: Format,
    /// Also show each metric's lowest value over the group (the worst seed, for accuracies).
    pub worst: bool,
}

/// Errors while building a table.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Finding, reading or parsing the summaries failed.
    #[error(transparent)]
    Load(#[from] CollectError),
    /// A `--by` or `--metric` name is not a column.
    #[error("unknown {flag} column `{column}`; available: {available}")]
    UnknownColumn {
        flag: &'static str,
        column: String,
        available: String,
    },
    /// No metric was named and no numeric metric column exists.
    #[error("{path}: no numeric metric columns (columns: {available})")]
    NoMetrics { path: String, available: String },
}

/// One metric aggregated over a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    /// Number of non-empty values.
    pub n: usize,
    /// Mean, `None` when n = 0.
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1), `None` when n < 2.
    pub std: Option<f64>,
    /// Lowest value, `None` when n = 0.
    pub min: Option<f64>,
}

impl Stat {
    /// Mean and sample std of `values`.
    pub fn of(values: &[f64]) -> Stat {
        let n = values.len();
        let mean = (n > 0).then(|| values.iter().sum::<f64>() / n as f64);
        let std = mean
            .filter(|_| n > 1)
            .map(|m| (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
        let min = values.iter().copied().reduce(f64::min);
        Stat { n, mean, std, min }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Group {
    /// Values of [`Table::by`], in order (`""` for empty cells).
    pub key: Vec<String>,
    /// Number of finished runs in the group.
    pub runs: usize,
    /// One per [`Table::metrics`], in order.
    pub stats: Vec<Stat>,
}

/// An aggregated results table.
#[derive(Debug, Clone)]
pub struct Table {
    /// The summary files read.
    pub sources: Vec<PathBuf>,
    /// Group-by columns.
    pub by: Vec<String>,
    /// Aggregated metric columns.
    pub metrics: Vec<String>,
    /// Groups sorted by key.
    pub groups: Vec<Group>,
    /// Rows not aggregated, counted by status (`""` = empty status).
    pub skipped: BTreeMap<String, usize>,
    /// Whether each metric's lowest value is shown ([`TableOptions::worst`]).
    pub worst: bool,
}

/// Builds the table for `input` (a summary.csv or a results directory).
pub fn table(input: &Path, opts: &TableOptions) -> Result<Table, TableError> {
    let all = load_summaries(input)?;
    let (rows, skipped) = all.finished();
    let header = &all.header;

    for c in &opts.by {
        if !header.contains(c) {
            return Err(TableError::UnknownColumn {
                flag: "--by",
                column: c.clone(),
                available: header.join(", "),
            });
        }
    }
    for c in &opts.metrics {
        if !header.contains(c) {
            let metrics: Vec<&str> = header
                .iter()
                .filter(|c| is_metric(c))
                .map(String::as_str)
                .collect();
            return Err(TableError::UnknownColumn {
                flag: "--metric",
                column: c.clone(),
                available: metrics.join(", "),
            });
        }
    }

    let by = if opts.by.is_empty() {
        let params = header
            .iter()
            .filter(|c| is_param(c) && c.as_str() != "pipeline.seed");
        if rows.is_empty() {
            Vec::new()
        } else {
            varying(params, &rows)
        }
    } else {
        opts.by.clone()
    };
    let metrics = if !opts.metrics.is_empty() {
        opts.metrics.clone()
    } else if header.iter().any(|c| c == "selected_accuracy") {
        vec!["selected_accuracy".to_string()]
    } else {
        let m = numeric_metrics(header, &rows);
        if m.is_empty() {
            return Err(TableError::NoMetrics {
                path: input.display().to_string(),
                available: header.join(", "),
            });
        }
        m
    };

    let mut grouped: Vec<(Vec<String>, Vec<&super::collect::Row>)> = Vec::new();
    for r in &rows {
        let key: Vec<String> = by.iter().map(|c| r.value(c).to_string()).collect();
        match grouped.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(r),
            None => grouped.push((key, vec![r])),
        }
    }
    grouped.sort_by(|a, b| cmp_keys(&a.0, &b.0));

    let mut groups = Vec::with_capacity(grouped.len());
    for (key, members) in grouped {
        let mut stats = Vec::with_capacity(metrics.len());
        for m in &metrics {
            let mut values = Vec::new();
            for r in &members {
                if let Some(v) = r.number(m)? {
                    values.push(v);
                }
            }
            stats.push(Stat::of(&values));
        }
        groups.push(Group {
            key,
            runs: members.len(),
            stats,
        });
    }
    Ok(Table {
        sources: all.files,
        by,
        metrics,
        groups,
        skipped,
        worst: opts.worst,
    })
}

impl Table {
    /// The group whose key equals `key` (values of [`Table::by`] in order).
    pub fn group(&self, key: &[&str]) -> Option<&Group> {
        self.groups
            .iter()
            .find(|g| g.key.iter().map(String::as_str).eq(key.iter().copied()))
    }

    /// The footnote about rows left out, if any.
    pub fn skipped_note(&self) -> Option<String> {
        skipped_note(&self.skipped)
    }

    /// Renders the table; text and markdown end with the skipped-runs footnote, if any.
    pub fn render(&self, format: Format) -> String {
        if format == Format::Csv {
            return self.render_csv();
        }
        let mut header = self.by.clone();
        header.extend(self.metrics.iter().cloned());
        header.push("n".to_string());
        let mut right = vec![false; self.by.len()];
        right.extend(std::iter::repeat_n(true, self.metrics.len() + 1));
        let short = self.short_columns();
        let rows: Vec<Vec<String>> = self
            .groups
            .iter()
            .map(|g| {
                let mut cells: Vec<String> = g
                    .key
                    .iter()
                    .zip(&short)
                    .map(|(k, &short)| cell_text(k, short))
                    .collect();
                cells.extend(g.stats.iter().map(|s| stat_cell(s, g.runs, self.worst)));
                cells.push(g.runs.to_string());
                cells
            })
            .collect();
        let note = self.skipped_note();
        match format {
            Format::Markdown => {
                let mut out = render_md(&header, &rows, &right);
                if let Some(n) = note {
                    out += &format!("\n_{n}_\n");
                }
                out
            }
            _ => {
                let mut out = render_text(&header, &rows, &right);
                if let Some(n) = note {
                    out += &format!("\n{n}\n");
                }
                out
            }
        }
    }

    /// Per `by` column: whether its values may be shown short (augmentation lists by their op
    /// names), i.e. no two different values of the column would then look the same.
    fn short_columns(&self) -> Vec<bool> {
        (0..self.by.len())
            .map(|c| {
                let mut seen: std::collections::HashMap<String, &str> = Default::default();
                self.groups.iter().all(|g| {
                    let raw = g.key[c].as_str();
                    let shown = cell_text(raw, true);
                    *seen.entry(shown).or_insert(raw) == raw
                })
            })
            .collect()
    }

    fn render_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = self.by.clone();
        for m in &self.metrics {
            header.extend([format!("{m}_mean"), format!("{m}_std"), format!("{m}_n")]);
            if self.worst {
                header.push(format!("{m}_min"));
            }
        }
        header.push("n".to_string());
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        let mut records = vec![header];
        for g in &self.groups {
            let mut cells = g.key.clone();
            for s in &g.stats {
                cells.extend([opt(s.mean), opt(s.std), s.n.to_string()]);
                if self.worst {
                    cells.push(opt(s.min));
                }
            }
            cells.push(g.runs.to_string());
            records.push(cells);
        }
        // Writing Rust strings to a Vec cannot fail; an error would only shorten the output.
        for r in &records {
            let _ = w.write_record(r);
        }
        w.into_inner()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }
}

/// A key's cell: `-` when empty, with `short` an augmentation pipeline by its op names, else
/// the value.
fn cell_text(s: &str, short: bool) -> String {
    if s.is_empty() {
        return "-".to_string();
    }
    match short {
        true => op_names(s).unwrap_or_else(|| s.to_string()),
        false => s.to_string(),
    }
}

/// `rotate → crop → resize` for a TOML array of inline tables that all have an `op` string.
fn op_names(s: &str) -> Option<String> {
    let value: toml::Table = toml::from_str(&format!("v = {s}")).ok()?;
    let ops = value.get("v")?.as_array()?;
    let names: Option<Vec<&str>> = ops.iter().map(|t| t.get("op")?.as_str()).collect();
    match names? {
        names if names.is_empty() => None,
        names => Some(names.join(" → ")),
    }
}

/// `0.9912 ± 0.0021`; `0.9912 ± -` for one value; `-` for none; `(n=k)` when fewer values
/// than runs in the group; with `worst`, `(worst 0.9870)` after it.
fn stat_cell(s: &Stat, runs: usize, worst: bool) -> String {
    let Some(mean) = s.mean else {
        return "-".to_string();
    };
    let std = s.std.map(|v| format!("{v:.4}")).unwrap_or("-".to_string());
    let mut cell = format!("{mean:.4} ± {std}");
    if s.n != runs {
        cell += &format!(" (n={})", s.n);
    }
    if let (true, Some(min)) = (worst, s.min) {
        cell += &format!(" (worst {min:.4})");
    }
    cell
}
