//! Cross-field rules that serde's types cannot express. Every violation is collected, so a
//! user fixes them all in one go.

use super::vgg_layout::VggLayout;
use super::{DatasetKind, EvaluatorKind, LossKind, Method, Scored, Spec, Transform};

/// A broken rule: the dotted key it concerns and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Keys that apply only somewhere, as `(key, set, applies, where)`: a key that is `set`
    /// where it does not apply (`applies` is false) would be silently ignored, so it is an
    /// error naming where it applies instead.
    fn only(&mut self, rules: &[(&str, bool, bool, &str)]) {
        for &(key, set, applies, where_) in rules {
            if set && !applies {
                self.add(key, format!("applies only to {where_}; remove it"));
            }
        }
    }
}

// Where keys apply, as the errors name it.
const IMAGES: &str = "image data sets";
const GAUSSIAN: &str = "dataset.kind = \"gaussian\"";
const IIC: &str = "IIC (loss.kind = \"iic\")";
const MINE_IMAGES: &str = "MINE on images";
const BINNED_MI: &str = "the `binned_mi` evaluator";

/// Returns every broken rule (empty when the spec is valid).
pub fn validate(spec: &Spec) -> Vec<Problem> {
    let mut p = Problems(Vec::new());
    let full = spec.image_shape().side;
    if let Some(g) = spec.train.memory_limit_gib {
        if !(g.is_finite() && g > 0.0) {
            p.add(
                "train.memory_limit_gib",
                format!("expected a positive number of GiB, got {g}"),
            );
        }
    }
    if spec.heads.count == 0 {
        p.add("heads.count", "expected at least 1 head, got 0");
    }
    if let Some(k) = spec.heads.clusters {
        if k < 2 {
            p.add("heads.clusters", format!("expected at least 2, got {k}"));
        }
    }
    if let Some(k) = spec.heads.overcluster {
        if k < 2 {
            p.add("heads.overcluster", format!("expected at least 2, got {k}"));
        }
    }
    if spec.heads.lottery_every == Some(0) {
        p.add("heads.lottery_every", "expected at least 1 step, got 0");
    }
    if let Some(m) = spec.heads.lottery_margin {
        if spec.heads.lottery_every.is_none() {
            p.add(
                "heads.lottery_margin",
                "applies only with `heads.lottery_every` set; remove it or set heads.lottery_every",
            );
        } else if !(m.is_finite() && m >= 0.0) {
            p.add(
                "heads.lottery_margin",
                format!("expected a number ≥ 0, got {m}"),
            );
        }
    }
    if spec.heads.merge.is_some() && spec.clusters() <= spec.classes() {
        p.add(
            "heads.merge",
            format!(
                "applies only to heads with more clusters than the {} classes; remove it or set \
                 heads.clusters above {}",
                spec.classes(),
                spec.classes()
            ),
        );
    }
    if spec.heads.aux_schedule.is_some() && spec.heads.overcluster.is_none() {
        p.add(
            "heads.aux_schedule",
            "applies only with `heads.overcluster` set; remove it or set heads.overcluster = 50",
        );
    }
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
        check_view(
            &mut p,
            &format!("augment.{name}"),
            steps,
            (full, a.size),
            eval,
        );
    }
    let k = spec.backbone.kernel_size;
    if k == 0 || k.is_multiple_of(2) {
        p.add(
            "backbone.kernel_size",
            format!("expected an odd size ≥ 1 (same padding), got {k}"),
        );
    }
    match VggLayout::from_cfg(&spec.backbone.cfg) {
        Err(e) => p.add("backbone.cfg", e.to_string()),
        Ok(layout) => {
            if a.size > 0 && a.size <= full {
                if let Err(e) = layout.output_features(a.size) {
                    p.add("backbone.cfg", e.to_string());
                }
            }
        }
    }
    let t = &spec.train;
    if t.epochs == 0 {
        p.add("train.epochs", "expected at least 1");
    }
    if t.batch_size < 2 {
        p.add(
            "train.batch_size",
            format!("expected at least 2 pairs, got {}", t.batch_size),
        );
    }
    for (key, v) in [
        ("train.lr", t.lr),
        ("train.lr_decay", t.lr_decay),
        ("train.adam_eps", t.adam_eps),
    ] {
        if !(v.is_finite() && v > 0.0) {
            p.add(key, format!("expected a positive number, got {v}"));
        }
    }
    if t.lr_decay_every == 0 {
        p.add("train.lr_decay_every", "expected at least 1 epoch");
    }
    let eps = spec.loss.eps;
    if !(eps.is_finite() && eps > 0.0 && eps < 1.0) {
        p.add(
            "loss.eps",
            format!("expected a number in (0, 1), got {eps}"),
        );
    }
    let d = &spec.dataset;
    let (train_max, test_max) = d.kind.sizes();
    if let Some(n) = d.train_size.filter(|_| d.kind.is_image()) {
        if n == 0 || n > train_max {
            p.add(
                "dataset.train_size",
                format!("expected 1..={train_max}, got {n}"),
            );
        } else if n < t.batch_size {
            p.add(
                "dataset.train_size",
                format!(
                    "{n} images is fewer than one batch of train.batch_size = {}",
                    t.batch_size
                ),
            );
        }
    }
    if let Some(n) = d.test_size.filter(|_| d.kind.is_image()) {
        if n == 0 || n > test_max {
            p.add(
                "dataset.test_size",
                format!("expected 1..={test_max}, got {n}"),
            );
        }
    }
    method_rules(spec, &mut p);
    stage_rules(spec, &mut p);
    let name = &spec.pipeline.name;
    if name.contains(['/', '\\']) || name.starts_with('.') {
        p.add(
            "pipeline.name",
            format!("`{name}` is used as a folder name; use letters, digits, '-' and '_'"),
        );
    }
    p.0
}

