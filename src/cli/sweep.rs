//! `mirun sweep`.

use super::args::SweepArgs;
use super::overrides;
use mirun::spec;
use mirun::sweep::SweepOptions;
use mirun::train::Progress;

/// `mirun sweep FILE`: every point of a `[sweep]`, skipping finished ones.
pub fn sweep(a: SweepArgs) -> anyhow::Result<()> {
    let mut sweep = spec::SweepSpec::from_file(&a.file)?.unwrap_or_default();
    for g in &a.grids {
        sweep.set_grid(g)?;
    }
    for z in &a.zips {
        sweep.set_zip(z)?;
    }
    if let Some(s) = &a.seeds {
        sweep.set_seeds(s)?;
    }
    let opts = SweepOptions {
        file: a.file.clone(),
        sweep,
        sets: a.sets.clone(),
        overrides: overrides(&a.sets)?,
        out: a.out,
        backend: a.device,
        jobs: a.jobs,
        force: a.force,
        progress: Progress { quiet: a.quiet },
    };
    let planned = mirun::sweep::plan(&opts)?;
    if a.dry_run {
        print!("{}", mirun::sweep::describe(&planned));
        println!(
            "{} point(s), all valid; {} already finished",
            planned.len(),
            planned
                .iter()
                .filter(|p| p.state == mirun::sweep::PointState::Finished)
                .count()
        );
        return Ok(());
    }
    let report = mirun::sweep::run_sweep(&opts, &planned)?;
    eprintln!(
        "sweep {}: {} point(s): {} run, {} skipped (finished), {} failed; summary → {}",
        a.file.display(),
        report.points,
        report.ran,
        report.skipped,
        report.failed.len(),
        report.summary.display()
    );
    if !report.failed.is_empty() {
        for (label, log) in &report.failed {
            eprintln!("  failed: {label}  (log: {})", log.display());
        }
        // The exit status is the number of failed points (capped).
        std::process::exit(report.failed.len().min(100) as i32);
    }
    Ok(())
}
