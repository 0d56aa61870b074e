//! `portolan`: parses Nmap's command line, runs the scan, prints, and sets the exit code.

#![forbid(unsafe_code)]

mod args;
mod checks;
mod config;
mod connect_scan;
mod decoys;
mod discover;
mod docs;
mod error;
mod history;
mod idle_scan;
mod iflist;
mod inputs;
mod ip_options;
mod merge;
mod names;
mod notes;
mod os_scan;
mod outputs;
mod payloads;
mod phases;
mod progress;
mod raw_scan;
mod report;
mod resume;
mod run;
mod session;
mod spoof_mac;
mod stealth_plan;
mod subcommand;
mod traceroute;
mod usage;
mod version_scan;

use std::process::ExitCode;

use args::Command;

/// The scan engine's large tables, read in the scan's random order, on huge pages where the
/// kernel gives them (see [`netio::HugePageAlloc`]).
#[global_allocator]
static ALLOCATOR: netio::HugePageAlloc = netio::HugePageAlloc;

/// Exit codes: 0 success, 1 the scan could not run, 2 bad usage.
const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;

/// `portolan diff` found changes; it fails with 2, as diff(1) and Nmap's ndiff do.
const EXIT_CHANGES: u8 = 1;
const EXIT_DIFF_TROUBLE: u8 = 2;

fn main() -> ExitCode {
    netio::end_quietly_on_closed_pipe();
    let words: Vec<String> = std::env::args().skip(1).collect();
    if let Some(command @ ("history" | "diff")) = words.first().map(String::as_str) {
        return history_command(command, &words[1..]);
    }
    if words.first().map(String::as_str) == Some("merge") {
        return merge_command(&words[1..]);
    }
    if words.first().map(String::as_str) == Some("report") {
        return report_command(&words[1..]);
    }
    if words.first().map(String::as_str) == Some("manpage") {
        print!("{}", docs::man_page());
        return ExitCode::SUCCESS;
    }
    if words.first().map(String::as_str) == Some("completions") {
        return match words.get(1).and_then(|shell| docs::completions(shell)) {
            Some(script) => {
                print!("{script}");
                ExitCode::SUCCESS
            }
            None => usage_error("portolan completions bash|zsh|fish: a completion script for that shell"),
        };
    }
    if words.first().map(String::as_str) == Some("config") {
        return match &words[1..] {
            [show] if show == "show" => finish(config::load().map(|loaded| print!("{}", loaded.show()))),
            _ => usage_error("portolan config show: the settings in force and where each comes from"),
        };
    }
    if words.first().map(String::as_str) == Some("--resume") {
        let [_, file] = &words[..] else {
            return usage_error("--resume takes no other options: portolan --resume FILE");
        };
        return scan(resume::options(std::path::Path::new(file)));
    }
    match args::parse(words) {
        Ok(Command::Help) => {
            print!("{}", usage::HELP);
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("portolan version {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::InterfaceList) => finish(iflist::print()),
        Ok(Command::Scan(options)) => scan(config::load().map(|loaded| {
            let mut options = *options;
            loaded.apply(&mut options);
            options
        })),
        Err(error) => usage_error(&error.0),
    }
}

fn scan(options: Result<args::ScanOptions, error::RunError>) -> ExitCode {
    finish(options.and_then(run::run))
}

/// The exit code of a command's work: usage errors 2, failures 1.
fn finish(result: Result<(), error::RunError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error::RunError::Usage(message)) => usage_error(&message),
        Err(error::RunError::Failed(message)) => failure(&message, EXIT_FAILURE),
    }
}

fn history_command(command: &str, words: &[String]) -> ExitCode {
    match history::parse(command, words).map(history::run) {
        Err(error) => usage_error(&error.0),
        Ok(Ok(false)) => ExitCode::SUCCESS,
        Ok(Ok(true)) => ExitCode::from(EXIT_CHANGES),
        Ok(Err(message)) => failure(&message, if command == "diff" { EXIT_DIFF_TROUBLE } else { EXIT_FAILURE }),
    }
}

fn merge_command(words: &[String]) -> ExitCode {
    match merge::parse(words).map(merge::run) {
        Err(error) => usage_error(&error.0),
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(message)) => failure(&message, EXIT_FAILURE),
    }
}

fn report_command(words: &[String]) -> ExitCode {
    match report::parse(words).map(report::run) {
        Err(error) => usage_error(&error.0),
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(message)) => failure(&message, EXIT_FAILURE),
    }
}

/// A command that could not do its work: one line saying why.
fn failure(message: &str, code: u8) -> ExitCode {
    eprintln!("portolan: {message}");
    ExitCode::from(code)
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("portolan: {message}");
    eprintln!("See 'portolan -h' for a summary of options.");
    ExitCode::from(EXIT_USAGE)
}
