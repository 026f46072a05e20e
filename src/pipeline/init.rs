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

/// Reads and checks the `train.init_from` of `spec` (of its first stage, for a multi-stage
/// run; `None` when unset): a finished run's folder whose model (a multi-stage run's: its last
/// stage's) is IIC with this run's trunk, its last weights saved. Errors name the key and the
/// folder.
pub fn init_from(spec: &Spec) -> anyhow::Result<Option<InitFrom>> {
    let first = spec.stage_specs.first().unwrap_or(spec);
    let Some(from) = &first.train.init_from else {
        return Ok(None);
    };
    let at = |what: String| anyhow::anyhow!("`train.init_from` = {}: {what}", from.display());
    if !from.is_dir() {
        return Err(at(
            "no such folder (expected a finished IIC run's folder)".into()
        ));
    }
    if !from.join("config.toml").is_file() {
        return Err(at("not a run folder (no config.toml)".into()));
    }
    let model = last_stage(from, Vec::new()).map_err(|e| at(crate::errors::message(&e)))?;
    if model.spec.method() != Method::Iic {
        return Err(at(
            "not an IIC run: it has no IIC trunk and heads to start from".into(),
        ));
    }
    let differ: Vec<String> = model
        .spec
        .backbone
        .trunk_differences(&first.backbone)
        .into_iter()
        .map(|(k, there, here)| format!("`{k}` {there} there, {here} here"))
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
            "{} is missing: that run has not finished an epoch here (weights are not in git)",
            weights.display()
        )));
    }
    if let Ok(Some(epoch)) = crate::train::Checkpoint::new(&model.dir).latest() {
        return Err(at(format!(
            "that run has not finished (it keeps its epoch-{epoch} checkpoint): its last \
             weights are not its final ones; let it finish, or resume it, first"
        )));
    }
    Ok(Some(InitFrom {
        from: from.clone(),
        model,
    }))
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
