//! `[dataset]`: subset sizes within the data set and at least one batch.

use super::Problems;
use crate::spec::Spec;

/// `dataset.train_size` and `dataset.test_size` of an image data set.
pub(super) fn sizes(spec: &Spec, p: &mut Problems) {
    let t = &spec.train;
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
}
