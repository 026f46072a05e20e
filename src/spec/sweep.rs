//! `[sweep]`: many runs from one pipeline file. `grid` keys form a cartesian product, `zip`
//! keys are paired element by element, `seeds` replicate every point. Each point is the file's
//! spec plus a few overrides, resolved and validated like any other spec.

use super::load::{parse_value, Override};
use super::origin::FileText;
use std::path::Path;

/// A sweep: ordered axes of values for dotted keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepSpec {
    /// Cartesian axes, in file order; the first key varies slowest.
    pub grid: Vec<(String, Vec<toml::Value>)>,
    /// Paired axes: all the same length, the i-th values go together.
    pub zip: Vec<(String, Vec<toml::Value>)>,
    /// Replicates (`pipeline.seed`); the outermost axis, so the first seed's table fills first.
    pub seeds: Vec<u64>,
}

/// One point of a sweep: its position and the overrides that make it.
#[derive(Debug, Clone)]
pub struct SweepPoint {
    /// 0-based position in expansion order.
    pub index: usize,
    /// `key=value` overrides, applied after the file, env and `--set` layers.
    pub overrides: Vec<Override>,
}

impl SweepPoint {
    /// `heads.count=3 pipeline.seed=1`: the point's overrides as `--set` arguments would read.
    pub fn label(&self) -> String {
        let parts: Vec<String> = self.overrides.iter().map(set_text).collect();
        if parts.is_empty() {
            "(base)".into()
        } else {
            parts.join(" ")
        }
    }

    /// The overrides as `--set` arguments (`key=value`).
    pub fn set_args(&self) -> Vec<String> {
        self.overrides.iter().map(set_text).collect()
    }
}

fn set_text(o: &Override) -> String {
    match &o.value {
        toml::Value::String(s) => format!("{}={s}", o.key),
        v => format!("{}={v}", o.key),
    }
}

/// Errors in a `[sweep]` section or a `--grid`/`--zip`/`--seeds` flag.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {what}")]
pub struct SweepError {
    /// `file:line:col` or the flag.
    pub at: String,
    pub what: String,
}

fn err(at: impl Into<String>, what: impl Into<String>) -> SweepError {
    SweepError {
        at: at.into(),
        what: what.into(),
    }
}

