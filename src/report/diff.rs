//! `mirun diff A B`: compares the finished runs of two results (directories or summary.csv
//! files, resolved as by [`load_summaries`]) run by run.
//!
//! Behaviour:
//! - rows are joined on the *key*: the parameter columns that vary within A or within B, plus
//!   `pipeline.seed`, never `pipeline.name`; an empty or missing cell is a value like any other;
//! - parameters (`pipeline.name` included) that are constant on each side but differ between
//!   the sides are listed as [`Diff::params`] (`train.lr: 0.001 → 0.002`);
//! - provenance columns (`backend`, `cpu`, `simd`) whose values differ between the sides are
//!   listed as [`Diff::provenance`]: the same seed follows another trajectory on another
//!   backend or vector level, so such a Δ is not a change of config alone;
//! - only `finished` rows are used; the others are counted in [`Diff::skipped_a`]/`_b`;
//! - two finished rows with the same key on one side are an error ([`DiffError::DuplicateKey`],
//!   naming both lines): averaging would hide which run is compared, so select the runs
//!   (e.g. give one summary.csv instead of a directory);
//! - metrics are numeric metric columns in both headers; by default `selected_accuracy` plus
//!   every other metric whose value differs on some joined row, except `selected_head` and
//!   `wall_seconds` (noise), which show only when named in [`DiffOptions::metrics`] or a
//!   `--fail-if`; metrics named in `--fail-if` are always shown;
//! - Δ = B − A; Δ% = Δ / |A| × 100 (so a drop is negative even for negative losses), absent
//!   when A = 0;
//! - `--fail-if 'METRIC OP NUMBER[%]'` with OP one of `<`, `<=`, `>`, `>=` tests Δ (or Δ% with
//!   `%`) of every joined row against the threshold; true = a [`Violation`]. Rows on one side
//!   only, and rows where either value is empty (or Δ% is absent), are never violations.

use super::collect::{
    cmp_keys, is_metric, is_param, load_summaries, numeric_metrics, varying, CollectError, Row,
};
use std::collections::BTreeMap;
use std::path::Path;

mod condition;
mod render;

pub use condition::{Condition, Op};

/// What to compare and when to fail.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Metrics to show; empty = the defaults described in the module docs.
    pub metrics: Vec<String>,
    /// `--fail-if` expressions, e.g. `selected_accuracy < -0.005` or `selected_loss > 2%`.
    pub fail_if: Vec<String>,
}

/// Errors while diffing.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// Finding, reading or parsing a summary failed.
    #[error(transparent)]
    Load(#[from] CollectError),
    /// A `--fail-if` expression does not parse.
    #[error("--fail-if `{expr}`: {what} (expected `METRIC OP NUMBER` or `METRIC OP NUMBER%`, OP one of <, <=, >, >=)")]
    BadCondition { expr: String, what: String },
    /// A named metric is not a metric column of both sides.
    #[error("unknown metric `{metric}` (in {context}); metrics in both A and B: {available}")]
    UnknownMetric {
        metric: String,
        context: String,
        available: String,
    },
    /// Two finished rows on one side have the same join key.
    #[error("{side}: {first} and {second} are both finished runs with {key}; diff needs one run per key")]
    DuplicateKey {
        side: &'static str,
        key: String,
        first: String,
        second: String,
    },
}

/// A parameter constant on each side whose value differs between the sides.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamChange {
    pub name: String,
    /// Value in A (`""` = empty or absent).
    pub a: String,
    /// Value in B.
    pub b: String,
}

/// One metric of one joined row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDelta {
    pub a: Option<f64>,
    pub b: Option<f64>,
}

impl MetricDelta {
    /// B − A, when both are present.
    pub fn delta(&self) -> Option<f64> {
        Some(self.b? - self.a?)
    }

    /// (B − A) / |A| × 100, when both are present and A ≠ 0.
    pub fn delta_pct(&self) -> Option<f64> {
        let a = self.a?;
        (a != 0.0).then(|| self.delta().map(|d| d / a.abs() * 100.0))?
    }

    fn changed(&self) -> bool {
        match (self.a, self.b) {
            (Some(a), Some(b)) => a != b && !(a.is_nan() && b.is_nan()),
            (a, b) => a.is_some() != b.is_some(),
        }
    }
}

/// A row present on both sides.
#[derive(Debug, Clone)]
pub struct DiffRow {
    /// Values of [`Diff::key`], in order.
    pub key: Vec<String>,
    /// One per [`Diff::metrics`], in order.
    pub metrics: Vec<MetricDelta>,
}

