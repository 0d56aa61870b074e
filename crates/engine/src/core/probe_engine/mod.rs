//! The raw-packet scan engine: a sans-IO state machine fed instants and replies, which says
//! what to send and when, and what each port turned out to be. The [`runner`] drives it over
//! raw sockets; tests drive it with a virtual clock.
//!
//! Masscan's shape with Nmap's manners: probes carry keyed cookies and go out in a
//! pseudo-random order over the (host, port) space, while a congestion window, per-host RTT
//! estimates and Nmap's retransmission rule adapt the pace to what the path delivers.

mod path;
pub mod runner;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::{HostResult, HostStatus, PortResult, PortState, Reason, Target};
use probes::{Echo, ErrorsAnswer, ProbeFields, QuotedProbe, Response, Technique, Transport};

use crate::{
    CongestionWindow, CookieKey, IcmpLimit, Judgement, LossRate, LostTries, Pacer, Permutation, RetryAllowance,
    RttEstimator, Sending, Source, Timing,
};

/// Settings of a raw scan.
#[derive(Debug, Clone)]
pub struct RawConfig {
    pub timing: Timing,
    /// `--max-rate`: probes per second at most.
    pub max_rate: Option<f64>,
    /// `--min-rate`: probes per second at least, even when the window is full.
    pub min_rate: Option<f64>,
    /// `-Pn`
    pub assume_up: bool,
    /// `-r`: ports in numerical order, each one on every host before the next, instead of a
    /// pseudo-random order over every host and port.
    pub sequential_ports: bool,
    pub source: Source,
}

/// One probe to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ip_id: u16,
    pub transport: Transport,
}

/// The order the (host, port) slots are first probed in.
enum ScanOrder {
    /// Pseudo-random over every host and port: no host sees a burst.
    Shuffled(Permutation),
    /// Each port, in the order given, on every host before the next (`-r`).
    PortByPort { hosts: u64, ports: u64 },
}

impl ScanOrder {
    fn new(sequential_ports: bool, hosts: u64, ports: u64, rng: &mut impl rand::Rng) -> ScanOrder {
        if sequential_ports {
            ScanOrder::PortByPort { hosts, ports }
        } else {
            ScanOrder::Shuffled(Permutation::new(hosts * ports, (rng.random(), rng.random())))
        }
    }

    fn len(&self) -> u64 {
        match self {
            ScanOrder::Shuffled(permutation) => permutation.len(),
            ScanOrder::PortByPort { hosts, ports } => hosts * ports,
        }
    }

    /// The slot probed `index`-th.
    fn at(&self, index: u64) -> u64 {
        match self {
            ScanOrder::Shuffled(permutation) => permutation.at(index),
            ScanOrder::PortByPort { hosts, ports } => (index % hosts) * ports + index / hosts,
        }
    }
}

/// What one engine scans: every port of `ports` on every target, all reached from `source`.
#[derive(Debug, Clone)]
pub struct ScanGroup {
    pub source: Ipv4Addr,
    pub targets: Vec<Target>,
    pub ports: Vec<u16>,
}

/// A port whose state became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub addr: Ipv4Addr,
    pub port: u16,
    pub state: PortState,
}

/// What a port turned out to be, the TTL of the packet that said so, and who sent it when
/// not the target (a router answering for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdict {
    state: PortState,
    reason: Reason,
    ttl: Option<u8>,
    by_router: Option<Ipv4Addr>,
}

/// The first step of an adaptive scan delay.
const FIRST_SCAN_DELAY: Duration = Duration::from_millis(5);

/// How long a grown scan delay must go without new loss before it is halved: long enough that
/// a host rationing its replies is not tested with faster probes at every answer.
const SCAN_DELAY_RELAXES_AFTER: Duration = Duration::from_secs(1);

/// A host whose answers show more than this share of its tries lost is being sent more than
/// it answers (a host rationing its replies, as BSDs limit their RSTs), whatever the path
/// shows: most of its lost tries are of ports that never answer, whose losses the window's
/// ledger never sees.
const HOST_OVERRUN_LOSS: f64 = 0.5;

/// Probes in flight at most when neither `--max-parallelism` nor the caller says otherwise.
const DEFAULT_MAX_WINDOW: usize = 16_384;

/// A try of a slot to send: a new port, a retransmission, or a held try going out again.
#[derive(Debug, Clone, Copy)]
struct Try {
    slot: u64,
    number: u8,
    /// When this same try went out before, if its silence then proved nothing. An answer may
    /// be to either sending, so it dates nothing.
    silent_before: Option<Instant>,
    /// The earlier tries that went unanswered: the losses an answer to this one shows.
    lost: Option<LostTries>,
    /// Not a try of the slot but its host's canary, sent after the host's silent ports went
    /// again: its error proves the host had errors to spare for them.
    canary: Option<Canary>,
}

/// A probe that draws an ICMP error from a host that has one to spare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Canary {
    /// A port of the scan that answered with an error from the host itself.
    Port(u64),
    /// A UDP datagram to a port that is most likely closed: its port unreachable comes from
    /// the same per-peer bucket as any other error (Linux's rationing is per destination).
    /// For a host no port of the scan drew an error from, as one whose firewall only drops.
    Udp,
}

