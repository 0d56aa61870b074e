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

#[test]
fn one_answer_settles_a_host_and_silence_leaves_it_down() {
    let start = Instant::now();
    let mut engine = engine(start);
    let first_round: Vec<Probe> = std::iter::from_fn(|| engine.poll_transmit(start)).collect();
    assert_eq!(first_round.len(), 8, "four probes to each host");
    let echo =
        first_round.iter().find(|p| p.dst == UP && matches!(p.transport, Transport::Icmp { query: Query::Echo, .. }));
    let settled = engine.handle(&echo_reply(echo.unwrap()), start + Duration::from_millis(1));
    assert_eq!(settled.map(|s| s.addr), Some(UP));
    // Everything after goes to the silent host only, until it is given up.
    let mut now = start;
    while !engine.is_finished() {
        now = engine.next_wakeup(now).expect("work remains");
        for probe in std::iter::from_fn(|| engine.poll_transmit(now)) {
            assert_eq!(probe.dst, DOWN, "a host found up is not probed again");
        }
    }
    let results = engine.into_results();
    assert_eq!(results[0].status, HostStatus::Up { reason: Reason::EchoReply });
    assert_eq!(results[1].status, HostStatus::SILENT);
    assert!(results.iter().all(|host| host.ports.is_empty()), "a discovery reports hosts, not ports");
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
