//! `[launcher]`: where a sweep's points run — here (`local`, child processes) or on a Slurm
//! cluster as one job array. Read from the pipeline file itself (like `[sweep]`, not through
//! `extends`), then `--set launcher.KEY=VALUE` flags.

use super::load::Override;
use super::origin::FileText;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Where the points of a sweep run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LauncherKind {
    /// Child `mirun run` processes on this machine, `-j` at a time.
    #[default]
    Local,
    /// One Slurm job array, submitted with `sbatch`.
    Slurm,
}

/// The `[launcher]` table: the launcher and the Slurm resources of each array task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LauncherSpec {
    pub kind: LauncherKind,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` per task: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM` or `D-HH:MM:SS`.
    pub time: Option<String>,
    /// `--cpus-per-task` (also the task's `RAYON_NUM_THREADS`).
    pub cpus_per_task: Option<u32>,
    /// `--mem` per task: a number with an optional K, M, G or T suffix (`16G`).
    pub mem: Option<String>,
    /// `--gpus` per task.
    pub gpus: Option<u32>,
    /// `--account`.
    pub account: Option<String>,
    /// `--qos`.
    pub qos: Option<String>,
    /// At most this many tasks at once (the array's `%N` throttle).
    pub max_parallel: Option<u32>,
    /// More `#SBATCH` options, one per entry (`"--constraint=a100"`).
    pub extra: Vec<String>,
    /// Shell lines each task runs before mirun (`"module load cuda/12"`).
    pub setup: Vec<String>,
    /// The mirun binary on the compute nodes (default: this one's absolute path).
    pub mirun: Option<String>,
}

/// A bad `[launcher]` key: where it was set and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{at}: `launcher.{key}`: {what}")]
pub struct LauncherError {
    /// `file:line:col` or the `--set` flag.
    pub at: String,
    pub key: String,
    pub what: String,
}

const KEYS: &[&str] = &[
    "kind",
    "partition",
    "time",
    "cpus_per_task",
    "mem",
    "gpus",
    "account",
    "qos",
    "max_parallel",
    "extra",
    "setup",
    "mirun",
];

