//! The command line's shape: every command and its arguments (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use mirun::backend::BackendKind;
use std::path::PathBuf;

/// Run declarative IIC/MINE pipelines on burn.
#[derive(Parser, Debug)]
#[command(name = "mirun", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: Option<RunArgs>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train and evaluate a pipeline (also `mirun FILE.toml`).
    Run(RunArgs),
    /// Run every point of a `[sweep]` (grid × zip × seeds), skipping finished ones.
    Sweep(SweepArgs),
    /// Results table from summary.csv files: one row per setting, seeds as mean ± std.
    Table(TableArgs),
    /// Compare two results (directories or summary.csv files) row by row, with Δ and Δ%.
    Diff(DiffArgs),
    /// Print the fully resolved config as TOML (`--explain`: with each value's source).
    Config(ConfigArgs),
    /// Validate pipeline files without training; lists every problem of every file.
    Check(CheckArgs),
    /// Print the JSON Schema of pipeline files (for editor completion and validation).
    Schema,
    /// Score any clustering given as a CSV of (label, cluster) rows.
    Score(ScoreArgs),
    /// Plot a run (accuracy/loss per head, MINE estimate, confusion) or a sweep (metric ± std).
    Plot(PlotArgs),
    /// Reload a run's saved weights and evaluate them without training.
    Eval(EvalArgs),
    /// Time a training step, the augmentation and the evaluation (for scripts/bench).
    Bench(BenchArgs),
    /// Manage data sets.
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Pipeline file.
    pub file: PathBuf,
    /// Override a value: `--set train.epochs=5` (repeatable; parsed as a TOML value).
    // Plain fields here, not the shared flattened ones: `mirun FILE.toml` parses RunArgs as an
    // optional flattened group, which clap leaves empty when it holds flattened groups.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Results root; runs go to OUT/<pipeline-name>/<run-id>/ (the committed reference
    /// results live in results/, written with --out results).
    #[arg(long, default_value = "runs")]
    pub out: PathBuf,
    /// Backend and device (default: the fastest compiled in).
    #[arg(long, value_enum)]
    pub device: Option<BackendKind>,
    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write the run's plot (plot.svg, plot-confusion.svg) into its directory at the end.
    #[arg(long)]
    pub plot: bool,
    /// Start over even if an interrupted run of this config left a checkpoint to resume.
    #[arg(long)]
    pub fresh: bool,
    /// Run the file's base point even though it has a `[sweep]` (set by `mirun sweep`).
    #[arg(long, hide = true)]
    pub sweep_point: bool,
    /// Resolve, validate and check the paths; print the run id, where it would write and the
    /// memory it would need — without training.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// A run directory, or a results directory / summary.csv of many runs.
    pub target: PathBuf,
    /// Output file, `.svg` or `.png` (default: plot.svg in the directory).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// For many runs: the metric to plot (default: selected_accuracy, probe_heldout or
    /// mi_estimate, whichever the summary has).
    #[arg(long)]
    pub metric: Option<String>,
    /// For one run: the x axis — the epoch, or the wall-clock minutes the run had trained when
    /// the epoch ended (its epochs' `seconds`, summed).
    #[arg(long, value_enum, default_value_t = mirun::report::plot::XAxis::Epoch)]
    pub x: mirun::report::plot::XAxis,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Pipeline whose model, batch size and data are timed.
    #[arg(default_value = "pipelines/iic_heads1.toml")]
    pub file: PathBuf,
    /// Head counts to time the training step with.
    #[arg(long, value_delimiter = ',', default_value = "1,5", value_parser = at_least_one)]
    pub heads: Vec<usize>,
    /// Timed steps per head count (after 2 warm-up steps).
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    pub steps: usize,
    #[command(flatten)]
    pub sets: Sets,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Convolution forms to time the step with (default: the backend's own choice).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub conv: Vec<ConvForm>,
}

/// How VGG convolutions are computed (for `mirun bench --conv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConvForm {
    /// The backend's own convolution kernels.
    Native,
    /// mirun's im2col + GEMM convolution (on flex its own op, elsewhere composed from burn ops).
    Gemm,
}

