//! The `mirun` command line: parses arguments and calls the library.

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use mirun::backend::BackendKind;
use mirun::pipeline::{run, RunOptions};
use mirun::spec::{self, DatasetKind, Override, SpecSource};
use mirun::train::Progress;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Print the fully resolved config as TOML.
    Config(ConfigArgs),
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
}

#[derive(Args, Debug)]
struct ConfigArgs {
    /// Pipeline file.
    file: PathBuf,
    /// Override a value (as for `run`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
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

fn source(file: PathBuf, sets: &[String]) -> anyhow::Result<SpecSource> {
    let mut overrides = Override::from_env(std::env::vars());
    for s in sets {
        overrides.push(Override::from_set(s)?);
    }
    Ok(SpecSource {
        file: Some(file),
        overrides,
    })
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("mirun: internal error: {info}\nplease report this with the command you ran");
    }));
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match (cli.command, cli.run) {
        (Some(Command::Run(a)), _) | (None, Some(a)) => run_cmd(a),
        (Some(Command::Config(a)), _) => {
            let spec = spec::load(&source(a.file, &a.sets)?)?;
            print!("{}", spec.to_toml());
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
    let src = source(a.file.clone(), &a.sets)?;
    let spec = spec::load(&src)?;
    let opts = RunOptions {
        out: a.out,
        backend: a.device.unwrap_or_else(BackendKind::fastest),
        overrides: src.overrides.iter().map(|o| o.origin.clone()).collect(),
        progress: Progress { quiet: a.quiet },
    };
    run(&spec, &opts).with_context(|| format!("running {}", a.file.display()))?;
    Ok(())
}
