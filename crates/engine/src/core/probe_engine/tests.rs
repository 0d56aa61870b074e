//! The SYN scan against the simulated network (see [`super::sim`]).

use std::collections::{HashMap, HashSet};

use probes::{QuotedProbe, SynScan, TcpReply, Unreachable, UnreachableCode};
use wire::tcp::{flags, QuotedTcp};

use super::sim::{config, hosts, key_reading_back_a_probe_as_an_answer, tcp, Port, Sim, HOST, MS, SCANNER};
use super::*;
use std::net::{IpAddr, Ipv4Addr};

/// A SYN scan of `ports` on `hosts`, every port closed unless set otherwise.
fn syn(config: RawConfig, hosts: &[IpAddr], ports: &[u16]) -> Sim<SynScan> {
    Sim::new(SynScan, config, hosts, ports, 1)
}

/// The state and reason of `port` on the `host`-th target.
fn state(results: &[HostResult], host: usize, port: u16) -> (PortState, Reason) {
    let found = results[host].ports.iter().find(|p| p.port == port).expect("the port was scanned");
    (found.state, found.reason)
}

fn target(addr: IpAddr) -> Target {
    Target::from_addr(addr)
}

fn engine(config: RawConfig, targets: Vec<Target>, ports: Vec<u16>, now: Instant) -> ProbeEngine<SynScan> {
    let group = ScanGroup { sources: vec![SCANNER], targets, ports };
    ProbeEngine::new(SynScan, config, group, CookieKey::new(1, 2), &mut rand::rng(), now)
}

fn tcp_reply(probe: &Probe, flags: u8, ack: u32) -> TcpReply {
    TcpReply {
        src: probe.dst,
        src_port: tcp(probe).dst_port,
        dst: probe.src,
        dst_port: tcp(probe).src_port,
        seq: 999,
        ack,
        flags,
        window: 0,
        ttl: 64,
    }
}

/// A SYN probe as the receiver reads it back over loopback: a bare SYN with the probe's own
/// ports and sequence number.
fn read_back(probe: &Probe) -> TcpReply {
    let sent = tcp(probe);
    TcpReply {
        src: probe.src,
        src_port: sent.src_port,
        dst: probe.dst,
        dst_port: sent.dst_port,
        seq: sent.seq,
        ack: 0,
        flags: flags::SYN,
        window: 0,
        ttl: 64,
    }
}

fn unreachable(probe: &Probe, code: u8) -> Unreachable {
    let quoted = QuotedTcp { src_port: tcp(probe).src_port, dst_port: tcp(probe).dst_port, seq: tcp(probe).seq };
    Unreachable {
        from: probe.dst,
        code: UnreachableCode::V4(code),
        ttl: 64,
        probe_src: probe.src,
        probe_dst: probe.dst,
        probe_ident: probe.ip_id,
        probe: QuotedProbe::Tcp(quoted),
    }
}

#[test]
fn a_probe_read_back_over_loopback_is_no_answer_even_from_the_port_it_went_to() {
    // Regression: scanning this host, every probe is read back; one that left from the very
    // port it went to read back as that port's bare SYN, and the port came out open
    // (split-handshake-syn) in one full-port scan of 127.0.0.1 in two.
    let me = SCANNER;
    let (key, port) = (2..)
        .map(|k1| CookieKey::new(1, k1))
        .find_map(|key| key.source_ports().find(|&port| key.probe(me, me, port, 0).src_port == port).map(|p| (key, p)))
        .expect("some key sends some port's first probe from that port");
    let now = Instant::now();
    let group = ScanGroup { sources: vec![me], targets: vec![target(me)], ports: vec![port] };
    let mut engine = ProbeEngine::new(SynScan, config(), group, key, &mut rand::rng(), now);
    let probe = engine.poll_transmit(now).expect("a probe");
    let sent = tcp(&probe);
    assert_eq!((sent.src_port, sent.dst_port), (port, port));
    assert_eq!(engine.handle(&Response::Tcp(read_back(&probe)), now), None, "our own probe settled the port");
    let closed = tcp_reply(&probe, flags::RST | flags::ACK, sent.seq.wrapping_add(1));
    let settled = engine.handle(&Response::Tcp(closed), now).expect("the kernel's RST answers the probe");
    assert_eq!(settled.state, PortState::Closed);
}

#[test]
fn a_split_handshake_syn_means_open_as_nmap_says() {
    // Regression: a bare SYN answering our SYN carries the target's own sequence number, which
    // failed the cookie check, and the port came out filtered where Nmap says open.
    let now = Instant::now();
    let mut engine = engine(config(), vec![target(HOST)], vec![22], now);
    let probe = engine.poll_transmit(now).expect("a probe");
    let split = tcp_reply(&probe, flags::SYN, 0);
    let settled = engine.handle(&Response::Tcp(split), now).expect("the bare SYN answers the probe");
    assert_eq!(settled.state, PortState::Open);
    engine.poll_transmit(now);
    assert!(engine.is_finished());
    assert_eq!(state(&engine.into_results(), 0, 22), (PortState::Open, Reason::SplitHandshakeSyn));
}

