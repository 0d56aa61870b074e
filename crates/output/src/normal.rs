//! Nmap's "normal" output: what an administrator reads on the terminal.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use model::{HostResult, HostStatus, PortResult, PortState, Protocol, Reason, ScanSummary, ServiceDetail, TlsDetail};

use crate::{ctime, finished_at, table, totals, ScanStart, Sink};

#[derive(Debug, Clone, Copy, Default)]
pub struct NormalOptions {
    /// `--reason`: a REASON column and why the host is up.
    pub reason: bool,
    /// `--open`: only ports that may be open, and only hosts that have some.
    pub open_only: bool,
    /// `-v` count; more verbosity lists more ports before summarising a state.
    pub verbosity: u8,
    /// `-sn`: hosts were found, no ports scanned; reports say only whether each host is up.
    pub hosts_only: bool,
    /// `-Pn`: hosts are up as the user says, but for targets on our own Ethernet link, which
    /// ARP still asks (as Nmap does).
    pub assume_up: bool,
}

/// A state with more ports than this (times verbosity + 1) is summarised in "Not shown".
const SHOWN_PER_STATE: usize = 25;

pub struct NormalSink<W> {
    out: W,
    options: NormalOptions,
    /// `-oN` files open and close with comment lines instead of the terminal's.
    file: bool,
    start: Option<ScanStart>,
}

impl<W: Write> NormalSink<W> {
    /// What the terminal shows.
    pub fn terminal(out: W, options: NormalOptions) -> Self {
        NormalSink { out, options, file: false, start: None }
    }

    /// An `-oN` file.
    pub fn file(out: W, options: NormalOptions) -> Self {
        NormalSink { out, options, file: true, start: None }
    }
}

impl<W> NormalSink<W> {
    /// What to try when the only host scanned seems down: `-Pn`, unless given already, when
    /// only ARP on our own link can have found it missing.
    fn host_down_note(&self) -> &'static str {
        if self.options.assume_up {
            "Note: Host seems down: it did not answer ARP on our own link. If it is really there, try --disable-arp-ping"
        } else {
            "Note: Host seems down. If it is really up, but blocking our probes, try -Pn"
        }
    }
}

impl<W: Write> Sink for NormalSink<W> {
    fn start(&mut self, start: &ScanStart) -> std::io::Result<()> {
        if self.file {
            writeln!(self.out, "{}", initiated_line(start))?;
        } else {
            let at = start.started.strftime("%Y-%m-%d %H:%M %Z");
            writeln!(self.out, "Starting portolan {} at {at}", start.version)?;
        }
        self.start = Some(start.clone());
        self.out.flush()
    }

    fn host(&mut self, host: &HostResult) -> std::io::Result<()> {
        let report = host_report(host, &self.options);
        self.out.write_all(report.as_bytes())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, summary: &ScanSummary) -> std::io::Result<()> {
        // A listing probes nothing: its hosts are not down, just not asked.
        let listing = self.start.as_ref().is_some_and(|start| start.portless == Some("list"));
        if summary.hosts_scanned == 1 && summary.hosts_up == 0 && !listing {
            writeln!(self.out, "{}", self.host_down_note())?;
        }
        match (&self.start, self.file) {
            (Some(start), true) => {
                writeln!(self.out, "# portolan done at {} -- {}", ctime(&finished_at(start, summary)), totals(summary))?
            }
            _ => writeln!(self.out, "{}", done_line(summary))?,
        }
        self.out.flush()
    }
}

/// The first line of Nmap's normal and grepable files.
pub(crate) fn initiated_line(start: &ScanStart) -> String {
    format!("# portolan {} scan initiated {} as: {}", start.version, ctime(&start.started), start.command_line)
}

fn done_line(summary: &ScanSummary) -> String {
    format!("portolan done: {}", totals(summary))
}

