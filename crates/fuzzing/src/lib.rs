//! What each fuzz target (fuzz/fuzz_targets) runs on arbitrary bytes: every parser of bytes
//! from the network, and of the files portolan reads. The same functions replay the targets'
//! corpora in every test run (tests/corpora.rs), so an input that once crashed stays tested.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::Instant;

use engine::{CookieKey, ProbeEngine, RawConfig, ScanGroup};
use model::Target;
use probes::discovery::{HostDiscovery, PingProbe, UdpPing};
use probes::{AckScan, StealthScan, SynScan, Technique, UdpPayloads, UdpScan, WindowScan};
use services::ServicesTable;
use wire::ipv4::Ipv4Packet;
use wire::ipv6::Ipv6Packet;
use wire::tcp::{QuotedTcp, TcpPacket};
use wire::udp::UdpPacket;

/// A fuzz target: runs one input, and panics only on a bug.
pub type FuzzTarget = fn(&[u8]);

/// Every target by name, as fuzz/fuzz_targets names them.
pub const TARGETS: &[(&str, FuzzTarget)] = &[
    ("reply", reply),
    ("wire", wire),
    ("netlink", netlink),
    ("services", services),
    ("payloads", payloads),
    ("targets", targets),
    ("version_db", version_db),
    ("version_match", version_match),
    ("os_db", os_db),
    ("os_answers", os_answers),
    ("scan_files", scan_files),
];

/// A packet as a reply: read, then judged by every technique, and handed to engines.
pub fn reply(bytes: &[u8]) {
    let Some(response) = probes::parse_response(bytes) else { return };
    let payloads = UdpPayloads::embedded();
    let techniques: [&dyn Technique; 7] = [
        &SynScan,
        &StealthScan::FIN,
        &StealthScan::MAIMON,
        &AckScan,
        &WindowScan,
        &UdpScan::new(payloads.clone()),
        &HostDiscovery::new(vec![Box::new(UdpPing::new(53, &payloads)) as Box<dyn PingProbe>]),
    ];
    for technique in techniques {
        let _ = technique.read(&response);
    }
    ENGINES.with(|engines| {
        let now = Instant::now();
        for (syn, udp) in &mut *engines.borrow_mut() {
            let _ = syn.handle(&response, now);
            let _ = udp.handle(&response, now);
        }
    });
}

thread_local! {
    /// A SYN and a UDP engine per family, kept from input to input (building one allocates a
    /// port index), scanning a few ports of the addresses a fuzzer's bytes most often hold.
    static ENGINES: RefCell<[(ProbeEngine<SynScan>, ProbeEngine<UdpScan>); 2]> = RefCell::new([
        engines(Ipv4Addr::UNSPECIFIED.into(), [Ipv4Addr::UNSPECIFIED.into(), Ipv4Addr::BROADCAST.into()]),
        engines(Ipv6Addr::UNSPECIFIED.into(), [Ipv6Addr::UNSPECIFIED.into(), Ipv6Addr::from(u128::MAX).into()]),
    ]);
}

fn engines(source: IpAddr, targets: [IpAddr; 2]) -> (ProbeEngine<SynScan>, ProbeEngine<UdpScan>) {
    let config = RawConfig::default();
    let group = || ScanGroup {
        sources: vec![source],
        targets: targets.iter().map(|&addr| Target::from_addr(addr)).collect(),
        ports: vec![0, 22, 53, 80, 0xffff],
    };
    let now = Instant::now();
    let mut rng = rand::rng();
    let syn = ProbeEngine::new(SynScan, config.clone(), group(), CookieKey::new(0, 0), &mut rng, now);
    let udp = UdpScan::new(UdpPayloads::embedded());
    let udp = ProbeEngine::new(udp, config, group(), CookieKey::new(0, 0), &mut rng, now);
    (syn, udp)
}

/// Every view and parser of the wire crate over the bytes.
pub fn wire(bytes: &[u8]) {
    if let Ok(ip) = Ipv4Packet::new_checked(bytes) {
        let _ = (ip.payload(), ip.fragment_offset(), ip.checksum_ok(), ip.src(), ip.dst(), ip.ident());
    }
    if let Ok(tcp) = TcpPacket::new_checked(bytes) {
        let _ = (tcp.options(), tcp.flags(), tcp.window(), tcp.seq(), tcp.ack());
    }
    let _ = QuotedTcp::parse(bytes);
    if let Ok(udp) = UdpPacket::new_checked(bytes) {
        let _ = (udp.src_port(), udp.dst_port());
    }
    let _ = wire::icmp::parse_query_reply(bytes);
    let _ = wire::icmp::parse_unreachable(bytes);
    let _ = wire::arp::parse_reply(bytes);
    if let Ok(ip) = Ipv6Packet::new_checked(bytes) {
        let _ = (ip.payload(), ip.flow_label(), ip.src(), ip.dst(), ip.into_upper_layer());
    }
    let _ = wire::icmpv6::parse_error(bytes);
    let _ = wire::icmpv6::parse_echo_reply(bytes);
    if let Ok(sctp) = wire::sctp::SctpPacket::new_checked(bytes) {
        let _ = (sctp.verification_tag(), sctp.checksum_ok(), sctp.first_chunk(), sctp.initiate_tag());
    }
}

