//! Where an IIC model starts from another's weights: a stage from the stage before, and a run
//! from a finished run's folder (`train.init_from`).

use super::eval::{last_stage, selected_head, RunModel};
use crate::backend::Devices;
use crate::method::iic::IicConfig;
use crate::model::IicNet;
use crate::spec::{Method, Spec};
use crate::store::weights::{self, Which};
use std::path::{Path, PathBuf};

/// `fresh` with the trunk of the model saved last in `dir` (built from `config`), and its heads
/// where they fit (`IicNet::carry_from`, which picks the head `dir`'s metrics select last).
/// Returns the model and what it took, in words.
pub(super) fn carry_last(
    fresh: IicNet,
    config: &IicConfig,
    dir: &Path,
    devices: &Devices,
) -> anyhow::Result<(IicNet, String)> {
    let trained = weights::load(
        config.net.init(&devices.train)?,
        &dir.join(Which::Last.file_name()),
    )?;
    let selected = selected_head(dir, Which::Last)?;
    Ok(fresh.carry_from(trained, selected))
}

/// A checked `train.init_from`: the folder given and the model that run ends with.
pub struct InitFrom {
    from: PathBuf,
    model: RunModel,
}

/// Reads and checks `spec.train.init_from` (`None` when unset): a run folder whose model (a
/// multi-stage run's: its last stage's) is IIC with this run's backbone, with its last weights
/// saved. Errors name the key and the folder.
pub fn init_from(spec: &Spec) -> anyhow::Result<Option<InitFrom>> {
    let Some(from) = &spec.train.init_from else {
        return Ok(None);
    };
    let at = |what: String| anyhow::anyhow!("`train.init_from` = {}: {what}", from.display());
    if !from.is_dir() {
        return Err(at(
            "no such folder (expected a finished IIC run's folder)".into()
        ));
    }
    let model = last_stage(from, Vec::new()).map_err(|e| at(crate::errors::message(&e)))?;
    if model.spec.method() != Method::Iic {
        return Err(at(
            "not an IIC run: it has no IIC trunk and heads to start from".into(),
        ));
    }
    // A multi-stage run starts its first stage from it.
    let first = spec.stage_specs.first().unwrap_or(spec);
    let (there, here) = (trunk_keys(&model.spec), trunk_keys(first));
    let keys: std::collections::BTreeSet<&String> = there.keys().chain(here.keys()).collect();
    let unset = || "unset".to_string();
    let differ: Vec<String> = keys
        .into_iter()
        .filter(|k| there.get(*k) != here.get(*k))
        .map(|k| {
            let (a, b) = (there.get(k).cloned(), here.get(k).cloned());
            format!(
                "`{k}` {} there, {} here",
                a.unwrap_or_else(unset),
                b.unwrap_or_else(unset)
            )
        })
        .collect();
    if !differ.is_empty() {
        return Err(at(format!(
            "its backbone differs from this run's ({}): the trunk is carried over as it is",
            differ.join(", ")
        )));
    }
    let weights = model.dir.join(Which::Last.file_name());
    if !weights.is_file() {
        return Err(at(format!(
            "{} is missing: that run has not finished an epoch",
            weights.display()
        )));
    }
    Ok(Some(InitFrom {
        from: from.clone(),
        model,
    }))
}

/// The settings that shape the trunk: `backbone.*`, less how BatchNorm evaluates.
fn trunk_keys(spec: &Spec) -> std::collections::BTreeMap<String, String> {
    spec.flatten()
        .into_iter()
        .filter(|(k, _)| k.starts_with("backbone.") && k != "backbone.batch_norm_eval")
        .collect()
}

impl InitFrom {
    /// `fresh` with this run's trunk, and its heads where they fit; says what it took.
    pub(super) fn start(
        &self,
        fresh: IicNet,
        devices: &Devices,
    ) -> anyhow::Result<(IicNet, String)> {
        let config = IicConfig::resolve(&self.model.spec)?;
        let (model, what) = carry_last(fresh, &config, &self.model.dir, devices)?;
        Ok((model, format!("{what} of {}", self.from.display())))
    }
}
