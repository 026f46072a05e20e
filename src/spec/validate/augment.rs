//! `[augment]`: the views, for images `full` pixels a side.

use super::Problems;
use crate::spec::{Spec, Transform};

/// Copies, sizes, the book's rotate-or-crop weights and each declared view.
pub(super) fn rules(spec: &Spec, full: usize, p: &mut Problems) {
    let a = &spec.augment;
    if a.copies == 0 || a.copies > 16 {
        p.add(
            "augment.copies",
            format!(
                "expected 1..=16 transformed twins per image, got {}",
                a.copies
            ),
        );
    }
    if a.size == 0 || a.size > full {
        p.add(
            "augment.size",
            format!("expected 1..={full} (the image side), got {}", a.size),
        );
    }
    for (key, w) in [
        ("augment.rotate.weight", a.rotate.weight),
        ("augment.random_crop.weight", a.random_crop.weight),
    ] {
        if !(w.is_finite() && w >= 0.0) {
            p.add(key, format!("expected a weight ≥ 0, got {w}"));
        }
    }
    if a.rotate.weight + a.random_crop.weight <= 0.0 {
        p.add(
            "augment.rotate.weight",
            "at least one of rotate.weight and random_crop.weight must be > 0",
        );
    }
    if a.rotate.max_degrees > 180 {
        p.add(
            "augment.rotate.max_degrees",
            format!("expected 0..=180, got {}", a.rotate.max_degrees),
        );
    }
    if a.random_crop.weight > 0.0 && a.random_crop.sizes.is_empty() {
        p.add(
            "augment.random_crop.sizes",
            "expected at least one crop size",
        );
    }
    for &s in &a.random_crop.sizes {
        if s == 0 || s > full {
            p.add(
                "augment.random_crop.sizes",
                format!("crop size {s} must be within 1..={full} (the image side)"),
            );
        }
    }
    if !(0.0..=1.0).contains(&a.random_crop.centre_prob) {
        p.add(
            "augment.random_crop.centre_prob",
            format!(
                "expected a probability in [0, 1], got {}",
                a.random_crop.centre_prob
            ),
        );
    }
    if !a.original.is_empty() && a.eval.is_empty() {
        p.add(
            "augment.eval",
            "with a declared augment.original, declare the evaluation view too (e.g. a centre \
             crop of the same size), so that evaluation sees images at the scale training did",
        );
    }
    for (name, steps, eval) in [
        ("original", &a.original, false),
        ("transformed", &a.transformed, false),
        ("eval", &a.eval, true),
    ] {
        check_view(p, &format!("augment.{name}"), steps, (full, a.size), eval);
    }
}