/// Where the UDP canary goes: Nmap's default UDP ping port, chosen as unlikely to be open.
pub const CANARY_UDP_PORT: u16 = 40125;
/// Held tries sent again per canary: fewer than a sender's batch, so that a canary goes out in
/// the same batch as the tries it is to prove.
const HELD_PER_CANARY: usize = 32;
/// Ports a host may have to prove silent, where errors are few: past that many, it rejects
/// nearly every port (as iptables' default REJECT does), proving each silence would take a
/// refill period per port, and its silences are believed, as Nmap believes them.
const MAX_PORTS_TO_PROVE: u32 = HELD_PER_CANARY as u32;
/// Held tries a host's canary may answer after without proving, before its silences are
/// believed: when something spaces probes out (`--scan-delay`, `--max-rate`), a canary never
/// leaves in the same batch as the tries it is to prove.
const MAX_UNPROVABLE: u8 = 3;

impl Try {
    fn first(slot: u64) -> Try {
        Try { slot, number: 0, silent_before: None, lost: None, canary: None }
    }

    /// The canary of the host `slot` belongs to.
    fn canary(slot: u64, canary: Canary) -> Try {
        Try { canary: Some(canary), ..Try::first(slot) }
    }
}

struct Sent {
    try_number: u8,
    at: Instant,
    /// Its place in the order of sending (probes sent at one instant are still in order).
    order: u64,
    deadline: Instant,
    /// Still within a round trip of being sent: counted against the congestion window.
    in_pipe: bool,
    /// As in the [`Try`] that was sent.
    silent_before: Option<Instant>,
    lost: Option<LostTries>,
}

/// Which probes past their round trip an answer may show lost.
#[derive(Debug, Clone, Copy)]
enum Overdue {
    /// One host's, by its own answers.
    Host(u32),
    /// Those to hosts not heard from yet, by any host's answers.
    Unheard,
}

struct HostState {
    rtt: RttEstimator,
    retries: RetryAllowance,
    icmp: IcmpLimit,
    /// Tries whose silence proved nothing, waiting to be sent again.
    held: Vec<Try>,
    /// A port that answered with an ICMP error from the host itself, and when the host's
    /// canary was last sent (see [`Canary`]).
    errors_from: Option<u64>,
    canary_sent: Option<Sending>,
    /// Ports whose silence the host has had to prove (see [`MAX_PORTS_TO_PROVE`]), and held
    /// tries its canary answered after without proving them (see [`MAX_UNPROVABLE`]).
    ports_held: u32,
    unprovable: u8,
    first_probe: Option<Instant>,
    /// Whether any probe of this host has been answered (by the host, or by a router for
    /// it): its silences may then be losses. And whether the host itself has.
    answered: bool,
    heard_itself: bool,
    /// When the latest-sent of this host's answered probes went out: probes sent before it
    /// and still unanswered a round trip on were most likely lost.
    latest_answered_send: Option<Instant>,
    /// Probes past their round trip without an answer, in the order they went out, with when:
    /// lost as soon as a probe sent after them is answered.
    overdue: VecDeque<(Instant, u64)>,
    timed_out: bool,
    /// For a technique that finds hosts: why the host is up, from its first answer.
    found: Option<Reason>,
}

pub struct ProbeEngine<T> {
    technique: T,
    config: RawConfig,
    key: CookieKey,
    source: Ipv4Addr,
    targets: Vec<Target>,
    addrs: Vec<Ipv4Addr>,
    host_index: HashMap<Ipv4Addr, u32>,
    ports: Vec<u16>,
    /// Port number to its index in `ports`, `u32::MAX` for ports not scanned.
    port_index: Box<[u32]>,
    order: ScanOrder,
    cursor: u64,
    /// Final verdict per (host, port) slot; `None` while undecided.
    results: Vec<Option<Verdict>>,
    undecided: u64,
    outstanding: HashMap<u64, Sent>,
    /// Outstanding probes within a round trip of being sent, and when each leaves the pipe.
    in_pipe: usize,
    pipe_exits: BinaryHeap<Reverse<(Instant, u64)>>,
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    host_deadlines: BinaryHeap<Reverse<(Instant, u32)>>,
    /// When hosts' held tries go out again.
    sweeps: BinaryHeap<Reverse<(Instant, u32)>>,
    /// Tries to send before new work.
    retry_queue: VecDeque<Try>,
    hosts: Vec<HostState>,
    /// Round trips over every host: the timeout of hosts that have not answered yet.
    scan_rtt: RttEstimator,
    /// Loss per try over every host: the retry allowance of hosts whose own answers are too
    /// few to measure theirs.
    scan_loss: LossRate,
    /// When the latest-sent of all answered probes went out, and the probes to hosts not
    /// heard from yet that are past their round trip: as for a host's own (see
    /// [`HostState::overdue`]), but judged by every host's answers.
    latest_answered_send: Option<Instant>,
    unheard_overdue: VecDeque<(Instant, u64)>,
    window: CongestionWindow,
    /// When the window was last cut (or the scan slowed) for loss: for a timeout after, every
    /// try waits its timeout (see [`Self::retransmit_overtaken`]).
    last_cut: Option<Instant>,
    /// Whether the last stretch of outcomes was judged within the loss tolerance: what losses
    /// there are look random, not like a path or host overrun.
    losses_look_random: bool,
    /// `--max-rate`, averaged over a few milliseconds.
    rate: Option<Pacer>,
    /// The scan delay: `--scan-delay`, grown when probes keep being lost at the smallest window,
    /// and when it last changed.
    delay: Pacer,
    delay_changed: Instant,
    started: Instant,
    probes_sent: u64,
    timestamp_base: u32,
}

