//! The raw-packet scan engine: a sans-IO state machine fed instants and replies, which says
//! what to send and when, and what each port turned out to be. [`crate::drivers::raw`] drives
//! it over raw sockets; tests drive it with a virtual clock over a simulated network.
//!
//! Masscan's shape with Nmap's manners: probes carry keyed cookies and go out in a
//! pseudo-random order over the (host, port) space, while a congestion window, per-host RTT
//! estimates and Nmap's retransmission rule adapt the pace to what the path delivers.

mod answers;
mod bits;
mod debug;
mod in_flight;
mod pace;
mod sending;
mod silence;
mod split;
mod verdicts;

pub use debug::DebugEvent;
pub use split::gather;

use std::collections::VecDeque;

/// The engine's maps are keyed by its own slots and targets, and looked up for every probe and
/// reply: a fast hash, where the default one cost a tenth of the engine's time at line rate.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::{HostResult, HostStatus, PortResult, PortState, Reason, Target};
use probes::{Echo, ErrorsAnswer, ProbeFields, QuotedProbe, Response, Technique, Transport};

use crate::core::{
    CongestionWindow, CookieKey, IcmpLimit, Judgement, LossRate, LostTries, Pacer, Permutation, RetryAllowance,
    RttEstimator, Sending, TimerQueue, Timing,
};
use crate::Source;

/// Settings of a raw scan; by default, Nmap's default timing, no rate limits, not `-Pn`, and
/// the source the routing table chooses.
#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    pub timing: Timing,
    /// `--max-rate`: probes per second at most.
    pub max_rate: Option<f64>,
    /// `--min-rate`: probes per second at least, even when the window is full.
    pub min_rate: Option<f64>,
    /// `--max-host-rate`: probes per second to any one host at most, tries again and
    /// canaries included; the scan goes on with other hosts meanwhile.
    pub max_host_rate: Option<f64>,
    /// `--max-sweep-rate`: new hosts per second on any one port at most (the first try of
    /// each (host, port)), as sweep detectors count them.
    pub max_sweep_rate: Option<f64>,
    /// Probes per second from any one source address at most (the stealth schedule's budget
    /// of each source, where `max_rate` is the scan's).
    pub max_source_rate: Option<f64>,
    /// `-Pn`
    pub assume_up: bool,
    /// `-r`: ports in numerical order, each one on every host before the next, instead of a
    /// pseudo-random order over every host and port.
    pub sequential_ports: bool,
    pub source: Source,
    pub shaping: crate::Shaping,
    pub decoys: crate::Decoys,
    /// `--data`, `--data-string`, `--data-length`: what TCP and ICMP probes carry after their
    /// header (UDP probes carry it as their payload, which their technique chooses).
    pub data: Option<std::sync::Arc<[u8]>>,
    /// `--ip-options`: IPv4 options every IPv4 probe carries.
    pub ip_options: Option<std::sync::Arc<[u8]>>,
    /// `--seed`: the probe order drawn from this number, the same each run.
    pub seed: Option<u64>,
    /// `-d`'s level: which of the engine's decisions it tells ([`DebugEvent`]).
    pub debug_level: u8,
}

/// One probe to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub src: IpAddr,
    pub dst: IpAddr,
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

/// What one engine scans: every port of `ports` on every target, from `sources` (at least
/// one; see [`ProbeEngine`] for how several share the work).
#[derive(Debug, Clone)]
pub struct ScanGroup {
    pub sources: Vec<IpAddr>,
    pub targets: Vec<Target>,
    pub ports: Vec<u16>,
}

/// A port whose state became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub addr: IpAddr,
    pub port: u16,
    pub state: PortState,
}

/// Whether `slot` (of `ports` per host) is dealt to its host's own source, of `sources`:
/// port `p` of target `t` goes from source `(t + p) % sources`.
fn dealt(slot: u64, ports: usize, sources: usize) -> bool {
    let (host, port) = (slot / ports as u64, slot % ports as u64);
    let (target, source) = (host / sources as u64, host % sources as u64);
    (target + port) % sources as u64 == source
}

/// The mark of a slot dealt to another source: never probed, never reported.
const NOT_DEALT: Verdict =
    Verdict { state: PortState::Filtered, reason: Reason::NoResponse, ttl: None, by_router: None };

