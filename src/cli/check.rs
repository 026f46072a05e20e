//! `mirun check`, `mirun config`, `mirun schema`: the spec without training.

use super::args::{CheckArgs, ConfigArgs};
use super::{overrides, source};
use mirun::method::memory;
use mirun::spec;
use mirun::sweep::SweepOptions;
use mirun::train::Progress;

/// `mirun check FILE…`: validates every file, listing every problem.
pub fn check(a: CheckArgs) -> anyhow::Result<()> {
    let mut failed = 0;
    for file in &a.files {
        match check_file(file, &a.sets, &a.out) {
            Ok(what) => println!("ok    {}{what}", file.display()),
            Err(e) => {
                failed += 1;
                println!("error {}\n  {}", file.display(), mirun::errors::message(&e));
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} pipeline file(s) invalid", a.files.len());
    }
    Ok(())
}

/// What a spec points at: its data folder (a directory, or one that can be created, holding
/// the data or able to fetch it), the run it starts from (`train.init_from`) and the results
/// root (writable).
pub(super) fn check_paths(s: &spec::Spec, out: &std::path::Path) -> anyhow::Result<()> {
    // Every problem, not only the first.
    let mut problems: Vec<String> = Vec::new();
    let mut note = |r: anyhow::Result<()>| {
        if let Err(e) = r {
            problems.push(mirun::errors::message(&e));
        }
    };
    if s.dataset.kind.is_image() {
        // An existing folder only needs reading; a missing one must be creatable (and only
        // then is it asked whether the data is there or can be fetched).
        let folder = match s.dataset.dir.is_dir() {
            true => Ok(()),
            false => mirun::store::check_writable_dir(&s.dataset.dir)
                .map_err(|e| anyhow::anyhow!("`dataset.dir`: {e}")),
        };
        match folder {
            Ok(()) => note(mirun::data::fetch::check_available(&s.dataset).map_err(Into::into)),
            Err(e) => note(Err(e)),
        }
    }
    note(mirun::pipeline::init_from(s).map(drop));
    note(
        mirun::store::check_writable_dir(out)
            .map_err(|e| anyhow::anyhow!("results root (--out): {e}")),
    );
    match problems.is_empty() {
        true => Ok(()),
        false => Err(anyhow::anyhow!(problems.join("\n  "))),
    }
}

/// Validates one pipeline file (every point, if it has a `[sweep]`) and what it points at;
/// says how many points.
fn check_file(
    file: &std::path::Path,
    sets: &[String],
    out: &std::path::Path,
) -> anyhow::Result<String> {
    match spec::SweepSpec::from_file(file)? {
        Some(sweep) => {
            let opts = SweepOptions {
                file: file.to_path_buf(),
                sweep,
                sets: sets.to_vec(),
                overrides: overrides(sets)?,
                out: out.to_path_buf(),
                backend: None,
                jobs: 1,
                force: false,
                fresh: false,
                memory: memory::Limit::Here,
                progress: Progress { quiet: true },
            };
            let planned = mirun::sweep::plan(&opts)?;
            if let Some(first) = planned.first() {
                check_paths(&first.spec, out)?;
            }
            // The run each point starts from, where a point sets its own.
            for p in planned.iter().skip(1) {
                mirun::pipeline::init_from(&p.spec).map_err(|e| {
                    anyhow::anyhow!("point {} ({}): {e}", p.point.index + 1, p.point.label())
                })?;
            }
            Ok(format!("  (sweep of {} points)", planned.len()))
        }
        None => {
            let (s, _) =
                memory::load_sized(&source(file.to_path_buf(), sets)?, memory::Limit::Here)?;
            check_paths(&s, out)?;
            Ok(String::new())
        }
    }
}

/// `mirun config FILE`: the resolved config (`--explain`: with each value's source).
pub fn config(a: ConfigArgs) -> anyhow::Result<()> {
    let resolved = spec::resolve(&source(a.file, &a.sets)?)?;
    if a.explain {
        print!("{}", resolved.explain());
    } else {
        print!("{}", resolved.spec.to_toml());
    }
    Ok(())
}

/// `mirun schema`: the JSON Schema of pipeline files.
pub fn schema() -> anyhow::Result<()> {
    println!("{}", spec::json_schema());
    Ok(())
}
