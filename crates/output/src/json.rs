//! portolan's JSON output: `-oJ` writes one document for the whole scan, `--ndjson` one object per
//! line (the scan's start, each host as it is done, the summary), flushed after each batch of
//! hosts the scan completes, so that a pipeline sees results during a long scan. The layout is documented in docs/json.md and
//! versioned by `schema_version`.

use std::io::Write;

use model::{HostResult, HostStatus, PortResult, ScanSummary, ServiceDetail};
use serde::Serialize;

use crate::{finished_at, split_ignored, NormalOptions, Progress, ScanStart, Sink};

/// Bumped on any change that could break a reader of the previous layout.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Serialize)]
struct Start<'a> {
    schema_version: u32,
    scanner: &'static str,
    version: &'a str,
    command_line: &'a str,
    started: String,
    /// The first technique (TCP's when there is one), as schema version 1 began; a host
    /// discovery without a port scan (`-sn`) is "ping" and a listing (`-sL`) "list", of no
    /// protocol.
    scan_type: &'a str,
    protocol: Option<&'static str>,
    ports: usize,
    /// Every technique, one per protocol.
    scans: Vec<Scan<'a>>,
}

#[derive(Serialize)]
struct Scan<'a> {
    scan_type: &'a str,
    protocol: &'static str,
    ports: usize,
}

#[derive(Serialize)]
struct Host<'a> {
    address: String,
    name: Option<&'a str>,
    /// The address's PTR name from reverse DNS, when looked up and found.
    reverse_name: Option<&'a str>,
    /// The hardware address, for a host found by ARP on our own link.
    mac: Option<String>,
    other_addresses: Vec<String>,
    status: &'static str,
    reason: Option<String>,
    latency_seconds: Option<f64>,
    ports: Vec<Port<'a>>,
    /// Ports summarised rather than listed, per state: Nmap's "Not shown".
    not_shown: Vec<NotShown>,
    /// What OS detection (`-O`) concluded; absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    os: Option<&'a model::OsReport>,
    /// The route to the host (`--traceroute`); absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<&'a model::Trace>,
}

#[derive(Serialize)]
struct Port<'a> {
    protocol: String,
    port: u16,
    state: String,
    reason: String,
    reason_ttl: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_ip: Option<std::net::IpAddr>,
    service: Option<&'a str>,
    /// What version detection learned (`-sV`); absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a ServiceDetail>,
}

#[derive(Serialize)]
struct NotShown {
    state: String,
    count: usize,
}

#[derive(Serialize)]
struct Summary {
    finished: String,
    elapsed_seconds: f64,
    hosts_scanned: u64,
    hosts_up: u64,
    interrupted: bool,
}

/// One document, or one object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonLayout {
    Document,
    Lines,
}