#[test]
fn a_probe_read_back_over_loopback_is_no_answer_from_the_port_it_left() {
    // Scanning this host, a SYN from port A to port B reads back as a bare SYN from A, which
    // only its ports vouch for, as A's split handshake, when B is in A's run of source ports.
    let me = SCANNER;
    let (key, port, from) = key_reading_back_a_probe_as_an_answer(me);
    let now = Instant::now();
    let group = ScanGroup { sources: vec![me], targets: vec![target(me)], ports: vec![port, from] };
    let mut engine = ProbeEngine::new(SynScan, config(), group, key, &mut rand::rng(), now);
    let probes: Vec<Probe> = std::iter::from_fn(|| engine.poll_transmit(now)).take(2).collect();
    let probe = probes.iter().find(|probe| tcp(probe).dst_port == port).expect("the probe to the port");
    assert_eq!(engine.handle(&Response::Tcp(read_back(probe)), now), None, "our own probe settled port {from}");
}

#[test]
fn every_state_of_nmaps_syn_table() {
    let mut sim = syn(config(), &[HOST], &[22, 23, 25, 110]);
    sim.set(HOST, 22, Port::Listening).set(HOST, 25, Port::Dropped).set(HOST, 110, Port::Rejected(13));
    sim.run(Duration::from_secs(60));
    let results = sim.results();
    assert_eq!(state(&results, 0, 22), (PortState::Open, Reason::SynAck));
    assert_eq!(state(&results, 0, 23), (PortState::Closed, Reason::Reset));
    assert_eq!(state(&results, 0, 25), (PortState::Filtered, Reason::NoResponse));
    assert_eq!(state(&results, 0, 110), (PortState::Filtered, Reason::AdminProhibited));
    assert_eq!(results[0].status, HostStatus::Up { reason: Reason::SynAck });
    assert_eq!(results[0].latency(), Some(MS(2)));
    assert_eq!(results[0].ports.iter().map(|p| p.port).collect::<Vec<_>>(), [22, 23, 25, 110]);
}

#[test]
fn a_silent_port_on_a_loss_free_host_is_probed_twice_then_proven_silent() {
    // One probe and one retransmission, as Nmap; since the host answers, the last try goes
    // with a canary right behind it, whose error proves the host could have answered.
    let mut sim = syn(config(), &[HOST], &[25, 80]);
    sim.set(HOST, 25, Port::Dropped);
    sim.run(Duration::from_secs(60));
    let probes = sim.probes_to(HOST, 25);
    assert_eq!(probes.len(), 2, "two tries");
    assert_ne!(tcp(&probes[0].1).src_port, tcp(&probes[1].1).src_port, "each try has its own source port");
    let canary = sim.probes_to(HOST, CANARY_UDP_PORT);
    assert_eq!(canary.len(), 1);
    assert_eq!(canary[0].0, probes[1].0, "the canary follows the last try at once");
    assert_eq!(state(&sim.results(), 0, 25), (PortState::Filtered, Reason::NoResponse));
}

#[test]
fn probes_sent_before_the_first_answer_time_out_by_the_measured_round_trip() {
    // Port 25 goes out in the first burst, when only the 1 s initial timeout is known. Port
    // 80's answer 2 ms later measures the path: port 25 is judged by the measured round trip,
    // not after a second. (It used to wait the full second, which made a 5 %-loss lab scan
    // take a second longer than a loss-free one.) As the scan's last probe it is sent again
    // once a round trip late (srtt + 4 rttvar: 2 + 4 x 1 ms); its last try, with the host's
    // canary behind it, waits the 100 ms timeout floor.
    let mut sim = syn(config(), &[HOST], &[25, 80]);
    sim.set(HOST, 25, Port::Dropped);
    let start = sim.now;
    sim.run(Duration::from_secs(60));
    let sent: Vec<Duration> = sim.probes_to(HOST, 25).iter().map(|(at, _)| *at - start).collect();
    assert_eq!(sent, [MS(0), MS(6)]);
    assert_eq!(sim.now - start, MS(106));
}

#[test]
fn a_host_that_has_not_answered_yet_is_timed_by_the_scan() {
    // The second host is silent. Its probe is sent again a round trip late, judged by the
    // other host's answers over the same path (it may have been lost); its last try waits the
    // scan's measured timeout, not the initial second.
    let silent = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 3));
    let mut sim = syn(config(), &[HOST, silent], &[80]);
    sim.set(silent, 80, Port::Dropped);
    sim.run(Duration::from_secs(60));
    let probes = sim.probes_to(silent, 80);
    assert_eq!(probes.len(), 2);
    assert_eq!(probes[1].0 - probes[0].0, MS(6));
    assert_eq!(sim.now - probes[1].0, MS(100));
}

