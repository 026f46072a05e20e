//! `mirun plot`: SVG or PNG charts of a run (accuracy and loss per head, MINE's estimate, the
//! confusion matrix) or of a sweep (a metric against the swept key, seeds as error bars).

mod charts;
mod grid;

pub use charts::{Canvas, Series};
pub use grid::cluster_grid;

use super::collect::load_summaries;
use super::table::{table, TableOptions};
use crate::store::write_atomic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Errors while plotting.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{path}: {what}")]
    Input { path: String, what: String },
    #[error("{path}: {what}")]
    Output { path: String, what: String },
}

fn input(path: &Path, what: impl Into<String>) -> PlotError {
    PlotError::Input {
        path: path.display().to_string(),
        what: what.into(),
    }
}

/// What a run's charts put on the x axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum XAxis {
    /// The epoch.
    #[default]
    Epoch,
    /// Wall-clock minutes of training when the epoch ended.
    Minutes,
}

impl XAxis {
    fn label(self) -> &'static str {
        match self {
            XAxis::Epoch => "epoch",
            XAxis::Minutes => "minutes",
        }
    }
}

/// The x of each epoch: itself, or the minutes trained when it ended (each epoch's `seconds`,
/// read from its first row, summed in epoch order).
fn epoch_x(
    path: &Path,
    rows: &[BTreeMap<String, String>],
    x: XAxis,
) -> Result<BTreeMap<u64, f64>, PlotError> {
    let mut seconds: BTreeMap<u64, f64> = BTreeMap::new();
    for r in rows {
        let e = num(path, r, "epoch")? as u64;
        if let std::collections::btree_map::Entry::Vacant(slot) = seconds.entry(e) {
            slot.insert(match x {
                XAxis::Epoch => 0.0,
                XAxis::Minutes => num(path, r, "seconds")?,
            });
        }
    }
    let mut total = 0.0;
    Ok(seconds
        .into_iter()
        .map(|(e, s)| {
            total += s;
            let v = match x {
                XAxis::Epoch => e as f64,
                XAxis::Minutes => total / 60.0,
            };
            (e, v)
        })
        .collect())
}

/// Rows of a CSV file as column → value maps.
fn read_csv(path: &Path) -> Result<Vec<BTreeMap<String, String>>, PlotError> {
    let file = crate::store::CsvFile::read(path).map_err(|e| match e {
        crate::store::CsvError::Io { what, .. } => input(path, what),
        malformed => input(path, malformed.to_string()),
    })?;
    Ok(file
        .pairs()
        .map(|(_, values)| values.into_iter().collect())
        .collect())
}

fn num(path: &Path, row: &BTreeMap<String, String>, col: &str) -> Result<f64, PlotError> {
    let v = row.get(col).map(String::as_str).unwrap_or("");
    v.parse::<f64>().map_err(|_| {
        input(
            path,
            format!("column `{col}`: expected a number, got `{v}`"),
        )
    })
}

/// Writes the plots of `target` (a run directory, or a results directory / summary.csv of
/// many runs); `out` is the main chart's path (`.svg` or `.png`); `metric` picks a sweep's
/// metric (default: the first of selected_accuracy, probe_heldout, mi_estimate). Returns the
/// files written.
pub fn plot(
    target: &Path,
    out: Option<&Path>,
    metric: Option<&str>,
    x: XAxis,
) -> Result<Vec<PathBuf>, PlotError> {
    let metrics = target.join("metrics.csv");
    if metrics.is_file() {
        if metric.is_some() {
            return Err(input(
                target,
                "`--metric` picks a sweep's metric; a run's plot shows all of its own (give \
                 the sweep's folder or summary.csv instead)",
            ));
        }
        let out = out.map_or_else(|| target.join("plot.svg"), Path::to_path_buf);
        return plot_run(target, &metrics, &out, x);
    }
    if x != XAxis::Epoch {
        return Err(input(
            target,
            "`--x minutes` plots one run (a directory with metrics.csv); this is a sweep",
        ));
    }
    let out = out.map_or_else(
        || {
            if target.is_dir() {
                target.join("plot.svg")
            } else {
                target.with_extension("svg")
            }
        },
        Path::to_path_buf,
    );
    plot_sweep(target, &out, metric)
}

/// The sibling of `out` named `<stem>-<suffix>.<ext>`.
fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or("plot".into(), |s| s.to_string_lossy());
    let ext = out
        .extension()
        .map_or("svg".into(), |s| s.to_string_lossy());
    out.with_file_name(format!("{stem}-{suffix}.{ext}"))
}