pub struct JsonSink<W: Write> {
    out: W,
    options: NormalOptions,
    layout: JsonLayout,
    start: Option<ScanStart>,
    hosts_written: usize,
    progress: Progress,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W, options: NormalOptions, layout: JsonLayout) -> Self {
        JsonSink { out, options, layout, start: None, hosts_written: 0, progress: Progress::default() }
    }

    fn object(&mut self, kind: &str, value: &impl Serialize) -> std::io::Result<()> {
        let mut object = serde_json::to_value(value).map_err(std::io::Error::other)?;
        if let serde_json::Value::Object(fields) = &mut object {
            fields.insert("type".into(), kind.into());
        }
        writeln!(self.out, "{object}")
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn start(&mut self, start: &ScanStart) -> std::io::Result<()> {
        let header = Start {
            schema_version: SCHEMA_VERSION,
            scanner: "portolan",
            version: &start.version,
            command_line: &start.command_line,
            started: start.started.timestamp().to_string(),
            scan_type: start.scans.first().map_or(start.portless.unwrap_or("ping"), |scan| scan.scan_type),
            protocol: start.scans.first().map(|scan| scan.protocol.as_str()),
            ports: start.scans.first().map_or(0, |scan| scan.ports.len()),
            scans: start
                .scans
                .iter()
                .map(|scan| Scan {
                    scan_type: scan.scan_type,
                    protocol: scan.protocol.as_str(),
                    ports: scan.ports.len(),
                })
                .collect(),
        };
        self.start = Some(start.clone());
        match self.layout {
            JsonLayout::Lines => {
                self.object("start", &header)?;
                self.out.flush()
            }
            JsonLayout::Document => {
                let fields = serde_json::to_string(&header).map_err(std::io::Error::other)?;
                // The header's fields, then the hosts as they come, then the summary.
                write!(self.out, "{},\"hosts\":[", fields.trim_end_matches('}'))?;
                self.out.flush()
            }
        }
    }

    fn host(&mut self, host: &HostResult) -> std::io::Result<()> {
        self.progress.record(host);
        let Some(record) = host_record(host, &self.options) else { return Ok(()) };
        match self.layout {
            JsonLayout::Lines => self.object("host", &record),
            JsonLayout::Document => {
                let separator = if self.hosts_written == 0 { "\n" } else { ",\n" };
                self.hosts_written += 1;
                write!(self.out, "{separator}{}", serde_json::to_string(&record).map_err(std::io::Error::other)?)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, summary: &ScanSummary) -> std::io::Result<()> {
        self.progress.finished = true;
        let Some(start) = &self.start else { return Ok(()) };
        let record = Summary {
            finished: finished_at(start, summary).timestamp().to_string(),
            elapsed_seconds: summary.elapsed.as_secs_f64(),
            hosts_scanned: summary.hosts_scanned,
            hosts_up: summary.hosts_up,
            interrupted: summary.interrupted,
        };
        match self.layout {
            JsonLayout::Lines => {
                self.object("summary", &record)?;
                self.out.flush()
            }
            JsonLayout::Document => {
                let summary = serde_json::to_string(&record).map_err(std::io::Error::other)?;
                writeln!(self.out, "\n],\"summary\":{summary}}}")?;
                self.out.flush()
            }
        }
    }
}

impl<W: Write> Drop for JsonSink<W> {
    /// A scan that ended early (an error, a panic) still leaves a complete document.
    fn drop(&mut self) {
        if let (Some(start), false) = (&self.start, self.progress.finished) {
            let summary = self.progress.cut_short(start);
            let _ = self.finish(&summary);
        }
    }
}

/// A host as JSON shows it: the ports the normal output lists, and counts of the rest. Hosts the
/// normal output leaves out (down, timed out, or without open ports under --open) are left out.
fn host_record<'a>(host: &'a HostResult, options: &NormalOptions) -> Option<Host<'a>> {
    let (status, reason) = match host.status {
        HostStatus::Up { reason } => ("up", Some(reason.to_string())),
        HostStatus::Listed => ("unknown", None),
        HostStatus::Down { .. } | HostStatus::TimedOut => return None,
    };
    let (shown, hidden) = split_ignored(&host.ports, options);
    if options.open_only && shown.is_empty() && !options.hosts_only {
        return None;
    }
    let mut not_shown: Vec<NotShown> = Vec::new();
    for port in hidden {
        let state = port.state.to_string();
        match not_shown.iter_mut().find(|n| n.state == state) {
            Some(entry) => entry.count += 1,
            None => not_shown.push(NotShown { state, count: 1 }),
        }
    }
    Some(Host {
        address: host.target.addr.to_string(),
        name: host.target.name.as_deref(),
        reverse_name: host.target.reverse_name.as_deref(),
        mac: host.target.mac_text(),
        other_addresses: host.target.other_addrs.iter().map(|a| a.to_string()).collect(),
        status,
        reason,
        latency_seconds: host.latency().map(|l| l.as_secs_f64()),
        ports: shown.into_iter().map(port_record).collect(),
        not_shown,
        os: host.os.as_deref(),
        trace: host.trace.as_deref(),
    })
}

