//! The engine against a simulated network with a virtual clock.

use std::collections::HashMap;

use probes::{QuotedProbe, SynScan, TcpReply, Unreachable};
use wire::tcp::{flags, ProbeRepr, QuotedTcp};

use super::*;

const SCANNER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const MS: fn(u64) -> Duration = Duration::from_millis;

/// What the simulated target does with a probe.
#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Open,
    Closed,
    Drop,
    Prohibited,
    /// Drops the first `n` probes to the port, then answers as open.
    LoseFirst(u8),
}

struct Sim {
    engine: ProbeEngine<SynScan>,
    now: Instant,
    rtt: Duration,
    behaviour: HashMap<(Ipv4Addr, u16), Behaviour>,
    seen: HashMap<(Ipv4Addr, u16), u8>,
    /// Replies on their way back: (arrival, response).
    in_transit: Vec<(Instant, Response)>,
    sent: Vec<(Instant, Probe)>,
    /// Each packet, probe or reply, is lost with this probability (seeded, so runs repeat).
    loss: Option<(f64, rand::rngs::StdRng)>,
    /// Every packet sent in this span of time is lost, as a queue overflowing once drops them.
    outage: Option<(Instant, Instant)>,
    /// A link that carries a packet per this interval behind a queue of this many packets, and
    /// when its queue empties: a probe arriving at a full queue is lost.
    bottleneck: Option<(Duration, u32)>,
    queue_empties: Instant,
    /// A target that replies at most once per this interval (as BSDs limit their RSTs), and
    /// when it last replied.
    reply_interval: Option<Duration>,
    last_reply: Option<Instant>,
}

/// Default timing, no rate limits, not `-Pn`, the source the routing table chooses.
pub(super) fn config() -> RawConfig {
    RawConfig { timing: Timing::default(), max_rate: None, min_rate: None, assume_up: false, source: Source::default() }
}

fn target(addr: Ipv4Addr) -> Target {
    Target::from_addr(addr.into())
}

impl Sim {
    fn new(config: RawConfig, hosts: &[Ipv4Addr], ports: &[u16], behaviour: &[((Ipv4Addr, u16), Behaviour)]) -> Sim {
        let now = Instant::now();
        let targets = hosts.iter().map(|&h| target(h)).collect();
        let engine = ProbeEngine::new(SynScan, config, CookieKey::new(1, 2), SCANNER, targets, ports.to_vec(), now);
        Sim {
            engine,
            now,
            rtt: MS(2),
            behaviour: behaviour.iter().copied().collect(),
            seen: HashMap::new(),
            in_transit: Vec::new(),
            sent: Vec::new(),
            loss: None,
            outage: None,
            bottleneck: None,
            queue_empties: now,
            reply_interval: None,
            last_reply: None,
        }
    }

    /// Sends everything the engine allows now, delivers what has arrived, and advances the
    /// clock to the next event; until the scan finishes (or `limit` of virtual time passes).
    fn run(&mut self, limit: Duration) {
        let end = self.now + limit;
        while !self.engine.is_finished() && self.now < end {
            while let Some(probe) = self.engine.poll_transmit(self.now) {
                self.answer(&probe);
                self.sent.push((self.now, probe));
            }
            self.deliver();
            if self.engine.is_finished() {
                break; // the clock stops where the scan did
            }
            let next_reply = self.in_transit.iter().map(|(at, _)| *at).min();
            let next = [next_reply, self.engine.next_wakeup(self.now)].into_iter().flatten().min();
            self.now = next.unwrap_or(self.now + MS(1)).max(self.now + Duration::from_micros(1));
            self.deliver();
        }
    }

    fn deliver(&mut self) {
        let (due, later): (Vec<_>, Vec<_>) = self.in_transit.drain(..).partition(|(at, _)| *at <= self.now);
        self.in_transit = later;
        for (_, response) in due {
            self.engine.handle(&response, self.now);
        }
    }

    fn lost(&mut self) -> bool {
        use rand::Rng;
        let in_outage = self.outage.is_some_and(|(from, to)| (from..to).contains(&self.now));
        in_outage || self.loss.as_mut().is_some_and(|(p, rng)| rng.random_bool(*p))
    }

    /// When a probe sent now gets through the bottleneck, if it is not dropped there.
    fn through_bottleneck(&mut self) -> Option<Instant> {
        let Some((per_packet, capacity)) = self.bottleneck else { return Some(self.now) };
        let backlog = self.queue_empties.saturating_duration_since(self.now);
        if backlog >= per_packet * capacity {
            return None;
        }
        self.queue_empties = self.queue_empties.max(self.now) + per_packet;
        Some(self.queue_empties)
    }

