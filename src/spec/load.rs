//! Layering: built-in defaults < `extends` chain (base first) < the file < `MIRUN_SECTION__KEY`
//! env vars < `--set key=value`. Every error names where the offending value came from.

use super::origin::FileText;
use super::Spec;
use figment::providers::Serialized;
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use std::path::{Path, PathBuf};

/// Errors from reading and resolving a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Syntax(String),
    #[error("{origin}: expected `section.key=value`, got `{text}`")]
    BadOverride { origin: String, text: String },
    /// Every broken rule, one line each (a value's own line breaks are shown as `\n`).
    #[error("{} problem(s) in {label}:\n  - {}", .problems.len(), one_line_each(.problems).join("\n  - "))]
    Problems {
        label: String,
        problems: Vec<String>,
    },
}

/// The problems with their line breaks written as `\n`, so each stays one line of the list.
fn one_line_each(problems: &[String]) -> Vec<String> {
    problems
        .iter()
        .map(|p| p.replace('\r', "\\r").replace('\n', "\\n"))
        .collect()
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
        let bad = || SpecError::BadOverride {
            origin: "--set".into(),
            text: text.into(),
        };
        let (key, raw) = text.split_once('=').ok_or_else(bad)?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(bad());
        }
        Ok(Self {
            origin: format!("--set {text}"),
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
        // Stable order; MIRUN_DATASET__DIR, being explicit, wins over the alias.
        out.sort_by(|a, b| {
            (a.origin != "env MIRUN_DATA_DIR", &a.origin)
                .cmp(&(b.origin != "env MIRUN_DATA_DIR", &b.origin))
        });
        out
    }
}

