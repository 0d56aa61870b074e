//! The engine's UDP scan against simulated hosts that ration ICMP errors as Linux does.

use probes::{UdpPayloads, UdpReply, UdpScan};

use super::sim::{
    config, hosts, key_reading_back_a_probe_as_an_answer, ErrorBucket, GlobalErrorLimit, Port, Sim, HOST, HOST_V6,
    SCANNER, SCANNER_V6,
};
use super::*;
use std::net::{IpAddr, Ipv4Addr};

/// A UDP scan of `ports` on `hosts` laid out by `layout`, every host limiting its errors as
/// Linux does when `limited`. The round trip is a millisecond.
fn udp(hosts: &[IpAddr], ports: &[u16], layout: impl Fn(u16) -> Port, limited: bool) -> Sim<UdpScan> {
    let mut sim = Sim::new(UdpScan::new(UdpPayloads::embedded()), config(), hosts, ports, 3);
    sim.rtt = Duration::from_millis(1);
    for &host in hosts {
        for &port in ports {
            sim.set(host, port, layout(port));
        }
    }
    sim.error_limit = limited.then_some(ErrorBucket::LINUX);
    sim
}

/// A UDP scan from `source` (of the hosts' family) of `ports` on `hosts` laid out by
/// `layout`, every host limiting its errors as Linux does; `seed` fixes every random choice.
fn udp_from(source: IpAddr, hosts: &[IpAddr], ports: &[u16], layout: impl Fn(u16) -> Port, seed: u64) -> Sim<UdpScan> {
    let technique = UdpScan::new(UdpPayloads::embedded());
    let mut sim = Sim::from_sources(technique, config(), &[source], hosts, ports, seed);
    sim.rtt = Duration::from_millis(1);
    for &host in hosts {
        for &port in ports {
            sim.set(host, port, layout(port));
        }
    }
    sim.error_limit = Some(ErrorBucket::LINUX);
    sim
}

/// What Nmap's UDP table makes of what stands behind each port.
fn truth(port: Port) -> PortState {
    match port {
        Port::Listening => PortState::Open,
        Port::Closed => PortState::Closed,
        Port::Dropped => PortState::OpenFiltered,
        _ => PortState::Filtered,
    }
}

/// Runs the scan to its end; returns how long it took and the ports whose state is wrong.
fn run(mut sim: Sim<UdpScan>) -> (Duration, Vec<(IpAddr, u16, PortState)>) {
    let took = sim.run(Duration::from_secs(3600));
    (took, sim.wrong_ports(truth))
}

/// 53 and 123 open, 69 dropped, 161 prohibited, everything else closed.
fn mixed(port: u16) -> Port {
    match port {
        53 | 123 => Port::Listening,
        69 => Port::Dropped,
        161 => Port::Rejected(13),
        _ => Port::Closed,
    }
}

#[test]
fn every_state_of_nmaps_udp_table_without_a_rate_limit() {
    let mut sim = udp(&[HOST], &[7, 53, 69, 123, 161, 500], mixed, false);
    let took = sim.run(Duration::from_secs(60));
    // The dropped port's silence counts once Linux's refill (assumed until a host proves it
    // shorter) would have let up to three errors lost in a row through.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let results = sim.results();
    let states: Vec<_> = results[0].ports.iter().map(|p| (p.port, p.state, p.reason)).collect();
    assert_eq!(
        states,
        [
            (7, PortState::Closed, Reason::PortUnreach),
            (53, PortState::Open, Reason::UdpResponse),
            (69, PortState::OpenFiltered, Reason::NoResponse),
            (123, PortState::Open, Reason::UdpResponse),
            (161, PortState::Filtered, Reason::AdminProhibited),
            (500, PortState::Closed, Reason::PortUnreach),
        ]
    );
    assert_eq!(results[0].status, HostStatus::Up { reason: Reason::UdpResponse });
}