    /// Whether the target's reply limit keeps it from replying at `at`.
    fn reply_limited(&mut self, at: Instant) -> bool {
        let Some(interval) = self.reply_interval else { return false };
        if self.last_reply.is_some_and(|last| at < last + interval) {
            return true;
        }
        self.last_reply = Some(at);
        false
    }

    fn answer(&mut self, probe: &Probe) {
        if self.lost() {
            return;
        }
        let Some(through) = self.through_bottleneck() else { return };
        let key = (probe.dst, tcp(probe).dst_port);
        let count = self.seen.entry(key).or_default();
        *count += 1;
        let behaviour = self.behaviour.get(&key).copied().unwrap_or(Behaviour::Closed);
        let tcp = |flags| Response::Tcp(tcp_reply(probe, flags, tcp(probe).seq.wrapping_add(1)));
        let response = match behaviour {
            Behaviour::Open => tcp(flags::SYN | flags::ACK),
            Behaviour::Closed => tcp(flags::RST | flags::ACK),
            Behaviour::Drop => return,
            Behaviour::LoseFirst(n) if *count <= n => return,
            Behaviour::LoseFirst(_) => tcp(flags::SYN | flags::ACK),
            Behaviour::Prohibited => Response::Unreachable(unreachable(probe, 13)),
        };
        if self.lost() || self.reply_limited(through) {
            return;
        }
        self.in_transit.push((through + self.rtt, response));
    }

    fn port(&self, host: usize, port: u16) -> (PortState, Reason) {
        let results = self.engine_results();
        let p = results[host].ports.iter().find(|p| p.port == port).unwrap();
        (p.state, p.reason)
    }

    fn engine_results(&self) -> Vec<HostResult> {
        // into_results consumes; rebuild an identical view through a clone of the verdicts.
        let per_host = self.engine.ports.len();
        self.engine
            .targets
            .iter()
            .enumerate()
            .map(|(h, t)| {
                let ports = (0..per_host)
                    .filter_map(|i| {
                        let Verdict { state, reason, ttl } = self.engine.results[h * per_host + i]?;
                        let port = self.engine.ports[i];
                        Some(PortResult {
                            protocol: model::Protocol::Tcp,
                            port,
                            state,
                            reason,
                            reason_ttl: ttl,
                            service: None,
                        })
                    })
                    .collect();
                HostResult { target: t.clone(), status: HostStatus::Down, round_trip: None, ports }
            })
            .collect()
    }

    fn probes_to(&self, dst: Ipv4Addr, port: u16) -> Vec<&(Instant, Probe)> {
        self.sent.iter().filter(|(_, p)| p.dst == dst && tcp(p).dst_port == port).collect()
    }
}