/// What a port turned out to be, the TTL of the packet that said so, and who sent it when
/// not the target (a router answering for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdict {
    state: PortState,
    reason: Reason,
    ttl: Option<u8>,
    by_router: Option<IpAddr>,
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
/// The try number a UDP canary's cookie is made for. No port's probe is sent as this try, so
/// where the scan probes the canary's port itself (`-sU -p-`), the port's answers are never
/// taken for a canary's, nor a canary's for the port's.
const CANARY_TRY: u8 = u8::MAX;
/// The last try a port's probe may be sent as: the one before [`CANARY_TRY`].
const LAST_TRY: u8 = CANARY_TRY - 1;
/// Held tries sent again per canary: fewer than a sender's batch, so that a canary goes out in
/// the same batch as the tries it is to prove.
const HELD_PER_CANARY: usize = 32;
/// Ports a host may have to prove silent, where errors are few: past that many, it rejects
/// nearly every port (as iptables' default REJECT does), proving each silence would take a
/// refill period per port, and its silences are believed, as Nmap believes them.
const MAX_PORTS_TO_PROVE: u32 = HELD_PER_CANARY as u32;
/// Canaries a host is sent behind last tries, to prove their silence at once: fewer than
/// Linux's burst of six errors, so that they leave errors for the rejected ports.
const EARLY_CANARIES: u8 = 4;
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
    /// What the [`Try`] that was sent knew of earlier sendings; none for most probes, so kept
    /// apart: a million probes in flight each fill one cache line instead of two.
    history: Option<Box<History>>,
}

/// A try's earlier sendings, as in the [`Try`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct History {
    silent_before: Option<Instant>,
    lost: Option<LostTries>,
}

impl Sent {
    fn silent_before(&self) -> Option<Instant> {
        self.history.as_ref().and_then(|history| history.silent_before)
    }

    fn lost(&self) -> Option<LostTries> {
        self.history.as_ref().and_then(|history| history.lost)
    }
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
    /// Canaries sent behind last tries (see [`EARLY_CANARIES`]).
    early_canaries: u8,
    /// Ports whose silence the host has had to prove (see [`MAX_PORTS_TO_PROVE`]), and held
    /// tries its canary answered after without proving them (see [`MAX_UNPROVABLE`]).
    ports_held: u32,
    unprovable: u8,
    /// Under `--max-host-rate`: when the host may be sent its next probe.
    next_send_at: Option<Instant>,
    /// When the latest-sent of this host's answered probes went out: probes sent before it
    /// and still unanswered a round trip on were most likely lost.
    latest_answered_send: Option<Instant>,
    /// Probes past their round trip without an answer, in the order they went out, with when:
    /// lost as soon as a probe sent after them is answered.
    overdue: VecDeque<(Instant, u64)>,
    timed_out: bool,
    /// For a technique that finds hosts: why the host is up, from its first answer; and
    /// whether its probes other than the lead have been sent (see [`Leads`]).
    found: Option<Reason>,
    followed_up: bool,
}

/// Per host, what the engine reads for nearly every probe, a bit each, apart from the rest of
/// its state (see [`bits`]): a silent host's probe then reads none of that state as it leaves
/// the pipe and times out.
struct HostFlags {
    /// Whether any of its probes has been answered (by the host, or by a router for it): its
    /// silences may then be losses.
    answered: bits::Bits,
    /// Whether the host itself has answered.
    heard_itself: bits::Bits,
    /// Whether an ICMP error from the host itself has been heard: its [`IcmpLimit`] has
    /// something to reckon with.
    erred: bits::Bits,
    /// Whether the host has been sent a probe.
    probed: bits::Bits,
}

impl HostFlags {
    fn new(hosts: u64) -> HostFlags {
        HostFlags {
            answered: bits::Bits::new(hosts),
            heard_itself: bits::Bits::new(hosts),
            erred: bits::Bits::new(hosts),
            probed: bits::Bits::new(hosts),
        }
    }
}

/// Per host, what sending it a probe counts, kept apart from the rest of its state in a
/// dense array for the same reason as [`HostFlags`]: a probe to a silent host then touches
/// no line of its [`HostState`] when it is sent either (a few lines each, every one a miss
/// at line rate, when probes follow the scan's random order).
#[derive(Clone, Copy, Default)]
struct HostSends {
    /// Probes sent to the host in the current second: the rate the host actually saw.
    second: OneSecond,
    /// Probes sent to the host since its last sweep was planned (see
    /// [`IcmpLimit::probe_again_after`]).
    since_sweep: u32,
}