/// The lines printed for one host; empty for hosts Nmap would not report.
pub fn host_report(host: &HostResult, options: &NormalOptions) -> String {
    let title = host_title(host);
    match host.status {
        HostStatus::Down { reason } if options.hosts_only && options.verbosity > 0 => {
            let why = if options.reason { format!(", received {reason}") } else { String::new() };
            return format!("portolan scan report for {title} [host down{why}]\n");
        }
        HostStatus::Down { .. } => return String::new(),
        HostStatus::TimedOut => return format!("Skipping host {title} due to host timeout\n"),
        HostStatus::Listed => return format!("portolan scan report for {title}\n"),
        HostStatus::Up { .. } => {}
    }
    let (shown, hidden) = split_ignored(&host.ports, options);
    if options.open_only && shown.is_empty() && !options.hosts_only {
        return String::new();
    }
    let mut text = format!("portolan scan report for {title}\n{}\n", up_line(host, options));
    if !host.target.other_addrs.is_empty() {
        let others: Vec<String> = host.target.other_addrs.iter().map(|a| a.to_string()).collect();
        let name = host.target.name.as_deref().unwrap_or_default();
        text += &format!("Other addresses for {name} (not scanned): {}\n", others.join(" "));
    }
    let vendor = host.target.mac_vendor.as_deref().unwrap_or("Unknown");
    let mac_line = host.target.mac_text().map(|mac| format!("MAC Address: {mac} ({vendor})\n"));
    if options.hosts_only {
        return text + mac_line.as_deref().unwrap_or_default();
    }
    if shown.is_empty() && !hidden.is_empty() {
        text += &format!("All {} scanned ports on {title} are in ignored states.\n", host.ports.len());
    }
    match not_shown_line(&hidden) {
        Some(line) => text += &line,
        None => text.push('\n'),
    }
    if !shown.is_empty() {
        text += &port_table(&shown, options.reason);
    }
    text += mac_line.as_deref().unwrap_or_default();
    if let Some(os) = &host.os {
        text += &crate::os::normal_block(os, options.verbosity);
    }
    text += &service_info_line(&shown);
    text += &unrecognized_services(&shown);
    if let Some(trace) = &host.trace {
        text += &crate::trace::normal_block(trace);
    }
    text.push('\n');
    text
}

fn host_title(host: &HostResult) -> String {
    match host.target.display_name() {
        Some(name) => format!("{name} ({})", host.target.addr),
        None => host.target.addr.to_string(),
    }
}

fn up_line(host: &HostResult, options: &NormalOptions) -> String {
    let received = match host.status {
        HostStatus::Up { reason } if options.reason => format!(", received {reason}"),
        _ => String::new(),
    };
    match host.latency() {
        Some(latency) => format!("Host is up{received} ({}s latency).", two_significant_digits(latency)),
        None => format!("Host is up{received}."),
    }
}

/// Seconds with two significant digits, keeping trailing zeros: 0.00012, 0.0010, 0.050, 1.2.
fn two_significant_digits(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds <= 0.0 {
        return "0.0".to_string();
    }
    let magnitude = seconds.log10().floor() as i32;
    let decimals = (1 - magnitude).max(0) as usize;
    format!("{seconds:.decimals$}")
}

/// Splits ports into those listed and those summarised in "Not shown".
pub(crate) fn split_ignored<'a>(
    ports: &'a [PortResult],
    options: &NormalOptions,
) -> (Vec<&'a PortResult>, Vec<&'a PortResult>) {
    let mut per_state: BTreeMap<(Protocol, PortState), usize> = BTreeMap::new();
    for port in ports {
        *per_state.entry((port.protocol, port.state)).or_default() += 1;
    }
    let limit = SHOWN_PER_STATE * (usize::from(options.verbosity) + 1);
    let ignored = |port: &PortResult| {
        if port.state == PortState::Open {
            return false;
        }
        (options.open_only && !port.state.may_be_open()) || per_state[&(port.protocol, port.state)] > limit
    };
    ports.iter().partition(|port| !ignored(port))
}

