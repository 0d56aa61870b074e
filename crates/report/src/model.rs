//! What the page shows, computed from a series of scans: the latest scan's open ports, each
//! port's history across the series, what opened and closed between consecutive scans, and
//! how many ports were exposed in each scan.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use history::{Change, PortLine, ScanRecord};

/// One scan of the series, as the caller names it ("#3", a file name).
pub struct Scan {
    pub label: String,
    pub record: ScanRecord,
}

/// A port of a host: address, protocol, number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortKey {
    pub address: HostAddress,
    pub protocol: String,
    pub port: u16,
}

/// An address as the scan file wrote it, ordered as addresses are (IPv4 before IPv6,
/// numerically), after any text a file named that is not an IP address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostAddress {
    ip: Option<IpAddr>,
    text: String,
}

impl HostAddress {
    fn parse(text: &str) -> HostAddress {
        HostAddress { ip: text.parse().ok(), text: text.to_string() }
    }

    /// The address as the scan files key their hosts.
    fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for HostAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// An open port of the latest scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPort {
    pub key: PortKey,
    pub host_name: Option<String>,
    pub service: Option<String>,
    pub version: Option<String>,
    /// The first scan of the run of scans, ending with the latest, that found it open.
    pub open_since: usize,
}

/// A port's state in one scan of the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Open,
    /// The host was up and the port not open (closed, filtered, or among those not shown).
    NotOpen,
    /// The host was not up, or not in that scan.
    HostAbsent,
}

/// A port that was open in at least one scan, and its state in each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    pub key: PortKey,
    pub service: Option<String>,
    pub presence: Vec<Presence>,
}

/// What changed from one scan to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    pub to: usize,
    pub new_hosts: Vec<String>,
    pub gone_hosts: Vec<String>,
    /// Ports open now and not before, with what they run now.
    pub opened: Vec<(PortKey, PortLine)>,
    /// Ports open before and not now, with what they ran.
    pub closed: Vec<(PortKey, PortLine)>,
    /// Ports open in both whose service or version changed: before, after.
    pub changed: Vec<(PortKey, PortLine, PortLine)>,
}

/// How exposed the network was in one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposure {
    pub open_ports: usize,
    pub exposed_hosts: usize,
    pub hosts_up: usize,
}

pub struct Report {
    pub scans: Vec<Scan>,
    pub latest_open: Vec<OpenPort>,
    pub timeline: Vec<TimelineRow>,
    pub steps: Vec<Step>,
    pub exposure: Vec<Exposure>,
}

impl Report {
    /// The report of `scans`, put in the order they ran when every one says when it started,
    /// else kept in the order given. `scans` must not be empty.
    pub fn new(mut scans: Vec<Scan>) -> Report {
        if scans.iter().all(|scan| scan.record.started.is_some()) {
            scans.sort_by_key(|scan| scan.record.started);
        }
        let timeline = timeline(&scans);
        Report {
            latest_open: latest_open(&scans, &timeline),
            steps: (1..scans.len()).map(|to| step(&scans, to)).collect(),
            exposure: scans.iter().map(|scan| exposure(&scan.record)).collect(),
            timeline,
            scans,
        }
    }
}

fn is_open(line: &PortLine) -> bool {
    line.state == "open"
}

/// Every open port of a scan.
fn open_ports(record: &ScanRecord) -> impl Iterator<Item = (PortKey, &PortLine)> {
    record.hosts.iter().flat_map(|(address, host)| {
        host.ports.iter().filter(|(_, line)| is_open(line)).map(move |((protocol, port), line)| {
            (PortKey { address: HostAddress::parse(address), protocol: protocol.clone(), port: *port }, line)
        })
    })
}

fn presence(record: &ScanRecord, key: &PortKey) -> Presence {
    let Some(host) = record.hosts.get(key.address.as_str()) else { return Presence::HostAbsent };
    match host.ports.get(&(key.protocol.clone(), key.port)) {
        Some(line) if is_open(line) => Presence::Open,
        _ => Presence::NotOpen,
    }
}