/// For a technique that finds hosts with several probes: once the scan has measured a round
/// trip, each host is sent first the probe that has answered most often so far (the lead),
/// and the others only if it is still silent a round trip later. Where most hosts answer one
/// probe, as on a network that answers pings, that is a fraction of the packets, and as
/// fast; the lead changes as soon as another probe has drawn more answers. (Before the first
/// answer, each host gets every probe at once: there is no round trip to wait for yet.)
struct Leads {
    /// Hosts each probe (by index) was the first answered of.
    answers: Vec<u64>,
    lead: u32,
}

impl Leads {
    fn new(probes: usize) -> Leads {
        Leads { answers: vec![0; probes], lead: 0 }
    }

    fn answered_first(&mut self, probe: u32) {
        self.answers[probe as usize] += 1;
        if self.answers[probe as usize] > self.answers[self.lead as usize] {
            self.lead = probe;
        }
    }
}

/// Events counted in one-second windows, each opened by the first event after the last
/// one closed: the rate a host or a detector actually saw. Times are nanoseconds since the
/// engine started, which keep it small for [`HostSends`]; the first window opens then.
#[derive(Clone, Copy, Default)]
struct OneSecond {
    began: u64,
    count: u32,
}

impl OneSecond {
    const NANOS: u64 = 1_000_000_000;

    /// Counts an event `elapsed` nanoseconds after the engine started; returns the count of
    /// its window so far.
    fn count(&mut self, elapsed: u64) -> u32 {
        if elapsed >= self.began + Self::NANOS {
            *self = OneSecond { began: elapsed, count: 0 };
        }
        self.count += 1;
        self.count
    }
}

/// How fast one port reaches new hosts: what sweep detectors count.
#[derive(Clone, Copy)]
struct PortSweep {
    /// Under `--max-sweep-rate`: when the port may reach its next new host.
    next_at: Option<Instant>,
    /// First tries on the port in the current second.
    second: OneSecond,
}

/// The highest rates a scan reached, each within one second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeakRates {
    /// The most probes any one host was sent, tries again included.
    pub host_probes: u32,
    /// The most hosts any one port was first tried on.
    pub port_new_hosts: u32,
}

/// The raw-packet scan of one group, sans IO.
///
/// With several source addresses, each target's ports are dealt among them (port `p` of
/// target `t` goes from source `(t + p) % k`), and every (target, source) pair is a host of
/// its own to the engine: its own round trips, its own ICMP error budget (Linux rations
/// errors per peer, so k sources learn closed ports k times as fast), its own caps. The
/// `hosts` are indexed `t * k + s`; a host's slots dealt to another source are never probed.
pub struct ProbeEngine<T> {
    technique: T,
    config: RawConfig,
    key: CookieKey,
    sources: Vec<IpAddr>,
    targets: Vec<Target>,
    /// Per host: the target's address.
    addrs: Vec<IpAddr>,
    /// (target address, source address) to host.
    host_index: HashMap<(IpAddr, IpAddr), u32>,
    ports: Vec<u16>,
    /// Port number to its index in `ports`, `u32::MAX` for ports not scanned.
    port_index: Box<[u32]>,
    /// The order of first probes: of every (host, port) slot, or of hosts when each is first
    /// sent its lead probe only.
    order: ScanOrder,
    cursor: u64,
    leads: Option<Leads>,
    /// The slots this engine decides (those dealt to each host's source).
    slots: u64,
    /// Final verdict per (host, port) slot; `None` while undecided, and [`NOT_DEALT`] for a
    /// slot dealt to another source.
    results: verdicts::Verdicts,
    undecided: u64,
    in_flight: in_flight::InFlight,
    /// Outstanding probes within a round trip of being sent, and when each leaves the pipe.
    in_pipe: usize,
    pipe_exits: TimerQueue<u64>,
    deadlines: TimerQueue<u64>,
    host_deadlines: TimerQueue<u32>,
    /// When hosts' held tries go out again.
    sweeps: TimerQueue<u32>,
    /// Tries to send before new work.
    retry_queue: VecDeque<Try>,
    /// Per port (in the order of `ports`) and source: how fast it reaches new hosts.
    sweeps_by_port: Vec<PortSweep>,
    /// Under `max_source_rate`, per source: when it may send again.
    source_next_at: Vec<Option<Instant>>,
    /// Under `--max-host-rate` or `--max-sweep-rate`, work whose host or port had to wait:
    /// sent as soon as they may be sent to again, before anything else.
    deferred: VecDeque<Try>,
    peaks: PeakRates,
    /// Hosts whose canary is to follow the last tries just queued for them (see
    /// [`Self::last_try_queued`]).
    canaries_due: Vec<u32>,
    hosts: Vec<HostState>,
    flags: HostFlags,
    sends: Vec<HostSends>,
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
    /// Decisions to tell, under `-d` (see [`DebugEvent`]).
    debug_events: Vec<DebugEvent>,
}

