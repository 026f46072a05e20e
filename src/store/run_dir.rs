//! A run's directory `<out>/<pipeline-name>/<run-id>/`: its resolved config, its provenance and
//! its per-epoch metrics.

use super::atomic::write_atomic;
use crate::spec::Spec;
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
    /// The commit mirun was built from (`-dirty`: its sources had uncommitted changes).
    pub mirun_commit: String,
    /// The commit of the working directory the run started in (the configs' repository).
    pub git_commit: String,
    /// The CPU's model name and the vector instructions its kernels use
    /// (`crate::backend::simd_level`): CPU results reproduce bit for bit on the same level.
    pub cpu: String,
    pub simd: String,
    pub started_unix: u64,
    /// Values that came from env vars or `--set`, as given.
    pub overrides: Vec<String>,
}

/// The commit this mirun was built from (recorded by `build.rs`; `unknown` without git).
pub const BUILD_COMMIT: &str = env!("MIRUN_BUILD_COMMIT");

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
             # mirun {} (build {}), git {}, backend {}, device {}, seed {}\n\
             # overrides: {}\n\n",
            info.run_id,
            info.mirun_version,
            info.mirun_commit,
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