fn timeline(scans: &[Scan]) -> Vec<TimelineRow> {
    let mut services: BTreeMap<PortKey, Option<String>> = BTreeMap::new();
    for scan in scans {
        for (key, line) in open_ports(&scan.record) {
            // The latest scan's name for the service wins.
            services.insert(key, line.service.clone());
        }
    }
    services
        .into_iter()
        .map(|(key, service)| {
            let presence = scans.iter().map(|scan| presence(&scan.record, &key)).collect();
            TimelineRow { key, service, presence }
        })
        .collect()
}

fn latest_open(scans: &[Scan], timeline: &[TimelineRow]) -> Vec<OpenPort> {
    let latest = &scans.last().expect("a report has at least one scan").record;
    let mut open: Vec<OpenPort> = open_ports(latest)
        .map(|(key, line)| {
            let row = timeline.iter().find(|row| row.key == key).expect("every open port is on the timeline");
            let open_run = row.presence.iter().rev().take_while(|p| **p == Presence::Open).count();
            OpenPort {
                host_name: latest.hosts[key.address.as_str()].name.clone(),
                service: line.service.clone(),
                version: line.version.clone(),
                open_since: scans.len() - open_run,
                key,
            }
        })
        .collect();
    // Scan files order hosts by address as text; the page orders them as addresses.
    open.sort_by(|a, b| a.key.cmp(&b.key));
    open
}

fn step(scans: &[Scan], to: usize) -> Step {
    let mut step = Step { to, ..Step::default() };
    for change in history::diff(&scans[to - 1].record, &scans[to].record) {
        match change {
            Change::NewHost { address, .. } => step.new_hosts.push(address),
            Change::HostGone { address, .. } => step.gone_hosts.push(address),
            Change::Port { address, protocol, port, before, after } => {
                let key = PortKey { address: HostAddress::parse(&address), protocol, port };
                match (before.filter(is_open), after.filter(is_open)) {
                    (None, Some(now)) => step.opened.push((key, now)),
                    (Some(was), None) => step.closed.push((key, was)),
                    (Some(was), Some(now)) => step.changed.push((key, was, now)),
                    (None, None) => {}
                }
            }
        }
    }
    // The diff orders addresses as text; the page orders them as addresses.
    step.opened.sort_by(|a, b| a.0.cmp(&b.0));
    step.closed.sort_by(|a, b| a.0.cmp(&b.0));
    step.changed.sort_by(|a, b| a.0.cmp(&b.0));
    step
}