#[derive(Args, Debug)]
pub struct TableArgs {
    /// A results directory (its summary.csv, or every summary.csv below it) or a summary.csv.
    pub input: PathBuf,
    /// Group by these columns (default: the parameters that vary, except the seed).
    #[arg(long, num_args = 1..)]
    pub by: Vec<String>,
    /// Metric columns (default: selected_accuracy, else every numeric metric).
    #[arg(long = "metric", num_args = 1..)]
    pub metrics: Vec<String>,
    /// Markdown table.
    #[arg(long, conflicts_with = "csv")]
    pub md: bool,
    /// CSV with mean, std and n columns.
    #[arg(long)]
    pub csv: bool,
    /// Also show each metric's lowest value in the group (the worst seed, for accuracies).
    #[arg(long)]
    pub worst: bool,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Before: a results directory or a summary.csv.
    pub a: PathBuf,
    /// After: a results directory or a summary.csv.
    pub b: PathBuf,
    /// Metric columns to compare (default: selected_accuracy and whatever changed).
    #[arg(long = "metric", num_args = 1..)]
    pub metrics: Vec<String>,
    /// Markdown, for pull requests.
    #[arg(long)]
    pub md: bool,
    /// Exit with status 1 if any row's change meets this, e.g. 'selected_accuracy < -0.005'
    /// (Δ in the metric's units) or 'selected_accuracy < -0.5%' (Δ%). Repeatable.
    #[arg(long = "fail-if", value_name = "METRIC OP VALUE[%]")]
    pub fail_if: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Pipeline file (with or without a `[sweep]` section).
    pub file: PathBuf,
    /// Add or replace a grid axis: `--grid heads.count=1,2,3` or `--grid 'heads.count=range(1,6)'`.
    #[arg(long = "grid", value_name = "KEY=V1,V2")]
    pub grids: Vec<String>,
    /// Add or replace a zipped axis (paired with the other zipped axes).
    #[arg(long = "zip", value_name = "KEY=V1,V2")]
    pub zips: Vec<String>,
    /// Replicate every point over these seeds: `--seeds 1,2,3`.
    #[arg(long)]
    pub seeds: Option<String>,
    #[command(flatten)]
    pub sets: Sets,
    /// List and validate every point (overrides, run id, state, cost) without training.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: time a few training steps of each config that has not run on this
    /// results tree, so that every point gets an estimate (training steps only).
    #[arg(long, requires = "dry_run")]
    pub calibrate: bool,
    /// Points to run at once, each in its own process (local launcher).
    #[arg(short, long, default_value_t = 1, value_parser = at_least_one)]
    pub jobs: usize,
    /// Where the points run: `local` (child processes) or `slurm` (one job array through
    /// sbatch); default: the file's `launcher.kind`, else local.
    #[arg(long, value_enum)]
    pub launcher: Option<mirun::spec::LauncherKind>,
    /// With `--launcher slurm`: follow the job until it ends; the exit status is the number of
    /// points that did not finish.
    #[arg(long)]
    pub wait: bool,
    /// Print where every point stands (finished, running, pending, failed, interrupted, new)
    /// without running anything.
    #[arg(long, conflicts_with_all = ["dry_run", "wait", "force", "fresh"])]
    pub status: bool,
    /// Rerun points that already finished (from scratch).
    #[arg(long)]
    pub force: bool,
    /// Start interrupted points over instead of resuming them from their checkpoints (one
    /// whose checkpoint cannot be read back, say: its weights were not copied along).
    #[arg(long)]
    pub fresh: bool,
    #[command(flatten)]
    pub out: OutArg,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Print only failures and the final count.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Pipeline file.
    pub file: PathBuf,
    #[command(flatten)]
    pub sets: Sets,
    /// Annotate every value with where it came from.
    #[arg(long)]
    pub explain: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Pipeline files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub sets: Sets,
    #[command(flatten)]
    pub out: OutArg,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A run directory (results/<name>/<run-id>/).
    pub run_dir: PathBuf,
    /// Which saved weights.
    #[arg(long, value_enum, default_value = "last")]
    pub weights: mirun::store::weights::Which,
    #[command(flatten)]
    pub sets: Sets,
    /// Also write, per head, a PNG of the first K test images of every cluster.
    #[arg(long, value_name = "K", num_args = 0..=1, default_missing_value = "12", value_parser = at_least_one)]
    pub grid: Option<usize>,
    /// With --grid: only the images each cluster gets wrong (their label is not the one the
    /// Hungarian matching gives the cluster); written as `clusters-<weights>-errors-h<head>.png`.
    #[arg(long, requires = "grid")]
    pub errors: bool,
    /// The neighbour diagnostic for the test images of label CLASS (default 7): those the
    /// selected head gives to another digit's cluster and those it keeps, and the share of
    /// their 5/10/20 nearest training images of CLASS in pixel space (deskewed, blurred), in
    /// the trunk's features and in both; written as `neighbours-<weights>.csv`. Labels are
    /// only looked at, never used to choose.
    #[arg(long, value_name = "CLASS", num_args = 0..=1, default_missing_value = "7")]
    pub neighbours: Option<u8>,
    #[command(flatten)]
    pub device: DeviceArg,
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// CSV file with a header row.
    pub file: PathBuf,
    /// Column holding the true labels (any strings).
    #[arg(long, default_value = "label")]
    pub label_col: String,
    /// Column holding the cluster ids (any strings).
    #[arg(long, default_value = "cluster")]
    pub cluster_col: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Fetch, decompress and verify a data set into the data dir.
    Fetch {
        which: Which,
        /// Data root (default `data/`, or MIRUN_DATA_DIR).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Which {
    Mnist,
    FashionMnist,
    All,
}

/// `--set KEY=VALUE`: the overrides every command that resolves a spec takes.
#[derive(Args, Debug, Clone, Default)]
pub struct Sets {
    /// Override a value: `--set train.epochs=5` (repeatable; parsed as a TOML value; the last
    /// layer, above the file and `MIRUN_*` env vars).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

impl std::ops::Deref for Sets {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.sets
    }
}

/// `--device`: the backend and device to train or evaluate on.
#[derive(Args, Debug, Clone, Copy)]
pub struct DeviceArg {
    /// Backend and device (default: the fastest compiled in).
    #[arg(long, value_enum)]
    pub device: Option<BackendKind>,
}

impl DeviceArg {
    /// The backend named, else the fastest compiled in.
    pub fn backend(self) -> BackendKind {
        self.device.unwrap_or_else(BackendKind::fastest)
    }
}

/// `--out`: the results root.
#[derive(Args, Debug, Clone)]
pub struct OutArg {
    /// Results root; runs go to OUT/<pipeline-name>/<run-id>/ (the committed reference
    /// results live in results/, written with --out results).
    #[arg(long, default_value = "runs")]
    pub out: PathBuf,
}

impl std::ops::Deref for OutArg {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.out
    }
}

/// A count of 1 or more (`-j 0` would run nothing).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("expected at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
