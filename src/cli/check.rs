//! `mirun check`, `mirun config`, `mirun schema`: the spec without training.

use super::args::{CheckArgs, ConfigArgs};
use super::{overrides, source};
use mirun::spec;
use mirun::sweep::SweepOptions;
use mirun::train::Progress;
use std::path::PathBuf;

/// `mirun check FILE…`: validates every file, listing every problem.
pub fn check(a: CheckArgs) -> anyhow::Result<()> {
    let mut failed = 0;
    for file in &a.files {
        match check_file(file, &a.sets) {
            Ok(what) => println!("ok    {}{what}", file.display()),
            Err(e) => {
                failed += 1;
                println!("error {}\n  {e:#}", file.display());
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} pipeline file(s) invalid", a.files.len());
    }
    Ok(())
}

/// Validates one pipeline file (every point, if it has a `[sweep]`); says how many points.
fn check_file(file: &std::path::Path, sets: &[String]) -> anyhow::Result<String> {
    match spec::SweepSpec::from_file(file)? {
        Some(sweep) => {
            let opts = SweepOptions {
                file: file.to_path_buf(),
                sweep,
                sets: sets.to_vec(),
                overrides: overrides(sets)?,
                out: PathBuf::from("runs"),
                backend: None,
                jobs: 1,
                force: false,
                progress: Progress { quiet: true },
            };
            let n = mirun::sweep::plan(&opts)?.len();
            Ok(format!("  (sweep of {n} points)"))
        }
        None => {
            let s = spec::load(&source(file.to_path_buf(), sets)?)?;
            mirun::data::fetch::check_available(&s.dataset)?;
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
