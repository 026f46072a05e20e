//! `[train]` and `[loss]`: the schedule, the memory limit and the loss's clipping.

use super::Problems;
use crate::spec::{Method, Spec};

/// `train.memory_limit_gib`: a positive number of GiB.
pub(super) fn memory_limit(spec: &Spec, p: &mut Problems) {
    if let Some(g) = spec.train.memory_limit_gib {
        if !(g.is_finite() && g > 0.0) {
            p.add(
                "train.memory_limit_gib",
                format!("expected a positive number of GiB, got {g}"),
            );
        }
    }
}

/// `train.init_from`: a folder, and only where there is an IIC trunk to start from. (That the
/// folder holds a finished IIC run with this backbone is checked when it is read:
/// `pipeline::init`.)
pub(super) fn init_from(spec: &Spec, p: &mut Problems) {
    let Some(from) = &spec.train.init_from else {
        return;
    };
    if from.as_os_str().is_empty() {
        p.add(
            "train.init_from",
            "expected the folder of a finished IIC run, got \"\"",
        );
    }
    if spec.method() != Method::Iic {
        p.add(
            "train.init_from",
            "applies only to IIC (a finished IIC run's trunk and heads); MINE runs start from \
             fresh weights",
        );
    }
}

/// The schedule (epochs, batch, Adam's rates) and `loss.eps`.
pub(super) fn rules(spec: &Spec, p: &mut Problems) {
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
}
