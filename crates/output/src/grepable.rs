//! Nmap's grepable output (`-oG`): one line per host and fact, fields split by tabs, ports as
//! `port/state/protocol/owner/service/rpc/version/`.

use std::collections::BTreeMap;
use std::io::Write;

use model::{HostResult, HostStatus, PortResult, Protocol, ScanSummary, ServiceDetail};

use crate::normal::initiated_line;
use crate::{ctime, finished_at, split_ignored, totals, NormalOptions, ScanStart, Sink};

pub struct GrepableSink<W> {
    out: W,
    options: NormalOptions,
    start: Option<ScanStart>,
}

impl<W: Write> GrepableSink<W> {
    pub fn new(out: W, options: NormalOptions) -> Self {
        GrepableSink { out, options, start: None }
    }
}

impl<W: Write> Sink for GrepableSink<W> {
    fn start(&mut self, start: &ScanStart) -> std::io::Result<()> {
        writeln!(self.out, "{}", initiated_line(start))?;
        self.start = Some(start.clone());
        self.out.flush()
    }

    fn host(&mut self, host: &HostResult) -> std::io::Result<()> {
        if host.status == HostStatus::Listed {
            let name = host.target.display_name().unwrap_or_default();
            return writeln!(self.out, "Host: {} ({name})\tStatus: Unknown", host.target.addr);
        }
        if !host.is_up() {
            return Ok(());
        }
        let (shown, hidden) = split_ignored(&host.ports, &self.options);
        if self.options.open_only && shown.is_empty() && !self.options.hosts_only {
            return Ok(());
        }
        let id = format!("Host: {} ({})", host.target.addr, host.target.display_name().unwrap_or_default());
        writeln!(self.out, "{id}\tStatus: Up")?;
        if self.options.hosts_only {
            return Ok(());
        }
        // Ports of TCP and UDP under "Ports:", the IP protocol scan's numbers under "Protocols:".
        let (protocols, ports): (Vec<&PortResult>, Vec<&PortResult>) =
            shown.iter().partition(|p| p.protocol == Protocol::Ip);
        write!(self.out, "{id}")?;
        if !ports.is_empty() || protocols.is_empty() {
            let ports: Vec<String> = ports.iter().map(|p| port_field(p)).collect();
            write!(self.out, "\tPorts: {}", ports.join(", "))?;
        }
        if !protocols.is_empty() {
            let protocols: Vec<String> = protocols.iter().map(|p| protocol_field(p)).collect();
            write!(self.out, "\tProtocols: {}", protocols.join(", "))?;
        }
        if let Some((state, count)) = largest_state(&hidden) {
            write!(self.out, "\tIgnored State: {state} ({count})")?;
        }
        writeln!(self.out)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, summary: &ScanSummary) -> std::io::Result<()> {
        if let Some(start) = &self.start {
            writeln!(self.out, "# portolan done at {} -- {}", ctime(&finished_at(start, summary)), totals(summary))?;
        }
        self.out.flush()
    }
}

fn port_field(port: &PortResult) -> String {
    let service = port.service.as_deref().unwrap_or_default();
    // The version field is the VERSION column, with the field separators it must not hold.
    let version =
        port.detail.as_deref().map(ServiceDetail::version_column).unwrap_or_default().replace(['/', ','], "|");
    format!("{}/{}/{}//{service}//{version}/", port.port, port.state, port.protocol)
}

/// An IP protocol as Nmap's grepable output has it: "47/closed/gre/".
fn protocol_field(port: &PortResult) -> String {
    format!("{}/{}/{}/", port.port, port.state, port.service.as_deref().unwrap_or_default())
}

/// The summarised state with the most ports, which Nmap names as "Ignored State".
fn largest_state(hidden: &[&PortResult]) -> Option<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for port in hidden {
        *counts.entry(port.state.to_string()).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, count)| *count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp_port;
    use model::{HostStatus, PortState, Reason, Target};
    use std::time::Duration;

    #[test]
    fn host_lines_list_ports_and_the_ignored_state() {
        let mut ports: Vec<PortResult> = (100..130).map(|p| tcp_port(p, PortState::Closed, Reason::Reset)).collect();
        ports.push(PortResult {
            reason_ttl: Some(64),
            service: Some("ssh".into()),
            ..tcp_port(22, PortState::Open, Reason::SynAck)
        });
        let host = HostResult {
            target: Target {
                addr: "198.18.0.2".parse().unwrap(),
                name: Some("target.lab".into()),
                other_addrs: vec![],
                reverse_name: None,
                mac: None,
                mac_vendor: None,
            },
            status: HostStatus::Up { reason: Reason::SynAck },
            round_trip: Some(model::RoundTrip::from_sample(Duration::from_micros(100))),
            ports,
            os: None,
            trace: None,
        };
        let mut out = Vec::new();
        GrepableSink::new(&mut out, NormalOptions::default()).host(&host).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Host: 198.18.0.2 (target.lab)\tStatus: Up\n\
             Host: 198.18.0.2 (target.lab)\tPorts: 22/open/tcp//ssh///\tIgnored State: closed (30)\n"
        );
    }
}
