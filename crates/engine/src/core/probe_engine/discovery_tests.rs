//! The engine running a host discovery: one answer settles a host.

use probes::discovery::HostDiscovery;
use probes::IcmpReply;
use wire::icmp::Query;

use super::sim::{config, SCANNER};
use super::*;

const UP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const DOWN: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 9);

fn engine(now: Instant) -> ProbeEngine<HostDiscovery> {
    let discovery = HostDiscovery::nmap_default();
    let ports = discovery.indices();
    let targets = [UP, DOWN].iter().map(|&a| Target::from_addr(a.into())).collect();
    let group = ScanGroup { source: SCANNER, targets, ports };
    ProbeEngine::new(discovery, config(), group, CookieKey::new(5, 6), &mut rand::rng(), now)
}

/// The echo reply `UP` sends to our echo request.
fn echo_reply(probe: &Probe) -> Response {
    let Transport::Icmp { query: Query::Echo, ident, seq } = probe.transport else { panic!("not an echo request") };
    Response::IcmpReply(IcmpReply { from: probe.dst, to: probe.src, query: Query::Echo, ident, seq, ttl: 64 })
}

fn is_echo(probe: &Probe) -> bool {
    matches!(probe.transport, Transport::Icmp { query: Query::Echo, .. })
}

#[test]
fn each_host_gets_the_lead_probe_and_the_others_only_while_silent() {
    let start = Instant::now();
    let mut engine = engine(start);
    let first_round: Vec<Probe> = std::iter::from_fn(|| engine.poll_transmit(start)).collect();
    assert_eq!(first_round.len(), 2, "one probe to each host: {first_round:?}");
    assert!(first_round.iter().all(is_echo), "Nmap's first probe leads until another answers more");
    let echo = first_round.iter().find(|p| p.dst == UP).unwrap();
    let settled = engine.handle(&echo_reply(echo), start + Duration::from_millis(1));
    assert_eq!(settled.map(|s| s.addr), Some(UP));
    // Everything after goes to the silent host only: its other probes, then tries again
    // until it is given up.
    let mut now = start;
    let mut later = Vec::new();
    while !engine.is_finished() {
        now = engine.next_wakeup(now).expect("work remains");
        later.extend(std::iter::from_fn(|| engine.poll_transmit(now)));
    }
    assert!(later.iter().all(|probe| probe.dst == DOWN), "a host found up is not probed again");
    let sent = |wanted: fn(&Transport) -> bool| later.iter().any(|probe| wanted(&probe.transport));
    assert!(sent(|t| matches!(t, Transport::Tcp(syn) if syn.dst_port == 443)), "the SYN ping follows");
    assert!(sent(|t| matches!(t, Transport::Tcp(ack) if ack.dst_port == 80)), "the ACK ping follows");
    assert!(sent(|t| matches!(t, Transport::Icmp { query: Query::Timestamp, .. })), "the timestamp follows");
    let results = engine.into_results();
    assert_eq!(results[0].status, HostStatus::Up { reason: Reason::EchoReply });
    assert_eq!(results[1].status, HostStatus::SILENT);
    assert!(results.iter().all(|host| host.ports.is_empty()), "a discovery reports hosts, not ports");
}

#[test]
fn the_probe_answering_most_leads() {
    // Every host drops pings but answers the SYN to 443 (with a RST, port closed): after the
    // first hosts, that probe leads, and most hosts are found with one probe each.
    let hosts = super::sim::hosts(Ipv4Addr::new(198, 18, 1, 0), 4096);
    let discovery = HostDiscovery::nmap_default();
    let ports = discovery.indices();
    let mut sim = super::sim::Sim::new(discovery, config(), &hosts, &ports, 7);
    sim.pings_dropped = true;
    sim.run(Duration::from_secs(60));
    let sent = sim.sent.len();
    assert!(sent < hosts.len() * 5 / 4, "{sent} probes for {} hosts", hosts.len());
    let results = sim.results();
    assert!(results.iter().all(|host| host.status == HostStatus::Up { reason: Reason::Reset }));
}

#[test]
fn a_forged_echo_reply_is_ignored() {
    let start = Instant::now();
    let mut engine = engine(start);
    let probe = std::iter::from_fn(|| engine.poll_transmit(start))
        .find(|p| matches!(p.transport, Transport::Icmp { query: Query::Echo, .. }))
        .unwrap();
    let Response::IcmpReply(genuine) = echo_reply(&probe) else { unreachable!() };
    let forged = Response::IcmpReply(IcmpReply { seq: genuine.seq ^ 1, ..genuine });
    assert_eq!(engine.handle(&forged, start), None);
    assert!(engine.handle(&Response::IcmpReply(genuine), start).is_some());
}
