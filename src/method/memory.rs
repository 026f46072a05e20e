//! How much memory a pipeline would need, estimated from its resolved config before anything
//! is allocated, against what the machine has: an absurd size (`heads.count = 100000000`) is
//! refused with the memory it would take, not met by a hang. `train.memory_limit_gib`
//! replaces the machine's available memory as the limit (for big machines or GPUs).
//!
//! Each method estimates its own parts (`<method>/memory.rs`); the backbone's come from
//! [`crate::model::BackboneConfig::training_floats`].

use super::Pipeline;
use crate::model::BackboneConfig;
use crate::spec::{self, Spec, SpecError, SpecSource};

pub(crate) const F32: f64 = 4.0;
const GIB: f64 = (1u64 << 30) as f64;

/// One part of the estimate: the key that sizes it, what it is, and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub key: &'static str,
    pub what: String,
    pub bytes: f64,
}

/// The parts of a pipeline's peak memory, largest first.
pub fn estimate(spec: &Spec, pipeline: &Pipeline) -> Vec<Part> {
    let mut parts = match pipeline {
        Pipeline::Iic(c) => c.memory(images_bytes(spec)),
        Pipeline::MineGaussian(c) => c.memory(),
        Pipeline::MineImages(c) => c.memory(images_bytes(spec)),
    };
    parts.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    parts
}

/// Bytes of the data set's images held in memory (one byte a pixel).
fn images_bytes(spec: &Spec) -> f64 {
    let shape = spec.image_shape();
    let (train, test) = spec.dataset.kind.sizes();
    let n = spec.dataset.train_size.unwrap_or(train) as f64
        + spec.dataset.test_size.unwrap_or(test) as f64;
    n * (shape.side * shape.side * shape.channels) as f64
}

/// The parts every image pipeline has: `rows` rows a step through `backbone` on `side`-pixel
/// inputs, its weights, and the images (`images` bytes); and the backbone's output features
/// per image, which the method's own parts are sized by.
pub(crate) fn image_parts(
    backbone: &BackboneConfig,
    side: usize,
    rows: f64,
    images: f64,
) -> (Vec<Part>, f64) {
    let t = backbone.training_floats(side);
    let parts = vec![
        Part {
            // Over 64 MiB per image it is the backbone's width that is absurd, not the batch.
            key: if t.activations * F32 > 64.0 * (1u64 << 20) as f64 {
                "backbone.cfg"
            } else {
                "train.batch_size"
            },
            what: format!(
                "activations of {rows} rows per step ({} each, with their gradients)",
                human(t.activations * F32)
            ),
            bytes: rows * t.activations * F32,
        },
        Part {
            key: "backbone.cfg",
            what: format!("the backbone's {} weights with Adam", t.weights),
            bytes: 4.0 * t.weights * F32,
        },
        Part {
            key: "dataset.train_size",
            what: "the images, in memory".into(),
            bytes: images,
        },
    ];
    (parts, t.features)
}

/// Total bytes of an estimate.
pub fn total(parts: &[Part]) -> f64 {
    parts.iter().map(|p| p.bytes).sum()
}

/// `12.3 GiB` (or MiB below one GiB).
pub fn human(bytes: f64) -> String {
    if bytes >= GIB {
        format!("{:.1} GiB", bytes / GIB)
    } else {
        format!("{:.0} MiB", bytes / (1u64 << 20) as f64)
    }
}

/// Memory this process may use: `/proc/meminfo`'s MemAvailable, capped by the cgroup's
/// limit (a Slurm job's or a container's) where there is one (Linux); else `None`.
pub fn available() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<f64>().ok())
    .fold(f64::INFINITY, f64::min);
    Some((kib * 1024.0).min(cgroup))
}

/// What the estimate must fit in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// This machine's available memory (or `train.memory_limit_gib`): the run happens here.
    Here,
    /// So many bytes (or `train.memory_limit_gib`): e.g. a Slurm task's `launcher.mem`.
    Bytes(f64),
    /// Not checked: the run happens somewhere unknown, or has already happened.
    Unchecked,
}

/// The refusal when the estimate exceeds the limit: (key, message).
pub fn check(spec: &Spec, pipeline: &Pipeline, limit: Limit) -> Option<(&'static str, String)> {
    let (limit, whose) = match (spec.train.memory_limit_gib, limit) {
        (_, Limit::Unchecked) => return None,
        (Some(g), _) => (g * GIB, "train.memory_limit_gib".to_string()),
        (None, Limit::Here) => (available()?, "this machine's available memory".to_string()),
        (None, Limit::Bytes(b)) => (b, "the memory asked for (launcher.mem)".to_string()),
    };
    let parts = estimate(spec, pipeline);
    let need = total(&parts);
    if need <= limit {
        return None;
    }
    let top = parts.first()?;
    Some((
        top.key,
        format!(
            "this pipeline would need about {} of memory, more than {} ({}); the largest part \
             is {}: {}. Lower it, or on a bigger machine set train.memory_limit_gib",
            human(need),
            whose,
            human(limit),
            human(top.bytes),
            top.what
        ),
    ))
}

/// [`spec::load`], resolved into its method's config, then the sizes against memory: for
/// commands that are about to allocate (`run`, `check`, planning a sweep).
pub fn load_sized(source: &SpecSource, limit: Limit) -> Result<(Spec, Pipeline), SpecError> {
    let resolved = spec::resolve(source)?;
    let label = || {
        source.file.as_ref().map_or_else(
            || "the built-in defaults".to_string(),
            |f| f.display().to_string(),
        )
    };
    let pipeline = Pipeline::resolve(&resolved.spec).map_err(|e| SpecError::Problems {
        label: label(),
        problems: vec![e.to_string()],
    })?;
    if let Some((key, message)) = check(&resolved.spec, &pipeline, limit) {
        let problem = format!("{}: `{key}`: {message}", resolved.origin(key));
        return Err(SpecError::Problems {
            label: label(),
            problems: vec![problem],
        });
    }
    Ok((resolved.spec, pipeline))
}
