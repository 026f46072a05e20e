//! The `mirun` commands: `args` is the command line's shape; each other module holds the body
//! of one command (or of a few small related ones), calling the library.

pub mod args;
pub mod bench;
pub mod check;
pub mod data;
pub mod eval;
pub mod report;
pub mod run;
pub mod sweep;

use mirun::spec::{Override, SpecSource};
use std::path::PathBuf;

/// Env overrides, then `--set` ones (higher precedence).
pub fn overrides(sets: &[String]) -> anyhow::Result<Vec<Override>> {
    let mut out = Override::from_env(std::env::vars());
    for s in sets {
        out.push(Override::from_set(s)?);
    }
    Ok(out)
}

/// The spec source for `file` with the env and `--set` overrides.
pub fn source(file: PathBuf, sets: &[String]) -> anyhow::Result<SpecSource> {
    Ok(SpecSource {
        file: Some(file),
        overrides: overrides(sets)?,
    })
}