#[test]
fn closed_ports_behind_linuxs_error_limit_come_out_closed() {
    let ports: Vec<u16> = (1..=40).chain([53, 69, 123, 161]).collect();
    let (took, wrong) = run(udp(&[HOST], &ports, mixed, true));
    assert_eq!(wrong, []);
    // 41 errors (40 closed, 1 prohibited): six at once, then one a second, is the floor.
    let floor = Duration::from_secs(41 - 6);
    assert!(took >= floor, "faster than the host can answer: {took:?}");
    assert!(took < floor + Duration::from_secs(6), "took {took:?}, the floor is {floor:?}");
}

#[test]
fn rate_limited_hosts_are_scanned_side_by_side() {
    let hosts: Vec<IpAddr> = (10..30).map(|i| IpAddr::V4(Ipv4Addr::new(198, 18, 1, i))).collect();
    let ports: Vec<u16> = (1..=20).collect();
    let (took, wrong) = run(udp(&hosts, &ports, |_| Port::Closed, true));
    assert_eq!(wrong, []);
    assert!(took < Duration::from_secs(20), "20 hosts of 20 closed ports took {took:?}: not in parallel");
}

#[test]
fn a_host_that_only_drops_is_given_up_after_the_usual_retries() {
    let (took, wrong) = run(udp(&[HOST], &[69, 70, 71], |_| Port::Dropped, true));
    assert_eq!(wrong, []);
    // Its silence counts only from a quiet period (1.5 s) after the first probe, in case its
    // bucket was empty then; the tries held till then go again, then the one retransmission:
    // 3.5 s with the 1 s initial timeout of a host that never answers.
    assert!(took <= Duration::from_millis(3500), "took {took:?}");
}

#[test]
fn closed_ports_of_a_host_whose_error_bucket_starts_empty_come_out_closed() {
    // Regression: right after another scan (nmap's, in the peer benchmark) had spent the
    // host's errors, it sent none for a second, its silence was taken for the ports', and all
    // 95 closed ports of the top 100 came out open|filtered in 0.4 s.
    let ports: Vec<u16> = (1..=20).chain([53, 69]).collect();
    let mut sim = udp(&[HOST], &ports, mixed, true);
    sim.set_bucket(HOST, ErrorBucket::LINUX_SPENT);
    assert_eq!(run(sim).1, []);
}

#[test]
fn a_host_past_linuxs_global_error_limit_is_probed_again_soon() {
    // Linux also caps errors over all destinations: 50 at once, then a clump every 20 ms. A
    // host that answered most of a sweep (50 of 80) is not rationing hard, so the ports it
    // skipped go again after a round-trip timeout rather than half a refill period; and the
    // errors it then sends for ports it had skipped prove a refill of that global limit's
    // 20 ms, not the second assumed for the limit per peer.
    let ports: Vec<u16> = (1..=80).collect();
    let mut sim = udp(&[HOST], &ports, |p| if p == 69 { Port::Dropped } else { Port::Closed }, false);
    sim.global_error_limit = Some(GlobalErrorLimit::LINUX);
    let (took, wrong) = run(sim);
    assert_eq!(wrong, []);
    // Two sweeps, 100 ms apart; the dropped port's silence counts 30 ms after the last error
    // (1.5 times the 20 ms between refills), then its retry's 100 ms timeout.
    assert!(took <= Duration::from_millis(300), "took {took:?}");
}

#[test]
fn closed_ports_between_the_clumps_of_linuxs_global_error_limit_come_out_closed() {
    // Regression: the lab's IPv6 UDP scan of 202 ports (no limit per peer, Linux's global one
    // on) reported 20 closed ports open|filtered when the machine was busy. The global limit
    // refills only every 20 ms, a clump of 20 errors; the engine had measured a refill of a
    // millisecond from their average and believed the silence of probes sent 1.5 ms after the
    // last error, while the bucket stayed dry for 20. A sender that spreads its probes (here
    // 10,000 a second) sends such probes within one sweep.
    let ports: Vec<u16> = (1..=200).chain([500, 1434]).collect();
    let layout = |port| match port {
        7 | 53 | 123 | 161 => Port::Listening,
        500 => Port::Dropped,
        1434 => Port::Rejected(13),
        _ => Port::Closed,
    };
    for (source, host) in [(SCANNER, HOST), (SCANNER_V6, HOST_V6)] {
        for seed in 0..8 {
            let mut sim = udp_from(source, &[host], &ports, layout, seed);
            sim.rtt = Duration::from_micros(200);
            sim.send_cost = Duration::from_micros(100);
            sim.error_limit = None;
            sim.global_error_limit = Some(GlobalErrorLimit::LINUX);
            let (took, wrong) = run(sim);
            assert_eq!(wrong, [], "{host}, seed {seed}");
            assert!(took < Duration::from_secs(2), "{host}, seed {seed}: took {took:?}");
        }
    }
}