/// The bytes as a datagram of netlink replies (routes, neighbours, errors).
pub fn netlink(bytes: &[u8]) {
    netio::parse_any_netlink_datagram(bytes);
}

/// The bytes as an nmap-services file.
pub fn services(bytes: &[u8]) {
    let _ = ServicesTable::read_nmap_services(bytes, std::path::Path::new("fuzz"));
}

/// The bytes as an nmap-payloads file.
pub fn payloads(bytes: &[u8]) {
    let _ = UdpPayloads::parse(&String::from_utf8_lossy(bytes));
}

/// The bytes as a target list (-iL), a port specification (-p) and a probe port list (-PS).
pub fn targets(bytes: &[u8]) {
    static SERVICES: OnceLock<ServicesTable> = OnceLock::new();
    let text = String::from_utf8_lossy(bytes);
    let _ = targets::parse_target_list(&text);
    let _ = targets::PortSpec::parse(&text, SERVICES.get_or_init(ServicesTable::embedded));
    let _ = targets::parse_port_list(&text);
}

/// The bytes as a version probe database, in Nmap's grammar and in portolan's.
pub fn version_db(bytes: &[u8]) {
    let _ = versions::nmap_probes::parse(bytes);
    let _ = versions::own_db::parse(&String::from_utf8_lossy(bytes));
}

/// The bytes as a service's answer to every probe of portolan's own database.
pub fn version_match(bytes: &[u8]) {
    static DB: OnceLock<versions::ProbeDb> = OnceLock::new();
    let db = DB.get_or_init(versions::own_db::embedded);
    for probe in &db.probes {
        let _ = versions::identify(db, probe, bytes);
    }
}

/// The bytes as an nmap-os-db, each reference then scored against an observation made of its
/// own expressions, and each expression matched against every value.
pub fn os_db(bytes: &[u8]) {
    let (db, _) = os::parse(&String::from_utf8_lossy(bytes));
    for reference in db.references.iter().take(8) {
        let _ = os::best_matches(&db, &reference.tests, 0.0);
        for (_, attributes) in &reference.tests {
            for (_, expr) in attributes {
                let _ = os::matches(expr, expr, true);
            }
        }
    }
}

/// The bytes as a packet from a host being fingerprinted: handed to a round, and taken by the
/// fingerprint as the answer to every probe, over two rounds.
pub fn os_answers(bytes: &[u8]) {
    use engine::drivers::exchange::Exchange;
    use os::probe::{HostProbes, Probe};
    let probes = HostProbes {
        src: Ipv4Addr::new(198, 18, 0, 1),
        dst: Ipv4Addr::new(198, 18, 0, 2),
        open_tcp: Some(22),
        closed_tcp: Some(23),
        closed_udp: Some(40_000),
        port_base: 33_000,
        seq_base: 1,
        ack: 2,
        echo_id: 3,
    };
    let start = Instant::now();
    let mut round = os::Round::new(vec![probes], os::RoundConfig::default(), start);
    while round.poll_transmit(start).is_some() {}
    round.handle(bytes, start);
    let every_probe = (0..6).flat_map(|n| [Probe::Seq(n), Probe::Ops(n)]).chain((2..=7).map(Probe::T)).chain([
        Probe::Ecn,
        Probe::Udp,
        Probe::Echo(0),
        Probe::Echo(1),
    ]);
    let answers = os::HostAnswers {
        probes,
        seq_sent: std::array::from_fn(|n| Some(std::time::Duration::from_millis(100 * n as u64))),
        answers: every_probe.map(|probe| (probe, (bytes.to_vec(), std::time::Duration::ZERO))).collect(),
        loss_seen: false,
    };
    let _ = os::observe(&[answers.clone(), answers]);
}

/// The bytes as scan files (`portolan diff`, `portolan merge`, `--resume`): read as one, and,
/// cut at the first NUL byte, merged as two shards and joined as two runs.
pub fn scan_files(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = history::read_scan(&text);
    let _ = history::resume_point(&text);
    let (first, second) = text.split_once('\0').unwrap_or((&text, &text));
    let file = |text: &str| history::ShardFile { name: "fuzz".into(), text: text.into() };
    if let Ok(merged) = history::merge(&[file(first), file(second)]) {
        let _ = history::read_scan(&merged);
    }
    let _ = history::join_resumed(&[file(first), file(second)]);
}
