//! Cross-field rules that serde's types cannot express. Every violation is collected, so a
//! user fixes them all in one go.

use super::Spec;
use crate::model::vgg::VggLayout;

/// Returns one message per broken rule (empty when the spec is valid).
pub fn validate(spec: &Spec) -> Vec<String> {
    let mut p = Vec::new();
    let full = 28usize;
    if spec.heads.count == 0 {
        p.push("heads.count: expected at least 1 head, got 0".into());
    }
    if let Some(k) = spec.heads.clusters {
        if k < 2 {
            p.push(format!("heads.clusters: expected at least 2, got {k}"));
        }
    }
    let a = &spec.augment;
    if a.size == 0 || a.size > full {
        p.push(format!(
            "augment.size: expected 1..={full} (the image side), got {}",
            a.size
        ));
    }
    for (key, w) in [
        ("augment.rotate.weight", a.rotate.weight),
        ("augment.random_crop.weight", a.random_crop.weight),
    ] {
        if !(w.is_finite() && w >= 0.0) {
            p.push(format!("{key}: expected a weight ≥ 0, got {w}"));
        }
    }
    if a.rotate.weight + a.random_crop.weight <= 0.0 {
        p.push("augment: at least one of rotate.weight and random_crop.weight must be > 0".into());
    }
    if a.rotate.max_degrees > 180 {
        p.push(format!(
            "augment.rotate.max_degrees: expected 0..=180, got {}",
            a.rotate.max_degrees
        ));
    }
    if a.random_crop.weight > 0.0 && a.random_crop.sizes.is_empty() {
        p.push("augment.random_crop.sizes: expected at least one crop size".into());
    }
    for &s in &a.random_crop.sizes {
        if s == 0 || s > full {
            p.push(format!(
                "augment.random_crop.sizes: crop size {s} must be within 1..={full} (the image side)"
            ));
        }
    }
    if !(0.0..=1.0).contains(&a.random_crop.centre_prob) {
        p.push(format!(
            "augment.random_crop.centre_prob: expected a probability in [0, 1], got {}",
            a.random_crop.centre_prob
        ));
    }
    if spec.backbone.kernel_size == 0 || spec.backbone.kernel_size % 2 == 0 {
        p.push(format!(
            "backbone.kernel_size: expected an odd size ≥ 1 (same padding), got {}",
            spec.backbone.kernel_size
        ));
    }
    match VggLayout::from_cfg(&spec.backbone.cfg) {
        Err(e) => p.push(format!("backbone.cfg: {e}")),
        Ok(layout) => {
            if a.size > 0 && a.size <= full {
                if let Err(e) = layout.output_features(a.size) {
                    p.push(format!("backbone.cfg: {e}"));
                }
            }
        }
    }
    let t = &spec.train;
    if t.epochs == 0 {
        p.push("train.epochs: expected at least 1".into());
    }
    if t.batch_size < 2 {
        p.push(format!(
            "train.batch_size: expected at least 2 pairs, got {}",
            t.batch_size
        ));
    }
    if !(t.lr.is_finite() && t.lr > 0.0) {
        p.push(format!(
            "train.lr: expected a positive number, got {}",
            t.lr
        ));
    }
    if !(t.lr_decay.is_finite() && t.lr_decay > 0.0) {
        p.push(format!(
            "train.lr_decay: expected a positive factor, got {}",
            t.lr_decay
        ));
    }
    if t.lr_decay_every == 0 {
        p.push("train.lr_decay_every: expected at least 1 epoch".into());
    }
    if !(t.adam_eps.is_finite() && t.adam_eps > 0.0) {
        p.push(format!(
            "train.adam_eps: expected a positive number, got {}",
            t.adam_eps
        ));
    }
    if !(spec.loss.eps.is_finite() && spec.loss.eps > 0.0 && spec.loss.eps < 1.0) {
        p.push(format!(
            "loss.eps: expected a number in (0, 1), got {}",
            spec.loss.eps
        ));
    }
    let d = &spec.dataset;
    if let Some(n) = d.train_size {
        if n == 0 || n > 60_000 {
            p.push(format!("dataset.train_size: expected 1..=60000, got {n}"));
        } else if n < t.batch_size {
            p.push(format!(
                "dataset.train_size: {n} images is fewer than one batch of train.batch_size = {}",
                t.batch_size
            ));
        }
    }
    if let Some(n) = d.test_size {
        if n == 0 || n > 10_000 {
            p.push(format!("dataset.test_size: expected 1..=10000, got {n}"));
        }
    }
    if spec.pipeline.name.contains(['/', '\\']) || spec.pipeline.name.starts_with('.') {
        p.push(format!(
            "pipeline.name: `{}` is used as a folder name; use letters, digits, '-' and '_'",
            spec.pipeline.name
        ));
    }
    p
}