/// A value as TOML where it parses (`3`, `1e-3`, `[10, 16]`), else the plain string.
pub(super) fn parse_value(raw: &str) -> toml::Value {
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

/// Where a spec's values come from.
#[derive(Debug, Clone, Default)]
pub struct SpecSource {
    /// The pipeline file, if any.
    pub file: Option<PathBuf>,
    /// Env overrides, then `--set` overrides, in increasing precedence.
    pub overrides: Vec<Override>,
}

/// One pipeline file's table (without its `extends` key).
#[derive(Debug, Clone)]
struct FileLayer {
    file: FileText,
    table: toml::Table,
}

impl Provider for FileLayer {
    fn metadata(&self) -> Metadata {
        Metadata::from("TOML file", figment::Source::File(self.file.path.clone()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::defaults(&self.table).data()
    }
}

/// A spec with the layers it was resolved from, for explaining where each value came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub spec: Spec,
    files: Vec<FileText>,
    overrides: Vec<Override>,
}

impl Resolved {
    /// Where `key` (dotted) got its value: the last layer that sets it.
    pub fn origin(&self, key: &str) -> String {
        let covers = |k: &str| k == key || key.starts_with(&format!("{k}."));
        if let Some(o) = self.overrides.iter().rev().find(|o| covers(&o.key)) {
            return o.origin.clone();
        }
        self.files
            .iter()
            .rev()
            .find_map(|f| f.locate(key))
            .unwrap_or_else(|| "default".into())
    }

    /// Where a key that some layer set came from (an unknown key, a value of the wrong type):
    /// [`Self::origin`], else the last override that sets a key inside it (`--set
    /// nosuch.key=1` makes the unknown table `nosuch`), else the nearest table around it that a
    /// layer sets, else the file loaded — never `default`, which sets no unknown keys. (A TOML
    /// key with a dot in its quotes, `"heads.count" = 2`, reads as a dotted key here and is
    /// found by its table.)
    fn set_origin(&self, key: &str) -> String {
        let found = self.origin(key);
        if found != "default" {
            return found;
        }
        let inside = format!("{key}.");
        if let Some(o) = self
            .overrides
            .iter()
            .rev()
            .find(|o| o.key.starts_with(&inside))
        {
            return o.origin.clone();
        }
        let mut parts: Vec<&str> = key.split('.').collect();
        while parts.len() > 1 {
            parts.pop();
            let table = parts.join(".");
            if let Some(at) = self.files.iter().rev().find_map(|f| f.locate(&table)) {
                return at;
            }
        }
        self.files
            .last()
            .map_or_else(|| "default".into(), |f| f.path.display().to_string())
    }

    /// The resolved spec as TOML, each value annotated with its origin.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let mut section = String::new();
        for (key, value) in self.spec.leaves() {
            let (sec, leaf) = key.rsplit_once('.').unwrap_or(("", key.as_str()));
            if sec != section {
                out.push_str(&format!("\n[{sec}]\n"));
                section = sec.to_string();
            }
            out.push_str(&format!("{leaf} = {value}  # {}\n", self.origin(&key)));
        }
        out.trim_start().to_string()
    }
}

/// Resolves a spec from its layers and checks every rule; all problems are reported together,
/// each with the file:line:col, env var or `--set` it came from.
pub fn load(source: &SpecSource) -> Result<Spec, SpecError> {
    resolve(source).map(|r| r.spec)
}

/// Like [`load`], keeping the layers for [`Resolved::origin`] and [`Resolved::explain`]. A
/// pipeline with `[[stages]]` also gets each stage's spec resolved (`Spec::stage_specs`): the
/// same layers with the stage's `set` between the file and the env / `--set` overrides, and
/// the stages checked to chain (one trunk, carried from stage to stage).
pub fn resolve(source: &SpecSource) -> Result<Resolved, SpecError> {
    let mut resolved = resolve_layers(source)?;
    if resolved.spec.stages.is_empty() {
        return Ok(resolved);
    }
    let label = source.file.as_ref().map_or_else(
        || "the built-in defaults".to_string(),
        |f| f.display().to_string(),
    );
    // An override (env, `--set`, a sweep axis) applies to every stage: one of a key a stage
    // sets itself would silently undo that stage's choice.
    let clash: Vec<String> = resolved
        .spec
        .stages
        .iter()
        .flat_map(|stage| {
            stage.set.keys().filter_map(|key| {
                let o = source.overrides.iter().find(|o| {
                    o.key == *key
                        || key.starts_with(&format!("{}.", o.key))
                        || o.key.starts_with(&format!("{key}."))
                })?;
                Some(format!(
                    "{}: `{}`: stage `{}` sets `{key}` itself, and an override applies to every \
                     stage; change it in that stage's `set`",
                    o.origin, o.key, stage.name
                ))
            })
        })
        .collect();
    if !clash.is_empty() {
        return Err(SpecError::Problems {
            label,
            problems: clash,
        });
    }
    let mut specs = Vec::new();
    for stage in &resolved.spec.stages {
        let mut overrides: Vec<Override> = stage
            .set
            .iter()
            .map(|(key, value)| Override {
                origin: format!("{}: stage `{}`", resolved.origin("stages"), stage.name),
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        overrides.extend(source.overrides.iter().cloned());
        let tag = format!("stage `{}`: ", stage.name);
        let mut s = resolve_layers(&SpecSource {
            file: source.file.clone(),
            overrides,
        })
        .map_err(|e| match e {
            // Every problem says which stage it is in (a key the stage set already does).
            SpecError::Problems { label, problems } => SpecError::Problems {
                label,
                problems: problems
                    .into_iter()
                    .map(|p| {
                        if p.contains(&tag) {
                            p
                        } else {
                            format!("{tag}{p}")
                        }
                    })
                    .collect(),
            },
            other => other,
        })?
        .spec;
        s.stages.clear();
        specs.push(s);
    }
    let problems: Vec<String> = super::validate::chain(&resolved.spec.stages, &specs)
        .into_iter()
        .map(|p| format!("{}: {}", resolved.origin("stages"), p.message))
        .collect();
    if !problems.is_empty() {
        return Err(SpecError::Problems { label, problems });
    }
    resolved.spec.stage_specs = specs;
    Ok(resolved)
}

/// One spec from the layers (no stages resolved).
fn resolve_layers(source: &SpecSource) -> Result<Resolved, SpecError> {
    let mut fig = Figment::from(Serialized::defaults(Spec::default()));
    let mut files = Vec::new();
    let label = match &source.file {
        Some(path) => {
            for layer in file_layers(path, &mut Vec::new())? {
                files.push(layer.file.clone());
                fig = fig.merge(layer);
            }
            path.display().to_string()
        }
        None => "the built-in defaults".to_string(),
    };
    for o in &source.overrides {
        fig = fig.merge(o.clone());
    }
    let mut resolved = Resolved {
        spec: Spec::default(),
        files,
        overrides: source.overrides.clone(),
    };
    let spec: Spec = match fig.extract() {
        Ok(s) => s,
        Err(e) => {
            let problems = e.into_iter().map(|e| describe(&e, &resolved)).collect();
            return Err(SpecError::Problems { label, problems });
        }
    };
    resolved.spec = spec;
    let spec = &mut resolved.spec;
    if spec.pipeline.name.is_empty() {
        spec.pipeline.name = source
            .file
            .as_deref()
            .and_then(Path::file_stem)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pipeline".into());
    }
    let problems: Vec<String> = super::validate(spec)
        .into_iter()
        .map(|p| format!("{}: `{}`: {}", resolved.origin(&p.key), p.key, p.message))
        .collect();
    if !problems.is_empty() {
        return Err(SpecError::Problems { label, problems });
    }
    super::defaults::fill(&mut resolved.spec);
    let spec = &mut resolved.spec;
    if spec.dataset.dir.is_relative() {
        if let Ok(abs) = std::path::absolute(&spec.dataset.dir) {
            spec.dataset.dir = abs;
        }
    }
    Ok(resolved)
}

/// The file and the chain it `extends`, base first. `extends` is a path relative to the file
/// that says it; so is a relative `dataset.dir`. A cycle is an error naming it.
fn file_layers(path: &Path, seen: &mut Vec<PathBuf>) -> Result<Vec<FileLayer>, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut table = toml::from_str::<toml::Table>(&text).map_err(|e| {
        let at = e
            .span()
            .map(|s| super::origin::line_col(path, &text, s.start))
            .unwrap_or_else(|| path.display().to_string());
        SpecError::Syntax(format!("{at}: malformed TOML: {}", e.message()))
    })?;
    let file = FileText::new(path.to_path_buf(), text);
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if seen.contains(&canonical) {
        let chain: Vec<_> = seen.iter().map(|p| p.display().to_string()).collect();
        return Err(SpecError::Syntax(format!(
            "{}: `extends` cycle: {} -> {}",
            file.locate("extends")
                .unwrap_or_else(|| path.display().to_string()),
            chain.join(" -> "),
            canonical.display()
        )));
    }
    seen.push(canonical);
    let here = path.parent().unwrap_or(Path::new("."));
    // `[sweep]` describes many runs and `[launcher]` where they run, not one spec: see
    // `SweepSpec::from_file` and `LauncherSpec::resolve`.
    table.remove("sweep");
    table.remove("launcher");
    let mut layers = Vec::new();
    match table.remove("extends") {
        None => {}
        Some(toml::Value::String(base)) => {
            let base_path = here.join(&base);
            if !base_path.is_file() {
                return Err(SpecError::Syntax(format!(
                    "{}: `extends`: no such file {} (paths are relative to the file that says `extends`)",
                    file.locate("extends").unwrap_or_default(),
                    base_path.display()
                )));
            }
            layers = file_layers(&base_path, seen)?;
        }
        Some(other) => {
            return Err(SpecError::Syntax(format!(
                "{}: `extends`: expected a file path string, got {}",
                file.locate("extends").unwrap_or_default(),
                other.type_str()
            )))
        }
    }
    if let Some(toml::Value::Table(ds)) = table.get_mut("dataset") {
        if let Some(toml::Value::String(dir)) = ds.get("dir") {
            if Path::new(dir).is_relative() {
                let joined = here.join(dir).to_string_lossy().into_owned();
                ds.insert("dir".into(), toml::Value::String(joined));
            }
        }
    }
    layers.push(FileLayer { file, table });
    Ok(layers)
}

/// The name among `expected` nearest to a mistyped `field`, if any is close enough.
pub(crate) fn nearest<'a>(field: &str, expected: &[&'a str]) -> Option<&'a str> {
    expected
        .iter()
        .map(|x| (strsim::jaro_winkler(field, x), *x))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score > 0.7)
        .map(|(_, x)| x)
}