/// "Not shown: 196 closed tcp ports (conn-refused), 2 filtered tcp ports (host-unreach), …":
/// states by descending count, and within a state its reasons by descending count.
fn not_shown_line(hidden: &[&PortResult]) -> Option<String> {
    if hidden.is_empty() {
        return None;
    }
    let mut groups: BTreeMap<(Protocol, PortState), BTreeMap<Reason, usize>> = BTreeMap::new();
    for port in hidden {
        *groups.entry((port.protocol, port.state)).or_default().entry(port.reason).or_default() += 1;
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(_, reasons)| std::cmp::Reverse(reasons.values().sum::<usize>()));
    let mut entries = Vec::new();
    for ((protocol, state), reasons) in groups {
        let mut reasons: Vec<_> = reasons.into_iter().collect();
        reasons.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
        // Nmap's words for protocols, which are no protocol's ports: "closed n/a protocols".
        let what = match protocol {
            Protocol::Ip => "n/a protocols".to_string(),
            other => format!("{other} ports"),
        };
        for (reason, count) in reasons {
            entries.push(format!("{count} {state} {what} ({reason})"));
        }
    }
    Some(format!("Not shown: {}\n", entries.join(", ")))
}

/// "22/tcp"; a protocol number alone, as the IP protocol scan lists them.
fn port_cell(port: &PortResult) -> String {
    match port.protocol {
        Protocol::Ip => port.port.to_string(),
        protocol => format!("{}/{protocol}", port.port),
    }
}

fn port_table(ports: &[&PortResult], with_reason: bool) -> String {
    let with_version = ports.iter().any(|port| port.detail.is_some());
    let first = if ports.iter().any(|port| port.protocol == Protocol::Ip) { "PROTOCOL" } else { "PORT" };
    let mut header = vec![first.to_string(), "STATE".into(), "SERVICE".into()];
    if with_reason {
        header.push("REASON".into());
    }
    if with_version {
        header.push("VERSION".into());
    }
    let mut rows = vec![header];
    for port in ports {
        let mut row = vec![port_cell(port), port.state.to_string(), service_cell(port)];
        if with_reason {
            row.push(reason_text(port));
        }
        if with_version {
            row.push(port.detail.as_deref().map(ServiceDetail::version_column).unwrap_or_default());
        }
        rows.push(row);
    }
    // Each port's TLS lines go right under its row, as Nmap's script output does.
    let table = table::render(&rows);
    let mut lines = table.lines();
    let mut text = format!("{}\n", lines.next().unwrap_or_default());
    for (port, line) in ports.iter().zip(lines) {
        text += line;
        text.push('\n');
        if let Some(tls) = port.detail.as_deref().and_then(|detail| detail.tls.as_ref()) {
            text += &tls_block(tls);
        }
    }
    text
}

/// "| tls: Session: …" … "|_Not valid after: …": the session and certificate under a port.
fn tls_block(tls: &TlsDetail) -> String {
    let lines = crate::tls::tls_lines(tls);
    let last = lines.len().saturating_sub(1);
    let mut text = String::new();
    for (index, (label, value)) in lines.iter().enumerate() {
        let lead = if index == last { "|_" } else { "| " };
        let name = if index == 0 { "tls: " } else { "" };
        text += &format!("{lead}{name}{label}: {value}\n");
    }
    text
}

/// The SERVICE cell: "ssl/http" through TLS, "http?" when version detection got answers but
/// only the services table names the port.
fn service_cell(port: &PortResult) -> String {
    let name = port.service.clone().unwrap_or_else(|| "unknown".into());
    match port.detail.as_deref() {
        Some(detail) if detail.fingerprint.is_some() => format!("{name}?"),
        Some(ServiceDetail { tunnel: Some(tunnel), .. }) => format!("{tunnel}/{name}"),
        _ => name,
    }
}