#[test]
fn a_host_refilling_slower_than_linux_still_gets_every_closed_port() {
    // One error every 1.4 s: the first refill comes within the quiet period assumed for
    // Linux's second (1.5 s), and the gaps between errors then teach the engine to wait longer.
    let ports: Vec<u16> = (1..=12).chain([53, 69]).collect();
    let mut sim = udp(&[HOST], &ports, mixed, true);
    sim.error_limit = Some(ErrorBucket { per_second: 1.0 / 1.4, ..ErrorBucket::LINUX });
    assert_eq!(run(sim).1, []);
}

/// Three addresses of the scanner's.
const SOURCES: [IpAddr; 3] =
    [SCANNER, IpAddr::V4(Ipv4Addr::new(198, 18, 0, 11)), IpAddr::V4(Ipv4Addr::new(198, 18, 0, 12))];

#[test]
fn several_sources_learn_closed_ports_as_many_times_as_fast() {
    // Linux rations its errors per peer: from three addresses of ours, a host's 60 closed
    // ports answer three buckets, each six at once then one a second.
    let ports: Vec<u16> = (1..=60).collect();
    let from = |sources: &[IpAddr]| {
        let mut sim = Sim::from_sources(UdpScan::new(UdpPayloads::embedded()), config(), sources, &[HOST], &ports, 3);
        sim.rtt = Duration::from_millis(1);
        sim.error_limit = Some(ErrorBucket::LINUX);
        let took = sim.run(Duration::from_secs(3600));
        for (_, probe) in &sim.sent {
            let Transport::Udp { dst_port: port, .. } = probe.transport else { panic!("a UDP scan sends UDP") };
            let dealt = sources[usize::from(port - 1) % sources.len()];
            assert!(probe.src == dealt || port == CANARY_UDP_PORT, "port {port} sent from {}", probe.src);
        }
        assert_eq!(sim.wrong_ports(truth), [], "from {} sources", sources.len());
        took
    };
    let (one, three) = (from(&SOURCES[..1]), from(&SOURCES));
    // One source: 60 errors, six at once then one a second; three: 20 each.
    assert!(one >= Duration::from_secs(54), "{one:?}");
    assert!(three <= Duration::from_secs(20), "{three:?}");
    assert!(three * 2 < one, "{three:?} from three sources against {one:?} from one");
}

#[test]
fn every_state_of_nmaps_udp_table_over_ipv6_behind_linuxs_icmpv6_error_limit() {
    // Linux rations ICMPv6 errors per peer with the same bucket as ICMP ones
    // (net.ipv6.icmp.ratelimit: one a second after a burst of six).
    let ports: Vec<u16> = (1..=30).chain([53, 69, 123, 161]).collect();
    let mut sim = udp_from(SCANNER_V6, &[HOST_V6], &ports, mixed, 3);
    let took = sim.run(Duration::from_secs(3600));
    assert!(took >= Duration::from_secs(31 - 6), "faster than the host can answer: {took:?}");
    let results = sim.results();
    let verdict = |port| results[0].ports.iter().find(|p| p.port == port).map(|p| (p.state, p.reason));
    assert_eq!(verdict(7), Some((PortState::Closed, Reason::PortUnreach)));
    assert_eq!(verdict(53), Some((PortState::Open, Reason::UdpResponse)));
    assert_eq!(verdict(69), Some((PortState::OpenFiltered, Reason::NoResponse)));
    assert_eq!(verdict(161), Some((PortState::Filtered, Reason::AdminProhibited)));
    assert!(results[0].ports.iter().all(|p| p.port == 69 || p.reason != Reason::NoResponse), "{:?}", results[0].ports);
}

