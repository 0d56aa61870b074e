//! `portolan`: parses Nmap's command line, runs the scan, prints, and sets the exit code.

mod args;
mod run;
mod usage;

use std::process::ExitCode;

use args::Command;

/// Exit codes: 0 success, 1 the scan could not run, 2 bad usage.
const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    match args::parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{}", usage::HELP);
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("portolan version {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Scan(options)) => match run::run(*options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(run::RunError::Usage(message)) => usage_error(&message),
            Err(run::RunError::Failed(message)) => {
                eprintln!("portolan: {message}");
                ExitCode::from(EXIT_FAILURE)
            }
        },
        Err(error) => usage_error(&error.0),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("portolan: {message}");
    eprintln!("See 'portolan -h' for a summary of options.");
    ExitCode::from(EXIT_USAGE)
}