impl SweepSpec {
    /// Reads the `[sweep]` table of `path`, if it has one (not inherited through `extends`).
    pub fn from_file(path: &Path) -> Result<Option<Self>, SweepError> {
        let at = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| err(&at, e.to_string()))?;
        // Malformed TOML is left to the spec loader, which reports it with line and column.
        let Ok(table) = toml::from_str::<toml::Table>(&text) else {
            return Ok(None);
        };
        let Some(sweep) = table.get("sweep") else {
            return Ok(None);
        };
        let file = FileText::new(path.to_path_buf(), text.clone());
        let loc = |key: &str| file.locate(key).unwrap_or_else(|| at.clone());
        let toml::Value::Table(sweep) = sweep else {
            return Err(err(loc("sweep"), "`sweep` must be a table"));
        };
        let mut out = SweepSpec::default();
        for (k, v) in sweep {
            let here = loc(&format!("sweep.{k}"));
            match (k.as_str(), v) {
                ("grid" | "zip", toml::Value::Table(axes)) => {
                    for (key, values) in axes {
                        let vals = axis_values(values)
                            .map_err(|w| err(&here, format!("`sweep.{k}.\"{key}\"`: {w}")))?;
                        if k == "grid" {
                            out.grid.push((key.clone(), vals));
                        } else {
                            out.zip.push((key.clone(), vals));
                        }
                    }
                }
                ("grid" | "zip", other) => {
                    return Err(err(
                        here,
                        format!(
                            "`sweep.{k}` must be a table such as {{ \"heads.count\" = [1, 2] }}, got {}",
                            other.type_str()
                        ),
                    ))
                }
                ("seeds", v) => {
                    out.seeds = seed_values(v).map_err(|w| err(&here, format!("`sweep.seeds`: {w}")))?;
                }
                (other, _) => {
                    return Err(err(
                        here,
                        format!("unknown key `sweep.{other}`; expected `grid`, `zip` or `seeds`"),
                    ))
                }
            }
        }
        Ok(Some(out))
    }

    /// Adds or replaces a grid axis from `--grid key=v1,v2` (values as TOML, or `range(a,b)`).
    pub fn set_grid(&mut self, flag: &str) -> Result<(), SweepError> {
        let (key, vals) = parse_axis_flag("--grid", flag)?;
        replace_axis(&mut self.grid, key, vals);
        Ok(())
    }

    /// Adds or replaces a zip axis from `--zip key=v1,v2`.
    pub fn set_zip(&mut self, flag: &str) -> Result<(), SweepError> {
        let (key, vals) = parse_axis_flag("--zip", flag)?;
        replace_axis(&mut self.zip, key, vals);
        Ok(())
    }

    /// Replaces the seeds from `--seeds 1,2,3` or `--seeds 'range(1,4)'`.
    pub fn set_seeds(&mut self, flag: &str) -> Result<(), SweepError> {
        let vals = split_values(flag)
            .map_err(|w| err(format!("--seeds {flag}"), w.to_string()))?
            .into_iter()
            .map(|v| match v {
                toml::Value::Integer(i) if i >= 0 => Ok(i as u64),
                other => Err(format!("expected non-negative integers, got {other}")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|w| err(format!("--seeds {flag}"), w))?;
        self.seeds = vals;
        Ok(())
    }

    /// Checks that zip axes have equal lengths and no key is swept twice.
    pub fn check(&self) -> Result<(), SweepError> {
        if let Some((k0, v0)) = self.zip.first() {
            for (k, v) in &self.zip[1..] {
                if v.len() != v0.len() {
                    return Err(err(
                        "sweep.zip",
                        format!(
                            "zipped keys must have equal lengths: `{k0}` has {}, `{k}` has {}",
                            v0.len(),
                            v.len()
                        ),
                    ));
                }
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (k, _) in self.grid.iter().chain(&self.zip) {
            if seen.contains(&k.as_str()) {
                return Err(err("sweep", format!("`{k}` is swept twice")));
            }
            if k == "pipeline.seed" && !self.seeds.is_empty() {
                return Err(err(
                    "sweep",
                    "`pipeline.seed` is swept by `seeds`; use one of them",
                ));
            }
            if k == "pipeline.name" {
                return Err(err(
                    "sweep",
                    "`pipeline.name` cannot be swept: all points share one results folder",
                ));
            }
            seen.push(k);
        }
        Ok(())
    }

    /// Every point, in order: seeds outermost, then the grid (first key slowest), then zip.
    pub fn points(&self) -> Result<Vec<SweepPoint>, SweepError> {
        self.check()?;
        let zip_len = self.zip.first().map_or(1, |(_, v)| v.len());
        let seeds: Vec<Option<u64>> = if self.seeds.is_empty() {
            vec![None]
        } else {
            self.seeds.iter().copied().map(Some).collect()
        };
        let mut combos: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
        for (key, vals) in &self.grid {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    vals.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((key.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        let mut out = Vec::new();
        for seed in &seeds {
            for combo in &combos {
                for i in 0..zip_len {
                    let mut sets = combo.clone();
                    for (key, vals) in &self.zip {
                        sets.push((key.clone(), vals[i].clone()));
                    }
                    if let Some(s) = seed {
                        sets.push(("pipeline.seed".into(), toml::Value::Integer(*s as i64)));
                    }
                    let overrides = sets
                        .into_iter()
                        .map(|(key, value)| Override {
                            origin: format!("sweep point {}: {key}={value}", out.len() + 1),
                            key,
                            value,
                        })
                        .collect();
                    out.push(SweepPoint {
                        index: out.len(),
                        overrides,
                    });
                }
            }
        }
        Ok(out)
    }
}

fn replace_axis(axes: &mut Vec<(String, Vec<toml::Value>)>, key: String, vals: Vec<toml::Value>) {
    match axes.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = vals,
        None => axes.push((key, vals)),
    }
}

fn parse_axis_flag(flag: &str, text: &str) -> Result<(String, Vec<toml::Value>), SweepError> {
    let at = format!("{flag} {text}");
    let (key, raw) = text
        .split_once('=')
        .ok_or_else(|| err(&at, "expected `key=v1,v2,…` or `key=range(a,b)`"))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(err(&at, "expected a dotted key such as `heads.count`"));
    }
    let vals = split_values(raw).map_err(|w| err(&at, w.to_string()))?;
    Ok((key.to_string(), vals))
}

/// What is wrong with one axis's values (`--grid`, `sweep.grid`, `sweep.seeds`, …).
#[derive(Debug, thiserror::Error)]
enum AxisError {
    #[error("expected at least one value")]
    Empty,
    #[error("`{0}`: expected range(start, stop) or range(start, stop, step) of integers")]
    RangeNotIntegers(String),
    #[error("`{0}`: expected range(start, stop) or range(start, stop, step > 0)")]
    RangeShape(String),
    #[error("`{0}` is empty")]
    EmptyRange(String),
    #[error("expected an array of values or \"range(a, b)\", got the string \"{0}\"")]
    NotARange(String),
    #[error("expected an array of values or \"range(a, b)\", got {0}")]
    NotAnArray(&'static str),
    #[error("expected non-negative integers, got {0}")]
    NotASeed(toml::Value),
}

/// `1,2,3` or `range(1,6)` → values.
fn split_values(raw: &str) -> Result<Vec<toml::Value>, AxisError> {
    let raw = raw.trim();
    if let Some(r) = parse_range(raw)? {
        return Ok(r);
    }
    let vals: Vec<toml::Value> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_value)
        .collect();
    if vals.is_empty() {
        return Err(AxisError::Empty);
    }
    Ok(vals)
}

/// `range(a, b)` / `range(a, b, step)`: integers from a up to but excluding b, like Python.
fn parse_range(raw: &str) -> Result<Option<Vec<toml::Value>>, AxisError> {
    let Some(inner) = raw.strip_prefix("range(").and_then(|r| r.strip_suffix(')')) else {
        return Ok(None);
    };
    let nums: Vec<i64> = inner
        .split(',')
        .map(|s| s.trim().parse::<i64>())
        .collect::<Result<_, _>>()
        .map_err(|_| AxisError::RangeNotIntegers(raw.into()))?;
    let (a, b, step) = match nums[..] {
        [a, b] => (a, b, 1),
        [a, b, s] if s > 0 => (a, b, s),
        _ => return Err(AxisError::RangeShape(raw.into())),
    };
    let vals: Vec<toml::Value> = (a..b)
        .step_by(step as usize)
        .map(toml::Value::Integer)
        .collect();
    if vals.is_empty() {
        return Err(AxisError::EmptyRange(raw.into()));
    }
    Ok(Some(vals))
}

fn axis_values(v: &toml::Value) -> Result<Vec<toml::Value>, AxisError> {
    match v {
        toml::Value::Array(a) if a.is_empty() => Err(AxisError::Empty),
        toml::Value::Array(a) => Ok(a.clone()),
        toml::Value::String(s) => parse_range(s)?.ok_or_else(|| AxisError::NotARange(s.clone())),
        other => Err(AxisError::NotAnArray(other.type_str())),
    }
}

fn seed_values(v: &toml::Value) -> Result<Vec<u64>, AxisError> {
    axis_values(v)?
        .into_iter()
        .map(|x| match x {
            toml::Value::Integer(i) if i >= 0 => Ok(i as u64),
            other => Err(AxisError::NotASeed(other)),
        })
        .collect()
}