/// One line for a figment error: origin, key path, what was wrong, and for an unknown key the
/// nearest valid one.
fn describe(e: &figment::Error, r: &Resolved) -> String {
    use figment::error::Kind;
    // For an unknown field figment's path already ends with the field itself.
    let mut path = e.path.clone();
    if let Kind::UnknownField(field, _) = &e.kind {
        if path.last() == Some(field) {
            path.pop();
        }
    }
    let parent = path.join(".");
    let join = |leaf: &str| {
        if parent.is_empty() {
            leaf.to_string()
        } else {
            format!("{parent}.{leaf}")
        }
    };
    match &e.kind {
        Kind::UnknownField(field, expected) => {
            let key = join(field);
            let origin = r.set_origin(&key);
            let from_command_line = origin.starts_with("--set ") || origin.starts_with("env ");
            if parent.is_empty() && (field == "sweep" || field == "launcher") && from_command_line {
                return format!(
                    "{origin}: `{field}` is read from the pipeline file only; on the command \
                     line use `mirun sweep --grid`, `--zip`, `--seeds` or `--launcher`"
                );
            }
            let hint = nearest(field, expected)
                .map(|x| format!("; did you mean `{}`?", join(x)))
                .unwrap_or_else(|| {
                    let all: Vec<_> = expected.iter().map(|x| format!("`{x}`")).collect();
                    format!("; expected one of {}", all.join(", "))
                });
            format!("{origin}: unknown key `{key}`{hint}")
        }
        kind => format!("{}: `{parent}`: {kind}", r.set_origin(&parent)),
    }
}
