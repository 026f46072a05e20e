//! Trains any method through the epoch driver and records the run as it goes: after every
//! epoch the method's tables (`metrics.csv`, …, with the rows a resumed run keeps), the last
//! weights and the weights of the lowest loss; at the end the summary row.

use super::{base_row, resume_point, RunContext, RunReport};
use crate::method::{Recorder, Table};
use crate::store::weights::{self, Which};
use crate::store::{write_atomic, CsvFile, StoreError};
use crate::train::{driver, Checkpoint, Checkpointing};
use std::path::Path;

/// The rows of `file` for epochs `1..=upto` (its `epoch` column), as CSV text without the
/// header.
fn kept_rows(file: &Path, upto: usize) -> anyhow::Result<String> {
    if !file.is_file() {
        return Ok(String::new());
    }
    let csv = CsvFile::read(file)?;
    let Some(at) = csv.column("epoch") else {
        anyhow::bail!("{}: no `epoch` column to resume from", file.display());
    };
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_writer(Vec::new());
    for row in &csv.rows {
        let epoch = row.fields.get(at).and_then(|e| e.parse::<usize>().ok());
        if epoch.is_some_and(|e| e <= upto) {
            out.write_record(&row.fields)?;
        }
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

/// Trains `method`, writing its tables and weights after every epoch, then the summary row.
pub(super) fn train_and_record<M: Recorder>(
    ctx: &RunContext,
    method: &M,
) -> anyhow::Result<RunReport> {
    let (columns, records) = train_in(ctx, method, &ctx.dir.path, None)?;
    let mut row = base_row(ctx.spec, ctx.info);
    row.extend(columns);
    let report = ctx.record(row)?;
    ctx.opts
        .progress
        .info(&method.done_line(&records, report.wall_seconds, &report.summary));
    Ok(report)
}

/// A summary row's columns, in order.
pub(super) type Columns = Vec<(String, String)>;

/// Trains `method` in `dir` — its tables, weights and checkpoint there, resuming from that
/// checkpoint if one is left — from `start` (else the method's initial weights). Returns the
/// method's summary columns and the records of the epochs trained here.
pub(super) fn train_in<M: Recorder>(
    ctx: &RunContext,
    method: &M,
    dir: &Path,
    start: Option<M::Model>,
) -> anyhow::Result<(Columns, Vec<M::Record>)> {
    let p = ctx.opts.progress;
    if let Some(line) = method.intro() {
        p.info(&line);
    }
    let ckpt = Checkpoint::new(dir);
    let resume = resume_point(&ckpt, ctx.opts, method.epochs(), p)?;
    let metrics = dir.join("metrics.csv");
    let (mut best, mut kept) = (f64::INFINITY, Vec::new());
    if let Some(done) = resume {
        best = method.kept_best_loss(&metrics, done);
        for t in method.tables(&[])? {
            kept.push((t.file, kept_rows(&dir.join(t.file), done)?));
        }
    }
    let kept_of = |file: &str| {
        kept.iter()
            .find(|(f, _)| *f == file)
            .map_or("", |(_, rows)| rows.as_str())
            .to_string()
    };
    let mut so_far: Vec<M::Record> = Vec::new();
    let mut sink = |r: &M::Record, model: &M::Model| -> Result<(), StoreError> {
        if let Some(loss) = method.weights_loss(r) {
            weights::save(model, &dir.join(Which::Last.file_name()))?;
            if loss < best {
                best = loss;
                weights::save(model, &dir.join(Which::Best.file_name()))?;
            }
        }
        so_far.push(r.clone());
        for Table { file, header, rows } in method.tables(&so_far)? {
            let path = dir.join(file);
            let text = format!("{header}\n{}{rows}", kept_of(file));
            write_atomic(&path, text.as_bytes()).map_err(|e| StoreError::io(&path, e))?;
        }
        if let Some(line) = method.epoch_line(r) {
            p.info(&line);
        }
        Ok(())
    };
    let checkpointing = Checkpointing {
        at: &ckpt,
        resume: resume.is_some(),
    };
    let machine = format!(
        "{}, {} threads",
        ctx.opts.backend.name(),
        rayon::current_num_threads()
    );
    let records = driver::fit(
        method,
        method.schedule(),
        p,
        &machine,
        checkpointing,
        // A resumed run starts from its checkpoint, not from `start`.
        start.filter(|_| resume.is_none()),
        &mut sink,
    )?;
    ckpt.clear();
    Ok((method.summary(&records, dir), records))
}
