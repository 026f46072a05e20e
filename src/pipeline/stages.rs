//! A multi-stage pipeline (`[[stages]]`): each stage trains in its own folder of the run
//! directory, `stage-<n>-<name>/` (its metrics, confusion, weights and checkpoint), starting
//! from the previous stage's last weights — the trunk always, the heads where they fit (see
//! `IicNet::carry_from`). A finished stage leaves `stage.toml` with its summary columns, so a
//! run killed between or inside stages resumes where it stopped. The run's one summary row is
//! the last stage's parameters and columns, the stage list, and each stage's selected accuracy.

use super::init::{carry_last, InitFrom};
use super::record::train_in;
use super::{base_row, RunContext, RunReport};
use crate::data::Dataset;
use crate::method::{Iic, Method, Pipeline, Recorder};
use crate::store::write_atomic;
use std::path::Path;

/// What `stage.toml` holds: that the stage finished, and its summary columns.
#[derive(serde::Serialize, serde::Deserialize)]
struct StageDone {
    finished: bool,
    /// (column, value) in the method's order.
    summary: Vec<(String, String)>,
}

fn read_done(path: &Path) -> anyhow::Result<Option<StageDone>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)?;
    let done: StageDone = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
    Ok(done.finished.then_some(done))
}

/// The folder of stage `index` (0-based) named `name` in a run directory.
pub(super) fn stage_dir(run_dir: &Path, index: usize, name: &str) -> std::path::PathBuf {
    run_dir.join(format!("stage-{}-{name}", index + 1))
}

/// Trains every stage of `ctx.spec` in order (IIC stages: validation refuses others), the first
/// from what `init` gives (asked only when that stage starts afresh), and records the run's
/// summary row.
pub(super) fn run_stages(
    ctx: &RunContext,
    data: &Dataset,
    init: impl FnOnce() -> anyhow::Result<Option<InitFrom>>,
) -> anyhow::Result<RunReport> {
    let mut init = Some(init);
    let p = ctx.opts.progress;
    let spec = ctx.spec;
    let n = spec.stage_specs.len();
    let mut columns: Vec<(String, String)> = Vec::new();
    let mut per_stage: Vec<(String, String)> = Vec::new();
    let mut previous: Option<(crate::method::iic::IicConfig, std::path::PathBuf)> = None;
    for (i, (stage, stage_spec)) in spec.stages.iter().zip(&spec.stage_specs).enumerate() {
        let dir = stage_dir(&ctx.dir.path, i, &stage.name);
        if ctx.opts.fresh && dir.exists() {
            // `--fresh` starts the whole run over, finished stages included.
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let Pipeline::Iic(config) = Pipeline::resolve(stage_spec)? else {
            anyhow::bail!("stage `{}`: only IIC stages can be chained", stage.name);
        };
        let marker = dir.join("stage.toml");
        let summary = match read_done(&marker)? {
            Some(done) => {
                p.info(&format!(
                    "stage {}/{n} `{}`: finished before ({}); skipped",
                    i + 1,
                    stage.name,
                    dir.display()
                ));
                done.summary
            }
            None => {
                p.info(&format!(
                    "stage {}/{n} `{}` → {}",
                    i + 1,
                    stage.name,
                    dir.display()
                ));
                let method = Iic::new(config.clone(), data, ctx.devices);
                // The first stage starts from `train.init_from` where it is set, the others
                // from the stage before (a resumed stage from its checkpoint instead).
                let start = || -> anyhow::Result<_> {
                    let (model, what) = match &previous {
                        None => match init.take().map_or(Ok(None), |f| f())? {
                            None => return Ok(None),
                            Some(from) => from.start(method.init()?, ctx.devices)?,
                        },
                        Some((before, before_dir)) => {
                            let (model, what) =
                                carry_last(method.init()?, before, before_dir, ctx.devices)?;
                            (model, format!("{what} of the stage before"))
                        }
                    };
                    p.info(&format!(
                        "stage {}/{n} `{}` starts from {what}",
                        i + 1,
                        stage.name
                    ));
                    Ok(Some(model))
                };
                let (summary, records) = train_in(ctx, &method, &dir, start)?;
                let done = StageDone {
                    finished: true,
                    summary: summary.clone(),
                };
                let text = toml::to_string(&done)?;
                write_atomic(&marker, text.as_bytes())?;
                p.info(&method.done_line(&records, ctx.started.elapsed().as_secs_f64(), &marker));
                summary
            }
        };
        if let Some((_, acc)) = summary.iter().find(|(k, _)| k == "selected_accuracy") {
            per_stage.push((
                format!("stage_{}_selected_accuracy", stage.name),
                acc.clone(),
            ));
        }
        columns = summary;
        previous = Some((config, dir));
    }
    // The parameters of the model the run ends with (the last stage's), with the stage list.
    let last = spec.stage_specs.last().unwrap_or(spec);
    let mut row = base_row(last, ctx.info);
    if let Some(stages) = spec.flatten().into_iter().find(|(k, _)| k == "stages") {
        row.push(stages);
    }
    row.extend(columns);
    row.extend(per_stage);
    ctx.record(row)
}