/// "Service Info: Host: mail.lab; OS: Linux; CPE: cpe:/o:linux:linux_kernel": what the ports'
/// services said about the host, each value once; empty when they said nothing.
fn service_info_line(ports: &[&PortResult]) -> String {
    let details: Vec<&ServiceDetail> = ports.iter().filter_map(|port| port.detail.as_deref()).collect();
    let distinct = |field: fn(&ServiceDetail) -> Option<&String>| {
        let mut values: Vec<&str> = details.iter().filter_map(|detail| field(detail)).map(String::as_str).collect();
        values.sort_unstable();
        values.dedup();
        values
    };
    let host_cpes = details
        .iter()
        .flat_map(|detail| &detail.cpe)
        .filter(|cpe| cpe.starts_with("cpe:/o:") || cpe.starts_with("cpe:/h:"));
    let mut cpes: Vec<&str> = host_cpes.map(String::as_str).collect();
    cpes.sort_unstable();
    cpes.dedup();
    let fields = [
        ("Host", "Hosts", distinct(|detail| detail.hostname.as_ref())),
        ("OS", "OSs", distinct(|detail| detail.os_type.as_ref())),
        ("Device", "Devices", distinct(|detail| detail.device_type.as_ref())),
        ("CPE", "CPE", cpes),
    ];
    let parts: Vec<String> = fields
        .into_iter()
        .filter(|(_, _, values)| !values.is_empty())
        .map(|(one, many, values)| format!("{}: {}", if values.len() == 1 { one } else { many }, values.join(", ")))
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    format!("Service Info: {}\n", parts.join("; "))
}

/// The fingerprints of services that answered but matched no rule, for submission.
fn unrecognized_services(ports: &[&PortResult]) -> String {
    let fingerprints: Vec<&str> =
        ports.iter().filter_map(|port| port.detail.as_deref()?.fingerprint.as_deref()).collect();
    match fingerprints.len() {
        0 => String::new(),
        count => {
            let services = if count == 1 { "service" } else { "services" };
            let mut text = format!("{count} {services} unrecognized despite returning data. Their fingerprints:\n");
            for fingerprint in fingerprints {
                text += fingerprint;
                text.push('\n');
            }
            text
        }
    }
}