fn plot_run(dir: &Path, metrics: &Path, out: &Path, x: XAxis) -> Result<Vec<PathBuf>, PlotError> {
    let rows = read_csv(metrics)?;
    let header: Vec<&str> = rows
        .first()
        .map(|r| r.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if rows.is_empty() {
        return Err(input(metrics, "no rows yet: nothing to plot"));
    }
    if header.contains(&"step") {
        if x != XAxis::Epoch {
            return Err(input(
                metrics,
                "a Gaussian MINE run is plotted against its steps; `--x minutes` needs epochs",
            ));
        }
        // MINE on the Gaussian: bound and running estimate against the step.
        let mut bound = Series::new("bound (batch)");
        bound.faint = true;
        let mut est = Series::new("MINE estimate (mean of last 100)");
        let mut analytic = Series::new("analytic MI");
        let mut binned = Series::new("binned MI");
        for r in &rows {
            let s = num(metrics, r, "step")?;
            bound.points.push((s, num(metrics, r, "bound")?));
            est.points.push((s, num(metrics, r, "estimate")?));
            if let Ok(a) = num(metrics, r, "analytic_mi") {
                analytic.points.push((s, a));
            }
            if let Ok(b) = num(metrics, r, "binned_mi") {
                binned.points.push((s, b));
            }
        }
        let series = vec![bound, est, analytic, binned];
        let canvas = Canvas::single("MINE on the Gaussian", "step", "nats", series);
        return canvas.save(out).map(|()| vec![out.to_path_buf()]);
    }
    let xs = epoch_x(metrics, &rows, x)?;
    let at = |r: &BTreeMap<String, String>| -> Result<f64, PlotError> {
        let e = num(metrics, r, "epoch")? as u64;
        Ok(xs.get(&e).copied().unwrap_or(f64::NAN))
    };
    if header.contains(&"probe_heldout") {
        let mut held = Series::new("probe, held-out");
        let mut book = Series::new("probe, book (test on test)");
        let mut mi = Series::new("MI estimate (nats)");
        for r in &rows {
            let e = at(r)?;
            if let Ok(v) = num(metrics, r, "probe_heldout") {
                held.points.push((e, v));
            }
            if let Ok(v) = num(metrics, r, "probe_book") {
                book.points.push((e, v));
            }
            mi.points.push((e, num(metrics, r, "mi_estimate")?));
        }
        let canvas = Canvas::pair(
            (
                "linear probe accuracy",
                x.label(),
                "accuracy",
                vec![held, book],
            ),
            ("MINE estimate", x.label(), "nats", vec![mi]),
        );
        return canvas.save(out).map(|()| vec![out.to_path_buf()]);
    }
    // IIC: accuracy and loss per head against the epoch (or minutes), and the head each
    // epoch selected (lowest loss, no labels).
    let mut acc: BTreeMap<usize, Series> = BTreeMap::new();
    let mut loss: BTreeMap<usize, Series> = BTreeMap::new();
    let mut selected = Series::new("selected head (lowest loss)");
    for r in &rows {
        let e = at(r)?;
        let h = num(metrics, r, "head")? as usize;
        if r.get("selected").map(String::as_str) == Some("1") {
            selected.points.push((e, num(metrics, r, "accuracy")?));
        }
        acc.entry(h)
            .or_insert_with(|| Series::new(&format!("head {h}")))
            .points
            .push((e, num(metrics, r, "accuracy")?));
        loss.entry(h)
            .or_insert_with(|| Series::new(&format!("head {h}")))
            .points
            .push((e, num(metrics, r, "loss")?));
    }
    let mut accuracies: Vec<Series> = acc.into_values().collect();
    if accuracies.len() > 1 {
        accuracies.push(selected);
    }
    let canvas = Canvas::pair(
        (
            "test accuracy (Hungarian)",
            x.label(),
            "accuracy",
            accuracies,
        ),
        (
            "training loss (−MI, nats)",
            x.label(),
            "loss",
            loss.into_values().collect(),
        ),
    );
    canvas.save(out)?;
    let mut written = vec![out.to_path_buf()];
    let confusion = dir.join("confusion.csv");
    if confusion.is_file() {
        let path = sibling(out, "confusion");
        if let Some(c) = last_confusion(&confusion, &rows, metrics)? {
            Canvas::heat_map(c).save(&path)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The last epoch's confusion matrix (cluster × label) of the selected head.
fn last_confusion(
    path: &Path,
    metrics: &[BTreeMap<String, String>],
    metrics_path: &Path,
) -> Result<Option<charts::Confusion>, PlotError> {
    let last = metrics
        .iter()
        .rfind(|r| r.get("selected").map(String::as_str) == Some("1"));
    let Some(last) = last else { return Ok(None) };
    let (epoch, head) = (
        num(metrics_path, last, "epoch")? as usize,
        num(metrics_path, last, "head")? as usize,
    );
    let mut cells = Vec::new();
    for r in read_csv(path)? {
        if num(path, &r, "epoch")? as usize == epoch && num(path, &r, "head")? as usize == head {
            cells.push((
                num(path, &r, "cluster")? as usize,
                num(path, &r, "label")? as usize,
                num(path, &r, "count")?,
            ));
        }
    }
    Ok(Some(charts::Confusion {
        title: format!("confusion, epoch {epoch}, head {head} (selected)"),
        cells,
    }))
}

/// Metrics a sweep plot shows by default, first present wins.
const HEADLINE: [&str; 4] = [
    "selected_accuracy",
    "probe_heldout",
    "mi_estimate",
    "mean_accuracy",
];

fn plot_sweep(target: &Path, out: &Path, metric: Option<&str>) -> Result<Vec<PathBuf>, PlotError> {
    let summaries = load_summaries(target).map_err(|e| input(target, e.to_string()))?;
    let metric = match metric {
        Some(m) => m.to_string(),
        None => HEADLINE
            .iter()
            .find(|m| summaries.header.iter().any(|h| h == *m))
            .map(|m| m.to_string())
            .ok_or_else(|| input(target, "no headline metric column; name one with --metric"))?,
    };
    let opts = TableOptions {
        metrics: vec![metric.clone()],
        ..Default::default()
    };
    let t = table(target, &opts).map_err(|e| input(target, e.to_string()))?;
    let numeric = t.by.len() == 1 && t.groups.iter().all(|g| g.key[0].parse::<f64>().is_ok());
    let mut one = Series::new(&metric);
    let mut many = Vec::new();
    for (i, g) in t.groups.iter().enumerate() {
        let Some(stat) = g.stats.first() else {
            continue;
        };
        let Some(m) = stat.mean else { continue };
        let err = stat.std.unwrap_or(0.0);
        if numeric {
            one.points.push((g.key[0].parse().unwrap_or(i as f64), m));
            one.errors.push(err);
        } else {
            // Categorical settings: one marker per setting, named in the legend.
            let label: Vec<String> =
                t.by.iter()
                    .zip(&g.key)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
            let mut s = Series::new(&label.join(" "));
            s.points.push((i as f64, m));
            s.errors.push(err);
            many.push(s);
        }
    }
    let series = if numeric { vec![one] } else { many };
    if series.iter().all(|s| s.points.is_empty()) {
        return Err(input(target, "no finished runs to plot"));
    }
    let title = format!(
        "{metric}: mean ± std over seeds ({} runs)",
        summaries.rows.len()
    );
    let x = if numeric {
        t.by[0].clone()
    } else {
        "setting".into()
    };
    Canvas::single(&title, &x, &metric, series).save(out)?;
    Ok(vec![out.to_path_buf()])
}

/// Writes `bytes` to `path` atomically, naming the path on error.
fn write_out(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    write_atomic(path, bytes).map_err(|e| PlotError::Output {
        path: path.display().to_string(),
        what: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: &str, seconds: &str) -> BTreeMap<String, String> {
        [("epoch", epoch), ("seconds", seconds)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn minutes_sum_each_epochs_seconds_once_however_many_heads_it_has() {
        // Two heads per epoch: each epoch's seconds appear twice and count once.
        let rows = [
            row("2", "120"),
            row("1", "60"),
            row("1", "60"),
            row("2", "120"),
        ];
        let p = Path::new("metrics.csv");
        let minutes = epoch_x(p, &rows, XAxis::Minutes).unwrap();
        assert_eq!(
            minutes.into_iter().collect::<Vec<_>>(),
            vec![(1, 1.0), (2, 3.0)]
        );
        let epochs = epoch_x(p, &rows, XAxis::Epoch).unwrap();
        assert_eq!(
            epochs.into_iter().collect::<Vec<_>>(),
            vec![(1, 1.0), (2, 2.0)]
        );
        let bad = [row("1", "soon")];
        let err = epoch_x(p, &bad, XAxis::Minutes).unwrap_err().to_string();
        assert!(err.contains("seconds") && err.contains("soon"), "{err}");
    }
}