fn exposure(record: &ScanRecord) -> Exposure {
    let exposed: BTreeSet<HostAddress> = open_ports(record).map(|(key, _)| key.address).collect();
    Exposure { open_ports: open_ports(record).count(), exposed_hosts: exposed.len(), hosts_up: record.hosts.len() }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use history::HostPorts;

    /// A TCP port's line as the tests write it: number, state, service.
    type Port<'a> = (u16, &'a str, &'a str);

    /// A scan of hosts with their ports.
    pub(crate) fn scan(label: &str, started: i64, hosts: &[(&str, &[Port])]) -> Scan {
        let mut record =
            ScanRecord { started: Some(jiff::Timestamp::from_second(started).unwrap()), ..Default::default() };
        for (address, ports) in hosts {
            let mut host = HostPorts::default();
            for &(port, state, service) in *ports {
                let line = PortLine { state: state.into(), service: Some(service.into()), version: None };
                host.ports.insert(("tcp".into(), port), line);
            }
            record.hosts.insert(address.to_string(), host);
        }
        Scan { label: label.into(), record }
    }

    fn key(address: &str, port: u16) -> PortKey {
        PortKey { address: HostAddress::parse(address), protocol: "tcp".into(), port }
    }

    /// Three weekly scans: telnet (23) opens on .2 in the second and closes in the third, where
    /// 8080 opens, .3 is gone and .10 has come.
    pub(crate) fn three_weeks() -> Vec<Scan> {
        vec![
            scan(
                "#2",
                2_000,
                &[
                    ("198.18.0.2", &[(22, "open", "ssh"), (23, "open", "telnet")]),
                    ("198.18.0.3", &[(80, "open", "http")]),
                ],
            ),
            scan(
                "#1",
                1_000,
                &[
                    ("198.18.0.2", &[(22, "open", "ssh"), (23, "closed", "telnet"), (8080, "closed", "http-proxy")]),
                    ("198.18.0.3", &[(80, "open", "http")]),
                ],
            ),
            scan(
                "#3",
                3_000,
                &[
                    ("198.18.0.2", &[(22, "open", "ssh"), (23, "filtered", "telnet"), (8080, "open", "http-proxy")]),
                    ("198.18.0.10", &[(443, "open", "https"), (8443, "open", "https-alt")]),
                ],
            ),
        ]
    }

    #[test]
    fn scans_are_put_in_the_order_they_ran() {
        let report = Report::new(three_weeks());
        let labels: Vec<&str> = report.scans.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["#1", "#2", "#3"]);
    }

    #[test]
    fn latest_open_ports_say_since_when_they_are_open() {
        let report = Report::new(three_weeks());
        let since: Vec<(String, u16, usize)> =
            report.latest_open.iter().map(|p| (p.key.address.to_string(), p.key.port, p.open_since)).collect();
        assert_eq!(
            since,
            [
                ("198.18.0.2".into(), 22, 0),
                ("198.18.0.2".into(), 8080, 2),
                ("198.18.0.10".into(), 443, 2),
                ("198.18.0.10".into(), 8443, 2)
            ]
        );
    }

    #[test]
    fn the_timeline_holds_every_port_ever_open() {
        let report = Report::new(three_weeks());
        let row = |address: &str, port| report.timeline.iter().find(|r| r.key == key(address, port)).unwrap();
        use Presence::*;
        assert_eq!(row("198.18.0.2", 23).presence, [NotOpen, Open, NotOpen]);
        assert_eq!(row("198.18.0.2", 8080).presence, [NotOpen, NotOpen, Open]);
        assert_eq!(row("198.18.0.3", 80).presence, [Open, Open, HostAbsent]);
        assert_eq!(report.timeline.len(), 6);
        // Addresses in numeric order: .10 after .3.
        assert_eq!(report.timeline.last().unwrap().key, key("198.18.0.10", 8443));
    }

    #[test]
    fn steps_say_what_opened_and_closed() {
        let report = Report::new(three_weeks());
        assert_eq!(report.steps.len(), 2);
        let keys = |ports: &[(PortKey, PortLine)]| ports.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        let first = &report.steps[0];
        assert_eq!((keys(&first.opened), keys(&first.closed)), (vec![key("198.18.0.2", 23)], vec![]));
        let last = &report.steps[1];
        assert_eq!(keys(&last.opened), [key("198.18.0.2", 8080), key("198.18.0.10", 443), key("198.18.0.10", 8443)]);
        assert_eq!(keys(&last.closed), [key("198.18.0.2", 23), key("198.18.0.3", 80)]);
        assert_eq!(
            (last.new_hosts.as_slice(), last.gone_hosts.as_slice()),
            (&["198.18.0.10".to_string()][..], &["198.18.0.3".to_string()][..])
        );
    }

    #[test]
    fn a_new_version_is_a_change_not_an_opening() {
        let mut scans = vec![
            scan("#1", 1, &[("198.18.0.2", &[(22, "open", "ssh")])]),
            scan("#2", 2, &[("198.18.0.2", &[(22, "open", "ssh")])]),
        ];
        for (scan, version) in scans.iter_mut().zip(["OpenSSH 9.2p1", "OpenSSH 9.3p1"]) {
            scan.record.hosts.get_mut("198.18.0.2").unwrap().ports.get_mut(&("tcp".into(), 22)).unwrap().version =
                Some(version.into());
        }
        let report = Report::new(scans);
        let step = &report.steps[0];
        assert!(step.opened.is_empty() && step.closed.is_empty());
        assert_eq!(step.changed.len(), 1);
        assert_eq!(step.changed[0].2.version.as_deref(), Some("OpenSSH 9.3p1"));
    }

    #[test]
    fn exposure_counts_open_ports_and_the_hosts_that_have_them() {
        let report = Report::new(three_weeks());
        let open: Vec<(usize, usize, usize)> =
            report.exposure.iter().map(|e| (e.open_ports, e.exposed_hosts, e.hosts_up)).collect();
        assert_eq!(open, [(2, 2, 2), (3, 2, 2), (4, 2, 2)]);
    }

    #[test]
    fn scans_without_start_times_keep_the_order_given() {
        let mut scans = three_weeks();
        scans[0].record.started = None;
        let report = Report::new(scans);
        assert_eq!(report.scans[0].label, "#2");
    }
}