/// The TCP header of a SYN-scan probe.
fn tcp(probe: &Probe) -> &ProbeRepr {
    match &probe.transport {
        Transport::Tcp(tcp) => tcp,
        other => panic!("a SYN scan sent {other:?}"),
    }
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

fn unreachable(probe: &Probe, code: u8) -> Unreachable {
    let quoted = QuotedTcp { src_port: tcp(probe).src_port, dst_port: tcp(probe).dst_port, seq: tcp(probe).seq };
    unreachable_quoting(probe, code, QuotedProbe::Tcp(quoted))
}

/// The ICMP destination-unreachable with `code` the probe's target sends about it.
pub(super) fn unreachable_quoting(probe: &Probe, code: u8, quoted: QuotedProbe) -> Unreachable {
    Unreachable {
        from: probe.dst,
        code,
        ttl: 64,
        probe_src: probe.src,
        probe_dst: probe.dst,
        probe_ident: probe.ip_id,
        probe: quoted,
    }
}

const HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

#[test]
fn every_state_of_nmaps_syn_table() {
    use Behaviour::*;
    let behaviour = [((HOST, 22), Open), ((HOST, 25), Drop), ((HOST, 110), Prohibited)];
    let mut sim = Sim::new(config(), &[HOST], &[22, 23, 25, 110], &behaviour);
    sim.run(Duration::from_secs(60));
    assert!(sim.engine.is_finished());
    assert_eq!(sim.port(0, 22), (PortState::Open, Reason::SynAck));
    assert_eq!(sim.port(0, 23), (PortState::Closed, Reason::Reset));
    assert_eq!(sim.port(0, 25), (PortState::Filtered, Reason::NoResponse));
    assert_eq!(sim.port(0, 110), (PortState::Filtered, Reason::AdminProhibited));
    let results = sim.engine.into_results();
    assert_eq!(results[0].status, HostStatus::Up { reason: Reason::SynAck });
    assert_eq!(results[0].latency(), Some(MS(2)));
    assert_eq!(results[0].ports.iter().map(|p| p.port).collect::<Vec<_>>(), [22, 23, 25, 110]);
}

#[test]
fn a_silent_port_on_a_loss_free_host_is_probed_twice() {
    let mut sim = Sim::new(config(), &[HOST], &[25, 80], &[((HOST, 25), Behaviour::Drop)]);
    sim.run(Duration::from_secs(60));
    let probes = sim.probes_to(HOST, 25);
    assert_eq!(probes.len(), 2, "one probe and one retransmission");
    assert_ne!(tcp(&probes[0].1).src_port, tcp(&probes[1].1).src_port, "each try has its own source port");
}

#[test]
fn probes_sent_before_the_first_answer_time_out_by_the_measured_round_trip() {
    // Port 25 goes out in the first burst, when only the 1 s initial timeout is known. Port
    // 80's answer 2 ms later measures the path: port 25 is judged by the measured round trip,
    // not after a second. (It used to wait the full second, which made a 5 %-loss lab scan
    // take a second longer than a loss-free one.) As the scan's last probe it is sent again
    // once a round trip late (srtt + 4 rttvar); its last try waits the 100 ms timeout floor.
    let mut sim = Sim::new(config(), &[HOST], &[25, 80], &[((HOST, 25), Behaviour::Drop)]);
    let start = sim.now;
    sim.run(Duration::from_secs(60));
    let probes = sim.probes_to(HOST, 25);
    assert_eq!(probes.len(), 2);
    assert_eq!(probes[1].0 - probes[0].0, MS(22));
    assert_eq!(sim.now - probes[1].0, MS(100));
    assert_eq!(sim.now - start, MS(122));
}

#[test]
fn a_host_that_has_not_answered_yet_is_timed_by_the_scan() {
    // The second host is silent: its probes wait the scan's measured timeout, not the initial
    // second, because the first host's answers have measured the path.
    let silent = Ipv4Addr::new(198, 18, 0, 3);
    let mut sim = Sim::new(config(), &[HOST, silent], &[80], &[((silent, 80), Behaviour::Drop)]);
    sim.run(Duration::from_secs(60));
    let probes = sim.probes_to(silent, 80);
    assert_eq!(probes.len(), 2);
    assert_eq!(probes[1].0 - probes[0].0, MS(100));
}

#[test]
fn answers_on_retransmissions_earn_more_retries() {
    use Behaviour::*;
    // Port 80 is answered only on its second try: the host has shown loss, so the silent
    // port 25 gets three retransmissions (four probes: two past the deepest answer) instead of one.
    let mut sim = Sim::new(config(), &[HOST], &[25, 80], &[((HOST, 25), Drop), ((HOST, 80), LoseFirst(1))]);
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.port(0, 80), (PortState::Open, Reason::SynAck));
    assert_eq!(sim.probes_to(HOST, 25).len(), 4);
}

#[test]
fn max_retries_caps_retransmissions() {
    let config = RawConfig { timing: Timing { max_retries: 0, ..Timing::default() }, ..config() };
    let mut sim = Sim::new(config, &[HOST], &[80], &[((HOST, 80), Behaviour::LoseFirst(1))]);
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.probes_to(HOST, 80).len(), 1);
    assert_eq!(sim.port(0, 80), (PortState::Filtered, Reason::NoResponse));
}

#[test]
fn forged_and_stray_replies_are_ignored() {
    let now = Instant::now();
    let mut engine =
        ProbeEngine::new(SynScan, config(), CookieKey::new(1, 2), SCANNER, vec![target(HOST)], vec![80], now);
    let probe = engine.poll_transmit(now).unwrap();
    let open = flags::SYN | flags::ACK;
    let forged = [
        tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(2)), // wrong ack
        TcpReply { src: Ipv4Addr::new(198, 18, 0, 3), ..tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(1)) }, // wrong host
        TcpReply { src_port: 81, ..tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(1)) }, // wrong port
        TcpReply { dst_port: tcp(&probe).src_port ^ 1, ..tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(1)) }, // wrong try port
        TcpReply { dst: Ipv4Addr::new(198, 18, 0, 7), ..tcp_reply(&probe, open, tcp(&probe).seq.wrapping_add(1)) }, // not to us
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
    let mut engine = ProbeEngine::new(SynScan, config(), CookieKey::new(1, 2), SCANNER, vec![target(HOST)], ports, now);
    let burst = std::iter::from_fn(|| engine.poll_transmit(now)).count();
    assert_eq!(burst, 32);
}