impl<T: Technique> ProbeEngine<T> {
    /// An engine for `group`, whose probes carry cookies of `key`. Its random choices (the
    /// order of the probes, the timestamp clock's start) come from `rng`, so that a seeded
    /// simulation repeats exactly.
    ///
    /// # Panics
    /// If a target is not of the sources' family, or an address appears
    /// twice (replies are matched to targets by address; callers split such groups).
    pub fn new(
        technique: T,
        config: RawConfig,
        group: ScanGroup,
        key: CookieKey,
        rng: &mut impl rand::Rng,
        now: Instant,
    ) -> Self {
        let ScanGroup { sources, targets, ports } = group;
        assert!(!sources.is_empty(), "a raw-engine group has a source");
        let k = sources.len();
        let port_count = ports.len();
        assert!(
            targets.iter().all(|target| target.addr.is_ipv4() == sources[0].is_ipv4()),
            "a raw-engine group's targets are of its sources' family"
        );
        let target_addrs: Vec<IpAddr> = targets.iter().map(|target| target.addr).collect();
        let addrs: Vec<IpAddr> =
            target_addrs.iter().flat_map(|&addr| std::iter::repeat_n(addr, sources.len())).collect();
        let host_index: HashMap<(IpAddr, IpAddr), u32> =
            addrs.iter().enumerate().map(|(i, &a)| ((a, sources[i % sources.len()]), i as u32)).collect();
        assert_eq!(host_index.len(), addrs.len(), "each address appears once in a raw-engine group");
        let mut port_index = vec![u32::MAX; 65536].into_boxed_slice();
        for (i, &port) in ports.iter().enumerate() {
            port_index[usize::from(port)] = i as u32;
        }
        let leads = (technique.finds_hosts() && ports.len() > 1).then(|| Leads::new(ports.len()));
        assert!(leads.is_none() || sources.len() == 1, "host discovery leads run from one source");
        let first_probes_per_host = if leads.is_some() { 1 } else { ports.len() as u64 };
        let order = ScanOrder::new(config.sequential_ports, addrs.len() as u64, first_probes_per_host, rng);
        let all_slots = addrs.len() as u64 * port_count as u64;
        let results = verdicts::Verdicts::new(all_slots, |slot| (!dealt(slot, port_count, k)).then_some(NOT_DEALT));
        let slots = results.undecided();
        let timing = &config.timing;
        let hosts: Vec<HostState> = addrs
            .iter()
            .map(|_| HostState {
                rtt: RttEstimator::new(timing.initial_rtt_timeout, timing.min_rtt_timeout, timing.max_rtt_timeout),
                retries: RetryAllowance::new(timing.max_retries),
                icmp: IcmpLimit::default(),
                held: Vec::new(),
                errors_from: None,
                canary_sent: None,
                early_canaries: 0,
                ports_held: 0,
                unprovable: 0,
                next_send_at: None,
                latest_answered_send: None,
                overdue: VecDeque::new(),
                timed_out: false,
                found: None,
                followed_up: false,
            })
            .collect();
        let scan_rtt = RttEstimator::new(timing.initial_rtt_timeout, timing.min_rtt_timeout, timing.max_rtt_timeout);
        let max_window = timing.max_parallelism.unwrap_or(DEFAULT_MAX_WINDOW);
        ProbeEngine {
            technique,
            key,
            sources,
            targets,
            addrs,
            host_index,
            ports,
            port_index,
            order,
            cursor: 0,
            leads,
            slots,
            results,
            undecided: slots,
            in_flight: in_flight::InFlight::new(all_slots),
            in_pipe: 0,
            pipe_exits: TimerQueue::default(),
            deadlines: TimerQueue::default(),
            host_deadlines: TimerQueue::default(),
            sweeps: TimerQueue::default(),
            retry_queue: VecDeque::new(),
            deferred: VecDeque::new(),
            sweeps_by_port: vec![PortSweep { next_at: None, second: OneSecond::default() }; port_count * k],
            source_next_at: vec![None; k],
            peaks: PeakRates::default(),
            canaries_due: Vec::new(),
            flags: HostFlags::new(hosts.len() as u64),
            sends: vec![HostSends::default(); hosts.len()],
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
            debug_events: Vec::new(),
            config,
        }
    }