/// A declared view pipeline: probabilities in [0, 1], crops that fit the image as it is at that
/// step, and (for the evaluation view) nothing random.
fn check_view(
    p: &mut Problems,
    key: &str,
    steps: &[Transform],
    (full, size): (usize, usize),
    eval: bool,
) {
    // The smallest side the image can have when it reaches each step.
    let mut side = full;
    for (i, step) in steps.iter().enumerate() {
        let at = |field: &str| format!("{key}[{i}].{field}");
        let prob = match step {
            Transform::Rotate { p, .. }
            | Transform::Crop { p, .. }
            | Transform::Jitter { p, .. }
            | Transform::Affine { p, .. }
            | Transform::Erase { p, .. }
            | Transform::Stripe { p, .. } => Some(*p),
            Transform::Resize { .. } => None,
        };
        if let Some(pr) = prob {
            if !(0.0..=1.0).contains(&pr) {
                p.add(
                    &at("p"),
                    format!("expected a probability in [0, 1], got {pr}"),
                );
            }
        }
        match step {
            Transform::Rotate { max_degrees, p: pr } => {
                if *max_degrees > 180 {
                    p.add(
                        &at("max_degrees"),
                        format!("expected 0..=180, got {max_degrees}"),
                    );
                }
                if eval && *pr > 0.0 && *max_degrees > 0 {
                    p.add(
                        &at("op"),
                        "the evaluation view must be the same every time: use crops with \
                         centre_prob = 1 and resizes only",
                    );
                }
            }
            Transform::Crop {
                sizes,
                centre_prob,
                p: pr,
            } => {
                if sizes.is_empty() {
                    p.add(&at("sizes"), "expected at least one crop size");
                }
                for &s in sizes {
                    if s == 0 || s > side {
                        p.add(
                            &at("sizes"),
                            format!(
                                "crop size {s} must be within 1..={side} (the image's side at \
                                 this step)"
                            ),
                        );
                    }
                }
                if !(0.0..=1.0).contains(centre_prob) {
                    p.add(
                        &at("centre_prob"),
                        format!("expected a probability in [0, 1], got {centre_prob}"),
                    );
                }
                if eval && (*centre_prob < 1.0 || sizes.len() > 1 || (*pr > 0.0 && *pr < 1.0)) {
                    p.add(
                        &at("op"),
                        "the evaluation view must be the same every time: a crop there needs \
                         one size, centre_prob = 1 and p = 1",
                    );
                }
                let smallest = sizes.iter().copied().min().unwrap_or(side);
                side = if *pr >= 1.0 {
                    smallest
                } else {
                    side.min(smallest)
                };
            }
            Transform::Resize { side: to } => {
                if let Some(t) = to {
                    if *t == 0 || *t > 4 * full {
                        p.add(
                            &at("side"),
                            format!("expected 1..={} pixels, got {t}", 4 * full),
                        );
                    }
                    side = *t;
                } else {
                    side = size;
                }
            }
            Transform::Jitter {
                brightness,
                contrast,
                p: pr,
            } => {
                for (field, v) in [("brightness", brightness), ("contrast", contrast)] {
                    if !(0.0..=1.0).contains(v) {
                        p.add(
                            &at(field),
                            format!("expected a strength in [0, 1], got {v}"),
                        );
                    }
                }
                if eval && *pr > 0.0 && (*brightness > 0.0 || *contrast > 0.0) {
                    p.add(
                        &at("op"),
                        "the evaluation view must be the same every time: no jitter there",
                    );
                }
            }
            Transform::Affine {
                shear,
                scale,
                p: pr,
            } => {
                if !(0.0..=45.0).contains(shear) {
                    p.add(
                        &at("shear"),
                        format!("expected degrees in [0, 45], got {shear}"),
                    );
                }
                if !(0.0..0.5).contains(scale) {
                    p.add(
                        &at("scale"),
                        format!("expected a strength in [0, 0.5), got {scale}"),
                    );
                }
                if *shear == 0.0 && *scale == 0.0 {
                    p.add(&at("op"), "an affine step needs `shear` or `scale` above 0");
                }
                if eval && *pr > 0.0 && (*shear > 0.0 || *scale > 0.0) {
                    p.add(
                        &at("op"),
                        "the evaluation view must be the same every time: no affine there",
                    );
                }
            }
            Transform::Erase { size, p: pr } => {
                check_erasing(p, (&at("size"), *size), (&at("op"), *pr), eval)
            }
            Transform::Stripe { height, p: pr } => {
                check_erasing(p, (&at("height"), *height), (&at("op"), *pr), eval)
            }
        }
        side = side.min(4 * full);
    }
}

/// The rules every erasing step shares: its extent is a fraction of the side in (0, 1], and
/// the evaluation view cannot erase.
fn check_erasing(
    p: &mut Problems,
    (extent_key, extent): (&str, f64),
    (op_key, prob): (&str, f64),
    eval: bool,
) {
    if !(extent > 0.0 && extent <= 1.0) {
        p.add(
            extent_key,
            format!("expected a fraction of the side in (0, 1], got {extent}"),
        );
    }
    if eval && prob > 0.0 {
        p.add(
            op_key,
            "the evaluation view must be the same every time: no erasing there",
        );
    }
}
