//! `[[stages]]`: names, what a stage may change, and whether resolved stages chain.

use super::{Problem, Problems};
use crate::spec::{Method, Spec, StageSpec};

/// `[[stages]]`: named (a folder each, names unique), and changing only what a stage may —
/// not the run's name, seed or data set, nor the stage list itself.
pub(super) fn rules(spec: &Spec, p: &mut Problems) {
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
            if key == "train.init_from" && i > 0 {
                p.add(
                    "stages",
                    format!(
                        "stage `{name}` cannot set `train.init_from`: a later stage starts from \
                         the stage before; only the first may start from another run"
                    ),
                );
            }
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
pub fn chain(stages: &[StageSpec], specs: &[Spec]) -> Vec<Problem> {
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
        let differ = s.backbone.trunk_differences(&first.backbone);
        if !differ.is_empty() {
            let what: Vec<String> = differ
                .iter()
                .map(|(k, here, there)| format!("`{k}` {here}, not {there}"))
                .collect();
            p.add(
                "backbone",
                format!(
                    "stage `{name}`: `backbone` differs from stage `{}`'s ({}); every stage \
                     trains the same trunk, carried over from the stage before",
                    stages[0].name,
                    what.join(", ")
                ),
            );
        }
    }
    p.0
}
