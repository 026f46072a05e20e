//! Scoring a clustering with every evaluator at once — for training runs and for any tool's
//! output given as a CSV of (label, cluster) rows (`mirun score`).

use super::cluster_score::Named;
use super::hungarian::count_matrix;
use super::hungarian_accuracy;
use crate::spec::EvaluatorKind;
use std::collections::HashMap;
use std::path::Path;

/// All scores of one clustering against labels.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Hungarian (one-to-one) accuracy.
    pub accuracy: f64,
    /// Every registered score ([`super::CLUSTER_SCORES`]: NMI, ARI, many-to-one accuracy, …).
    #[serde(flatten)]
    pub named: Named,
    pub n: usize,
    pub clusters: usize,
    pub classes: usize,
    /// `mapping[cluster]`: the label the Hungarian matching gives the cluster.
    pub mapping: Vec<Option<usize>>,
    /// Counts `[cluster][label]`.
    #[serde(skip)]
    pub confusion: Vec<Vec<i64>>,
}

/// Scores dense ids: clusters in `0..k`, labels in `0..classes`.
pub fn score(clusters: &[usize], labels: &[usize], k: usize, classes: usize) -> Scores {
    let matching = hungarian_accuracy(clusters, labels, k, classes);
    Scores {
        accuracy: matching.accuracy,
        named: Named::of(clusters, labels),
        n: clusters.len(),
        clusters: k,
        classes,
        mapping: matching.mapping,
        confusion: count_matrix(clusters, labels, k, classes),
    }
}

impl Scores {
    /// The value evaluator `kind` reports (NaN for one that does not score a clustering).
    pub fn get(&self, kind: EvaluatorKind) -> f64 {
        if kind == EvaluatorKind::Hungarian {
            self.accuracy
        } else {
            self.named.get(kind)
        }
    }
}

/// Errors reading a predictions CSV.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("{path}: {what}")]
    Read { path: String, what: String },
    #[error("{path}: no column `{column}` (columns: {found})")]
    NoColumn {
        path: String,
        column: String,
        found: String,
    },
    #[error("{path}: line {line}: {what}")]
    Row {
        path: String,
        line: u64,
        what: String,
    },
}

/// Maps arbitrary strings to dense ids in order of first appearance.
#[derive(Default)]
struct Ids(HashMap<String, usize>);

impl Ids {
    fn id(&mut self, s: &str) -> usize {
        let next = self.0.len();
        *self.0.entry(s.trim().to_string()).or_insert(next)
    }
}

/// Reads `path` (a CSV with a header) and scores its `cluster_col` against its `label_col`.
/// Labels and clusters may be any strings; a malformed row is an error naming its line.
pub fn score_csv(path: &Path, label_col: &str, cluster_col: &str) -> Result<Scores, ScoreError> {
    let p = path.display().to_string();
    let mut r = csv::Reader::from_path(path).map_err(|e| ScoreError::Read {
        path: p.clone(),
        what: e.to_string(),
    })?;
    let header = r
        .headers()
        .map_err(|e| ScoreError::Row {
            path: p.clone(),
            line: 1,
            what: e.to_string(),
        })?
        .clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| ScoreError::NoColumn {
                path: p.clone(),
                column: name.into(),
                found: header.iter().collect::<Vec<_>>().join(", "),
            })
    };
    let (li, ci) = (col(label_col)?, col(cluster_col)?);
    let (mut label_ids, mut cluster_ids) = (Ids::default(), Ids::default());
    let (mut labels, mut clusters) = (Vec::new(), Vec::new());
    for rec in r.records() {
        let rec = rec.map_err(|e| ScoreError::Row {
            path: p.clone(),
            line: e.position().map_or(0, |pos| pos.line()),
            what: e.to_string(),
        })?;
        let line = rec.position().map_or(0, |pos| pos.line());
        let (l, c) = (rec.get(li).unwrap_or(""), rec.get(ci).unwrap_or(""));
        if l.trim().is_empty() || c.trim().is_empty() {
            return Err(ScoreError::Row {
                path: p.clone(),
                line,
                what: format!("empty `{label_col}` or `{cluster_col}`"),
            });
        }
        labels.push(label_ids.id(l));
        clusters.push(cluster_ids.id(c));
    }
    if labels.is_empty() {
        return Err(ScoreError::Read {
            path: p,
            what: "no rows to score".into(),
        });
    }
    Ok(score(
        &clusters,
        &labels,
        cluster_ids.0.len(),
        label_ids.0.len(),
    ))
}
