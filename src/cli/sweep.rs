//! `mirun sweep`.

use super::args::SweepArgs;
use super::overrides;
use mirun::method::memory::Limit;
use mirun::spec::{self, LauncherKind, LauncherSpec};
use mirun::sweep::{slurm, status, SweepOptions};
use mirun::train::Progress;

/// `mirun sweep FILE`: every point of a `[sweep]`, skipping finished ones, here or on Slurm.
pub fn sweep(a: SweepArgs) -> anyhow::Result<()> {
    // `--set launcher.KEY=VALUE` configures the launcher; every other `--set` the points.
    let (launcher_sets, sets): (Vec<String>, Vec<String>) = a
        .sets
        .iter()
        .cloned()
        .partition(|s| s.trim_start().starts_with("launcher."));
    let mut launcher = LauncherSpec::resolve(&a.file, &overrides(&launcher_sets)?)?;
    if let Some(kind) = a.launcher {
        launcher.kind = kind;
    }
    if a.wait && launcher.kind != LauncherKind::Slurm {
        anyhow::bail!("--wait applies to `--launcher slurm` (a local sweep always waits)");
    }
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
        sets: sets.clone(),
        overrides: overrides(&sets)?,
        out: a.out.out.clone(),
        backend: a.device.device,
        jobs: a.jobs,
        force: a.force,
        fresh: a.fresh,
        // Points run here, or on Slurm nodes with `launcher.mem` each (unknown without it).
        memory: match launcher.kind {
            LauncherKind::Local => Limit::Here,
            LauncherKind::Slurm => launcher.mem_bytes().map_or(Limit::Unchecked, Limit::Bytes),
        },
        progress: Progress { quiet: a.quiet },
    };
    let planned = mirun::sweep::plan(&opts)?;
    if a.status {
        print!("{}", status::report(&opts, &planned)?);
        return Ok(());
    }
    if launcher.kind == LauncherKind::Slurm {
        return sweep_on_slurm(&a, &opts, &launcher, &planned);
    }
    if a.dry_run {
        let backend = a.device.backend();
        let calibrate = |spec: &mirun::spec::Spec| {
            mirun::pipeline::calibrate(spec, backend, mirun::train::cost::TIMED_STEPS)
        };
        let calibrate: Option<&mirun::sweep::cost::Calibrate> = match a.calibrate {
            true => Some(&calibrate),
            false => None,
        };
        print!(
            "{}",
            mirun::sweep::describe(&opts.out, &planned, calibrate)?
        );
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

/// `--launcher slurm`: the unfinished points as one job array (`--dry-run` prints its script).
fn sweep_on_slurm(
    a: &SweepArgs,
    opts: &SweepOptions,
    launcher: &LauncherSpec,
    planned: &[mirun::sweep::PlannedPoint],
) -> anyhow::Result<()> {
    let todo = slurm::todo(opts, planned)?;
    if todo.is_empty() {
        eprintln!(
            "sweep {}: all {} point(s) finished, running or queued; nothing to submit (--force \
             reruns finished ones; --status shows each point)",
            a.file.display(),
            planned.len()
        );
        return Ok(());
    }
    let script = slurm::script(opts, launcher, &todo)?;
    if a.dry_run {
        print!("{script}");
        eprintln!(
            "{} point(s), all valid; {} to submit as one array (not submitted: --dry-run)",
            planned.len(),
            todo.len()
        );
        return Ok(());
    }
    let job = slurm::submit(opts, planned, &script)?;
    // The job id goes to stdout alone, for scripts; the rest to stderr.
    println!("{}", job.job_id);
    eprintln!(
        "sweep {}: submitted {} point(s) as slurm job {} (script: {}); the same command with \
         --status shows where each point stands",
        a.file.display(),
        todo.len(),
        job.job_id,
        job.script.display(),
    );
    if !a.wait {
        return Ok(());
    }
    let failed = slurm::wait(opts, planned, &todo, &job.job_id)?;
    eprintln!(
        "slurm job {}: {} point(s) finished, {} did not; summary → {}",
        job.job_id,
        todo.len() - failed.len(),
        failed.len(),
        mirun::sweep::summary_path(&opts.out, &planned[0].spec).display()
    );
    if !failed.is_empty() {
        for label in &failed {
            eprintln!("  not finished: {label}");
        }
        std::process::exit(failed.len().min(100) as i32);
    }
    Ok(())
}
