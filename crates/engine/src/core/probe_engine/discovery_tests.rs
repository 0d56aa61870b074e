//! The engine running a host discovery: one answer settles a host.

use probes::discovery::HostDiscovery;
use probes::IcmpReply;
use wire::icmp::Query;

use super::sim::{config, SCANNER};
use super::*;
use std::net::{IpAddr, Ipv4Addr};

/// Found first, when nothing has measured the path yet.
const FIRST: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
const UP: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
const DOWN: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 9));

/// A discovery of `FIRST`, `UP` and `DOWN`, in that order, four probes in flight at most.
fn engine(now: Instant) -> ProbeEngine<HostDiscovery> {
    let discovery = HostDiscovery::nmap_default();
    let ports = discovery.indices();
    let targets = [FIRST, UP, DOWN].iter().map(|&a| Target::from_addr(a)).collect();
    let group = ScanGroup { sources: vec![SCANNER], targets, ports };
    let timing = Timing { max_parallelism: Some(4), ..Timing::default() };
    let config = RawConfig { timing, sequential_ports: true, ..config() };
    ProbeEngine::new(discovery, config, group, CookieKey::new(5, 6), &mut rand::rng(), now)
}

/// The echo reply to our echo request.
fn echo_reply(probe: &Probe) -> Response {
    let Transport::Icmp { query: Query::Echo, ident, seq } = probe.transport else { panic!("not an echo request") };
    Response::IcmpReply(IcmpReply { from: probe.dst, to: probe.src, query: Query::Echo, ident, seq, ttl: 64 })
}

fn is_echo(probe: &Probe) -> bool {
    matches!(probe.transport, Transport::Icmp { query: Query::Echo, .. })
}

fn poll_all(engine: &mut ProbeEngine<HostDiscovery>, now: Instant) -> Vec<Probe> {
    std::iter::from_fn(|| engine.poll_transmit(now)).collect()
}

#[test]
fn once_a_round_trip_is_known_each_host_gets_the_lead_and_the_others_only_while_silent() {
    let start = Instant::now();
    let mut engine = engine(start);
    // Nothing has answered yet: no round trip to wait a lead's answer for, every probe at once.
    let first_round = poll_all(&mut engine, start);
    assert_eq!(first_round.len(), 4, "{first_round:?}");
    assert!(first_round.iter().all(|probe| probe.dst == FIRST));
    let echo = first_round.iter().find(|probe| is_echo(probe)).unwrap();
    let now = start + Duration::from_millis(1);
    assert_eq!(engine.handle(&echo_reply(echo), now).map(|s| s.addr), Some(FIRST));
    // Now each host gets Nmap's first probe only.
    let leads = poll_all(&mut engine, now);
    assert_eq!(leads.iter().map(|probe| probe.dst).collect::<Vec<_>>(), [UP, DOWN]);
    assert!(leads.iter().all(is_echo), "Nmap's first probe leads until another answers more");
    assert!(engine.handle(&echo_reply(&leads[0]), now + Duration::from_millis(1)).is_some());
    // Everything after goes to the silent host only: its other probes, then tries again
    // until it is given up.
    let mut now = now;
    let mut later = Vec::new();
    while !engine.is_finished() {
        now = engine.next_wakeup(now).expect("work remains");
        later.extend(poll_all(&mut engine, now));
    }
    assert!(later.iter().all(|probe| probe.dst == DOWN), "a host found up is not probed again");
    let sent = |wanted: fn(&Transport) -> bool| later.iter().any(|probe| wanted(&probe.transport));
    assert!(sent(|t| matches!(t, Transport::Tcp(syn) if syn.dst_port == 443)), "the SYN ping follows");
    assert!(sent(|t| matches!(t, Transport::Tcp(ack) if ack.dst_port == 80)), "the ACK ping follows");
    assert!(sent(|t| matches!(t, Transport::Icmp { query: Query::Timestamp, .. })), "the timestamp follows");
    let results = engine.into_results();
    let statuses: Vec<HostStatus> = results.iter().map(|host| host.status).collect();
    let up = HostStatus::Up { reason: Reason::EchoReply };
    assert_eq!(statuses, [up, up, HostStatus::SILENT]);
    assert!(results.iter().all(|host| host.ports.is_empty()), "a discovery reports hosts, not ports");
}

#[test]
fn the_probe_answering_most_leads() {
    // Every host drops pings but answers the SYN to 443 (with a RST, port closed): after the
    // first hosts, that probe leads, and most hosts are found with one probe each.
    let hosts = super::sim::hosts(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 0)), 4096);
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
    let probe = poll_all(&mut engine, start).into_iter().find(is_echo).unwrap();
    let Response::IcmpReply(genuine) = echo_reply(&probe) else { unreachable!() };
    let forged = Response::IcmpReply(IcmpReply { seq: genuine.seq ^ 1, ..genuine });
    assert_eq!(engine.handle(&forged, start), None);
    assert!(engine.handle(&Response::IcmpReply(genuine), start).is_some());
}

#[test]
fn where_few_hosts_are_up_the_first_answer_is_not_put_off() {
    // Regression: before any answer, only answers grew the window, and the probes of the
    // first windows waited out the minimum timeout: where 1 host in 64 is up, finding the
    // first (whose answer measures the path and opens the window) took up to 4.5 s here,
    // and on the lab a sparse /16 took 1.3 to 3.9 s from run to run. Silence now grows the
    // window before the first answer too, so far.
    let hosts = super::sim::hosts(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 0)), 4096);
    for seed in 1..=6 {
        let discovery = HostDiscovery::nmap_default();
        let ports = discovery.indices();
        let mut sim = super::sim::Sim::new(discovery, config(), &hosts, &ports, seed);
        sim.absent =
            hosts.iter().copied().filter(|host| !matches!(host, IpAddr::V4(v4) if v4.octets()[3] % 64 == 0)).collect();
        let took = sim.run(Duration::from_secs(600));
        assert!(took < Duration::from_millis(1500), "seed {seed}: took {took:?}");
        assert_eq!(sim.results().iter().filter(|host| host.is_up()).count(), 64);
    }
}