#[test]
fn answers_on_retransmissions_earn_more_retries() {
    // Port 80 is answered only on its second try: the host has shown loss, so the silent
    // port 25 gets three retransmissions (four tries: two past the deepest answer) instead of
    // one, the last followed by the canary.
    let mut sim = syn(config(), &[HOST], &[25, 80]);
    sim.set(HOST, 25, Port::Dropped).set(HOST, 80, Port::LoseFirst(1));
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.probes_to(HOST, 25).len(), 4);
    assert_eq!(state(&sim.results(), 0, 80), (PortState::Open, Reason::SynAck));
}

#[test]
fn max_retries_caps_retransmissions() {
    let config = RawConfig { timing: Timing { max_retries: 0, ..Timing::default() }, ..config() };
    let mut sim = syn(config, &[HOST], &[80]);
    sim.set(HOST, 80, Port::LoseFirst(1));
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.probes_to(HOST, 80).len(), 1);
    assert_eq!(state(&sim.results(), 0, 80), (PortState::Filtered, Reason::NoResponse));
}

#[test]
fn forged_and_stray_replies_are_ignored() {
    let now = Instant::now();
    let mut engine = engine(config(), vec![target(HOST)], vec![80], now);
    let probe = engine.poll_transmit(now).unwrap();
    let open = flags::SYN | flags::ACK;
    let forged = [
        tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(2)), // wrong ack
        TcpReply {
            src: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 3)),
            ..tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(1))
        }, // wrong host
        TcpReply { src_port: 81, ..tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(1)) }, // wrong port
        TcpReply { dst_port: tcp(&probe).src_port ^ 1, ..tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(1)) }, // wrong try port
        TcpReply {
            dst: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 7)),
            ..tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(1))
        }, // not to us
    ];
    for reply in forged {
        assert_eq!(engine.handle(&Response::Tcp(reply), now), None, "{reply:?}");
    }
    let mut bad_quote = unreachable(&probe, 13);
    let QuotedProbe::Tcp(quoted) = &mut bad_quote.probe else { unreachable!("a SYN probe is quoted as TCP") };
    quoted.seq ^= 1;
    assert_eq!(engine.handle(&Response::Unreachable(bad_quote), now), None);
    let genuine = tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(1));
    assert_eq!(
        engine.handle(&Response::Tcp(genuine), now),
        Some(Settled { addr: HOST, port: 80, state: PortState::Open })
    );
    assert_eq!(engine.handle(&Response::Tcp(genuine), now), None, "a duplicate settles nothing");
}

#[test]
fn the_window_holds_the_first_burst_until_answers_come() {
    let ports: Vec<u16> = (1..=1000).collect();
    let now = Instant::now();
    let mut engine = engine(config(), vec![target(HOST)], ports, now);
    let burst = std::iter::from_fn(|| engine.poll_transmit(now)).count();
    assert_eq!(burst, 32);
}

#[test]
fn the_window_grows_as_answers_come() {
    let ports: Vec<u16> = (1..=2000).collect();
    let mut sim = syn(config(), &[HOST], &ports);
    sim.run(Duration::from_secs(60));
    // With 2 ms round trips and slow start doubling per round trip, 2000 ports take a handful
    // of round trips, not 2000/32 of them.
    let first = sim.sent.first().unwrap().0;
    let last = sim.sent.last().unwrap().0;
    assert!(last - first < MS(20), "took {:?}", last - first);
}

#[test]
fn min_rate_sends_beyond_a_full_window() {
    let ports: Vec<u16> = (1..=1000).collect();
    let config = RawConfig { min_rate: Some(10_000.0), ..config() };
    let start = Instant::now();
    let mut engine = engine(config, vec![target(HOST)], ports, start);
    let mut sent = std::iter::from_fn(|| engine.poll_transmit(start)).count();
    assert_eq!(sent, 32, "the window alone at the start");
    // 10 ms later at 10,000/s, 100 probes are due although nothing has answered.
    let later = start + MS(10);
    sent += std::iter::from_fn(|| engine.poll_transmit(later)).count();
    assert_eq!(sent, 100);
}

#[test]
fn max_rate_spaces_the_probes() {
    let config = RawConfig { max_rate: Some(100.0), ..config() };
    let mut sim = syn(config, &[HOST], &[1, 2, 3, 4, 5]);
    sim.run(Duration::from_secs(60));
    let times: Vec<Instant> = sim.sent.iter().map(|(at, _)| *at).collect();
    assert!(times.windows(2).all(|w| w[1] - w[0] >= MS(10)), "probes at least 10 ms apart");
}

