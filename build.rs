//! Records the commit mirun is built from (`MIRUN_BUILD_COMMIT`, `-dirty` when its sources had
//! uncommitted changes), so a run names the build that produced it, not only the version.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    // What decides the answer: the checked-out commit (HEAD, its branch ref, packed refs) and
    // the sources. Paths git names are relative to this directory, as cargo wants them.
    let mut watched = vec!["src".to_string(), "Cargo.toml".into(), "Cargo.lock".into()];
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
            let sources = ["src", "build.rs", "Cargo.toml", "Cargo.lock"];
            let mut args = vec!["status", "--porcelain", "--untracked-files=no", "--"];
            args.extend(sources);
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