/// A `--fail-if` condition met by a joined row.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The row's key as (column, value) over [`Diff::key`].
    pub key: Vec<(String, String)>,
    pub metric: String,
    /// The expression as given.
    pub condition: String,
    pub a: f64,
    pub b: f64,
    pub delta: f64,
    pub delta_pct: Option<f64>,
}

/// The comparison of two results.
#[derive(Debug, Clone)]
pub struct Diff {
    /// The inputs as given.
    pub a_label: String,
    pub b_label: String,
    /// Join key columns.
    pub key: Vec<String>,
    /// Key columns whose value differs between rows (the ones displayed).
    pub shown_key: Vec<String>,
    /// Parameters that differ between the sides but are constant within each.
    pub params: Vec<ParamChange>,
    /// Provenance columns whose values (each side's distinct values, `not recorded` for an
    /// empty cell) differ between the sides.
    pub provenance: Vec<ParamChange>,
    /// Metrics shown.
    pub metrics: Vec<String>,
    /// Joined rows, sorted by key.
    pub rows: Vec<DiffRow>,
    /// Keys of rows only in A / only in B, sorted.
    pub only_a: Vec<Vec<String>>,
    pub only_b: Vec<Vec<String>>,
    /// Non-finished rows left out, by status.
    pub skipped_a: BTreeMap<String, usize>,
    pub skipped_b: BTreeMap<String, usize>,
    /// Conditions met, in row order then condition order.
    pub violations: Vec<Violation>,
}