/// The gaps between the probes each host was sent.
fn gaps_per_host(sim: &Sim<SynScan>) -> Vec<Duration> {
    let mut last: HashMap<IpAddr, Instant> = HashMap::new();
    let mut gaps = Vec::new();
    for (at, probe) in &sim.sent {
        if let Some(before) = last.insert(probe.dst, *at) {
            gaps.push(*at - before);
        }
    }
    gaps
}

#[test]
fn max_host_rate_spaces_each_hosts_probes_while_other_hosts_go() {
    let config = RawConfig { max_host_rate: Some(10.0), ..config() };
    let targets = hosts(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)), 20);
    let mut sim = syn(config, &targets, &[1, 2, 3, 4, 5]);
    let took = sim.run(Duration::from_secs(60));
    assert!(gaps_per_host(&sim).iter().all(|&gap| gap >= MS(100)), "no host sent two probes within 100 ms");
    assert_eq!(sim.engine.peak_rates().host_probes, 5, "five probes a host, all within a second");
    // Five probes per host at 10 a second: some 400 ms, however many hosts go in parallel.
    assert!(took < MS(700), "{took:?}");
    assert!(sim.results().iter().all(|host| host.ports.iter().all(|port| port.state == PortState::Closed)));
}

#[test]
fn max_host_rate_counts_tries_again() {
    // Dropped ports draw tries again: each also waits its host's turn.
    let config = RawConfig { max_host_rate: Some(20.0), ..config() };
    let mut sim = syn(config, &[HOST], &[1, 2, 3]);
    sim.set(HOST, 2, Port::Dropped);
    sim.run(Duration::from_secs(60));
    assert!(sim.probes_to(HOST, 2).len() >= 2, "the dropped port was tried again");
    assert!(gaps_per_host(&sim).iter().all(|&gap| gap >= MS(50)), "{:?}", gaps_per_host(&sim));
    let results = sim.results();
    assert_eq!(results[0].ports[1].state, PortState::Filtered);
}

#[test]
fn without_max_host_rate_a_host_gets_its_probes_back_to_back() {
    let mut sim = syn(config(), &[HOST], &[1, 2, 3, 4, 5]);
    sim.run(Duration::from_secs(60));
    assert!(gaps_per_host(&sim).iter().all(|&gap| gap < MS(1)), "{:?}", gaps_per_host(&sim));
    assert_eq!(sim.engine.peak_rates().host_probes, 5);
}

/// For each port, the gaps between the first probes it was sent to new hosts.
fn first_try_gaps_per_port(sim: &Sim<SynScan>) -> Vec<Duration> {
    let mut tried = HashSet::new();
    let mut last: HashMap<u16, Instant> = HashMap::new();
    let mut gaps = Vec::new();
    for (at, probe) in &sim.sent {
        let port = tcp(probe).dst_port;
        if tried.insert((probe.dst, port)) {
            gaps.extend(last.insert(port, *at).map(|before| *at - before));
        }
    }
    gaps
}

#[test]
fn max_sweep_rate_spaces_each_ports_new_hosts_while_other_ports_go() {
    let config = RawConfig { max_sweep_rate: Some(10.0), ..config() };
    let targets = hosts(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)), 10);
    let mut sim = syn(config, &targets, &[1, 2, 3]);
    let took = sim.run(Duration::from_secs(60));
    let gaps = first_try_gaps_per_port(&sim);
    assert!(gaps.iter().all(|&gap| gap >= MS(100)), "a port reached two new hosts within 100 ms: {gaps:?}");
    let peaks = sim.engine.peak_rates();
    assert!(peaks.port_new_hosts <= 10, "{peaks:?}");
    // Ten hosts a port at 10 a second: some 900 ms, the three ports in parallel.
    assert!(took < MS(1300), "{took:?}");
    assert!(sim.results().iter().all(|host| host.ports.iter().all(|port| port.state == PortState::Closed)));
}

#[test]
fn max_sweep_rate_leaves_tries_again_to_the_window() {
    // Only first tries count as a port reaching a new host: a silent port's tries again go
    // out at the timeout's pace, not five seconds apart.
    let config = RawConfig { max_sweep_rate: Some(0.2), ..config() };
    let targets = hosts(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)), 2);
    let mut sim = syn(config, &targets, &[80]);
    sim.set(targets[0], 80, Port::Dropped);
    sim.run(Duration::from_secs(60));
    let tries = sim.probes_to(targets[0], 80);
    assert!(tries.len() >= 2, "the dropped port was tried again");
    let second_host = sim.probes_to(targets[1], 80)[0].0;
    assert!(second_host - tries[0].0 >= MS(5000), "the port's second new host waited five seconds");
    assert!(tries[1].0 < second_host, "the try again did not wait for the sweep cap");
    assert_eq!(sim.results()[0].ports[0].state, PortState::Filtered);
}

