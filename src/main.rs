//! The `mirun` command line: parses arguments and dispatches to one function per command
//! (`cli/`), which calls the library.

mod cli;

use cli::args::{Cli, Command, DataCommand};
use std::process::ExitCode;

/// Large tensors are allocated and freed every step; mimalloc reuses their pages instead of
/// returning them to the OS and faulting them in again (glibc mmaps anything over 32 MB).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
            eprintln!("error: {}", mirun::errors::message(&e));
            if e.downcast_ref::<mirun::pipeline::RunLocked>().is_some() {
                ExitCode::from(mirun::pipeline::RunLocked::EXIT_CODE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
fn real_main() -> anyhow::Result<()> {
    use clap::{CommandFactory, FromArgMatches};
    // `--version` also names what decides a CPU run's exact numbers (`-V`: the version alone).
    let long_version = format!(
        "{} (build {})\ncpu: {}\nsimd: {} (a seed reproduces bit for bit on CPUs of the same level)",
        env!("CARGO_PKG_VERSION"),
        mirun::store::BUILD_COMMIT,
        mirun::backend::cpu_model(),
        mirun::backend::simd_level()
    );
    let matches = Cli::command()
        .long_version(Box::leak(long_version.into_boxed_str()) as &str)
        .get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match (cli.command, cli.run) {
        (Some(Command::Run(a)), _) | (None, Some(a)) => cli::run::run(a),
        (Some(Command::Sweep(a)), _) => cli::sweep::sweep(a),
        (Some(Command::Table(a)), _) => cli::report::table(a),
        (Some(Command::Diff(a)), _) => cli::report::diff(a),
        (Some(Command::Plot(a)), _) => cli::report::plot(a),
        (Some(Command::Config(a)), _) => cli::check::config(a),
        (Some(Command::Check(a)), _) => cli::check::check(a),
        (Some(Command::Schema), _) => cli::check::schema(),
        (Some(Command::Eval(a)), _) => cli::eval::eval(a),
        (Some(Command::Score(a)), _) => cli::eval::score(a),
        (Some(Command::Bench(a)), _) => cli::bench::bench(a),
        (Some(Command::Data(DataCommand::Fetch { which, dir })), _) => cli::data::fetch(which, dir),
        (None, None) => {
            Cli::command().print_help()?;
            Ok(())
        }
    }
}
