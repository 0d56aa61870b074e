//! Golden files for every format, over one fixed scan: a host with every kind of port line, a
//! named host with another address, a down host and a timed-out one. Inputs carry fixed times, so
//! nothing needs masking; review a changed snapshot as a change to what users see.

use std::time::Duration;

use model::{
    HostResult, HostStatus, PortResult, PortState, Protocol, Reason, RoundTrip, ScanSummary, ServiceDetail, Target,
    TlsDetail,
};
use output::{GrepableSink, JsonLayout, JsonSink, NormalOptions, NormalSink, ScanInfo, ScanStart, Sink, XmlSink};

fn start() -> ScanStart {
    ScanStart {
        version: "0.1.0".into(),
        command_line: "portolan -sS --reason -p 1-40 -oA scan 198.18.0.2 target.lab 198.18.0.9".into(),
        started: "2026-11-25T12:00:00Z[UTC]".parse().unwrap(),
        scans: vec![ScanInfo { scan_type: "syn", protocol: Protocol::Tcp, ports: (1..=40).collect() }],
        portless: None,
        verbosity: 0,
    }
}

fn port(port: u16, state: PortState, reason: Reason, ttl: Option<u8>, service: Option<&str>) -> PortResult {
    PortResult {
        reason_ttl: ttl,
        service: service.map(String::from),
        ..PortResult::new(Protocol::Tcp, port, state, reason)
    }
}

fn hosts() -> Vec<HostResult> {
    let mut mixed: Vec<PortResult> =
        (1..=40).map(|p| port(p, PortState::Closed, Reason::Reset, Some(64), None)).collect();
    mixed[21] = port(22, PortState::Open, Reason::SynAck, Some(64), Some("ssh"));
    mixed[24] = port(25, PortState::Filtered, Reason::NoResponse, None, Some("smtp"));
    mixed[36] = port(37, PortState::Filtered, Reason::AdminProhibited, Some(64), Some("time"));
    let named = HostResult {
        target: Target {
            addr: "198.18.0.3".parse().unwrap(),
            name: Some("target.lab".into()),
            other_addrs: vec!["2001:2::3".parse().unwrap()],
            reverse_name: None,
            mac: None,
            mac_vendor: None,
        },
        status: HostStatus::Up { reason: Reason::SynAck },
        round_trip: Some(RoundTrip::from_sample(Duration::from_micros(1500))),
        ports: vec![
            port(22, PortState::Open, Reason::SynAck, Some(63), Some("ssh")),
            port(23, PortState::Closed, Reason::Reset, Some(63), Some("telnet")),
        ],
        os: None,
        trace: None,
    };
    let down = HostResult {
        target: Target::from_addr("198.18.0.9".parse().unwrap()),
        status: HostStatus::SILENT,
        round_trip: None,
        ports: vec![],
        os: None,
        trace: None,
    };
    let timed_out = HostResult { status: HostStatus::TimedOut, ..down.clone() };
    let versioned = HostResult {
        target: Target::from_addr("198.18.0.4".parse().unwrap()),
        status: HostStatus::Up { reason: Reason::SynAck },
        round_trip: Some(RoundTrip::from_sample(Duration::from_micros(300))),
        ports: version_scanned_ports(),
        os: None,
        trace: None,
    };
    vec![
        HostResult {
            target: Target::from_addr("198.18.0.2".parse().unwrap()),
            status: HostStatus::Up { reason: Reason::SynAck },
            round_trip: Some(RoundTrip::from_sample(Duration::from_micros(120))),
            ports: mixed,
            os: None,
            trace: None,
        },
        named,
        versioned,
        down,
        HostResult { target: Target::from_addr("198.18.0.10".parse().unwrap()), ..timed_out },
    ]
}

/// What -sV leaves: a hard match with CPE names and an OS, one with a host name, a service
/// behind TLS, and a port that answered but matched no rule.
fn version_scanned_ports() -> Vec<PortResult> {
    let ssh = ServiceDetail {
        product: Some("OpenSSH".into()),
        version: Some("9.2p1 Debian 2+deb12u3".into()),
        extra_info: Some("protocol 2.0".into()),
        os_type: Some("Linux".into()),
        cpe: vec!["cpe:/a:openbsd:openssh:9.2p1".into(), "cpe:/o:linux:linux_kernel".into()],
        confidence: 10,
        ..ServiceDetail::default()
    };
    let smtp = ServiceDetail {
        product: Some("Exim smtpd".into()),
        version: Some("4.96".into()),
        hostname: Some("mail.lab".into()),
        confidence: 10,
        ..ServiceDetail::default()
    };
    let unknown = ServiceDetail {
        confidence: 3,
        fingerprint: Some(r#"SF-Port9999-TCP:V=portolan-0.1.0%r(NULL,7,"hello\r\n")"#.into()),
        ..ServiceDetail::default()
    };
    let probed = |number, name: &str, detail: ServiceDetail| PortResult {
        detail: Some(Box::new(detail)),
        ..port(number, PortState::Open, Reason::SynAck, Some(64), Some(name))
    };
    let https = ServiceDetail {
        product: Some("nginx".into()),
        version: Some("1.22.1".into()),
        tunnel: Some("ssl".into()),
        confidence: 10,
        tls: Some(TlsDetail {
            protocol: "TLSv1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            alpn: Some("h2".into()),
            subject: "CN=www.lab".into(),
            issuer: "CN=Lab CA & Co".into(),
            names: vec!["DNS:www.lab".into(), "IP Address:198.18.0.4".into()],
            not_before: 1_796_288_400,
            not_after: 1_827_824_400,
            key_type: "rsa".into(),
            key_bits: 2048,
        }),
        ..ServiceDetail::default()
    };
    vec![probed(22, "ssh", ssh), probed(25, "smtp", smtp), probed(443, "http", https), probed(9999, "abyss", unknown)]
}

fn render(make: impl FnOnce(&mut Vec<u8>) -> Box<dyn Sink + '_>) -> String {
    let mut out = Vec::new();
    {
        let mut sink = make(&mut out);
        sink.start(&start()).unwrap();
        hosts().iter().for_each(|host| sink.host(host).unwrap());
        let summary =
            ScanSummary { hosts_scanned: 4, hosts_up: 2, elapsed: Duration::from_millis(1234), interrupted: false };
        sink.finish(&summary).unwrap();
    }
    String::from_utf8(out).unwrap()
}

const OPTIONS: NormalOptions =
    NormalOptions { reason: true, open_only: false, verbosity: 0, hosts_only: false, assume_up: false };

#[test]
fn terminal() {
    insta::assert_snapshot!(render(|out| Box::new(NormalSink::terminal(out, OPTIONS))));
}

#[test]
fn normal_file() {
    insta::assert_snapshot!(render(|out| Box::new(NormalSink::file(out, OPTIONS))));
}

#[test]
fn grepable() {
    insta::assert_snapshot!(render(|out| Box::new(GrepableSink::new(out, OPTIONS))));
}

#[test]
fn xml() {
    insta::assert_snapshot!(render(|out| Box::new(XmlSink::new(
        out,
        OPTIONS,
        Some("file:///usr/share/nmap/nmap.xsl".into())
    ))));
}

#[test]
fn json_document() {
    insta::assert_snapshot!(render(|out| Box::new(JsonSink::new(out, OPTIONS, JsonLayout::Document))));
}

#[test]
fn json_lines() {
    insta::assert_snapshot!(render(|out| Box::new(JsonSink::new(out, OPTIONS, JsonLayout::Lines))));
}