    /// The protocol of the ports this engine scans.
    pub fn protocol(&self) -> model::Protocol {
        self.technique.protocol()
    }

    /// How many (host, port) slots have their verdict, of how many.
    pub fn progress(&self) -> (u64, u64) {
        (self.slots - self.undecided, self.slots)
    }

    pub fn is_finished(&self) -> bool {
        self.undecided == 0
    }

    fn max_try(&self) -> u8 {
        u8::try_from(self.config.timing.max_retries).unwrap_or(LAST_TRY).min(LAST_TRY)
    }

    fn slot_of(&self, host: u32, port_index: u32) -> u64 {
        u64::from(host) * self.ports.len() as u64 + u64::from(port_index)
    }

    fn host_of(&self, slot: u64) -> u32 {
        (slot / self.ports.len() as u64) as u32
    }

    /// The index in `sources` of the address `host`'s probes leave from.
    fn source_index(&self, host: u32) -> usize {
        host as usize % self.sources.len()
    }

    /// The address `host`'s probes leave from.
    fn source_of(&self, host: u32) -> IpAddr {
        self.sources[self.source_index(host)]
    }

    fn decide(&mut self, slot: u64, verdict: Verdict) {
        if self.results.decide(slot, verdict) {
            self.undecided -= 1;
        }
    }

    /// The highest per-host and per-port rates the scan reached (`-v` reports them).
    pub fn peak_rates(&self) -> PeakRates {
        self.peaks
    }

    /// The scan delay in force now.
    pub fn scan_delay(&self) -> Duration {
        self.delay.interval()
    }

    /// When `poll_transmit` may next have something to do, if nothing arrives before.
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        let deadline = self.deadlines.next_due();
        let host_deadline = self.host_deadlines.next_due();
        let sweep = self.sweeps.next_due();
        let pacing = self.work_ready_at(now);
        // A probe leaving the pipe opens a full window, and may be found lost.
        let pipe_exit = self.pipe_exits.next_due();
        [deadline, host_deadline, sweep, pacing, pipe_exit].into_iter().flatten().min()
    }

    /// Every target's result, in the order the targets were given.
    pub fn into_results(self) -> Vec<HostResult> {
        let ProbeEngine { technique, config, sources, targets, hosts, ports: scanned, results, .. } = self;
        let protocol = technique.protocol();
        let finds_hosts = technique.finds_hosts();
        let mut hosts = hosts.into_iter();
        let mut verdicts = results.into_verdicts().enumerate();
        let slots_per_target = sources.len() * scanned.len();
        targets
            .into_iter()
            .map(|target| {
                // The target's hosts, one per source, and the verdicts of the slots dealt to them.
                let views: Vec<HostState> = hosts.by_ref().take(sources.len()).collect();
                let mut ports: Vec<PortResult> = (verdicts.by_ref().take(slots_per_target))
                    .filter(|&(slot, _)| dealt(slot as u64, scanned.len(), sources.len()))
                    .map(|(slot, verdict)| {
                        let port = scanned[slot % scanned.len()];
                        let Verdict { state, reason, ttl, by_router } =
                            verdict.expect("every slot is decided when the scan finishes");
                        let reason_ip = by_router;
                        PortResult { reason_ttl: ttl, reason_ip, ..PortResult::new(protocol, port, state, reason) }
                    })
                    .collect();
                ports.sort_by_key(|p| p.port);
                let timed_out = views.iter().any(|view| view.timed_out);
                let status = if timed_out {
                    HostStatus::TimedOut
                } else if finds_hosts {
                    views
                        .iter()
                        .find_map(|view| view.found)
                        .map_or(HostStatus::SILENT, |reason| HostStatus::Up { reason })
                } else if config.assume_up {
                    HostStatus::Up { reason: Reason::UserSet }
                } else {
                    model::alive_because(&ports).map_or(HostStatus::SILENT, |reason| HostStatus::Up { reason })
                };
                let ports = if timed_out || finds_hosts { Vec::new() } else { ports };
                let round_trip = views.iter().find_map(|view| view.rtt.round_trip());
                HostResult { target, status, round_trip, ports, os: None, trace: None }
            })
            .collect()
    }
}

#[cfg(test)]
mod discovery_tests;
#[cfg(test)]
mod ip_protocol_tests;
#[cfg(test)]
mod rationing_tests;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod udp_tests;