#[test]
fn without_caps_the_peaks_count_every_port_and_host() {
    let targets = hosts(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)), 4);
    let mut sim = syn(config(), &targets, &[1, 2]);
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.engine.peak_rates(), PeakRates { host_probes: 2, port_new_hosts: 4 });
}

#[test]
fn a_seed_repeats_the_probe_order() {
    let order = |seed| {
        let targets = hosts(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)), 8).into_iter().map(target).collect();
        let group = ScanGroup { sources: vec![SCANNER], targets, ports: (1..=16).collect() };
        let now = Instant::now();
        let mut rng = crate::order_rng(Some(seed));
        let mut engine = ProbeEngine::new(SynScan, config(), group, CookieKey::new(1, 2), &mut rng, now);
        std::iter::from_fn(|| engine.poll_transmit(now))
            .map(|probe| (probe.dst, tcp(&probe).dst_port))
            .collect::<Vec<_>>()
    };
    assert_eq!(order(7), order(7));
    assert_ne!(order(7), order(8));
}

#[test]
fn scan_delay_spaces_the_probes() {
    let config = RawConfig { timing: Timing { scan_delay: MS(400), ..Timing::default() }, ..config() };
    let mut sim = syn(config, &[HOST], &[1, 2, 3]);
    sim.run(Duration::from_secs(60));
    let times: Vec<Instant> = sim.sent.iter().map(|(at, _)| *at).collect();
    assert_eq!(times[1] - times[0], MS(400));
    assert_eq!(times[2] - times[1], MS(400));
}

#[test]
fn host_timeout_gives_up_on_a_slow_host() {
    // The silent host needs a round trip and a 100 ms timeout to be decided: longer than its
    // 50 ms limit.
    let config = RawConfig { timing: Timing { host_timeout: Some(MS(50)), ..Timing::default() }, ..config() };
    let slow = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 3));
    let mut sim = syn(config, &[HOST, slow], &[80]);
    sim.set(slow, 80, Port::Dropped);
    sim.run(Duration::from_secs(60));
    let results = sim.results();
    assert_eq!(results[0].status, HostStatus::Up { reason: Reason::Reset });
    assert_eq!(results[1].status, HostStatus::TimedOut);
    assert!(results[1].ports.is_empty());
}

#[test]
fn silent_hosts_are_down_unless_assumed_up() {
    for (assume_up, status) in [(false, HostStatus::SILENT), (true, HostStatus::Up { reason: Reason::UserSet })] {
        let mut sim = syn(RawConfig { assume_up, ..config() }, &[HOST], &[80]);
        sim.set(HOST, 80, Port::Dropped);
        sim.run(Duration::from_secs(60));
        assert_eq!(sim.results()[0].status, status);
    }
}

#[test]
fn every_slot_is_probed_once_across_many_hosts() {
    let hosts = hosts(IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)), 64);
    let mut sim = syn(config(), &hosts, &[22, 80, 443]);
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.sent.len(), 64 * 3);
    let mut distinct: Vec<(IpAddr, u16)> = sim.sent.iter().map(|(_, p)| (p.dst, tcp(p).dst_port)).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 64 * 3);
    // Pseudo-random order: the first probes do not all go to one host.
    let first_hosts: std::collections::HashSet<IpAddr> = sim.sent[..16].iter().map(|(_, p)| p.dst).collect();
    assert!(first_hosts.len() > 8);
}

#[test]
fn sequential_ports_go_in_order_on_every_host() {
    // Regression: -r was taken by the raw scans and ignored.
    let hosts = hosts(IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)), 3);
    let mut sim = syn(RawConfig { sequential_ports: true, ..config() }, &hosts, &[21, 22, 80, 443]);
    sim.run(Duration::from_secs(60));
    let order: Vec<(IpAddr, u16)> = sim.sent.iter().map(|(_, probe)| (probe.dst, tcp(probe).dst_port)).collect();
    let expected: Vec<(IpAddr, u16)> =
        [21, 22, 80, 443].iter().flat_map(|&port| hosts.iter().map(move |&host| (host, port))).collect();
    assert_eq!(order, expected);
}

/// 300 closed ports on a host that replies at most once per 10 ms.
fn reply_limited(max_scan_delay: Duration) -> Sim<SynScan> {
    let ports: Vec<u16> = (1..=300).collect();
    let config = RawConfig { timing: Timing { max_scan_delay, ..Timing::default() }, ..config() };
    let mut sim = syn(config, &[HOST], &ports);
    sim.reply_interval = Some(MS(10));
    sim.run(Duration::from_secs(600));
    sim
}