fn port_record(port: &PortResult) -> Port<'_> {
    Port {
        protocol: port.protocol.to_string(),
        port: port.port,
        state: port.state.to_string(),
        reason: port.reason.to_string(),
        reason_ttl: port.reason_ttl,
        reason_ip: port.reason_ip,
        service: port.service.as_deref(),
        version: port.detail.as_deref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp_port;
    use model::{PortState, Reason, Target};
    use std::time::Duration;

    fn start() -> ScanStart {
        ScanStart {
            version: "0.1.0".into(),
            command_line: "portolan -oJ x 198.18.0.2".into(),
            started: "2026-11-25T12:00:00Z[UTC]".parse().unwrap(),
            scans: vec![crate::ScanInfo { scan_type: "syn", protocol: model::Protocol::Tcp, ports: vec![22, 23] }],
            portless: None,
            verbosity: 0,
        }
    }

    fn host() -> HostResult {
        let port = |port, state, reason, service: Option<&str>| PortResult {
            reason_ttl: Some(64),
            service: service.map(String::from),
            ..tcp_port(port, state, reason)
        };
        HostResult {
            target: Target::from_addr("198.18.0.2".parse().unwrap()),
            status: HostStatus::Up { reason: Reason::SynAck },
            round_trip: Some(model::RoundTrip::from_sample(Duration::from_micros(250))),
            ports: vec![
                port(22, PortState::Open, Reason::SynAck, Some("ssh")),
                port(23, PortState::Closed, Reason::Reset, None),
            ],
            os: None,
            trace: None,
        }
    }

    fn run(layout: JsonLayout) -> String {
        let mut out = Vec::new();
        let mut sink = JsonSink::new(&mut out, NormalOptions::default(), layout);
        sink.start(&start()).unwrap();
        sink.host(&host()).unwrap();
        sink.host(&host()).unwrap();
        sink.finish(&ScanSummary {
            hosts_scanned: 2,
            hosts_up: 2,
            elapsed: Duration::from_millis(1500),
            interrupted: false,
        })
        .unwrap();
        drop(sink);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_document_is_one_valid_json_value() {
        let document: serde_json::Value = serde_json::from_str(&run(JsonLayout::Document)).unwrap();
        assert_eq!(document["schema_version"], 2);
        assert_eq!(document["scanner"], "portolan");
        assert_eq!(document["started"], "2026-11-25T12:00:00Z");
        assert_eq!(document["hosts"].as_array().unwrap().len(), 2);
        let port = &document["hosts"][0]["ports"][0];
        assert_eq!(
            (port["port"].as_u64(), port["state"].as_str(), port["reason"].as_str()),
            (Some(22), Some("open"), Some("syn-ack"))
        );
        assert_eq!(port["reason_ttl"], 64);
        assert_eq!(document["hosts"][0]["ports"][1]["service"], serde_json::Value::Null);
        assert_eq!(document["summary"]["hosts_up"], 2);
        assert_eq!(document["summary"]["finished"], "2026-11-25T12:00:01.5Z");
    }

    #[test]
    fn lines_are_one_object_each_with_a_type() {
        let text = run(JsonLayout::Lines);
        let kinds: Vec<String> = text
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["type"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kinds, ["start", "host", "host", "summary"]);
    }

    #[test]
    fn a_sink_dropped_unfinished_still_closes_its_document() {
        for layout in [JsonLayout::Document, JsonLayout::Lines] {
            let mut out = Vec::new();
            {
                let mut sink = JsonSink::new(&mut out, NormalOptions::default(), layout);
                sink.start(&start()).unwrap();
                sink.host(&host()).unwrap();
                // The scan ends here by an error or a panic: no finish().
            }
            let text = String::from_utf8(out).unwrap();
            let last: serde_json::Value = match layout {
                JsonLayout::Document => serde_json::from_str::<serde_json::Value>(&text).unwrap()["summary"].clone(),
                JsonLayout::Lines => serde_json::from_str(text.lines().last().unwrap()).unwrap(),
            };
            assert_eq!(
                (last["interrupted"].as_bool(), last["hosts_scanned"].as_u64()),
                (Some(true), Some(1)),
                "{text}"
            );
        }
    }

    #[test]
    fn summarised_ports_are_counted_by_state() {
        let mut many = host();
        many.ports = (1..=40).map(|p| tcp_port(p, PortState::Closed, Reason::Reset)).collect();
        let record = host_record(&many, &NormalOptions::default()).unwrap();
        assert!(record.ports.is_empty());
        assert_eq!((record.not_shown[0].state.as_str(), record.not_shown[0].count), ("closed", 40));
    }
}
