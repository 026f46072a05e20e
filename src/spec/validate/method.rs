//! What each method (IIC, MINE on a Gaussian, MINE on images) takes: a key or evaluator that
//! would be silently ignored is an error instead.

use super::{Problems, BINNED_MI, GAUSSIAN, IIC, IMAGES, MINE_IMAGES};
use crate::spec::{CriticKind, DatasetKind, EvaluatorKind, LossKind, Method, Scored, Spec};

/// Keys and evaluators must fit what the pipeline trains (IIC, MINE on a Gaussian, MINE on
/// images): a key that would be silently ignored is an error instead.
pub(super) fn rules(spec: &Spec, p: &mut Problems) {
    let method = spec.method();
    let d = &spec.dataset;
    let gaussian = d.kind == DatasetKind::Gaussian;
    if gaussian && !spec.loss.kind.is_mine() {
        p.add(
            "dataset.kind",
            format!(
                "the gaussian data set needs a MINE loss: set `loss.kind` to one of {} (`{}` \
                 clusters images)",
                LossKind::MINE.map(|k| format!("`{}`", k.name())).join(", "),
                spec.loss.kind.name()
            ),
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
    let cosine = spec.model.critic == Some(CriticKind::Cosine);
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