#[test]
fn a_host_that_limits_its_replies_is_scanned_at_its_pace() {
    let sim = reply_limited(MS(1000));
    assert!(sim.engine.is_finished());
    let delay = sim.engine.scan_delay();
    assert!((MS(5)..=MS(20)).contains(&delay), "the probes are spaced about as the replies: {delay:?}");
    // Finding the pace costs probes early on; once found, the scan keeps to it.
    let last_second = sim.sent.iter().filter(|(at, _)| *at + Duration::from_secs(1) > sim.now).count();
    assert!(last_second <= 150, "{last_second} probes in the last second to a host replying 100 times a second");
    let results = sim.results();
    assert!(results[0].ports.iter().all(|p| p.state == PortState::Closed), "every port answered in the end");
}

#[test]
fn max_scan_delay_caps_the_spacing() {
    assert_eq!(reply_limited(MS(5)).engine.scan_delay(), MS(5));
}

#[test]
fn max_scan_delay_zero_keeps_the_probes_unspaced() {
    let sim = reply_limited(Duration::ZERO);
    assert_eq!(sim.engine.scan_delay(), Duration::ZERO);
}

#[test]
fn a_clean_host_never_gets_a_scan_delay() {
    let ports: Vec<u16> = (1..=300).collect();
    let mut sim = syn(config(), &[HOST], &ports);
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.engine.scan_delay(), Duration::ZERO);
}

#[test]
fn random_loss_never_turns_a_closed_port_filtered() {
    // Regression: with 5 % loss each way, Nmap's rule (one retransmission more than the deepest
    // answered try) let about one port in a thousand run out of tries and come out filtered.
    // Two more than the deepest still failed about one scan in 200 (seeds 370, 530 and 567 of
    // 600 tried, and once in CI's lab); the allowance now also follows the measured loss rate.
    let ports: Vec<u16> = (1..=1000).collect();
    for seed in 0..40 {
        let mut sim = Sim::new(SynScan, config(), &[HOST], &ports, seed);
        sim.loss = 0.05;
        sim.run(Duration::from_secs(600));
        let results = sim.results();
        let filtered: Vec<u16> =
            results[0].ports.iter().filter(|p| p.state != PortState::Closed).map(|p| p.port).collect();
        assert!(filtered.is_empty(), "seed {seed}: closed ports reported otherwise: {filtered:?}");
    }
}

#[test]
fn a_max_retries_beyond_the_try_byte_gives_up_instead_of_overflowing() {
    // A host whose deepest answer was try 300 would allow more tries than a try number's byte
    // holds: the port whose try 255 times out is given up, not retried as try 0 (or a panic).
    let config = RawConfig { timing: Timing { max_retries: 1000, ..Timing::default() }, ..config() };
    let now = Instant::now();
    let mut engine = engine(config, vec![target(HOST)], vec![80], now);
    engine.hosts[0].retries.answered_on(300);
    assert!(engine.hosts[0].retries.may_retry_after(255, &engine.scan_loss));
    let probe = engine.poll_transmit(now).unwrap();
    assert_eq!(tcp(&probe).dst_port, 80);
    engine.retire(0);
    engine.in_flight.insert(
        0,
        Sent {
            try_number: 255,
            at: now,
            order: 0,
            deadline: now,
            in_pipe: false,
            history: Some(Box::new(History { silent_before: None, lost: Some(LostTries::and(None, now)) })),
        },
    );
    engine.deadlines.push(now, 0);
    engine.expire(now);
    assert!(engine.is_finished());
    assert!(engine.retry_queue.is_empty());
    assert_eq!(engine.into_results()[0].ports[0].state, PortState::Filtered);
}

#[test]
fn silent_hosts_do_not_hold_the_window_shut() {
    // Regression: a sweep where few hosts answer sent one window of probes per 100 ms timeout,
    // since only answers grew the window and only timeouts emptied it (a /16 with 1.6 % of
    // hosts up took 100 s). Probes past a round trip no longer count against the window, and
    // their silence grows it while the path shows no loss; and before the first answer the
    // pipe time is the minimum timeout, not the initial second.
    let hosts = hosts(IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)), 4096);
    let mut sim = syn(config(), &hosts, &[80]);
    sim.default_port = Port::Dropped;
    for &host in hosts.iter().step_by(64) {
        sim.set(host, 80, Port::Listening);
    }
    let took = sim.run(Duration::from_secs(600));
    assert!(took < Duration::from_millis(1500), "4096 hosts, 64 answering, took {took:?}");
    let results = sim.results();
    assert_eq!(results.iter().filter(|h| h.is_up()).count(), 64);
}

