//! Output sinks: each format renders the same result model, fed by the same scan.

#![forbid(unsafe_code)]

mod grepable;
mod json;
mod normal;
mod os;
mod table;
mod tls;
mod trace;
mod xml;

pub use grepable::GrepableSink;
pub use json::{JsonLayout, JsonSink, SCHEMA_VERSION};
pub use normal::{NormalOptions, NormalSink};
pub use xml::XmlSink;

use model::{HostResult, ScanSummary};

/// What every sink needs to know before the first host.
#[derive(Debug, Clone)]
pub struct ScanStart {
    pub version: String,
    /// The command line as the user typed it, for the files' headers.
    pub command_line: String,
    pub started: jiff::Zoned,
    /// One entry per protocol scanned, TCP first, as Nmap lists them.
    pub scans: Vec<ScanInfo>,
    /// What runs instead when no port is scanned: "ping" (`-sn`) or "list" (`-sL`).
    pub portless: Option<&'static str>,
    pub verbosity: u8,
}

/// One technique of the scan and the ports it probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanInfo {
    /// Nmap's name for the technique in XML (`syn`, `connect`, `udp`, …).
    pub scan_type: &'static str,
    pub protocol: model::Protocol,
    /// The ports scanned, ascending.
    pub ports: Vec<u16>,
}

/// A consumer of scan results, fed in scan order. The start and the finish reach the
/// output at once; hosts are written as they come and reach it at the next `flush`, which
/// the scan calls after each batch of hosts it completes: a pipeline or a `tail -f` sees
/// results during a long scan, and a sweep of thousands of hosts costs no write per host.
pub trait Sink {
    fn start(&mut self, start: &ScanStart) -> std::io::Result<()>;
    fn host(&mut self, host: &HostResult) -> std::io::Result<()>;
    fn flush(&mut self) -> std::io::Result<()>;
    fn finish(&mut self, summary: &ScanSummary) -> std::io::Result<()>;
}

/// Several sinks fed the same results: the terminal and every output file.
pub struct Fanout(pub Vec<Box<dyn Sink>>);

impl Sink for Fanout {
    fn start(&mut self, start: &ScanStart) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|sink| sink.start(start))
    }

    fn host(&mut self, host: &HostResult) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|sink| sink.host(host))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|sink| sink.flush())
    }

    fn finish(&mut self, summary: &ScanSummary) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|sink| sink.finish(summary))
    }
}

/// What a document sink has seen, so that it can close its document when dropped unfinished
/// (an error or a panic ending the scan early) instead of leaving a truncated file.
#[derive(Debug, Default)]
struct Progress {
    scanned: u64,
    up: u64,
    down: u64,
    finished: bool,
}

impl Progress {
    fn record(&mut self, host: &HostResult) {
        self.scanned += 1;
        self.up += u64::from(host.is_up());
        self.down += u64::from(matches!(host.status, model::HostStatus::Down { .. }));
    }

    /// The summary of a scan that ended before its sink was finished.
    fn cut_short(&self, start: &ScanStart) -> ScanSummary {
        let elapsed = start.started.duration_until(&jiff::Zoned::now());
        ScanSummary {
            hosts_scanned: self.scanned,
            hosts_up: self.up,
            elapsed: std::time::Duration::try_from(elapsed).unwrap_or_default(),
            interrupted: true,
        }
    }
}

/// C's ctime() layout, which Nmap's files use: "Wed Nov 25 14:17:35 2026".
fn ctime(time: &jiff::Zoned) -> String {
    time.strftime("%a %b %e %H:%M:%S %Y").to_string()
}

/// The end of the scan, from its start and how long it took.
fn finished_at(start: &ScanStart, summary: &ScanSummary) -> jiff::Zoned {
    let elapsed = jiff::SignedDuration::try_from(summary.elapsed).unwrap_or(jiff::SignedDuration::ZERO);
    start.started.checked_add(elapsed).unwrap_or_else(|_| start.started.clone())
}

/// "1 IP address (1 host up) scanned in 0.05 seconds", the tail of every format's last line.
pub fn totals(summary: &ScanSummary) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} ({}) scanned in {:.2} seconds",
        plural(summary.hosts_scanned, "IP address", "IP addresses"),
        plural(summary.hosts_up, "host up", "hosts up"),
        summary.elapsed.as_secs_f64()
    )
}

/// A TCP port result for tests, without TTL or service (set them with struct update syntax).
#[cfg(test)]
pub(crate) fn tcp_port(port: u16, state: model::PortState, reason: model::Reason) -> model::PortResult {
    model::PortResult::new(model::Protocol::Tcp, port, state, reason)
}

/// The states a host's report summarises instead of listing, with their counts.
pub(crate) use normal::split_ignored;