/// Keys and evaluators must fit what the pipeline trains (IIC, MINE on a Gaussian, MINE on
/// images): a key that would be silently ignored is an error instead.
fn method_rules(spec: &Spec, p: &mut Problems) {
    let method = spec.method();
    let d = &spec.dataset;
    let gaussian = d.kind == DatasetKind::Gaussian;
    if gaussian && !spec.loss.kind.is_mine() {
        p.add(
            "dataset.kind",
            "the gaussian data set needs a MINE loss: set `loss.kind` to `mine`, `mine_ema` or `nwj` (`iic` clusters images)",
        );
        return;
    }
    p.only(&[
        (
            "dataset.train_size",
            d.train_size.is_some(),
            !gaussian,
            IMAGES,
        ),
        (
            "dataset.test_size",
            d.test_size.is_some(),
            !gaussian,
            IMAGES,
        ),
        ("dataset.cov_xy", d.cov_xy.is_some(), gaussian, GAUSSIAN),
        ("dataset.dim", d.dim.is_some(), gaussian, GAUSSIAN),
        ("dataset.marginal", d.marginal.is_some(), gaussian, GAUSSIAN),
        (
            "train.steps",
            spec.train.steps.is_some(),
            gaussian,
            "dataset.kind = \"gaussian\" (images train for `train.epochs`)",
        ),
        (
            "dataset.train_on",
            !d.train_on.is_train(),
            !gaussian,
            IMAGES,
        ),
        (
            "backbone.batch_norm_eval",
            !spec.backbone.batch_norm_eval.is_running(),
            !gaussian && spec.backbone.batch_norm,
            "image pipelines with backbone.batch_norm = true",
        ),
        (
            "train.precision",
            !spec.train.precision.is_f32(),
            !gaussian,
            "image pipelines (it sets the backbone's convolutions)",
        ),
    ]);
    let mine_images = method == Method::MineImages;
    let cosine = spec.model.critic == Some(super::CriticKind::Cosine);
    p.only(&[
        (
            "heads.overcluster",
            spec.heads.overcluster.is_some(),
            method == Method::Iic,
            IIC,
        ),
        (
            "heads.select",
            spec.heads.select.is_some(),
            spec.loss.kind == LossKind::Iic,
            IIC,
        ),
        (
            "heads.merge",
            spec.heads.merge.is_some(),
            method == Method::Iic,
            IIC,
        ),
        (
            "heads.lottery_every",
            spec.heads.lottery_every.is_some(),
            method == Method::Iic,
            IIC,
        ),
        (
            "augment.copies",
            spec.augment.copies != 1,
            method == Method::Iic,
            IIC,
        ),
        (
            "model.latent_dim",
            spec.model.latent_dim.is_some(),
            mine_images,
            MINE_IMAGES,
        ),
        (
            "model.hidden",
            spec.model.hidden.is_some(),
            method != Method::Iic && !cosine,
            "MINE's learned T (not with `model.critic = \"cosine\"`, which has no hidden layer)",
        ),
        (
            "model.critic",
            spec.model.critic.is_some(),
            mine_images,
            MINE_IMAGES,
        ),
        (
            "model.temperature",
            spec.model.temperature.is_some(),
            cosine,
            "`model.critic = \"cosine\"`",
        ),
    ]);
    if let Some(t) = spec.model.temperature {
        if !(t.is_finite() && t > 0.0 && t <= 10.0) {
            p.add(
                "model.temperature",
                format!("expected a temperature in (0, 10], got {t}"),
            );
        }
    }
    p.only(&[
        (
            "loss.entropy_weight",
            spec.loss.entropy_weight.is_some(),
            spec.loss.kind == LossKind::Iic,
            "IIC (`loss.kind = \"iic\"`)",
        ),
        (
            "loss.threshold",
            spec.loss.threshold.is_some(),
            spec.loss.kind == LossKind::SelfLabel,
            "`loss.kind = \"selflabel\"`",
        ),
    ]);
    if spec.loss.kind == LossKind::SelfLabel {
        // One head: with several, a head confident about nothing has loss 0 and would be the
        // one selected (and a lottery would restart the others; with one head it never draws).
        if spec.heads.count != 1 {
            p.add(
                "heads.count",
                format!(
                    "`loss.kind = \"selflabel\"` trains one head (the previous stage's selected \
                     one), got {}; set heads.count = 1",
                    spec.heads.count
                ),
            );
        }
    }
    if let Some(t) = spec.loss.threshold {
        if !(t.is_finite() && t > 0.0 && t <= 1.0) {
            p.add(
                "loss.threshold",
                format!("expected a probability in (0, 1], got {t}"),
            );
        }
    }
    if let Some(w) = spec.loss.entropy_weight {
        if !(w.is_finite() && w > 0.0 && w <= 10.0) {
            p.add(
                "loss.entropy_weight",
                format!("expected a weight in (0, 10], got {w}"),
            );
        }
    }
    p.only(&[(
        "loss.ema_rate",
        spec.loss.ema_rate.is_some(),
        spec.loss.kind == LossKind::MineEma,
        "loss.kind = \"mine_ema\"",
    )]);
    if let Some(r) = d.cov_xy {
        if !(r.is_finite() && r > -1.0 && r < 1.0) {
            p.add(
                "dataset.cov_xy",
                format!("expected a correlation in (-1, 1), got {r}"),
            );
        }
    }
    for (key, v) in [
        ("dataset.dim", d.dim),
        ("model.latent_dim", spec.model.latent_dim),
        ("model.hidden", spec.model.hidden),
        ("train.steps", spec.train.steps),
        ("evaluator.probe_epochs", spec.evaluator.probe_epochs),
    ] {
        if v == Some(0) {
            p.add(key, "expected at least 1, got 0");
        }
    }
    if let Some(r) = spec.loss.ema_rate {
        if !(r.is_finite() && r > 0.0 && r <= 1.0) {
            p.add(
                "loss.ema_rate",
                format!("expected a rate in (0, 1], got {r}"),
            );
        }
    }
    let e = &spec.evaluator;
    for k in e.all() {
        let wants = Scored::by(method);
        if k.scores() != wants {
            let wanted: Vec<&str> = EvaluatorKind::ALL
                .iter()
                .filter(|e| e.scores() == wants)
                .map(|e| e.name())
                .collect();
            let wanted = wanted.join(", ");
            p.add(
                "evaluator.kind",
                format!(
                    "`{}` does not apply to this pipeline; expected some of: {wanted}",
                    k.name()
                ),
            );
        }
    }
    if e.kind.as_ref().is_some_and(|_| e.all().is_empty()) {
        p.add("evaluator.kind", "expected at least one evaluator");
    }
    let binned = e.has(EvaluatorKind::BinnedMi) || (e.kind.is_none() && gaussian);
    p.only(&[
        ("evaluator.bins", e.bins.is_some(), binned, BINNED_MI),
        (
            "evaluator.binned_samples",
            e.binned_samples.is_some(),
            binned,
            BINNED_MI,
        ),
    ]);
    let probe = e.has(EvaluatorKind::LinearProbe) || (e.kind.is_none() && mine_images);
    p.only(&[(
        "evaluator.probe_epochs",
        e.probe_epochs.is_some(),
        probe,
        "the `linear_probe` evaluator",
    )]);
    if let Some(b) = e.bins {
        if b < 2 {
            p.add(
                "evaluator.bins",
                format!("expected at least 2 bins, got {b}"),
            );
        }
    }
    if let Some(n) = e.binned_samples {
        if n < 1000 {
            p.add(
                "evaluator.binned_samples",
                format!("expected at least 1000 samples, got {n}"),
            );
        }
    }
}