#[test]
fn a_burst_of_early_losses_does_not_slow_the_rest_of_the_scan() {
    // Regression: loopback dropped a burst of early RSTs; every answer to their retransmissions
    // was judged fresh loss, the window sat at its floor and the scan delay doubled to its 1 s
    // cap, so `-p- 127.0.0.1` finished its last 520 ports at one a second. One burst is one
    // loss event: it cuts the window once, and the scan goes on at the pace the path carries.
    let ports: Vec<u16> = (1..=20_000).collect();
    let mut sim = syn(config(), &[HOST], &ports);
    sim.outage = Some((sim.now + MS(6), sim.now + MS(12)));
    let took = sim.run(Duration::from_secs(600));
    assert!(took < Duration::from_secs(2), "20,000 closed ports after a 6 ms outage took {took:?}");
    assert_eq!(sim.engine.scan_delay(), Duration::ZERO);
    let results = sim.results();
    assert!(results[0].ports.iter().all(|p| p.state == PortState::Closed));
}

#[test]
fn lost_probes_are_sent_again_once_later_ones_are_answered() {
    // With 5 % loss each way, about one port in ten needs a retransmission and one in a
    // hundred two. Waiting Nmap's 100 ms minimum timeout for each round made the lossy lab
    // scan twice as slow as the clean one; a probe overtaken by answers to later probes (or
    // among the scan's last) is sent again once it is a round trip late.
    let ports: Vec<u16> = (1..=2000).collect();
    let mut sim = Sim::new(SynScan, config(), &[HOST], &ports, 7);
    sim.loss = 0.05;
    let took = sim.run(Duration::from_secs(60));
    let sent = sim.sent.len();
    let results = sim.results();
    assert!(results[0].ports.iter().all(|p| p.state == PortState::Closed));
    // Before, three rounds of the 100 ms timeout: 302 ms.
    assert!(took < MS(150), "2000 ports over a 2 ms path with 5 % loss took {took:?}");
    assert!(sent < 2300, "about one retransmission per lost probe: {sent}");
}

/// A SYN sweep of port 80 over a /16 of hosts, all listening, sent at 200,000 probes a second,
/// over a 1 ms path losing `loss` of the packets each way, perhaps behind a `bottleneck`;
/// returns how long it took and how many hosts were found.
fn sweep(loss: f64, seed: u64, bottleneck: Option<(Duration, u32)>) -> (Duration, usize) {
    let hosts = hosts(IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)), 1 << 16);
    let mut sim = Sim::new(SynScan, RawConfig { assume_up: true, ..config() }, &hosts, &[80], seed);
    sim.default_port = Port::Listening;
    sim.rtt = MS(1);
    sim.loss = loss;
    sim.send_cost = Duration::from_micros(5);
    sim.bottleneck = bottleneck;
    let took = sim.run(Duration::from_secs(600));
    let found = sim.results().iter().filter(|host| host.ports[0].state == PortState::Open).count();
    (took, found)
}

#[test]
fn sweeps_under_random_loss_find_every_host_without_slowing_much() {
    // Regression: a /16 sweep, one probe per host, found 99.0 % of the hosts at 5 % loss each
    // way and 96.4 % at 10 %: a host answers once at most, so its own answers never showed
    // the loss, and it got Nmap's single retransmission. The scan-wide loss rate now sets the
    // tries, and a probe to a host not yet heard from goes again a round trip late.
    let (clean, all) = sweep(0.0, 1, None);
    assert_eq!(all, 1 << 16);
    for loss in [0.05, 0.10] {
        let (took, found) = sweep(loss, 1, None);
        assert_eq!(found, 1 << 16, "{loss} loss each way");
        assert!(took.as_secs_f64() <= 1.5 * clean.as_secs_f64(), "{loss} loss: {took:?}, without loss {clean:?}");
    }
}

#[test]
fn a_sweep_through_a_bottleneck_finds_every_host_at_the_bottlenecks_pace() {
    // Regression: past a link carrying 50,000 probes a second (a queue of 500, 5 % loss each
    // way besides), a sweep sent at 200,000 a second found 45 % of the hosts: silence from
    // hosts never heard from grew the window, and losses showed too late to cut it.
    let bottleneck = (Duration::from_micros(20), 500);
    let (took, found) = sweep(0.05, 1, Some(bottleneck));
    assert_eq!(found, 1 << 16);
    let floor = bottleneck.0 * (1 << 16);
    assert!(took < floor * 13 / 10, "{took:?}; the link alone takes {floor:?}");
}

