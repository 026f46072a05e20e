//! `[backbone]`: the kernel and the layer list, which must leave features at the views' size.

use super::Problems;
use crate::spec::vgg_layout::VggLayout;
use crate::spec::Spec;

/// An odd kernel, and a layer list that parses and fits `augment.size`-pixel views.
pub(super) fn rules(spec: &Spec, full: usize, p: &mut Problems) {
    let a = &spec.augment;
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
}