/// `[[stages]]`: named (a folder each, names unique), and changing only what a stage may —
/// not the run's name, seed or data set, nor the stage list itself.
fn stage_rules(spec: &Spec, p: &mut Problems) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, stage) in spec.stages.iter().enumerate() {
        let at = format!("stages[{i}]");
        let name = stage.name.as_str();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            p.add(
                "stages",
                format!(
                    "{at}.name `{name}` names the stage's folder: use letters, digits, '-' and '_'"
                ),
            );
        }
        if seen.contains(&name) {
            p.add("stages", format!("stage `{name}` is named twice"));
        }
        seen.push(name);
        for key in stage.set.keys() {
            let section = key.split('.').next().unwrap_or("");
            if matches!(section, "pipeline" | "dataset" | "stages" | "stage_specs") {
                p.add(
                    "stages",
                    format!(
                        "stage `{name}` cannot change `{key}`: a run has one name, seed and data \
                         set, and one list of stages"
                    ),
                );
            }
        }
    }
}

/// Whether resolved stage specs chain: every stage trains IIC heads (or self-labels them) on
/// one trunk, so each has the first stage's backbone.
pub fn chain(stages: &[super::StageSpec], specs: &[Spec]) -> Vec<Problem> {
    let mut p = Problems(Vec::new());
    let Some(first) = specs.first() else {
        return p.0;
    };
    for (stage, s) in stages.iter().zip(specs) {
        let name = &stage.name;
        match s.method() {
            Method::Iic => {}
            Method::MineImages | Method::MineGaussian => p.add(
                "loss.kind",
                format!(
                    "stage `{name}`: `loss.kind`: stages carry an IIC trunk and its heads from \
                     one stage to the next; a MINE stage is not supported yet"
                ),
            ),
        }
        if s.backbone != first.backbone {
            p.add(
                "backbone",
                format!(
                    "stage `{name}`: `backbone` differs from stage `{}`'s; every stage trains \
                     the same trunk, carried over from the stage before",
                    stages[0].name
                ),
            );
        }
    }
    p.0
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
