//! Trains any method through the epoch driver and records the run as it goes: after every
//! epoch the method's tables (`metrics.csv`, …, with the rows a resumed run keeps), the last
//! weights and the weights of the lowest loss; at the end the summary row.

use super::{base_row, resume_point, RunContext, RunReport};
use crate::method::{Recorder, Table};
use crate::store::weights::{self, Which};
use crate::store::{write_atomic, CsvFile, StoreError};
use crate::train::{driver, Checkpoint, Checkpointing};
use std::path::Path;

/// The rows a resumed run keeps of one of its tables, with the header they were written under.
#[derive(Debug, Default)]
struct Kept {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Kept {
    /// The rows of `file` for epochs `1..=upto` (its `epoch` column).
    fn read(file: &Path, upto: usize) -> anyhow::Result<Self> {
        if !file.is_file() {
            return Ok(Self::default());
        }
        let csv = CsvFile::read(file)?;
        let Some(at) = csv.column("epoch") else {
            anyhow::bail!("{}: no `epoch` column to resume from", file.display());
        };
        let rows = csv
            .rows
            .into_iter()
            .map(|r| r.fields)
            .filter(|f| {
                let epoch = f.get(at).and_then(|e| e.parse::<usize>().ok());
                epoch.is_some_and(|e| e <= upto)
            })
            .collect();
        Ok(Self {
            header: csv.header,
            rows,
        })
    }

    /// The rows as CSV text (no header) under `header`, each cell placed by its column's name:
    /// a file written by a version that ordered the columns differently resumes correctly
    /// (a column the file lacks is left empty).
    fn under(&self, header: &str) -> anyhow::Result<String> {
        let names: Vec<&str> = header.split(',').collect();
        let same = names
            .iter()
            .copied()
            .eq(self.header.iter().map(String::as_str));
        let mut out = csv::WriterBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_writer(Vec::new());
        for row in &self.rows {
            if same {
                out.write_record(row)?;
            } else {
                let cell = |name: &str| {
                    let at = self.header.iter().position(|h| h == name);
                    at.and_then(|i| row.get(i)).map_or("", String::as_str)
                };
                out.write_record(names.iter().map(|n| cell(n)))?;
            }
        }
        Ok(String::from_utf8(out.into_inner()?)?)
    }
}

/// Trains `method`, writing its tables and weights after every epoch, then the summary row.
pub(super) fn train_and_record<M: Recorder>(
    ctx: &RunContext,
    method: &M,
    start: impl FnOnce() -> anyhow::Result<Option<M::Model>>,
) -> anyhow::Result<RunReport> {
    let (columns, records) = train_in(ctx, method, &ctx.dir.path, start)?;
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
/// checkpoint if one is left — else from the model `start` makes (called only then; `None`: the
/// method's initial weights). Returns the method's summary columns and the records of the
/// epochs trained here.
pub(super) fn train_in<M: Recorder>(
    ctx: &RunContext,
    method: &M,
    dir: &Path,
    start: impl FnOnce() -> anyhow::Result<Option<M::Model>>,
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
            kept.push((t.file, Kept::read(&dir.join(t.file), done)?));
        }
    }
    let kept_of = |file: &str, header: &str| -> Result<String, StoreError> {
        let Some((_, k)) = kept.iter().find(|(f, _)| *f == file) else {
            return Ok(String::new());
        };
        k.under(header).map_err(|e| StoreError::Table {
            path: dir.join(file),
            what: e.to_string(),
        })
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
            if header.is_empty() {
                // A table of no rows yet: nothing new to write (the kept rows stay as they are).
                continue;
            }
            let path = dir.join(file);
            let text = format!("{header}\n{}{rows}", kept_of(file, &header)?);
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
        match resume {
            None => start()?,
            Some(_) => None,
        },
        &mut sink,
    )?;
    ckpt.clear();
    Ok((method.summary(&records, dir), records))
}

#[cfg(test)]
mod tests {
    use super::Kept;

    #[test]
    fn kept_rows_follow_the_new_header_by_column_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("metrics.csv");
        std::fs::write(
            &file,
            "epoch,head,majority,nmi\n1,0,0.9,0.5\n2,0,0.95,0.6\n3,0,0.97,0.7\n",
        )
        .unwrap();
        let kept = Kept::read(&file, 2).unwrap();
        // The same header: the rows as they were (epochs 1–2 only).
        assert_eq!(
            kept.under("epoch,head,majority,nmi").unwrap(),
            "1,0,0.9,0.5\n2,0,0.95,0.6\n"
        );
        // Columns in another order, and one the file lacks: placed by name, the new one empty.
        assert_eq!(
            kept.under("epoch,head,nmi,majority,ari").unwrap(),
            "1,0,0.5,0.9,\n2,0,0.6,0.95,\n"
        );
    }
}