#[test]
fn closed_ports_under_loss_behind_the_error_limit_are_not_reported_open_filtered() {
    // Regression: with 5 % loss each way, an error lost a second after the last one heard
    // spent the host's token unseen; the next sweep met an empty bucket while a quiet period
    // seemed to have passed, every held port lost a try, and closed ports came out
    // open|filtered (11 of 128 ports).
    let ports: Vec<u16> = (1..=12).chain([53, 69, 123, 161]).collect();
    for seed in 1..=4 {
        for first in [HOST, HOST_V6] {
            let targets = hosts(first, 8);
            let source = if first.is_ipv6() { SCANNER_V6 } else { SCANNER };
            let mut sim = udp_from(source, &targets, &ports, mixed, seed);
            sim.loss = 0.05;
            let (took, wrong) = run(sim);
            assert_eq!(wrong, [], "seed {seed}, from {first}");
            assert!(took < Duration::from_secs(40), "took {took:?}");
        }
    }
}
#[test]
fn errors_lost_twice_in_a_row_leave_no_port_open_filtered() {
    // Regression: with 28 ports on each of 8 hosts under 5 % loss, a prohibited port came out
    // open|filtered: two of its host's errors were lost a second apart (see
    // IcmpLimit::unanswered).
    let ports: Vec<u16> = (1..=24).chain([53, 69, 123, 161]).collect();
    for seed in 0..=4 {
        let mut sim = udp_from(SCANNER, &hosts(HOST, 8), &ports, mixed, seed);
        sim.loss = 0.05;
        let (_, wrong) = run(sim);
        assert_eq!(wrong, [], "seed {seed}");
    }
}

#[test]
fn a_udp_probe_read_back_over_loopback_is_no_answer() {
    // Regression: scanning this host, every probe is read back; a UDP datagram is vouched for
    // by its ports alone, and a probe from port A to port B read back as port A's answer to
    // a probe sent from B, when B was A's source port: open (udp-response).
    let me = SCANNER;
    let (key, port, from) = key_reading_back_a_probe_as_an_answer(me);
    let now = Instant::now();
    let group = ScanGroup { sources: vec![me], targets: vec![Target::from_addr(me)], ports: vec![port, from] };
    let technique = UdpScan::new(UdpPayloads::embedded());
    let mut engine = ProbeEngine::new(technique, config(), group, key, &mut rand::rng(), now);
    let probes: Vec<Probe> = std::iter::from_fn(|| engine.poll_transmit(now)).take(2).collect();
    let probe =
        probes.iter().find(|probe| matches!(probe.transport, Transport::Udp { dst_port, .. } if dst_port == port));
    let probe = probe.expect("the probe to the port");
    let Transport::Udp { src_port, dst_port, .. } = probe.transport else { unreachable!("a UDP probe") };
    let read_back = UdpReply { src: probe.src, src_port, dst: probe.dst, dst_port, ident: probe.ip_id, ttl: 64 };
    assert_eq!(engine.handle(&Response::Udp(read_back), now), None, "our own probe settled port {from}");
}

#[test]
fn a_udp_scan_of_the_canarys_own_port_ends_with_the_port_closed() {
    // Regression: the port unreachable for port 40125 (where canaries go) was taken for a
    // canary's, the port's try looked silent right after the host's error, was held and sent
    // again, and so on without end: `-sU -p 40125` (or any range holding it) never finished.
    for limited in [false, true] {
        let mut sim = udp(&[HOST], &[53, CANARY_UDP_PORT], mixed, limited);
        let took = sim.run(Duration::from_secs(600));
        assert_eq!(sim.wrong_ports(truth), [], "limited: {limited}");
        assert!(took < Duration::from_secs(5), "took {took:?}, limited: {limited}");
    }
}
