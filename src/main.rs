//! The `retrace` binary: parse arguments, set up logging, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = retrace::cli::Cli::parse();
    retrace::logging::init(cli.global.verbose, cli.global.quiet);
    match retrace::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) if err.is_broken_pipe() => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}
