//! Why a scan could not run, and the exit code each reason gets.

pub(crate) enum RunError {
    /// Bad input: exit code 2.
    Usage(String),
    /// The scan could not run: exit code 1.
    Failed(String),
}

pub(crate) fn not_permitted(flag: &str) -> RunError {
    // Only a TCP port scan has an unprivileged way round: the connect scan.
    let instead = if matches!(flag, "-sU" | "-O" | "--traceroute") { "" } else { ", or use -sT" };
    RunError::Failed(format!("{flag} needs CAP_NET_RAW (run as root{instead})"))
}

pub(crate) fn write_failed(error: std::io::Error) -> RunError {
    RunError::Failed(format!("cannot write output: {error}"))
}
