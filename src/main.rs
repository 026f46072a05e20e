//! The `mirun` command line: parses arguments and calls the library.

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use mirun::backend::BackendKind;
use mirun::pipeline::{run, RunOptions};
use mirun::spec::{self, DatasetKind, Override, SpecSource};
use mirun::sweep::SweepOptions;
use mirun::train::Progress;
use std::path::PathBuf;
use std::process::ExitCode;

/// Large tensors are allocated and freed every step; mimalloc reuses their pages instead of
/// returning them to the OS and faulting them in again (glibc mmaps anything over 32 MB).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Run declarative IIC/MINE pipelines on burn.
#[derive(Parser, Debug)]
#[command(name = "mirun", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: Option<RunArgs>,
}

#[derive(Subcommand, Debug)]
enum Command {
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
struct RunArgs {
    /// Pipeline file.
    file: PathBuf,
    /// Override a value: `--set train.epochs=5` (repeatable; parsed as a TOML value).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Results root; runs go to OUT/<pipeline-name>/<run-id>/.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Backend and device (default: the fastest compiled in).
    #[arg(long, value_enum)]
    device: Option<BackendKind>,
    /// Print only errors.
    #[arg(long, short)]
    quiet: bool,
    /// Write the run's plot (plot.svg, plot-confusion.svg) into its directory at the end.
    #[arg(long)]
    plot: bool,
    /// Start over even if an interrupted run of this config left a checkpoint to resume.
    #[arg(long)]
    fresh: bool,
    /// Run the file's base point even though it has a `[sweep]` (set by `mirun sweep`).
    #[arg(long, hide = true)]
    sweep_point: bool,
}

#[derive(Args, Debug)]
struct PlotArgs {
    /// A run directory, or a results directory / summary.csv of many runs.
    target: PathBuf,
    /// Output file, `.svg` or `.png` (default: plot.svg in the directory).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// For many runs: the metric to plot (default: selected_accuracy, probe_heldout or
    /// mi_estimate, whichever the summary has).
    #[arg(long)]
    metric: Option<String>,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Pipeline whose model, batch size and data are timed.
    #[arg(default_value = "pipelines/iic_heads1.toml")]
    file: PathBuf,
    /// Head counts to time the training step with.
    #[arg(long, value_delimiter = ',', default_value = "1,5")]
    heads: Vec<usize>,
    /// Timed steps per head count (after 2 warm-up steps).
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Override a value (as for `run`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Backend and device (default: the fastest compiled in).
    #[arg(long, value_enum)]
    device: Option<BackendKind>,
    /// Convolution forms to time the step with (default: the backend's own choice).
    #[arg(long, value_enum, value_delimiter = ',')]
    conv: Vec<ConvForm>,
}

/// How VGG convolutions are computed (for `mirun bench --conv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ConvForm {
    /// The backend's own convolution kernels.
    Native,
    /// im2col (k² shifted slices) + one matrix product.
    Gemm,
}

#[derive(Args, Debug)]
struct TableArgs {
    /// A results directory (its summary.csv, or every summary.csv below it) or a summary.csv.
    input: PathBuf,
    /// Group by these columns (default: the parameters that vary, except the seed).
    #[arg(long, num_args = 1..)]
    by: Vec<String>,
    /// Metric columns (default: selected_accuracy, else every numeric metric).
    #[arg(long = "metric", num_args = 1..)]
    metrics: Vec<String>,
    /// Markdown table.
    #[arg(long, conflicts_with = "csv")]
    md: bool,
    /// CSV with mean, std and n columns.
    #[arg(long)]
    csv: bool,
}

#[derive(Args, Debug)]
struct DiffArgs {
    /// Before: a results directory or a summary.csv.
    a: PathBuf,
    /// After: a results directory or a summary.csv.
    b: PathBuf,
    /// Metric columns to compare (default: selected_accuracy and whatever changed).
    #[arg(long = "metric", num_args = 1..)]
    metrics: Vec<String>,
    /// Markdown, for pull requests.
    #[arg(long)]
    md: bool,
    /// Exit with status 1 if any row's change meets this, e.g. 'selected_accuracy < -0.005'
    /// (Δ in the metric's units) or 'selected_accuracy < -0.5%' (Δ%). Repeatable.
    #[arg(long = "fail-if", value_name = "METRIC OP VALUE[%]")]
    fail_if: Vec<String>,
}

#[derive(Args, Debug)]
struct SweepArgs {
    /// Pipeline file (with or without a `[sweep]` section).
    file: PathBuf,
    /// Add or replace a grid axis: `--grid heads.count=1,2,3` or `--grid 'heads.count=range(1,6)'`.
    #[arg(long = "grid", value_name = "KEY=V1,V2")]
    grids: Vec<String>,
    /// Add or replace a zipped axis (paired with the other zipped axes).
    #[arg(long = "zip", value_name = "KEY=V1,V2")]
    zips: Vec<String>,
    /// Replicate every point over these seeds: `--seeds 1,2,3`.
    #[arg(long)]
    seeds: Option<String>,
    /// Override a value in every point (as for `run`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// List and validate every point (overrides, run id, state) without training.
    #[arg(long)]
    dry_run: bool,
    /// Points to run at once, each in its own process.
    #[arg(short, long, default_value_t = 1)]
    jobs: usize,
    /// Rerun points that already finished.
    #[arg(long)]
    force: bool,
    /// Results root (as for `run`).
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Backend and device for every point.
    #[arg(long, value_enum)]
    device: Option<BackendKind>,
    /// Print only failures and the final count.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct ConfigArgs {
    /// Pipeline file.
    file: PathBuf,
    /// Override a value (as for `run`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Annotate every value with where it came from.
    #[arg(long)]
    explain: bool,
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Pipeline files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Override a value (as for `run`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// A run directory (results/<name>/<run-id>/).
    run_dir: PathBuf,
    /// Which saved weights.
    #[arg(long, value_enum, default_value = "last")]
    weights: mirun::store::weights::Which,
    /// Override a value of the run's config (e.g. `dataset.kind=fashion-mnist`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Also write, per head, a PNG of the first K test images of every cluster.
    #[arg(long, value_name = "K", num_args = 0..=1, default_missing_value = "12")]
    grid: Option<usize>,
    /// Backend and device (default: the fastest compiled in).
    #[arg(long, value_enum)]
    device: Option<BackendKind>,
}

#[derive(Args, Debug)]
struct ScoreArgs {
    /// CSV file with a header row.
    file: PathBuf,
    /// Column holding the true labels (any strings).
    #[arg(long, default_value = "label")]
    label_col: String,
    /// Column holding the cluster ids (any strings).
    #[arg(long, default_value = "cluster")]
    cluster_col: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum DataCommand {
    /// Fetch, decompress and verify a data set into the data dir.
    Fetch {
        which: Which,
        /// Data root (default `data/`, or MIRUN_DATA_DIR).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Which {
    Mnist,
    FashionMnist,
    All,
}

/// Env overrides, then `--set` ones (higher precedence).
fn overrides(sets: &[String]) -> anyhow::Result<Vec<Override>> {
    let mut out = Override::from_env(std::env::vars());
    for s in sets {
        out.push(Override::from_set(s)?);
    }
    Ok(out)
}

fn source(file: PathBuf, sets: &[String]) -> anyhow::Result<SpecSource> {
    Ok(SpecSource {
        file: Some(file),
        overrides: overrides(sets)?,
    })
}

/// mimalloc's `purge_delay` option (`mi_option_purge_delay` in mimalloc.h, v2).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Keep freed pages instead of purging them: a training step frees and reallocates the
    // same few hundred MB, and faulting them in again cost ~15 % of a step.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    std::panic::set_hook(Box::new(|info| {
        eprintln!("mirun: internal error: {info}\nplease report this with the command you ran");
    }));
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<mirun::pipeline::RunLocked>().is_some() {
                ExitCode::from(mirun::pipeline::RunLocked::EXIT_CODE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn real_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match (cli.command, cli.run) {
        (Some(Command::Run(a)), _) | (None, Some(a)) => run_cmd(a),
        (Some(Command::Sweep(a)), _) => sweep_cmd(a),
        (Some(Command::Bench(a)), _) => bench_cmd(a),
        (Some(Command::Plot(a)), _) => {
            for f in mirun::report::plot::plot(&a.target, a.output.as_deref(), a.metric.as_deref())?
            {
                println!("{}", f.display());
            }
            Ok(())
        }
        (Some(Command::Table(a)), _) => {
            use mirun::report::table::{table, Format, TableOptions};
            let format = if a.md {
                Format::Markdown
            } else if a.csv {
                Format::Csv
            } else {
                Format::Text
            };
            let opts = TableOptions {
                by: a.by,
                metrics: a.metrics,
                format,
            };
            let t = table(&a.input, &opts)?;
            print!("{}", t.render(format));
            if format == Format::Csv {
                if let Some(note) = t.skipped_note() {
                    eprintln!("{note}");
                }
            }
            Ok(())
        }
        (Some(Command::Diff(a)), _) => {
            use mirun::report::diff::{diff, DiffOptions};
            let opts = DiffOptions {
                metrics: a.metrics,
                fail_if: a.fail_if,
            };
            let d = diff(&a.a, &a.b, &opts)?;
            print!("{}", d.render(a.md));
            if !d.violations.is_empty() {
                anyhow::bail!("{} change(s) met a --fail-if condition", d.violations.len());
            }
            Ok(())
        }
        (Some(Command::Config(a)), _) => {
            let resolved = spec::resolve(&source(a.file, &a.sets)?)?;
            if a.explain {
                print!("{}", resolved.explain());
            } else {
                print!("{}", resolved.spec.to_toml());
            }
            Ok(())
        }
        (Some(Command::Check(a)), _) => {
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
        (Some(Command::Eval(a)), _) => {
            mirun::pipeline::eval_run(
                &a.run_dir,
                a.weights,
                a.device.unwrap_or_else(BackendKind::fastest),
                overrides(&a.sets)?,
                a.grid,
                Progress::default(),
            )?;
            Ok(())
        }
        (Some(Command::Score(a)), _) => {
            let s = mirun::eval::score_csv(&a.file, &a.label_col, &a.cluster_col)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!("accuracy  {:.6}  (Hungarian, one-to-one)", s.accuracy);
                println!("nmi       {:.6}", s.nmi);
                println!("ari       {:.6}", s.ari);
                println!("majority  {:.6}  (many-to-one)", s.majority);
                println!("n {}  clusters {}  classes {}", s.n, s.clusters, s.classes);
            }
            Ok(())
        }
        (Some(Command::Schema), _) => {
            println!("{}", spec::json_schema());
            Ok(())
        }
        (Some(Command::Data(DataCommand::Fetch { which, dir })), _) => {
            let dir = dir
                .or_else(|| std::env::var_os("MIRUN_DATA_DIR").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("data"));
            let kinds = match which {
                Which::Mnist => vec![DatasetKind::Mnist],
                Which::FashionMnist => vec![DatasetKind::FashionMnist],
                Which::All => vec![DatasetKind::Mnist, DatasetKind::FashionMnist],
            };
            for kind in kinds {
                let (folder, _) = mirun::data::fetch::ensure(kind, &dir)?;
                println!(
                    "{}: ready and verified in {}",
                    kind.name(),
                    folder.display()
                );
            }
            Ok(())
        }
        (None, None) => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(())
        }
    }
}

fn run_cmd(a: RunArgs) -> anyhow::Result<()> {
    if !a.sweep_point && spec::SweepSpec::from_file(&a.file)?.is_some() {
        anyhow::bail!(
            "{} has a [sweep] section: run all its points with `mirun sweep {0}` \
             (`--dry-run` lists them)",
            a.file.display()
        );
    }
    let src = source(a.file.clone(), &a.sets)?;
    let spec = spec::load(&src)?;
    let opts = RunOptions {
        out: a.out,
        backend: a.device.unwrap_or_else(BackendKind::fastest),
        overrides: src.overrides.iter().map(|o| o.origin.clone()).collect(),
        progress: Progress { quiet: a.quiet },
        fresh: a.fresh,
    };
    let report = run(&spec, &opts).with_context(|| format!("running {}", a.file.display()))?;
    if a.plot {
        for f in mirun::report::plot::plot(&report.run_dir, None, None)? {
            opts.progress.info(&format!("plot → {}", f.display()));
        }
    }
    Ok(())
}

fn sweep_cmd(a: SweepArgs) -> anyhow::Result<()> {
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

/// Validates one pipeline file (every point, if it has a `[sweep]`); says how many points.
fn check_file(file: &std::path::Path, sets: &[String]) -> anyhow::Result<String> {
    match spec::SweepSpec::from_file(file)? {
        Some(sweep) => {
            let opts = SweepOptions {
                file: file.to_path_buf(),
                sweep,
                sets: sets.to_vec(),
                overrides: overrides(sets)?,
                out: PathBuf::from("results"),
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

/// Prints `metric,value,unit` CSV rows: step seconds per head count, pairs/s, eval seconds.
fn bench_cmd(a: BenchArgs) -> anyhow::Result<()> {
    use mirun::train::bench;
    let base = spec::load(&source(a.file.clone(), &a.sets)?)?;
    let backend = a.device.unwrap_or_else(BackendKind::fastest);
    let devices = backend.open().map_err(anyhow::Error::msg)?;
    let data = mirun::data::load(&base.dataset)?;
    println!("metric,value,unit");
    let rows = base.train.batch_size * 2;
    println!(
        "augment_pairs_per_s,{:.0},pairs/s",
        bench::pairs_per_second(&base, &data, 5.0)
    );
    println!(
        "eval_test_set_s,{:.3},s ({} images)",
        bench::eval_seconds(&base, &data, &devices, 3)?,
        data.test.len()
    );
    let chosen = if backend.native_conv() {
        ConvForm::Native
    } else {
        ConvForm::Gemm
    };
    let forms = if a.conv.is_empty() {
        vec![chosen]
    } else {
        a.conv
    };
    for form in forms {
        mirun::model::gemm_conv::use_native_conv(form == ConvForm::Native);
        // The backend's own choice keeps the metric's historical name.
        let suffix = match form {
            f if f == chosen => "",
            ConvForm::Native => "_native",
            ConvForm::Gemm => "_gemm",
        };
        for &h in &a.heads {
            let mut spec = base.clone();
            spec.heads.count = h;
            let s = bench::step_seconds(&spec, &data, &devices, 2, a.steps)?;
            println!(
                "train_step_heads{h}{suffix}_s,{s:.3},s ({rows} rows; {}; {form:?} conv)",
                backend.name()
            );
        }
    }
    mirun::model::gemm_conv::use_native_conv(backend.native_conv());
    Ok(())
}