#[test]
fn several_sources_share_each_hosts_ports_and_keep_every_verdict() {
    let sources = [SCANNER, IpAddr::V4(Ipv4Addr::new(198, 18, 0, 11)), IpAddr::V4(Ipv4Addr::new(198, 18, 0, 12))];
    let targets = hosts(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)), 4);
    let ports: Vec<u16> = (20..30).collect();
    let config = RawConfig { max_host_rate: Some(100.0), ..config() };
    let mut sim = Sim::from_sources(SynScan, config, &sources, &targets, &ports, 1);
    for &host in &targets {
        sim.set(host, 22, Port::Listening).set(host, 25, Port::Dropped).set(host, 28, Port::Rejected(13));
    }
    sim.run(Duration::from_secs(60));
    // Port p of target t goes from source (t + p) % 3, and so do its tries again.
    for (_, probe) in &sim.sent {
        let target = targets.iter().position(|&t| t == probe.dst).unwrap();
        let port = ports.iter().position(|&p| p == tcp(probe).dst_port).unwrap();
        assert_eq!(probe.src, sources[(target + port) % 3], "{probe:?}");
    }
    // Each (target, source) pair is a host of its own to the caps: 100 probes a second each.
    for &src in &sources {
        let mut last: HashMap<IpAddr, Instant> = HashMap::new();
        for (at, probe) in sim.sent.iter().filter(|(_, probe)| probe.src == src) {
            if let Some(before) = last.insert(probe.dst, *at) {
                assert!(*at - before >= MS(10), "two probes from {src} to {} within 10 ms", probe.dst);
            }
        }
    }
    let results = sim.results();
    assert_eq!(results.len(), 4);
    for host in &results {
        let states: Vec<(u16, PortState)> = host.ports.iter().map(|p| (p.port, p.state)).collect();
        let expected: Vec<(u16, PortState)> = ports
            .iter()
            .map(|&p| {
                let state = match p {
                    22 => PortState::Open,
                    25 | 28 => PortState::Filtered,
                    _ => PortState::Closed,
                };
                (p, state)
            })
            .collect();
        assert_eq!(states, expected, "{}", host.target.addr);
        assert_eq!(host.status, HostStatus::Up { reason: Reason::SynAck });
    }
}

#[test]
fn several_sources_keep_every_verdict_under_loss() {
    // 10 % of packets lost each way: each (target, source) pair measures its own loss and
    // retries, and every port still comes out as it is.
    let sources = [SCANNER, IpAddr::V4(Ipv4Addr::new(198, 18, 0, 11)), IpAddr::V4(Ipv4Addr::new(198, 18, 0, 12))];
    let targets = hosts(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)), 6);
    let ports: Vec<u16> = (20..40).collect();
    let mut sim = Sim::from_sources(SynScan, config(), &sources, &targets, &ports, 7);
    sim.loss = 0.1;
    for &host in &targets {
        sim.set(host, 22, Port::Listening).set(host, 25, Port::Dropped);
    }
    sim.run(Duration::from_secs(600));
    for host in sim.results() {
        for port in &host.ports {
            let expected = match port.port {
                22 => PortState::Open,
                25 => PortState::Filtered,
                _ => PortState::Closed,
            };
            assert_eq!(port.state, expected, "{}:{}", host.target.addr, port.port);
        }
        assert_eq!(host.ports.len(), ports.len());
    }
}

#[test]
fn a_reset_acknowledging_the_probes_data_still_answers_it() {
    // Regression: with --data, Linux's RST from a closed port acknowledged the SYN and its
    // data, the echo did not match the cookie, and the closed port came out filtered.
    let now = Instant::now();
    let config = RawConfig { data: Some(std::sync::Arc::from(&b"portolan!"[..])), ..config() };
    let mut engine = engine(config, vec![target(HOST)], vec![23], now);
    let probe = engine.poll_transmit(now).expect("a probe");
    let rst = tcp_reply(&probe, flags::RST | flags::ACK, tcp(&probe).seq.wrapping_add(1 + 9));
    let settled = engine.handle(&Response::Tcp(rst), now + MS(1)).expect("the RST answers the probe");
    assert_eq!((settled.port, settled.state), (23, PortState::Closed));
}

#[test]
fn debugging_levels_tell_retransmissions_only_when_asked() {
    for (level, told) in [(0, false), (1, false), (2, true)] {
        let config = RawConfig { debug_level: level, ..config() };
        let mut sim = Sim::new(SynScan, config, &[HOST], &[22, 23], 1);
        sim.set(HOST, 23, Port::Dropped);
        let mut events = Vec::new();
        while !sim.engine.is_finished() {
            sim.run(MS(50));
            events.extend(sim.engine.drain_debug_events());
        }
        let retransmitted = events.iter().any(|event| matches!(event, DebugEvent::Retransmit { port: 23, .. }));
        assert_eq!(retransmitted, told, "-d level {level}: {events:?}");
    }
    let told = DebugEvent::Retransmit { addr: HOST, port: 23, try_number: 1 }.to_string();
    assert_eq!(told, "Retransmitting probe to 198.18.0.2:23 (try 2)");
}
