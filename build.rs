//! Records the commit mirun is built from (`MIRUN_BUILD_COMMIT`, `-dirty` when its sources had
//! uncommitted changes), so a run names the build that produced it, not only the version.

use std::process::Command;

/// The files the binary is built from: a change in them makes the build `-dirty`.
const SOURCES: [&str; 4] = ["src", "build.rs", "Cargo.toml", "Cargo.lock"];

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    // What decides the answer: the checked-out commit (HEAD, its branch ref, packed refs) and
    // the sources. Paths git names are relative to this directory, as cargo wants them.
    let mut watched: Vec<String> = SOURCES.iter().map(|s| s.to_string()).collect();
    watched.extend(git(&["rev-parse", "--git-path", "HEAD"]));
    watched.extend(git(&["rev-parse", "--git-path", "packed-refs"]));
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.extend(git(&["rev-parse", "--git-path", &branch]));
    }
    for path in watched.iter().filter(|p| std::path::Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) => {
            let mut args = vec!["status", "--porcelain", "--untracked-files=no", "--"];
            args.extend(SOURCES);
            match git(&args) {
                Some(_) => format!("{c}-dirty"),
                None => c,
            }
        }
        // A source tree without git (a crate tarball): the version alone names it.
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=MIRUN_BUILD_COMMIT={commit}");
}