impl LauncherSpec {
    /// The file's `[launcher]` table with the `launcher.*` overrides applied, validated.
    pub fn resolve(path: &Path, overrides: &[Override]) -> Result<Self, LauncherError> {
        let at_file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LauncherError {
            at: at_file.clone(),
            key: "kind".into(),
            what: e.to_string(),
        })?;
        let file = FileText::new(path.to_path_buf(), text.clone());
        let mut origins: Vec<(String, String)> = Vec::new();
        let mut table = match toml::from_str::<toml::Table>(&text)
            .ok()
            .and_then(|mut t| t.remove("launcher"))
        {
            None => toml::Table::new(),
            Some(toml::Value::Table(t)) => {
                for k in t.keys() {
                    let at = file
                        .locate(&format!("launcher.{k}"))
                        .unwrap_or_else(|| at_file.clone());
                    origins.push((k.clone(), at));
                }
                t
            }
            Some(other) => {
                return Err(LauncherError {
                    at: file.locate("launcher").unwrap_or(at_file),
                    key: String::new(),
                    what: format!("`launcher` must be a table, got {}", other.type_str()),
                })
            }
        };
        for o in overrides {
            if let Some(k) = o.key.strip_prefix("launcher.") {
                table.insert(k.to_string(), o.value.clone());
                origins.retain(|(key, _)| key != k);
                origins.push((k.to_string(), o.origin.clone()));
            }
        }
        let at = |k: &str| {
            origins
                .iter()
                .find(|(key, _)| key == k)
                .map_or_else(|| at_file.clone(), |(_, a)| a.clone())
        };
        // Key by key first, so that an error names the key and where it was set; then the
        // whole table at once.
        for (k, v) in table.iter_mut() {
            let bad = |what: String| LauncherError {
                at: at(k),
                key: k.clone(),
                what,
            };
            if !KEYS.contains(&k.as_str()) {
                let near = super::load::nearest(k, KEYS)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(bad(format!(
                    "unknown key{near}; expected one of {}",
                    KEYS.join(", ")
                )));
            }
            match v {
                // `time = 01:00:00` and `--set launcher.time=01:00:00` read as TOML times.
                toml::Value::Datetime(d) => *v = toml::Value::String(d.to_string()),
                toml::Value::Integer(i) if matches!(k.as_str(), "mem" | "time") => {
                    *v = toml::Value::String(i.to_string())
                }
                _ => {}
            }
            let one: toml::Table = [(k.clone(), v.clone())].into_iter().collect();
            toml::Value::Table(one)
                .try_into::<LauncherSpec>()
                .map_err(|e| bad(e.message().trim().to_string()))?;
        }
        let spec: LauncherSpec =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e| LauncherError {
                    at: at_file.clone(),
                    key: "kind".into(),
                    what: e.message().trim().to_string(),
                })?;
        spec.check().map_err(|(k, what)| LauncherError {
            at: at(k),
            key: k.to_string(),
            what,
        })?;
        Ok(spec)
    }

    /// `launcher.mem` in bytes (Slurm's unit without a suffix is MiB).
    pub fn mem_bytes(&self) -> Option<f64> {
        let m = self.mem.as_deref()?;
        let (digits, unit) = match m.char_indices().last()? {
            (i, c) if c.is_ascii_alphabetic() => (&m[..i], c.to_ascii_uppercase()),
            _ => (m, 'M'),
        };
        let n: f64 = digits.parse().ok()?;
        let shift = match unit {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            'T' => 40,
            _ => return None,
        };
        Some(n * (1u64 << shift) as f64)
    }

    /// Rules serde's types cannot express; the first broken one as (key, message).
    fn check(&self) -> Result<(), (&'static str, String)> {
        if let Some(t) = &self.time {
            if !is_slurm_time(t) {
                return Err((
                    "time",
                    format!("expected a Slurm time such as 90, 01:30:00 or 2-00:00:00, got {t:?}"),
                ));
            }
        }
        if let Some(m) = &self.mem {
            let digits = m.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
            if digits.is_empty()
                || !digits.bytes().all(|b| b.is_ascii_digit())
                || m.len() > digits.len() + 1
            {
                return Err((
                    "mem",
                    format!("expected a size such as 16G or 4000M, got {m:?}"),
                ));
            }
        }
        for (k, v) in [
            ("cpus_per_task", self.cpus_per_task),
            ("max_parallel", self.max_parallel),
        ] {
            if v == Some(0) {
                return Err((k, "expected at least 1".into()));
            }
        }
        for (k, v) in [
            ("partition", &self.partition),
            ("account", &self.account),
            ("qos", &self.qos),
        ] {
            if let Some(s) = v {
                let ok = |c: char| c.is_ascii_alphanumeric() || "_.,-".contains(c);
                if s.is_empty() || !s.chars().all(ok) {
                    return Err((
                        k,
                        format!(
                            "expected a Slurm name (letters, digits, `_`, `.`, `,` and `-`), \
                             got {s:?}"
                        ),
                    ));
                }
            }
        }
        for line in &self.extra {
            if !line.starts_with('-') || line.contains('\n') {
                return Err((
                    "extra",
                    format!(
                        "each entry is one sbatch option such as \"--constraint=a100\", got {line:?}"
                    ),
                ));
            }
        }
        if self.setup.iter().any(|l| l.contains('\n')) {
            return Err(("setup", "one shell line per entry".into()));
        }
        Ok(())
    }
}

/// Slurm's time formats: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`.
fn is_slurm_time(t: &str) -> bool {
    let num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    if days.is_some_and(|d| !num(d)) {
        return false;
    }
    let parts: Vec<&str> = rest.split(':').collect();
    parts.len() <= 3 && parts.iter().all(|p| num(p)) && !(days.is_none() && t.is_empty())
}