impl<T: Technique> ProbeEngine<T> {
    /// An engine for `group`, whose probes carry cookies of `key`. Its random choices (the
    /// order of the probes, the timestamp clock's start) come from `rng`, so that a seeded
    /// simulation repeats exactly.
    ///
    /// # Panics
    /// If a target is not IPv4 (callers route IPv6 targets elsewhere), or an address appears
    /// twice (replies are matched to targets by address; callers split such groups).
    pub fn new(
        technique: T,
        config: RawConfig,
        group: ScanGroup,
        key: CookieKey,
        rng: &mut impl rand::Rng,
        now: Instant,
    ) -> Self {
        let ScanGroup { source, targets, ports } = group;
        let addrs: Vec<Ipv4Addr> = targets.iter().filter_map(Target::ipv4).collect();
        assert_eq!(addrs.len(), targets.len(), "the raw engine scans IPv4 targets only");
        let host_index: HashMap<Ipv4Addr, u32> = addrs.iter().enumerate().map(|(i, &a)| (a, i as u32)).collect();
        assert_eq!(host_index.len(), addrs.len(), "each address appears once in a raw-engine group");
        let mut port_index = vec![u32::MAX; 65536].into_boxed_slice();
        for (i, &port) in ports.iter().enumerate() {
            port_index[usize::from(port)] = i as u32;
        }
        let slots = targets.len() as u64 * ports.len() as u64;
        let order = ScanOrder::new(config.sequential_ports, targets.len() as u64, ports.len() as u64, rng);
        let timing = &config.timing;
        let hosts = targets
            .iter()
            .map(|_| HostState {
                rtt: RttEstimator::new(timing.initial_rtt_timeout, timing.min_rtt_timeout, timing.max_rtt_timeout),
                retries: RetryAllowance::new(timing.max_retries),
                icmp: IcmpLimit::default(),
                held: Vec::new(),
                errors_from: None,
                canary_sent: None,
                ports_held: 0,
                unprovable: 0,
                first_probe: None,
                answered: false,
                heard_itself: false,
                latest_answered_send: None,
                overdue: VecDeque::new(),
                timed_out: false,
                found: None,
            })
            .collect();
        let scan_rtt = RttEstimator::new(timing.initial_rtt_timeout, timing.min_rtt_timeout, timing.max_rtt_timeout);
        let max_window = timing.max_parallelism.unwrap_or(DEFAULT_MAX_WINDOW);
        ProbeEngine {
            technique,
            key,
            source,
            targets,
            addrs,
            host_index,
            ports,
            port_index,
            order,
            cursor: 0,
            results: vec![None; slots as usize],
            undecided: slots,
            outstanding: HashMap::new(),
            in_pipe: 0,
            pipe_exits: BinaryHeap::new(),
            deadlines: BinaryHeap::new(),
            host_deadlines: BinaryHeap::new(),
            sweeps: BinaryHeap::new(),
            retry_queue: VecDeque::new(),
            hosts,
            scan_rtt,
            scan_loss: LossRate::default(),
            latest_answered_send: None,
            unheard_overdue: VecDeque::new(),
            window: CongestionWindow::new(max_window, timing.min_parallelism, now),
            last_cut: None,
            losses_look_random: false,
            rate: config.max_rate.map(Pacer::per_second),
            delay: Pacer::with_interval(timing.scan_delay),
            delay_changed: now,
            started: now,
            probes_sent: 0,
            timestamp_base: rng.random(),
            config,
        }
    }

    /// The protocol of the ports this engine scans.
    pub fn protocol(&self) -> model::Protocol {
        self.technique.protocol()
    }

    /// How many (host, port) slots have their verdict, of how many.
    pub fn progress(&self) -> (u64, u64) {
        (self.order.len() - self.undecided, self.order.len())
    }

    pub fn is_finished(&self) -> bool {
        self.undecided == 0
    }

    fn max_try(&self) -> u8 {
        u8::try_from(self.config.timing.max_retries).unwrap_or(u8::MAX)
    }

    fn slot_of(&self, host: u32, port_index: u32) -> u64 {
        u64::from(host) * self.ports.len() as u64 + u64::from(port_index)
    }

    fn host_of(&self, slot: u64) -> u32 {
        (slot / self.ports.len() as u64) as u32
    }

