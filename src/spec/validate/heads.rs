//! `[heads]`: counts, sizes, and the keys that only apply with another one set.

use super::Problems;
use crate::spec::Spec;

/// The heads' counts and sizes, the lottery, merging and the auxiliary schedule.
pub(super) fn rules(spec: &Spec, p: &mut Problems) {
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
}
