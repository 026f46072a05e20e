//! `mirun run`.

use super::args::RunArgs;
use super::source;
use anyhow::Context;
use mirun::method::memory;
use mirun::pipeline::{run as run_pipeline, RunOptions};
use mirun::spec;
use mirun::train::Progress;

/// `mirun run FILE` (also `mirun FILE`): trains and evaluates one pipeline.
pub fn run(a: RunArgs) -> anyhow::Result<()> {
    if !a.sweep_point && spec::SweepSpec::from_file(&a.file)?.is_some() {
        anyhow::bail!(
            "{} has a [sweep] section: run all its points with `mirun sweep {0}` \
             (`--dry-run` lists them)",
            a.file.display()
        );
    }
    let src = source(a.file.clone(), &a.sets)?;
    let (spec, pipeline) = memory::load_sized(&src, memory::Limit::Here)?;
    if a.dry_run {
        super::check::check_paths(&spec, &a.out)?;
        let id = mirun::store::run_id(&spec);
        let dir = a.out.join(&spec.pipeline.name).join(&id);
        let state = mirun::sweep::state_of(&a.out, &spec, &id)?;
        let parts = memory::estimate(&spec, &pipeline);
        println!(
            "run {id} ({:?}) → {}  [{}]",
            spec.method(),
            dir.display(),
            match state {
                mirun::sweep::PointState::Finished => "finished: would rerun",
                mirun::sweep::PointState::Running =>
                    "running in another process: would be refused until it stops",
                mirun::sweep::PointState::Interrupted => "interrupted: would resume",
                mirun::sweep::PointState::New => "new",
            }
        );
        println!(
            "memory: about {} (largest: {}, `{}`)",
            memory::human(memory::total(&parts)),
            parts.first().map_or("-".into(), |p| p.what.clone()),
            parts.first().map_or("-", |p| p.key)
        );
        let epochs = spec.train.epochs;
        println!(
            "cost: {}",
            match mirun::sweep::cost::of_run(&dir, epochs, state) {
                mirun::sweep::cost::PointCost::Untimed => {
                    "not timed yet: the run says it after its first steps (`mirun sweep FILE \
                     --dry-run --calibrate` times a few now)"
                        .into()
                }
                c => mirun::sweep::cost::cell(&c),
            }
        );
        return Ok(());
    }
    if a.sweep_point && !a.fresh {
        // A requeued Slurm task (or a racing sweep) whose point has finished: nothing to do.
        let id = mirun::store::run_id(&spec);
        if mirun::sweep::state_of(&a.out, &spec, &id)? == mirun::sweep::PointState::Finished {
            eprintln!("run {id} already finished; skipped (--fresh reruns it)");
            return Ok(());
        }
    }
    let opts = RunOptions {
        out: a.out,
        backend: a
            .device
            .unwrap_or_else(mirun::backend::BackendKind::fastest),
        overrides: src.overrides.iter().map(|o| o.origin.clone()).collect(),
        progress: Progress { quiet: a.quiet },
        fresh: a.fresh,
    };
    let report =
        run_pipeline(&spec, &opts).with_context(|| format!("running {}", a.file.display()))?;
    if a.plot {
        for f in mirun::report::plot::plot(&report.run_dir, None, None, Default::default())? {
            opts.progress.info(&format!("plot → {}", f.display()));
        }
    }
    Ok(())
}
