//! Everything mirun prints while it runs goes through here: a progress bar per epoch (with
//! ETA) and one summary line per epoch.

use indicatif::{ProgressBar, ProgressStyle};

/// Where progress goes; `quiet` keeps only errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub quiet: bool,
}

impl Progress {
    /// A status line.
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            println!("{msg}");
        }
    }

    /// A line that is printed even in quiet mode (to stderr): failures the user must see.
    pub fn warn(&self, msg: &str) {
        eprintln!("{msg}");
    }

    /// A bar over the steps of one epoch (drawn only on a terminal).
    pub fn epoch_bar(&self, epoch: usize, epochs: usize, steps: usize) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(steps as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} steps  {msg}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        bar
    }
}