#[test]
fn the_window_grows_as_answers_come() {
    let ports: Vec<u16> = (1..=2000).collect();
    let mut sim = Sim::new(config(), &[HOST], &ports, &[]);
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
    let mut engine = ProbeEngine::new(SynScan, config, CookieKey::new(1, 2), SCANNER, vec![target(HOST)], ports, start);
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
    let mut sim = Sim::new(config, &[HOST], &[1, 2, 3, 4, 5], &[]);
    sim.run(Duration::from_secs(60));
    let times: Vec<Instant> = sim.sent.iter().map(|(at, _)| *at).collect();
    assert!(times.windows(2).all(|w| w[1] - w[0] >= MS(10)), "probes at least 10 ms apart");
}

#[test]
fn scan_delay_spaces_the_probes() {
    let config = RawConfig { timing: Timing { scan_delay: MS(400), ..Timing::default() }, ..config() };
    let mut sim = Sim::new(config, &[HOST], &[1, 2, 3], &[]);
    sim.run(Duration::from_secs(60));
    let times: Vec<Instant> = sim.sent.iter().map(|(at, _)| *at).collect();
    assert_eq!(times[1] - times[0], MS(400));
    assert_eq!(times[2] - times[1], MS(400));
}

#[test]
fn host_timeout_gives_up_on_a_slow_host() {
    // The silent host needs two 100 ms timeouts to be decided: longer than its 150 ms limit.
    let config = RawConfig { timing: Timing { host_timeout: Some(MS(150)), ..Timing::default() }, ..config() };
    let slow = Ipv4Addr::new(198, 18, 0, 3);
    let mut sim = Sim::new(config, &[HOST, slow], &[80], &[((slow, 80), Behaviour::Drop)]);
    sim.run(Duration::from_secs(60));
    assert!(sim.engine.is_finished());
    let results = sim.engine.into_results();
    assert_eq!(results[0].status, HostStatus::Up { reason: Reason::Reset });
    assert_eq!(results[1].status, HostStatus::TimedOut);
    assert!(results[1].ports.is_empty());
}

#[test]
fn silent_hosts_are_down_unless_assumed_up() {
    let mut sim = Sim::new(config(), &[HOST], &[80], &[((HOST, 80), Behaviour::Drop)]);
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.engine.into_results()[0].status, HostStatus::Down);
    let mut sim = Sim::new(RawConfig { assume_up: true, ..config() }, &[HOST], &[80], &[((HOST, 80), Behaviour::Drop)]);
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.engine.into_results()[0].status, HostStatus::Up { reason: Reason::UserSet });
}

#[test]
fn every_slot_is_probed_once_across_many_hosts() {
    let hosts: Vec<Ipv4Addr> = (0..64).map(|i| Ipv4Addr::new(198, 19, 0, i)).collect();
    let mut sim = Sim::new(config(), &hosts, &[22, 80, 443], &[]);
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.sent.len(), 64 * 3);
    let mut distinct: Vec<(Ipv4Addr, u16)> = sim.sent.iter().map(|(_, p)| (p.dst, tcp(p).dst_port)).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 64 * 3);
    // Pseudo-random order: the first probes do not all go to one host.
    let first_hosts: std::collections::HashSet<Ipv4Addr> = sim.sent[..16].iter().map(|(_, p)| p.dst).collect();
    assert!(first_hosts.len() > 8);
}

/// 300 closed ports on a host that replies at most once per 10 ms.
fn reply_limited(max_scan_delay: Duration) -> Sim {
    let ports: Vec<u16> = (1..=300).collect();
    let config = RawConfig { timing: Timing { max_scan_delay, ..Timing::default() }, ..config() };
    let mut sim = Sim::new(config, &[HOST], &ports, &[]);
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
    let results = sim.engine.into_results();
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
    let mut sim = Sim::new(config(), &[HOST], &ports, &[]);
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.engine.scan_delay(), Duration::ZERO);
}

