//! A run's directory `<out>/<pipeline-name>/<run-id>/`: its resolved config, its provenance and
//! its per-epoch metrics.

use super::atomic::write_atomic;
use super::records::EpochRecord;
use crate::spec::{EvaluatorKind, Spec};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The run id: a short hash of the resolved config, so the same config is recognisably the
/// same run. `dataset.dir` (where the files sit) does not change results and is left out.
pub fn run_id(spec: &Spec) -> String {
    let mut s = spec.clone();
    s.dataset.dir = PathBuf::new();
    s.train.memory_limit_gib = None;
    let digest = Sha256::digest(s.to_toml().as_bytes());
    format!("{digest:x}")[..12].to_string()
}

/// Provenance recorded next to the config.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub seed: u64,
    pub backend: String,
    pub device: String,
    pub mirun_version: String,
    pub git_commit: String,
    pub started_unix: u64,
    /// Values that came from env vars or `--set`, as given.
    pub overrides: Vec<String>,
}

/// Current git commit of the working directory, with `-dirty` when it has changes.
pub fn git_commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) if !c.is_empty() => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c}-dirty")
            } else {
                c
            }
        }
        _ => "unknown".into(),
    }
}

/// One run's folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `<out>/<name>/<run-id>/` and writes `config.toml` and `run.toml` into it.
    pub fn create(out: &Path, spec: &Spec, info: &RunInfo) -> std::io::Result<Self> {
        let path = out.join(&spec.pipeline.name).join(&info.run_id);
        std::fs::create_dir_all(&path)?;
        let dir = Self { path };
        let header = format!(
            "# Resolved config of run {} — `mirun run` this file to rerun it.\n\
             # mirun {}, git {}, backend {}, device {}, seed {}\n\
             # overrides: {}\n\n",
            info.run_id,
            info.mirun_version,
            info.git_commit,
            info.backend,
            info.device,
            info.seed,
            if info.overrides.is_empty() {
                "none".to_string()
            } else {
                info.overrides.join("; ")
            }
        );
        let snapshot = header + &spec.to_toml();
        write_atomic(&dir.path.join("config.toml"), snapshot.as_bytes())?;
        let meta = toml::to_string(info).unwrap_or_default();
        write_atomic(&dir.path.join("run.toml"), meta.as_bytes())?;
        Ok(dir)
    }
}

/// `confusion.csv` as (header, rows): for every epoch and head the non-zero counts of
/// (cluster, label), with the label the cluster was matched to.
pub fn confusion_rows(records: &[EpochRecord]) -> (String, String) {
    let header = "epoch,head,cluster,matched_label,label,count".to_string();
    let mut s = String::new();
    for r in records {
        for (h, score) in r.heads.iter().enumerate() {
            let sc = &score.scores;
            for (c, row) in sc.confusion.iter().enumerate() {
                let matched = sc
                    .mapping
                    .get(c)
                    .copied()
                    .flatten()
                    .map_or(String::new(), |l| l.to_string());
                for (l, &count) in row.iter().enumerate().filter(|(_, &n)| n > 0) {
                    s.push_str(&format!("{},{h},{c},{matched},{l},{count}\n", r.epoch));
                }
            }
        }
    }
    (header, s)
}

/// `merges.csv` of an IIC run with `heads.merge` as (header, rows): for every epoch, head and
/// cluster, the group it was merged into (the group is what `confusion.csv` calls a cluster).
pub fn merges_rows(records: &[EpochRecord]) -> (String, String) {
    let header = "epoch,head,cluster,group".to_string();
    let mut s = String::new();
    for r in records {
        for (h, score) in r.heads.iter().enumerate() {
            for (c, g) in score.merged.iter().flatten().enumerate() {
                s.push_str(&format!("{},{h},{c},{g}\n", r.epoch));
            }
        }
    }
    (header, s)
}

/// `metrics.csv` of an IIC run as (header, rows): `epoch,head,loss,accuracy,lr,seconds,selected`,
/// then one column per extra evaluator (`nmi`, `ari`, `majority`), `reinits` with the lottery
/// and `pass_loss` with `heads.select = "fixed_pass"`; a row per epoch and head.
pub fn metrics_rows(
    records: &[EpochRecord],
    extra: &[EvaluatorKind],
    lottery: bool,
    pass: bool,
) -> (String, String) {
    let mut header = String::from("epoch,head,loss,accuracy,lr,seconds,selected");
    for k in extra {
        header.push(',');
        header.push_str(k.name());
    }
    if lottery {
        header.push_str(",reinits");
    }
    if pass {
        header.push_str(",pass_loss");
    }
    let mut s = String::new();
    for r in records {
        for (h, score) in r.heads.iter().enumerate() {
            s.push_str(&format!(
                "{},{},{:.6},{:.6},{:e},{:.3},{}",
                r.epoch,
                h,
                score.loss,
                score.accuracy,
                r.lr,
                r.seconds,
                u8::from(h == r.selected)
            ));
            for k in extra {
                s.push_str(&format!(",{:.6}", evaluator_value(&score.scores, *k)));
            }
            if lottery {
                s.push_str(&format!(",{}", score.reinits));
            }
            if pass {
                let v = score.pass_loss.map_or(String::new(), |v| format!("{v:.6}"));
                s.push_str(&format!(",{v}"));
            }
            s.push('\n');
        }
    }
    (header, s)
}

/// The score a clustering evaluator reports for one head. Every evaluator is named: a new one
/// must say here what it reports, not turn into a NaN column.
pub fn evaluator_value(s: &crate::eval::Scores, k: EvaluatorKind) -> f64 {
    match k {
        EvaluatorKind::Hungarian => s.accuracy,
        EvaluatorKind::Nmi => s.nmi,
        EvaluatorKind::Ari => s.ari,
        EvaluatorKind::Majority => s.majority,
        // Not per-head clustering scores: the validator keeps them out of IIC runs, and MINE
        // runs write their own columns (`step,bound,…`, `probe_*`).
        EvaluatorKind::AnalyticMi | EvaluatorKind::BinnedMi | EvaluatorKind::LinearProbe => {
            f64::NAN
        }
    }
}
