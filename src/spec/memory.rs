//! How much memory a pipeline would need, estimated from its sizes before anything is
//! allocated, against what the machine has: an absurd size (`heads.count = 100000000`) is
//! refused with the memory it would take, not met by a hang. `train.memory_limit_gib`
//! replaces the machine's available memory as the limit (for big machines or GPUs).

use super::vgg_layout::{VggLayer, VggLayout};
use super::{BackboneKind, CriticKind, LossKind, Method, Spec};

const F32: f64 = 4.0;
const GIB: f64 = (1u64 << 30) as f64;

/// One part of the estimate: the key that sizes it, what it is, and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub key: &'static str,
    pub what: String,
    pub bytes: f64,
}

/// The parts of a pipeline's peak memory, largest first.
pub fn estimate(spec: &Spec) -> Vec<Part> {
    let mut parts = match spec.method() {
        Method::MineGaussian => gaussian(spec),
        Method::Iic | Method::MineImages => images(spec),
    };
    parts.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    parts
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

fn gaussian(spec: &Spec) -> Vec<Part> {
    let b = spec.train.batch_size as f64;
    let d = spec.dataset.dim.unwrap_or(super::defaults::GAUSSIAN_DIM) as f64;
    let h = spec
        .model
        .hidden
        .unwrap_or(super::defaults::GAUSSIAN_HIDDEN) as f64;
    let steps = spec.train.steps.unwrap_or(super::defaults::GAUSSIAN_STEPS) as f64;
    let mut parts = vec![
        Part {
            key: "train.batch_size",
            what: format!("{b} samples × (3·{d} inputs + 4·{h} hidden) per step"),
            bytes: b * (3.0 * d + 4.0 * h) * F32,
        },
        Part {
            key: "model.hidden",
            what: format!("T's parameters with Adam ({h} hidden units)"),
            bytes: 4.0 * (2.0 * d * h + 2.0 * h + 1.0) * F32,
        },
        Part {
            key: "train.steps",
            what: format!("the per-step history of {steps} steps"),
            bytes: steps * 64.0,
        },
    ];
    if spec.loss.kind == LossKind::InfoNce {
        parts.push(Part {
            key: "train.batch_size",
            what: format!("InfoNCE's {b}² pairs × {h} hidden units, kept for the gradient"),
            bytes: b * b * (3.0 * h + 2.0) * F32,
        });
    }
    if let Some(n) = spec.evaluator.binned_samples {
        parts.push(Part {
            key: "evaluator.binned_samples",
            what: format!("{n} samples of {d} pairs for the binned MI"),
            bytes: n as f64 * 2.0 * d * 8.0,
        });
    }
    parts
}

fn images(spec: &Spec) -> Vec<Part> {
    let Ok(layout) = VggLayout::from_cfg(&spec.backbone.cfg) else {
        return Vec::new();
    };
    let shape = spec.image_shape();
    let side = spec.augment.size.max(1);
    let k = spec.backbone.kernel_size as f64;
    // Convolutions per integer of `cfg`.
    let blocks = match spec.backbone.kind {
        BackboneKind::Vgg => 1.0,
        BackboneKind::ResNet => 2.0,
    };
    // Per image: every convolution's output, kept with its normalised and activated copies
    // and their gradients (×4); parameters of the convolutions.
    // In f64: absurd widths must give an absurd estimate, not an overflow.
    let (mut s, mut c_in) = (side as f64, shape.channels as f64);
    let (mut acts, mut conv_params) = (c_in * s * s, 0.0);
    for l in &layout.0 {
        match l {
            VggLayer::Conv(c) => {
                let c = *c as f64;
                acts += 4.0 * blocks * c * s * s;
                conv_params += blocks * c_in * c * k * k;
                c_in = c;
            }
            VggLayer::Pool => s = (s / 2.0).floor().max(1.0),
        }
    }
    let features = s * s * c_in;
    let b = spec.train.batch_size as f64;
    let rows = match spec.method() {
        Method::Iic => (1 + spec.augment.copies) as f64 * b,
        Method::MineImages | Method::MineGaussian => 2.0 * b,
    };
    let images = {
        let (train, test) = spec.dataset.kind.sizes();
        let n = spec.dataset.train_size.unwrap_or(train) as f64
            + spec.dataset.test_size.unwrap_or(test) as f64;
        n * (shape.side * shape.side * shape.channels) as f64
    };
    let mut parts = vec![
        Part {
            // Over 64 MiB per image it is the backbone's width that is absurd, not the batch.
            key: if acts * F32 > 64.0 * (1u64 << 20) as f64 {
                "backbone.cfg"
            } else {
                "train.batch_size"
            },
            what: format!(
                "activations of {rows} rows per step ({} each, with their gradients)",
                human(acts * F32)
            ),
            bytes: rows * acts * F32,
        },
        Part {
            key: "backbone.cfg",
            what: format!("the backbone's {conv_params} weights with Adam"),
            bytes: 4.0 * conv_params * F32,
        },
        Part {
            key: "dataset.train_size",
            what: "the images, in memory".into(),
            bytes: images,
        },
    ];
    match spec.method() {
        Method::Iic => {
            let heads = spec.heads.count as f64;
            let clusters = spec.clusters() as f64;
            let over = spec.heads.overcluster.unwrap_or(0) as f64;
            parts.push(Part {
                key: "heads.count",
                what: format!(
                    "{heads} heads × {features} features × ({clusters} + {over}) clusters with \
                     Adam, and their outputs"
                ),
                bytes: heads
                    * (4.0 * features * (clusters + over) + rows * (clusters + over))
                    * F32,
            });
        }
        Method::MineImages | Method::MineGaussian => {
            let latent = spec.model.latent_dim.unwrap_or(super::defaults::LATENT_DIM) as f64;
            let hidden = spec.model.hidden.unwrap_or(super::defaults::IMAGES_HIDDEN) as f64;
            parts.push(Part {
                key: "model.latent_dim",
                what: format!("the {latent}-dimensional code layer with Adam"),
                bytes: 4.0 * features * latent * F32,
            });
            let pairs = if spec.loss.kind == LossKind::InfoNce {
                b * b
            } else {
                2.0 * b
            };
            if spec.model.critic == Some(CriticKind::Cosine) {
                parts.push(Part {
                    key: "train.batch_size",
                    what: format!("the cosine critic on {pairs} pairs"),
                    bytes: pairs * 3.0 * F32,
                });
            } else {
                parts.push(Part {
                    key: "model.hidden",
                    what: format!("T's {hidden} hidden units on {pairs} pairs, and its weights"),
                    bytes: (pairs * 3.0 * hidden + 4.0 * (2.0 * latent * hidden + hidden)) * F32,
                });
            }
        }
    }
    parts
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
pub fn check(spec: &Spec, limit: Limit) -> Option<(&'static str, String)> {
    let parts = estimate(spec);
    let need = total(&parts);
    let (limit, whose) = match (spec.train.memory_limit_gib, limit) {
        (_, Limit::Unchecked) => return None,
        (Some(g), _) => (g * GIB, "train.memory_limit_gib".to_string()),
        (None, Limit::Here) => (available()?, "this machine's available memory".to_string()),
        (None, Limit::Bytes(b)) => (b, "the memory asked for (launcher.mem)".to_string()),
    };
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