/// Compares the finished runs of `a` and `b`.
pub fn diff(a: &Path, b: &Path, opts: &DiffOptions) -> Result<Diff, DiffError> {
    let conditions = opts
        .fail_if
        .iter()
        .map(|e| Condition::parse(e))
        .collect::<Result<Vec<_>, _>>()?;
    let sa = load_summaries(a)?;
    let sb = load_summaries(b)?;
    let (ra, skipped_a) = sa.finished();
    let (rb, skipped_b) = sb.finished();

    let mut header = sa.header.clone();
    header.extend(sb.header.iter().filter(|c| !sa.header.contains(c)).cloned());
    let params: Vec<&String> = header.iter().filter(|c| is_param(c)).collect();
    let var_a = varying(params.iter().copied(), &ra);
    let var_b = varying(params.iter().copied(), &rb);
    let key: Vec<String> = params
        .iter()
        .filter(|c| c.as_str() == "pipeline.seed" || var_a.contains(c) || var_b.contains(c))
        .filter(|c| c.as_str() != "pipeline.name")
        .map(|c| c.to_string())
        .collect();
    let params_changed: Vec<ParamChange> = match (ra.first(), rb.first()) {
        (Some(fa), Some(fb)) => params
            .iter()
            .filter(|c| !key.contains(c) && !var_a.contains(c) && !var_b.contains(c))
            .filter(|c| fa.value(c) != fb.value(c))
            .map(|c| ParamChange {
                name: c.to_string(),
                a: fa.value(c).to_string(),
                b: fb.value(c).to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };

    let provenance = PROVENANCE
        .iter()
        .filter_map(|c| {
            let (a, b) = (distinct(c, &ra), distinct(c, &rb));
            (!ra.is_empty() && !rb.is_empty() && a != b).then(|| ParamChange {
                name: c.to_string(),
                a,
                b,
            })
        })
        .collect();

    let index_a = index("A", &key, &ra)?;
    let index_b = index("B", &key, &rb)?;

    // Metrics: metric columns of both headers; defaults must be numeric on the first value.
    let both: Vec<String> = header
        .iter()
        .filter(|c| is_metric(c) && sa.header.contains(c) && sb.header.contains(c))
        .cloned()
        .collect();
    let check = |m: &String, context: &str| {
        if both.contains(m) {
            Ok(())
        } else {
            Err(DiffError::UnknownMetric {
                metric: m.clone(),
                context: context.to_string(),
                available: both.join(", "),
            })
        }
    };
    for m in &opts.metrics {
        check(m, "the metric list")?;
    }
    for c in &conditions {
        check(&c.metric, &format!("--fail-if `{}`", c.text))?;
    }
    let mut joined_rows: Vec<&Row> = ra.clone();
    joined_rows.extend(rb.iter().copied());
    let mut candidates: Vec<String> = numeric_metrics(&both, &joined_rows);
    for m in opts
        .metrics
        .iter()
        .chain(conditions.iter().map(|c| &c.metric))
    {
        if !candidates.contains(m) {
            candidates.push(m.clone());
        }
    }

    let mut keys: Vec<&Vec<String>> = index_a.keys().chain(index_b.keys()).collect();
    keys.sort_by(|x, y| cmp_keys(x, y));
    keys.dedup();
    let mut rows = Vec::new();
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    for k in &keys {
        match (index_a.get(*k), index_b.get(*k)) {
            (Some(x), Some(y)) => {
                let mut metrics = Vec::with_capacity(candidates.len());
                for m in &candidates {
                    metrics.push(MetricDelta {
                        a: x.number(m)?,
                        b: y.number(m)?,
                    });
                }
                rows.push(DiffRow {
                    key: (*k).clone(),
                    metrics,
                });
            }
            (Some(_), None) => only_a.push((*k).clone()),
            _ => only_b.push((*k).clone()),
        }
    }

    let mut violations = Vec::new();
    for r in &rows {
        for c in &conditions {
            // Conditions name checked metrics only; one that is not a candidate never holds.
            let Some(i) = candidates.iter().position(|m| *m == c.metric) else {
                continue;
            };
            let d = r.metrics[i];
            if c.holds(&d) {
                violations.push(Violation {
                    key: key.iter().cloned().zip(r.key.iter().cloned()).collect(),
                    metric: c.metric.clone(),
                    condition: c.text.clone(),
                    a: d.a.unwrap_or(f64::NAN),
                    b: d.b.unwrap_or(f64::NAN),
                    delta: d.delta().unwrap_or(f64::NAN),
                    delta_pct: d.delta_pct(),
                });
            }
        }
    }

    // Shown metrics, in header order with selected_accuracy first.
    let named: Vec<&String> = opts
        .metrics
        .iter()
        .chain(conditions.iter().map(|c| &c.metric))
        .collect();
    let quiet = ["selected_head", "wall_seconds"];
    let shown: Vec<usize> = (0..candidates.len())
        .filter(|&i| {
            let m = &candidates[i];
            named.contains(&m)
                || (opts.metrics.is_empty()
                    && (m == "selected_accuracy"
                        || (!quiet.contains(&m.as_str())
                            && rows.iter().any(|r| r.metrics[i].changed()))))
        })
        .collect();
    let mut order = shown.clone();
    order.sort_by_key(|&i| candidates[i] != "selected_accuracy");
    for r in &mut rows {
        r.metrics = order.iter().map(|&i| r.metrics[i]).collect();
    }
    let metrics: Vec<String> = order.iter().map(|&i| candidates[i].clone()).collect();

    let shown_key: Vec<String> = key
        .iter()
        .enumerate()
        .filter(|(i, _)| keys.iter().any(|k| k[*i] != keys[0][*i]))
        .map(|(_, c)| c.clone())
        .collect();

    Ok(Diff {
        a_label: a.display().to_string(),
        b_label: b.display().to_string(),
        key,
        shown_key,
        params: params_changed,
        provenance,
        metrics,
        rows,
        only_a,
        only_b,
        skipped_a,
        skipped_b,
        violations,
    })
}

/// The columns that say where a run ran, compared between the sides.
const PROVENANCE: [&str; 3] = ["backend", "cpu", "simd"];

/// The distinct values of `column` over `rows`, sorted and joined (`not recorded` for empty).
fn distinct(column: &str, rows: &[&Row]) -> String {
    let mut values: Vec<&str> = rows
        .iter()
        .map(|r| {
            Some(r.value(column))
                .filter(|v| !v.is_empty())
                .unwrap_or("not recorded")
        })
        .collect();
    values.sort_unstable();
    values.dedup();
    values.join(", ")
}

/// Finished rows of one side by key; a repeated key is an error.
fn index<'r>(
    side: &'static str,
    key: &[String],
    rows: &[&'r Row],
) -> Result<BTreeMap<Vec<String>, &'r Row>, DiffError> {
    let mut out: BTreeMap<Vec<String>, &Row> = BTreeMap::new();
    for r in rows {
        let k: Vec<String> = key.iter().map(|c| r.value(c).to_string()).collect();
        if let Some(prev) = out.insert(k.clone(), r) {
            let at = |r: &Row| format!("{}:{}", r.source.display(), r.line);
            let pairs: Vec<String> = key
                .iter()
                .zip(&k)
                .map(|(c, v)| format!("{c}={v}"))
                .collect();
            return Err(DiffError::DuplicateKey {
                side,
                key: if pairs.is_empty() {
                    "the same parameters".to_string()
                } else {
                    pairs.join(" ")
                },
                first: at(prev),
                second: at(r),
            });
        }
    }
    Ok(out)
}