    /// The next probe to send at `now`, if the window, the pacing and the work allow one.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Probe> {
        self.expire(now);
        if !self.may_send(now) {
            return None;
        }
        let next = self.next_work()?;
        if let Some(rate) = &mut self.rate {
            rate.claim(now);
        }
        self.delay.claim(now);
        Some(self.send(next, now))
    }

    fn may_send(&self, now: Instant) -> bool {
        if self.next_send_slot(now) > now {
            return false;
        }
        self.in_pipe < self.window.allowed() || self.behind_min_rate(now)
    }

    fn behind_min_rate(&self, now: Instant) -> bool {
        let Some(rate) = self.config.min_rate else { return false };
        let due = now.saturating_duration_since(self.started).as_secs_f64() * rate;
        (self.probes_sent as f64) < due
    }

    fn next_work(&mut self) -> Option<Try> {
        while let Some(again) = self.retry_queue.pop_front() {
            if again.canary.is_some() || self.results[again.slot as usize].is_none() {
                return Some(again);
            }
        }
        while self.cursor < self.order.len() {
            let slot = self.order.at(self.cursor);
            self.cursor += 1;
            if self.results[slot as usize].is_none() {
                return Some(Try::first(slot));
            }
        }
        None
    }

    fn send(&mut self, next: Try, now: Instant) -> Probe {
        let Try { slot, number: try_number, silent_before, lost, canary } = next;
        let host = self.host_of(slot);
        let probe = match canary {
            Some(Canary::Udp) => self.udp_canary(host),
            Some(Canary::Port(port)) => self.probe(port, 0, now),
            None => self.probe(slot, try_number, now),
        };
        let sending = Sending { order: self.probes_sent, at: now };
        self.probes_sent += 1;
        let state = &mut self.hosts[host as usize];
        state.icmp.sent(now);
        if canary.is_some() {
            // Nothing waits for its answer: the error it draws only proves a spare.
            state.canary_sent = Some(sending);
            return probe;
        }
        if state.first_probe.is_none() {
            state.first_probe = Some(now);
            if let Some(limit) = self.config.timing.host_timeout {
                self.host_deadlines.push(Reverse((now + limit, host)));
            }
        }
        let deadline = now + self.timeout_for(host);
        self.deadlines.push(Reverse((deadline, slot)));
        let pipe_exit = now + self.scan_rtt.pipe_time();
        self.pipe_exits.push(Reverse((pipe_exit, slot)));
        let sent = Sent { try_number, at: now, order: sending.order, deadline, in_pipe: true, silent_before, lost };
        if let Some(earlier) = self.outstanding.insert(slot, sent) {
            self.leave_pipe(&earlier);
        }
        self.in_pipe += 1;
        self.window.sent(now);
        probe
    }

    /// The UDP canary for `host` (see [`Canary::Udp`]), its cookie in the source port and IP
    /// identification as for any UDP probe.
    fn udp_canary(&self, host: u32) -> Probe {
        let dst = self.addrs[host as usize];
        let cookie = self.key.probe(self.source, dst, CANARY_UDP_PORT, 0);
        let transport =
            Transport::Udp { src_port: cookie.src_port, dst_port: CANARY_UDP_PORT, payload: Arc::from(&[][..]) };
        Probe { src: self.source, dst, ip_id: cookie.ip_id, transport }
    }

    /// The host whose UDP canary `response` answers with an error from the host itself.
    fn udp_canary_answered(&self, response: &Response) -> Option<u32> {
        let Response::Unreachable(error) = response else { return None };
        let QuotedProbe::Udp { src_port, dst_port: CANARY_UDP_PORT } = error.probe else { return None };
        if error.probe_src != self.source || error.from != error.probe_dst {
            return None;
        }
        let host = *self.host_index.get(&error.probe_dst)?;
        let echo = Echo::IpIdent(error.probe_ident);
        self.key.verify(self.source, error.probe_dst, CANARY_UDP_PORT, src_port, echo, 0)?;
        Some(host)
    }

    /// The packet of try `try_number` of `slot`, sent at `now`.
    fn probe(&self, slot: u64, try_number: u8, now: Instant) -> Probe {
        let dst = self.addrs[self.host_of(slot) as usize];
        let dst_port = self.ports[(slot % self.ports.len() as u64) as usize];
        let cookie = self.key.probe(self.source, dst, dst_port, try_number);
        // Like Linux, a timestamp clock in milliseconds from a random start.
        let elapsed_ms = now.saturating_duration_since(self.started).as_millis() as u32;
        let transport = self.technique.probe(ProbeFields {
            dst_port,
            src_port: cookie.src_port,
            seq: cookie.seq,
            timestamp: self.timestamp_base.wrapping_add(elapsed_ms),
        });
        Probe { src: self.source, dst, ip_id: cookie.ip_id, transport }
    }

    /// Stops tracking `slot`'s probe (answered, given up, or its host settled).
    fn retire(&mut self, slot: u64) -> Option<Sent> {
        let sent = self.outstanding.remove(&slot)?;
        self.leave_pipe(&sent);
        Some(sent)
    }

    fn leave_pipe(&mut self, sent: &Sent) {
        if sent.in_pipe {
            self.in_pipe -= 1;
        }
    }

    /// Probes sent more than a round trip ago no longer fill the pipe: silence from a host
    /// that is down or firewalled is not congestion, and must not hold the window shut.
    fn drain_pipe(&mut self, now: Instant) {
        while let Some(&Reverse((exit, slot))) = self.pipe_exits.peek() {
            if exit > now {
                break;
            }
            self.pipe_exits.pop();
            let Some(sent) = self.outstanding.get_mut(&slot).filter(|sent| sent.in_pipe && sent.at < exit) else {
                continue;
            };
            sent.in_pipe = false;
            let sent_at = sent.at;
            self.in_pipe -= 1;
            // At the end of the scan nothing is sent later to overtake the last probes.
            let tail = self.retry_queue.is_empty() && self.cursor >= self.order.len();
            let host_index = self.host_of(slot);
            let host = &mut self.hosts[host_index as usize];
            // A host never heard from may be down, and then its silence says nothing of the
            // path; or its probes were lost, which only other hosts' answers can tell. A host
            // that answers and then falls silent may be losing probes (or rationing its
            // replies), which its own answers tell.
            let (overdue, lost_before) = if host.answered {
                host.overdue.push_back((sent_at, slot));
                (Overdue::Host(host_index), host.latest_answered_send)
            } else {
                self.window.on_silence(self.in_pipe);
                self.unheard_overdue.push_back((sent_at, slot));
                (Overdue::Unheard, self.latest_answered_send)
            };
            if let Some(lost_before) = if tail { Some(now) } else { lost_before } {
                self.retransmit_overtaken(overdue, lost_before, now);
            }
        }
    }

    /// Like TCP's RACK, a probe still unanswered a round trip after it left, when probes sent
    /// to its host after it have been answered, was most likely lost: send the next try now
    /// rather than at the timeout (Nmap's floor of 100 ms per round of retransmissions). A
    /// probe to a host not heard from yet is judged by the answers of every host, which share
    /// the path: it was lost, or the host is down, and another try costs no more now than at
    /// the timeout. At the end of the scan, where nothing is sent later, the last probes are
    /// sent again a round trip on, as TCP's tail loss probe does. An answer to the earlier try
    /// still counts as that try's.
    ///
    /// Only while the path shows no congestion, though: a host rationing its replies loses
    /// most probes until the pace is found, and retransmitting at the pace of its answers would
    /// spend every port's tries before then. So every try waits its timeout after a cut or with
    /// the scan delay grown (which also gives a cut time to take effect), and until a window of
    /// answers has been judged within the loss tolerance only a port's first retransmission
    /// goes early.
    fn retransmit_overtaken(&mut self, overdue: Overdue, lost_before: Instant, now: Instant) {
        if self.early_retransmission_held(now) {
            return;
        }
        loop {
            let queue = match overdue {
                Overdue::Host(host) => &mut self.hosts[host as usize].overdue,
                Overdue::Unheard => &mut self.unheard_overdue,
            };
            let Some((sent_at, slot)) = queue.front().copied().filter(|&(sent_at, _)| sent_at < lost_before) else {
                break;
            };
            queue.pop_front();
            // Only if that very sending, a first try, is still unanswered, and the port has a try
            // to spare.
            let Some(sent) = self.outstanding.get(&slot).filter(|sent| sent.at == sent_at) else { continue };
            let early = sent.try_number == 0 || self.losses_look_random;
            let retries = &self.hosts[self.host_of(slot) as usize].retries;
            if early && retries.may_retry_after(u32::from(sent.try_number), &self.scan_loss) {
                let sent = self.retire(slot).expect("outstanding");
                self.after_silence(slot, sent, now);
            }
        }
    }

    /// Whether every try waits its timeout: for a round trip after a cut, while it takes
    /// effect, or while the scan delay is grown (see [`Self::retransmit_overtaken`]).
    fn early_retransmission_held(&self, now: Instant) -> bool {
        self.last_cut.is_some_and(|cut| now < cut + self.scan_rtt.pipe_time()) || self.delay_grown()
    }

    /// How long after a probe leaves its fate is known: a loss shows when the next try of its
    /// port is answered, a round trip after that try leaves, which is at the probe's pipe exit
    /// at the earliest, or at its timeout while early retransmission is held.
    fn loss_shows_after(&self, now: Instant) -> Duration {
        let next_try =
            if self.early_retransmission_held(now) { self.scan_rtt.timeout() } else { self.scan_rtt.pipe_time() };
        next_try + self.scan_rtt.pipe_time()
    }

    /// Retransmits or gives up on probes whose timeout passed, sends held tries again when
    /// their host's turn comes, and skips hosts past `--host-timeout`.
    fn expire(&mut self, now: Instant) {
        self.drain_pipe(now);
        while let Some(&Reverse((deadline, host))) = self.host_deadlines.peek() {
            if deadline > now {
                break;
            }
            self.host_deadlines.pop();
            self.time_out_host(host);
        }
        while let Some(&Reverse((at, host))) = self.sweeps.peek() {
            if at > now {
                break;
            }
            self.sweeps.pop();
            self.sweep(host);
        }
        while let Some(&Reverse((deadline, slot))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            if self.outstanding.get(&slot).is_none_or(|sent| sent.deadline != deadline) {
                continue; // answered, or superseded by a later sending
            }
            let sent = self.retire(slot).expect("checked above");
            if sent.try_number > 0 && self.hosts[self.host_of(slot) as usize].answered {
                self.silent_retransmission(now);
            }
            self.after_silence(slot, sent, now);
        }
    }

    /// A retransmission to a host that answers timed out too. While probes are spaced out in
    /// time, the spacing may be too tight for a host rationing its replies, whose losses can
    /// hide from the answers (see [`CongestionWindow::on_silent_retransmission`]): widen it
    /// again, at most once per timeout. (A filtered port on such a host does the same, and
    /// only costs the scan some speed while it is being spaced out.)
    fn silent_retransmission(&mut self, now: Instant) {
        self.window.on_silent_retransmission();
        if self.delay_grown() && now >= self.delay_changed + self.scan_rtt.timeout() {
            self.last_cut = Some(now);
            self.window.new_loss_event(now);
            self.slow_down(now);
        }
    }

    /// A try went unanswered: send it again later if its silence proved nothing, else retry
    /// or give the port up by the host's retry allowance.
    fn after_silence(&mut self, slot: u64, sent: Sent, now: Instant) {
        let host = self.host_of(slot);
        let state = &self.hosts[host as usize];
        // Try numbers ride in a byte: past 255 tries (a --max-retries that large) the port is
        // given up like any other.
        let next_try = sent.try_number.checked_add(1);
        let retry = next_try.filter(|_| state.retries.may_retry_after(u32::from(sent.try_number), &self.scan_loss));
        // Where closed ports answer with errors, any silence may be a rationed error, and the
        // try goes again as it was until its silence counts. Where only rejected ports do,
        // silence is first taken for loss, and only the verdict waits.
        let needs_proof = match self.technique.errors_answer() {
            ErrorsAnswer::Never => false,
            ErrorsAnswer::RejectedPorts => retry.is_none() && state.heard_itself,
            ErrorsAnswer::ClosedPorts => true,
        };
        if needs_proof && !self.silence_counts(host, &sent) {
            let held =
                Try { silent_before: Some(sent.at), number: sent.try_number, lost: sent.lost, ..Try::first(slot) };
            self.hold(host, held, sent.silent_before.is_none(), now);
            return;
        }
        match retry {
            Some(number) => {
                let lost = Some(LostTries::and(sent.lost, sent.at));
                self.retry_queue.push_back(Try { number, lost, ..Try::first(slot) });
            }
            None => self.decide_silent(slot),
        }
    }

    /// Whether the silence of `sent` is the port's own, not an error the host rationed: it
    /// left a quiet period after the host's last error; or, where errors are few, a probe
    /// sent right after it drew one, or proving is out of reach (see [`MAX_PORTS_TO_PROVE`]
    /// and [`MAX_UNPROVABLE`]).
    fn silence_counts(&mut self, host: u32, sent: &Sent) -> bool {
        let errors_rare = self.technique.errors_answer() == ErrorsAnswer::RejectedPorts;
        let state = &mut self.hosts[host as usize];
        let sending = Sending { order: sent.order, at: sent.at };
        if state.icmp.silence_counts(sent.at) || errors_rare && state.icmp.spare_proven(sending) {
            return true;
        }
        if !errors_rare {
            return false;
        }
        let answered_after =
            state.canary_sent.is_some_and(|canary| canary.order > sent.order && state.icmp.spare_since(canary));
        state.unprovable = state.unprovable.saturating_add(u8::from(answered_after));
        state.ports_held > MAX_PORTS_TO_PROVE || state.unprovable > MAX_UNPROVABLE
    }

    /// Keeps `again` for the host's next sweep, scheduling one if none is; `first_time` if
    /// its port was not held before.
    fn hold(&mut self, host: u32, again: Try, first_time: bool, now: Instant) {
        if self.hosts[host as usize].held.is_empty() {
            let at = self.next_sweep(host, now);
            self.sweeps.push(Reverse((at, host)));
        }
        let state = &mut self.hosts[host as usize];
        state.ports_held += u32::from(first_time);
        state.held.push(again);
    }

    /// When a host's held tries go out again: where errors are few and the host's canary has
    /// yet to fail, as soon as the ports timing out about now have joined them (a pipe time),
    /// since the canary's error will show at once whether the host has one to spare; else as
    /// its error rationing allows, and at the latest when silence starts to count.
    fn next_sweep(&mut self, host: u32, now: Instant) -> Instant {
        let timeout = self.timeout_for(host);
        let gather = self.scan_rtt.pipe_time();
        let state = &mut self.hosts[host as usize];
        let rationing = state.icmp.probe_again_after(timeout);
        let canaries = self.technique.errors_answer() == ErrorsAnswer::RejectedPorts;
        let canary_may_answer = canaries && state.canary_sent.is_none_or(|sent| state.icmp.spare_since(sent));
        let regular = now + if canary_may_answer { gather } else { rationing };
        let quiet = state.icmp.quiet_from().map_or(regular, |quiet| quiet.max(now));
        regular.min(quiet)
    }

    /// Sends the host's held tries again. Where errors are few (only rejected ports send
    /// them), one spent on a canary is cheap: one follows each batch's worth of held tries.
    /// Where closed ports send them, they are what the sweep waits for.
    fn sweep(&mut self, host: u32) {
        let errors_rare = self.technique.errors_answer() == ErrorsAnswer::RejectedPorts;
        let first_slot = self.slot_of(host, 0);
        let state = &mut self.hosts[host as usize];
        let canary = Try::canary(first_slot, state.errors_from.map_or(Canary::Udp, Canary::Port));
        for held in std::mem::take(&mut state.held).chunks(HELD_PER_CANARY) {
            self.retry_queue.extend(held);
            if errors_rare {
                self.retry_queue.push_back(canary);
            }
        }
    }

    fn time_out_host(&mut self, host: u32) {
        let first = self.slot_of(host, 0);
        let undecided: Vec<u64> =
            (first..first + self.ports.len() as u64).filter(|&s| self.results[s as usize].is_none()).collect();
        if undecided.is_empty() {
            return;
        }
        self.hosts[host as usize].timed_out = true;
        for slot in undecided {
            self.retire(slot);
            self.decide_silent(slot);
        }
    }

    /// What silence after every allowed try means for the technique.
    fn decide_silent(&mut self, slot: u64) {
        let (state, reason) = self.technique.on_timeout();
        self.decide(slot, Verdict { state, reason, ttl: None, by_router: None });
    }

    fn decide(&mut self, slot: u64, verdict: Verdict) {
        let result = &mut self.results[slot as usize];
        if result.is_none() {
            *result = Some(verdict);
            self.undecided -= 1;
        }
    }

    /// Learns from a packet received at `now`. Returns the port it settled, if it proves to be
    /// a new answer to one of this engine's probes; anything else is ignored.
    pub fn handle(&mut self, response: &Response, now: Instant) -> Option<Settled> {
        if let Some(host) = self.udp_canary_answered(response) {
            let state = &mut self.hosts[host as usize];
            state.icmp.heard_error(now, state.canary_sent);
            return None;
        }
        let answer = self.technique.read(response)?;
        if answer.scanner != self.source {
            return None;
        }
        let (addr, port) = (answer.target, answer.target_port);
        let host = *self.host_index.get(&addr)?;
        let port_index = self.port_index[usize::from(port)];
        if port_index == u32::MAX {
            return None;
        }
        let try_number = self.key.verify(self.source, addr, port, answer.scanner_port, answer.echo, self.max_try())?;
        let slot = self.slot_of(host, port_index);
        // A router's errors say nothing of the target's own rationing, nor that it is up.
        let from_target = answer.sender == addr;
        let target_error = answer.by_icmp && from_target && self.technique.errors_answer() != ErrorsAnswer::Never;
        if target_error {
            self.heard_error(slot, host, try_number, now);
        }
        if self.results[slot as usize].is_some() {
            return None;
        }
        self.learn(slot, host, try_number, now);
        let state = &mut self.hosts[host as usize];
        state.heard_itself |= from_target;
        if target_error {
            state.errors_from.get_or_insert(slot);
        }
        let by_router = (!from_target).then_some(answer.sender);
        let verdict = Verdict { state: answer.state, reason: answer.reason, ttl: Some(answer.ttl), by_router };
        self.decide(slot, verdict);
        if self.technique.finds_hosts() {
            self.found_host(host, verdict);
        }
        Some(Settled { addr, port, state: answer.state })
    }

    /// One answer settles a host for a technique that finds hosts: its other probes are
    /// neither waited for nor sent again.
    fn found_host(&mut self, host: u32, verdict: Verdict) {
        self.hosts[host as usize].found.get_or_insert(verdict.reason);
        let first = self.slot_of(host, 0);
        for slot in first..first + self.ports.len() as u64 {
            self.retire(slot);
            self.decide(slot, verdict);
        }
    }

    /// An ICMP error about `slot` came from its host. If this try had gone out before without
    /// an answer, the host had no error to spare back then: the error bucket was empty.
    ///
    /// The error also proves the host had one to spare when the probe arrived, if it is known
    /// which sending drew it: the only sending of try `try_number`, or the canary's.
    fn heard_error(&mut self, slot: u64, host: u32, try_number: u8, now: Instant) {
        let timeout = self.timeout_for(host);
        let sent = self.outstanding.get(&slot);
        let silent_before = sent.and_then(|sent| sent.silent_before);
        let state = &mut self.hosts[host as usize];
        let spared_at = match sent {
            Some(sent) if sent.try_number == try_number && sent.silent_before.is_none() => {
                Some(Sending { order: sent.order, at: sent.at })
            }
            Some(_) => None,
            None => state.canary_sent.filter(|_| state.errors_from == Some(slot)),
        };
        if let Some(at) = silent_before {
            state.icmp.ran_dry_at(at, timeout);
        }
        state.icmp.heard_error(now, spared_at);
    }

    /// How long to wait for an answer from `host`: its own estimate once it has answered,
    /// else the scan's (as Nmap times new hosts by their group).
    fn timeout_for(&self, host: u32) -> Duration {
        let own = &self.hosts[host as usize].rtt;
        if own.srtt().is_some() {
            own.timeout()
        } else {
            self.scan_rtt.timeout()
        }
    }

    /// Timing lessons from an answer to try `try_number` of `slot`.
    fn learn(&mut self, slot: u64, host: u32, try_number: u8, now: Instant) {
        let sent = self.retire(slot);
        if let Some(sent) = &sent {
            // Only an answer to the latest try dates from a known send time (Karn's rule).
            if sent.try_number == try_number && sent.silent_before.is_none() {
                let rtt = now.saturating_duration_since(sent.at);
                let first_of_scan = self.scan_rtt.srtt().is_none();
                self.hosts[host as usize].rtt.sample(rtt);
                self.scan_rtt.sample(rtt);
                if first_of_scan {
                    self.reschedule_outstanding();
                }
            }
        }
        let state = &mut self.hosts[host as usize];
        state.answered = true;
        state.retries.answered_on(u32::from(try_number));
        self.scan_loss.answered_on(u32::from(try_number));
        if let Some(sent) = &sent {
            state.latest_answered_send = state.latest_answered_send.max(Some(sent.at));
            self.latest_answered_send = self.latest_answered_send.max(Some(sent.at));
            self.retransmit_overtaken(Overdue::Host(host), sent.at, now);
            self.retransmit_overtaken(Overdue::Unheard, sent.at, now);
        }
        // An answer to the latest try shows the tries before it lost; an answer to the try
        // before the latest shows that one delivered after all. (The cookie says which try
        // answered.)
        let (delivered, lost) = match &sent {
            Some(sent) if sent.try_number == try_number => (Some(sent.at), sent.lost),
            Some(Sent { try_number: latest, lost: Some(lost), .. }) if try_number.checked_add(1) == Some(*latest) => {
                (Some(lost.last), lost.before_last())
            }
            _ => (None, None),
        };
        // The answered probe has just left the flight.
        let flight = self.in_pipe + 1;
        self.window.on_answer(delivered, lost, flight);
        // (Where closed ports answer with errors, a host answering on later tries is most
        // likely rationing them, which sweeps at its pace deal with.)
        let rations_answers = self.technique.errors_answer() == ErrorsAnswer::ClosedPorts;
        let host_loss =
            self.hosts[host as usize].retries.loss().filter(|&loss| loss > HOST_OVERRUN_LOSS && !rations_answers);
        let judged = match host_loss {
            Some(loss) if !self.early_retransmission_held(now) => self.window.host_overrun(loss, flight, now),
            _ => self.window.judge(now.checked_sub(self.loss_shows_after(now)).unwrap_or(self.started), now),
        };
        match judged {
            Judgement::Pending => {}
            Judgement::Tolerable => self.losses_look_random = true,
            // The loss is the path's: nothing to wait out before retransmitting early.
            Judgement::Undone => {
                self.losses_look_random = true;
                self.last_cut = None;
            }
            Judgement::Clean => {
                self.losses_look_random = true;
                self.speed_up(now);
            }
            judgement @ (Judgement::Cut | Judgement::OverrunAtFloor) => {
                self.losses_look_random = false;
                self.last_cut = Some(now);
                // Once probes are spaced out in time, the spacing sets the pace, not the window.
                if judgement == Judgement::OverrunAtFloor || self.delay_grown() {
                    self.slow_down(now);
                }
            }
        }
    }

    /// When both the rate and the scan delay allow the next probe.
    fn next_send_slot(&self, now: Instant) -> Instant {
        let delayed = self.delay.next_slot(now);
        self.rate.as_ref().map_or(delayed, |rate| rate.next_slot(now).max(delayed))
    }

    /// Probes are still lost with a single one in flight: space them out in time, as Nmap does,
    /// from 5 ms and doubling, up to `--max-scan-delay` (never below `--scan-delay`).
    fn slow_down(&mut self, now: Instant) {
        let current = self.delay.interval();
        let wanted = if current.is_zero() { FIRST_SCAN_DELAY } else { current * 2 };
        let cap = self.config.timing.max_scan_delay.max(self.config.timing.scan_delay);
        self.delay.set_interval(wanted.min(cap).max(current));
        self.delay_changed = now;
    }

    /// A window of answers came without loss: once the scan delay has gone a while without new
    /// loss, halve it, back down to `--scan-delay`. (Nmap never lowers it, so a burst of loss
    /// early on slows a long scan to its end.)
    fn speed_up(&mut self, now: Instant) {
        if !self.delay_grown() || now < self.delay_changed + SCAN_DELAY_RELAXES_AFTER {
            return;
        }
        let halved = self.delay.interval() / 2;
        let wanted = if halved < FIRST_SCAN_DELAY { Duration::ZERO } else { halved };
        self.delay.set_interval(wanted.max(self.config.timing.scan_delay));
        self.delay_changed = now;
    }

    /// Whether the scan delay has grown past `--scan-delay` for loss: probes are spaced out in
    /// time, and the spacing, not the window, sets the pace.
    fn delay_grown(&self) -> bool {
        self.delay.interval() > self.config.timing.scan_delay
    }

    /// The scan delay in force now.
    pub fn scan_delay(&self) -> Duration {
        self.delay.interval()
    }

    /// The probes sent before the scan's first round trip was measured wait with the initial
    /// timeout (a second by default), and stay in the pipe for the minimum timeout; like Nmap,
    /// judge them by what is known now instead. This runs once per scan, over the first window
    /// of probes.
    fn reschedule_outstanding(&mut self) {
        let pipe_time = self.scan_rtt.pipe_time();
        let slots: Vec<u64> = self.outstanding.keys().copied().collect();
        for slot in slots {
            let timeout = self.timeout_for(self.host_of(slot));
            let sent = self.outstanding.get_mut(&slot).expect("listed above");
            sent.deadline = sent.at + timeout;
            self.deadlines.push(Reverse((sent.deadline, slot)));
            self.pipe_exits.push(Reverse((sent.at + pipe_time, slot)));
        }
    }

    /// When `poll_transmit` may next have something to do, if nothing arrives before.
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        let deadline = self.deadlines.peek().map(|Reverse((at, _))| *at);
        let host_deadline = self.host_deadlines.peek().map(|Reverse((at, _))| *at);
        let sweep = self.sweeps.peek().map(|Reverse((at, _))| *at);
        let has_work = !self.retry_queue.is_empty() || self.cursor < self.order.len();
        let pacing = has_work.then(|| self.next_send_slot(now));
        // A probe leaving the pipe opens a full window, and may be found lost.
        let pipe_exit = self.pipe_exits.peek().map(|Reverse((at, _))| *at);
        [deadline, host_deadline, sweep, pacing, pipe_exit].into_iter().flatten().min()
    }

    /// Every target's result, in the order the targets were given.
    pub fn into_results(self) -> Vec<HostResult> {
        let ports_per_host = self.ports.len();
        let protocol = self.technique.protocol();
        let finds_hosts = self.technique.finds_hosts();
        let mut results = self.results.into_iter();
        self.targets
            .into_iter()
            .zip(self.hosts)
            .map(|(target, host)| {
                let mut ports: Vec<PortResult> = self
                    .ports
                    .iter()
                    .zip(results.by_ref().take(ports_per_host))
                    .map(|(&port, verdict)| {
                        let Verdict { state, reason, ttl, by_router } =
                            verdict.expect("every slot is decided when the scan finishes");
                        let reason_ip = by_router.map(IpAddr::V4);
                        PortResult { protocol, port, state, reason, reason_ttl: ttl, reason_ip, service: None }
                    })
                    .collect();
                ports.sort_by_key(|p| p.port);
                let status = if host.timed_out {
                    HostStatus::TimedOut
                } else if finds_hosts {
                    host.found.map_or(HostStatus::SILENT, |reason| HostStatus::Up { reason })
                } else if self.config.assume_up {
                    HostStatus::Up { reason: Reason::UserSet }
                } else {
                    model::alive_because(&ports).map_or(HostStatus::SILENT, |reason| HostStatus::Up { reason })
                };
                let ports = if host.timed_out || finds_hosts { Vec::new() } else { ports };
                HostResult { target, status, round_trip: host.rtt.round_trip(), ports }
            })
            .collect()
    }
}

#[cfg(test)]
mod discovery_tests;
#[cfg(test)]
mod rationing_tests;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod udp_tests;