/// Nmap's REASON cell: "syn-ack ttl 64", "port-unreach from 198.18.0.254 ttl 63".
fn reason_text(port: &PortResult) -> String {
    let from = port.reason_ip.map(|ip| format!(" from {ip}")).unwrap_or_default();
    let ttl = port.reason_ttl.map(|ttl| format!(" ttl {ttl}")).unwrap_or_default();
    format!("{}{from}{ttl}", port.reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{RoundTrip, Target};

    fn port(port: u16, state: PortState, reason: Reason, service: &str) -> PortResult {
        PortResult { service: Some(service.to_string()), ..crate::tcp_port(port, state, reason) }
    }

    fn closed_range(ports: std::ops::Range<u16>) -> Vec<PortResult> {
        ports.map(|p| port(p, PortState::Closed, Reason::ConnRefused, "x")).collect()
    }

    fn host(ports: Vec<PortResult>) -> HostResult {
        HostResult {
            target: Target::from_addr("198.18.0.2".parse().unwrap()),
            status: HostStatus::Up { reason: Reason::SynAck },
            round_trip: Some(RoundTrip::from_sample(Duration::from_micros(230))),
            ports,
            os: None,
            trace: None,
        }
    }

    #[test]
    fn a_mixed_host_lists_interesting_ports_and_summarises_the_rest() {
        let mut ports = closed_range(111..307);
        ports.push(port(22, PortState::Open, Reason::SynAck, "ssh"));
        ports.push(port(25, PortState::Filtered, Reason::NoResponse, "smtp"));
        ports.push(port(110, PortState::Filtered, Reason::HostUnreach, "pop3"));
        ports.sort_by_key(|p| p.port);
        let report = host_report(&host(ports), &NormalOptions::default());
        assert_eq!(
            report,
            "portolan scan report for 198.18.0.2\n\
             Host is up (0.00023s latency).\n\
             Not shown: 196 closed tcp ports (conn-refused)\n\
             PORT    STATE    SERVICE\n\
             22/tcp  open     ssh\n\
             25/tcp  filtered smtp\n\
             110/tcp filtered pop3\n\
             \n"
        );
    }

    #[test]
    fn without_a_summary_a_blank_line_precedes_the_table() {
        let report =
            host_report(&host(vec![port(22, PortState::Open, Reason::SynAck, "ssh")]), &NormalOptions::default());
        assert_eq!(report, "portolan scan report for 198.18.0.2\nHost is up (0.00023s latency).\n\nPORT   STATE SERVICE\n22/tcp open  ssh\n\n");
    }

    #[test]
    fn reason_adds_a_column_and_why_the_host_is_up() {
        let options = NormalOptions { reason: true, ..Default::default() };
        let report = host_report(&host(vec![port(22, PortState::Open, Reason::SynAck, "ssh")]), &options);
        assert!(report.contains("Host is up, received syn-ack (0.00023s latency).\n"), "{report}");
        assert!(report.contains("PORT   STATE SERVICE REASON\n22/tcp open  ssh     syn-ack\n"), "{report}");
    }

    #[test]
    fn raw_scan_reasons_carry_the_reply_ttl() {
        let mut open = port(22, PortState::Open, Reason::SynAck, "ssh");
        open.reason_ttl = Some(64);
        let report = host_report(&host(vec![open]), &NormalOptions { reason: true, ..Default::default() });
        assert!(report.contains("22/tcp open  ssh     syn-ack ttl 64\n"), "{report}");
    }

    #[test]
    fn a_reason_given_by_a_router_names_it() {
        let by_router = PortResult {
            reason_ttl: Some(63),
            reason_ip: Some("198.18.0.254".parse().unwrap()),
            ..crate::tcp_port(53, PortState::Filtered, Reason::PortUnreach)
        };
        assert_eq!(reason_text(&by_router), "port-unreach from 198.18.0.254 ttl 63");
    }

    #[test]
    fn states_order_by_count_and_reasons_within_a_state() {
        let mut ports: Vec<PortResult> =
            (1000..1133).map(|p| port(p, PortState::Filtered, Reason::NoResponse, "x")).collect();
        ports.extend((2000..2007).map(|p| port(p, PortState::Filtered, Reason::HostUnreach, "x")));
        ports.extend(closed_range(3000..3030));
        let report = host_report(&host(ports), &NormalOptions::default());
        assert!(report.contains(
            "All 170 scanned ports on 198.18.0.2 are in ignored states.\n\
             Not shown: 133 filtered tcp ports (no-response), 7 filtered tcp ports (host-unreach), 30 closed tcp ports (conn-refused)\n\n"
        ), "{report}");
    }

    #[test]
    fn verbosity_shows_more_ports_before_summarising() {
        let ports = closed_range(1..31);
        assert!(host_report(&host(ports.clone()), &NormalOptions::default()).contains("Not shown: 30 closed"));
        let verbose = host_report(&host(ports), &NormalOptions { verbosity: 1, ..Default::default() });
        assert!(!verbose.contains("Not shown"), "{verbose}");
        assert!(verbose.contains("30/tcp closed x\n"), "{verbose}");
    }

    #[test]
    fn open_only_hides_other_states_and_hosts_without_open_ports() {
        let options = NormalOptions { open_only: true, ..Default::default() };
        assert_eq!(host_report(&host(closed_range(1..5)), &options), "");
        let mut ports = closed_range(1..5);
        ports.push(port(22, PortState::Open, Reason::SynAck, "ssh"));
        let report = host_report(&host(ports), &options);
        assert!(
            report.contains("Not shown: 4 closed tcp ports (conn-refused)\nPORT   STATE SERVICE\n22/tcp open  ssh\n"),
            "{report}"
        );
    }

    #[test]
    fn a_ping_scan_reports_hosts_without_port_tables() {
        let options = NormalOptions { reason: true, hosts_only: true, ..Default::default() };
        let mut up = host(Vec::new());
        up.status = HostStatus::Up { reason: Reason::EchoReply };
        assert_eq!(
            host_report(&up, &options),
            "portolan scan report for 198.18.0.2\nHost is up, received echo-reply (0.00023s latency).\n"
        );
        let down = HostResult { status: HostStatus::SILENT, ..up };
        assert_eq!(host_report(&down, &options), "");
        let verbose = NormalOptions { verbosity: 1, reason: false, ..options };
        assert_eq!(host_report(&down, &verbose), "portolan scan report for 198.18.0.2 [host down]\n");
        let with_reason = NormalOptions { reason: true, ..verbose };
        assert_eq!(
            host_report(&down, &with_reason),
            "portolan scan report for 198.18.0.2 [host down, received no-response]\n"
        );
    }

    #[test]
    fn hosts_found_by_arp_show_their_hardware_address_after_the_table() {
        let mut host = host(vec![port(22, PortState::Open, Reason::SynAck, "ssh")]);
        host.target.mac = Some([0x02, 0, 0x5e, 0x10, 0, 0x0a]);
        let report = host_report(&host, &NormalOptions::default());
        assert!(report.ends_with("22/tcp open  ssh\nMAC Address: 02:00:5E:10:00:0A (Unknown)\n\n"), "{report}");
        let ping = host_report(&host, &NormalOptions { hosts_only: true, ..Default::default() });
        assert!(ping.ends_with("latency).\nMAC Address: 02:00:5E:10:00:0A (Unknown)\n"), "{ping}");
    }

    #[test]
    fn names_and_other_addresses_are_reported() {
        let mut host = host(vec![port(22, PortState::Open, Reason::SynAck, "ssh")]);
        host.target = Target {
            addr: "127.0.0.1".parse().unwrap(),
            name: Some("localhost".into()),
            other_addrs: vec!["::1".parse().unwrap()],
            reverse_name: None,
            mac: None,
            mac_vendor: None,
        };
        let report = host_report(&host, &NormalOptions::default());
        assert!(report.starts_with("portolan scan report for localhost (127.0.0.1)\nHost is up (0.00023s latency).\nOther addresses for localhost (not scanned): ::1\n"), "{report}");
    }

    #[test]
    fn down_hosts_print_nothing_and_timed_out_hosts_say_so() {
        let mut down = host(vec![]);
        down.status = HostStatus::SILENT;
        assert_eq!(host_report(&down, &NormalOptions::default()), "");
        down.status = HostStatus::TimedOut;
        assert_eq!(host_report(&down, &NormalOptions::default()), "Skipping host 198.18.0.2 due to host timeout\n");
    }

    #[test]
    fn latency_keeps_two_significant_digits() {
        assert_eq!(two_significant_digits(Duration::from_micros(120)), "0.00012");
        assert_eq!(two_significant_digits(Duration::from_millis(1)), "0.0010");
        assert_eq!(two_significant_digits(Duration::from_millis(50)), "0.050");
        assert_eq!(two_significant_digits(Duration::from_micros(1_234_500)), "1.2");
        assert_eq!(two_significant_digits(Duration::from_secs(12)), "12");
        assert_eq!(two_significant_digits(Duration::ZERO), "0.0");
    }

    #[test]
    fn the_done_line_counts_addresses_and_hosts_up() {
        let summary = |scanned, up| ScanSummary {
            hosts_scanned: scanned,
            hosts_up: up,
            elapsed: Duration::from_millis(50),
            interrupted: false,
        };
        assert_eq!(done_line(&summary(1, 1)), "portolan done: 1 IP address (1 host up) scanned in 0.05 seconds");
        assert_eq!(done_line(&summary(256, 3)), "portolan done: 256 IP addresses (3 hosts up) scanned in 0.05 seconds");
        assert_eq!(done_line(&summary(0, 0)), "portolan done: 0 IP addresses (0 hosts up) scanned in 0.05 seconds");
    }
}
