//! Layering: built-in defaults < the file < `MIRUN_SECTION__KEY` env vars < `--set key=value`.

use super::Spec;
use figment::providers::Serialized;
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use std::path::{Path, PathBuf};

/// Errors from reading and resolving a pipeline file.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("pipeline file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{origin}: expected `section.key=value`, got `{text}`")]
    BadOverride { origin: String, text: String },
    #[error("{file}: invalid pipeline:\n  - {}", .problems.join("\n  - "))]
    Rules { file: String, problems: Vec<String> },
}

/// One value set from outside the file: an env var or a `--set` flag.
#[derive(Debug, Clone)]
pub struct Override {
    /// Where it came from, for error messages (`env MIRUN_TRAIN__EPOCHS`, `--set train.epochs=5`).
    pub origin: String,
    /// Dotted key path (`train.epochs`).
    pub key: String,
    /// The value, parsed as a TOML value where it parses (`3`, `1e-3`, `[10, 16]`), else a string.
    pub value: toml::Value,
}

impl Override {
    /// Parses `--set section.key=value`.
    pub fn from_set(text: &str) -> Result<Self, SpecError> {
        let origin = format!("--set {text}");
        let (key, raw) = text.split_once('=').ok_or_else(|| SpecError::BadOverride {
            origin: "--set".into(),
            text: text.into(),
        })?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(SpecError::BadOverride {
                origin: "--set".into(),
                text: text.into(),
            });
        }
        Ok(Self {
            origin,
            key: key.to_string(),
            value: parse_value(raw.trim()),
        })
    }

    /// Turns the `MIRUN_SECTION__KEY=value` variables among `vars` into overrides.
    /// `MIRUN_DATA_DIR` is the documented alias of `MIRUN_DATASET__DIR`; other
    /// `MIRUN_*` variables without `__` (such as `MIRUN_DATA_MIRROR`) are not config.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Vec<Self> {
        let mut out: Vec<Self> = vars
            .into_iter()
            .filter_map(|(name, raw)| {
                let key = if name == "MIRUN_DATA_DIR" {
                    "dataset.dir".to_string()
                } else {
                    let rest = name.strip_prefix("MIRUN_")?;
                    if !rest.contains("__") {
                        return None;
                    }
                    rest.to_lowercase().replace("__", ".")
                };
                Some(Self {
                    origin: format!("env {name}"),
                    key,
                    value: parse_value(raw.trim()),
                })
            })
            .collect();
        // MIRUN_DATASET__DIR, being explicit, wins over the alias.
        out.sort_by_key(|o| o.origin != "env MIRUN_DATA_DIR");
        out
    }
}

fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

impl Provider for Override {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.origin.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::default(&self.key, &self.value).data()
    }
}

/// One pipeline file's table (without its `extends` key), named after the file in errors.
struct FileLayer {
    path: PathBuf,
    table: toml::Table,
}

impl Provider for FileLayer {
    fn metadata(&self) -> Metadata {
        Metadata::from("TOML file", figment::Source::File(self.path.clone()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::defaults(&self.table).data()
    }
}

/// The file and the chain it `extends`, base first. `extends` is a path relative to the file
/// that says it; a cycle is an error naming it.
fn file_layers(path: &Path, seen: &mut Vec<PathBuf>) -> Result<Vec<FileLayer>, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut table = toml::from_str::<toml::Table>(&text)
        .map_err(|e| SpecError::Invalid(format!("{}: malformed TOML: {e}", path.display())))?;
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if seen.contains(&canonical) {
        let chain: Vec<_> = seen.iter().map(|p| p.display().to_string()).collect();
        return Err(SpecError::Invalid(format!(
            "{}: `extends` cycle: {} -> {}",
            path.display(),
            chain.join(" -> "),
            canonical.display()
        )));
    }
    seen.push(canonical);
    let mut layers = Vec::new();
    match table.remove("extends") {
        None => {}
        Some(toml::Value::String(base)) => {
            let base_path = path.parent().unwrap_or(Path::new(".")).join(base);
            layers = file_layers(&base_path, seen)?;
        }
        Some(other) => {
            return Err(SpecError::Invalid(format!(
                "{}: key `extends`: expected a file path string, got {}",
                path.display(),
                other.type_str()
            )))
        }
    }
    layers.push(FileLayer {
        path: path.to_path_buf(),
        table,
    });
    Ok(layers)
}

/// Where a spec's values come from.
#[derive(Debug, Clone, Default)]
pub struct SpecSource {
    /// The pipeline file, if any.
    pub file: Option<PathBuf>,
    /// Env overrides, then `--set` overrides, in increasing precedence.
    pub overrides: Vec<Override>,
}

/// Resolves a spec from its layers, then checks the cross-field rules. All rule violations are
/// reported together.
pub fn load(source: &SpecSource) -> Result<Spec, SpecError> {
    let mut fig = Figment::from(Serialized::defaults(Spec::default()));
    let label = match &source.file {
        Some(path) => {
            for layer in file_layers(path, &mut Vec::new())? {
                fig = fig.merge(layer);
            }
            path.display().to_string()
        }
        None => "<defaults>".to_string(),
    };
    for o in &source.overrides {
        fig = fig.merge(o.clone());
    }
    let mut spec: Spec = fig.extract().map_err(|e| SpecError::Invalid(describe(e)))?;
    if spec.pipeline.name.is_empty() {
        spec.pipeline.name = source
            .file
            .as_deref()
            .and_then(Path::file_stem)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pipeline".into());
    }
    let problems = super::validate(&spec);
    if !problems.is_empty() {
        return Err(SpecError::Rules {
            file: label,
            problems,
        });
    }
    spec.heads.clusters = Some(spec.clusters());
    spec.dataset.train_size = Some(spec.dataset.train_size.unwrap_or(60_000));
    spec.dataset.test_size = Some(spec.dataset.test_size.unwrap_or(10_000));
    Ok(spec)
}

/// One line per figment error, each naming the key path and where the value came from.
fn describe(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let origin = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(src) => src.to_string(),
                    None => m.name.to_string(),
                })
                .unwrap_or_else(|| "built-in defaults".into());
            if key.is_empty() {
                format!("{origin}: {}", e.kind)
            } else {
                format!("{origin}: key `{key}`: {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