#[test]
fn random_loss_never_turns_a_closed_port_filtered() {
    // Regression: with 5 % loss each way, Nmap's rule (one retransmission more than the deepest
    // answered try) let about one port in a thousand run out of tries and come out filtered.
    // Two more than the deepest still failed about one scan in 200 (seeds 370, 530 and 567 of
    // 600 tried, and once in CI's lab); the allowance now also follows the measured loss rate.
    use rand::SeedableRng;
    let ports: Vec<u16> = (1..=1000).collect();
    for seed in (0..40).chain([370, 530, 567]) {
        let mut sim = Sim::new(config(), &[HOST], &ports, &[]);
        sim.loss = Some((0.05, rand::rngs::StdRng::seed_from_u64(seed)));
        sim.run(Duration::from_secs(600));
        let results = sim.engine.into_results();
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
    let mut engine =
        ProbeEngine::new(SynScan, config, CookieKey::new(1, 2), SCANNER, vec![target(HOST)], vec![80], now);
    engine.hosts[0].retries.answered_on(300);
    assert!(engine.hosts[0].retries.may_retry_after(255));
    let probe = engine.poll_transmit(now).unwrap();
    assert_eq!(tcp(&probe).dst_port, 80);
    engine.retire(0);
    engine.outstanding.insert(
        0,
        Sent {
            try_number: 255,
            at: now,
            deadline: now,
            in_pipe: false,
            silent_before: None,
            previous_lost_at: Some(now),
        },
    );
    engine.deadlines.push(Reverse((now, 0)));
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
    let hosts: Vec<Ipv4Addr> = (0..4096u32).map(|i| Ipv4Addr::from(0xc613_0000 + i)).collect();
    let behaviour: Vec<_> = hosts.iter().step_by(64).map(|&h| ((h, 80), Behaviour::Open)).collect();
    let mut all_silent: Vec<_> = hosts.iter().map(|&h| ((h, 80), Behaviour::Drop)).collect();
    all_silent.retain(|(key, _)| !behaviour.iter().any(|(open, _)| open == key));
    all_silent.extend(behaviour);
    let mut sim = Sim::new(config(), &hosts, &[80], &all_silent);
    let start = sim.now;
    sim.run(Duration::from_secs(600));
    assert!(sim.engine.is_finished());
    let took = sim.now - start;
    assert!(took < Duration::from_millis(1500), "4096 hosts, 64 answering, took {took:?}");
    let results = sim.engine.into_results();
    assert_eq!(results.iter().filter(|h| h.is_up()).count(), 64);
}

#[test]
fn a_burst_of_early_losses_does_not_slow_the_rest_of_the_scan() {
    // Regression: loopback dropped a burst of early RSTs; every answer to their retransmissions
    // was judged fresh loss, the window sat at its floor and the scan delay doubled to its 1 s
    // cap, so `-p- 127.0.0.1` finished its last 520 ports at one a second. One burst is one
    // loss event: it cuts the window once, and the scan goes on at the pace the path carries.
    let ports: Vec<u16> = (1..=20_000).collect();
    let mut sim = Sim::new(config(), &[HOST], &ports, &[]);
    sim.outage = Some((sim.now + MS(6), sim.now + MS(12)));
    let start = sim.now;
    sim.run(Duration::from_secs(600));
    assert!(sim.engine.is_finished());
    let took = sim.now - start;
    assert!(took < Duration::from_secs(2), "20,000 closed ports after a 6 ms outage took {took:?}");
    assert_eq!(sim.engine.scan_delay(), Duration::ZERO);
    let results = sim.engine.into_results();
    assert!(results[0].ports.iter().all(|p| p.state == PortState::Closed));
}

#[test]
fn lost_probes_are_sent_again_once_later_ones_are_answered() {
    // With 5 % loss each way, about one port in ten needs a retransmission and one in a
    // hundred two. Waiting Nmap's 100 ms minimum timeout for each round made the lossy lab
    // scan twice as slow as the clean one; a probe overtaken by answers to later probes (or
    // among the scan's last) is sent again once it is a round trip late.
    use rand::SeedableRng;
    let ports: Vec<u16> = (1..=2000).collect();
    let mut sim = Sim::new(config(), &[HOST], &ports, &[]);
    sim.loss = Some((0.05, rand::rngs::StdRng::seed_from_u64(7)));
    let start = sim.now;
    sim.run(Duration::from_secs(60));
    let took = sim.now - start;
    let results = sim.engine.into_results();
    assert!(results[0].ports.iter().all(|p| p.state == PortState::Closed));
    // Before, three rounds of the 100 ms timeout: 302 ms.
    assert!(took < MS(150), "2000 ports over a 2 ms path with 5 % loss took {took:?}");
    assert!(sim.sent.len() < 2300, "about one retransmission per lost probe: {}", sim.sent.len());
}
