//! A simulated network for the engine's tests, on a virtual clock: Linux hosts that answer
//! each probe as the kernel does, firewalls that drop or reject, routers that answer for the
//! hosts behind them, and a path that may lose, queue or ration packets. Seeded, so a run
//! repeats exactly.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use model::{HostResult, PortState, Reason, Target};
use probes::{
    Echo, IcmpReply, QuotedProbe, Response, TcpReply, Technique, Transport, UdpReply, Unreachable, UnreachableCode,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wire::icmp::Query;
use wire::tcp::{flags, ProbeRepr, QuotedTcp};

use super::{Probe, ProbeEngine, RawConfig, ScanGroup};
use crate::CookieKey;

pub const SCANNER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
pub const HOST: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
/// The router that answers for hosts behind it (see [`Port::RouterRejects`]).
pub const ROUTER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 254));
/// The scanner and a host over IPv6.
pub const SCANNER_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1));
pub const HOST_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2));
pub const MS: fn(u64) -> Duration = Duration::from_millis;

/// Default timing, no rate limits, not `-Pn`, the source the routing table chooses.
pub fn config() -> RawConfig {
    RawConfig::default()
}

/// What stands behind a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// A listener (TCP) or a service that answers (UDP).
    Listening,
    /// Nothing: the kernel answers with a RST (TCP) or a port unreachable (UDP).
    Closed,
    /// A firewall drops what comes.
    Dropped,
    /// The host's firewall rejects with this ICMP unreachable code, rationed like every
    /// error the host sends.
    Rejected(u8),
    /// A router in front of the host rejects with this code, from its own address and its own
    /// error bucket.
    RouterRejects(u8),
    /// Drops the first `n` probes, then listens.
    LoseFirst(u8),
}

/// Linux's ICMP error limit towards one peer: a bucket of `burst` tokens refilled at
/// `per_second`; an error is sent only when a whole token is there.
#[derive(Debug, Clone, Copy)]
pub struct ErrorBucket {
    pub burst: f64,
    pub per_second: f64,
    pub tokens: f64,
    pub updated: Option<Instant>,
}

impl ErrorBucket {
    /// Linux's default (net.ipv4.icmp_ratelimit 1000 ms with a burst of 6).
    pub const LINUX: ErrorBucket = ErrorBucket { burst: 6.0, per_second: 1.0, tokens: 6.0, updated: None };
    /// An empty bucket with Linux's refill: another scan has just spent it.
    pub const LINUX_SPENT: ErrorBucket = ErrorBucket { tokens: 0.0, ..ErrorBucket::LINUX };

    fn take(&mut self, now: Instant) -> bool {
        let since = self.updated.map_or(Duration::ZERO, |updated| now.saturating_duration_since(updated));
        self.tokens = (self.tokens + since.as_secs_f64() * self.per_second).min(self.burst);
        self.updated = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Linux's limit on the ICMP errors a host sends to all peers together (net.ipv4.icmp_msgs_per_sec
/// and icmp_msgs_burst, shared by ICMPv6), as kernels since 6.12 keep it: while credit is left
/// an error goes out and costs 0, 1 or 2 credits at random (1 on average, the randomness hiding
/// the credit from side channels); at no credit, the bucket is refilled only if a fiftieth of a
/// second has passed since its last refill, by the rate times the time since, up to the burst.
/// Errors therefore come in clumps every 20 ms once the burst is spent, not one a millisecond.
#[derive(Debug, Clone, Copy)]
pub struct GlobalErrorLimit {
    pub per_second: f64,
    pub burst: f64,
    credit: f64,
    refilled: Option<Instant>,
}

impl GlobalErrorLimit {
    /// The default: 1000 a second, bursts of 50; the host idle long enough to have a full burst.
    pub const LINUX: GlobalErrorLimit =
        GlobalErrorLimit { per_second: 1000.0, burst: 50.0, credit: 0.0, refilled: None };
    /// The shortest time between two refills: a fiftieth of a second, whatever HZ is.
    const REFILL_EVERY: Duration = Duration::from_millis(20);

    fn allows(&mut self, now: Instant) -> bool {
        if self.credit > 0.0 {
            return true;
        }
        let since = self.refilled.map_or(Duration::from_secs(1), |at| now.saturating_duration_since(at));
        if since < Self::REFILL_EVERY {
            return false;
        }
        let increment = (self.per_second * since.min(Duration::from_secs(1)).as_secs_f64()).floor();
        if increment == 0.0 {
            return false; // too slow a rate for a whole credit yet: the time keeps counting
        }
        self.credit = (self.credit + increment).min(self.burst);
        self.refilled = Some(now);
        true
    }
}

/// A packet on its way back, ordered by arrival.
struct InTransit {
    at: Instant,
    order: u64,
    response: Response,
}

impl PartialEq for InTransit {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for InTransit {}
impl PartialOrd for InTransit {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InTransit {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

pub struct Sim<T> {
    pub engine: ProbeEngine<T>,
    pub start: Instant,
    pub now: Instant,
    pub rtt: Duration,
    /// Ports other than `default_port`.
    ports: HashMap<(IpAddr, u16), Port>,
    pub default_port: Port,
    /// Each host's ICMP error limit towards each peer (as Linux rations them), when
    /// `error_limit` is set; the router's under `ROUTER`.
    pub error_limit: Option<ErrorBucket>,
    buckets: HashMap<(IpAddr, IpAddr), ErrorBucket>,
    /// Each host's limit on its errors to all peers together, when set.
    pub global_error_limit: Option<GlobalErrorLimit>,
    global_limits: HashMap<IpAddr, GlobalErrorLimit>,
    probes_seen: HashMap<(IpAddr, u16), u8>,
    in_transit: BinaryHeap<Reverse<InTransit>>,
    replies_sent: u64,
    pub sent: Vec<(Instant, Probe)>,
    /// Each packet, probe or reply, is lost with this probability.
    pub loss: f64,
    rng: StdRng,
    /// Every packet sent in this span of time is lost, as a queue overflowing once drops them.
    pub outage: Option<(Instant, Instant)>,
    /// A link that carries a probe per this interval behind a queue of this many probes: a
    /// probe arriving at a full queue is lost.
    pub bottleneck: Option<(Duration, u32)>,
    queue_empties: Instant,
    /// A host that replies at most once per this interval (as BSDs limit their RSTs).
    pub reply_interval: Option<Duration>,
    last_reply: HashMap<IpAddr, Instant>,
    /// What sending one probe costs the scanner (unlimited when zero), and when it can next.
    pub send_cost: Duration,
    sender_free: Instant,
    /// Whether the hosts' firewalls drop ICMP echo and timestamp requests, as many do.
    pub pings_dropped: bool,
    /// Addresses where no host is: nothing answers there.
    pub absent: std::collections::HashSet<IpAddr>,
}

impl<T: Technique> Sim<T> {
    /// A network of `hosts`, every port `default_port` unless set otherwise, scanned with
    /// `technique` from `SCANNER`; `seed` fixes every random choice of the engine and the path.
    pub fn new(technique: T, config: RawConfig, hosts: &[IpAddr], ports: &[u16], seed: u64) -> Sim<T> {
        Sim::from_sources(technique, config, &[SCANNER], hosts, ports, seed)
    }

    /// As [`Sim::new`], the scanner sending from every one of `sources`.
    pub fn from_sources(
        technique: T,
        config: RawConfig,
        sources: &[IpAddr],
        hosts: &[IpAddr],
        ports: &[u16],
        seed: u64,
    ) -> Sim<T> {
        let now = Instant::now();
        let targets = hosts.iter().map(|&h| Target::from_addr(h)).collect();
        let group = ScanGroup { sources: sources.to_vec(), targets, ports: ports.to_vec() };
        let mut rng = StdRng::seed_from_u64(seed);
        let key = CookieKey::new(rng.random(), rng.random());
        // As the raw driver does: -g (or the IP protocol scan) fixes the source port.
        let key = match config.source.port {
            Some(port) => key.with_source_port(port),
            None => key,
        };
        let engine = ProbeEngine::new(technique, config, group, key, &mut rng, now);
        Sim {
            engine,
            start: now,
            now,
            rtt: MS(2),
            ports: HashMap::new(),
            default_port: Port::Closed,
            error_limit: None,
            buckets: HashMap::new(),
            global_error_limit: None,
            global_limits: HashMap::new(),
            probes_seen: HashMap::new(),
            in_transit: BinaryHeap::new(),
            replies_sent: 0,
            sent: Vec::new(),
            loss: 0.0,
            rng,
            outage: None,
            bottleneck: None,
            queue_empties: now,
            reply_interval: None,
            last_reply: HashMap::new(),
            send_cost: Duration::ZERO,
            sender_free: now,
            pings_dropped: false,
            absent: Default::default(),
        }
    }

    pub fn set(&mut self, host: impl Into<IpAddr>, port: u16, what: Port) -> &mut Self {
        self.ports.insert((host.into(), port), what);
        self
    }

    /// Sets the ICMP error bucket of `host` (or of the router) towards `SCANNER` as it is now.
    pub fn set_bucket(&mut self, host: IpAddr, bucket: ErrorBucket) -> &mut Self {
        self.buckets.insert((host, SCANNER), bucket);
        self
    }

    pub fn port(&self, host: IpAddr, port: u16) -> Port {
        self.ports.get(&(host, port)).copied().unwrap_or(self.default_port)
    }

    /// Sends everything the engine allows now, delivers what has arrived, and advances the
    /// clock to the next event, until the scan finishes or `limit` of virtual time passes.
    /// Returns how long the scan took.
    pub fn run(&mut self, limit: Duration) -> Duration {
        let end = self.now + limit;
        while !self.engine.is_finished() && self.now < end {
            while self.sender_free <= self.now {
                let Some(probe) = self.engine.poll_transmit(self.now) else { break };
                self.answer(&probe);
                self.sent.push((self.now, probe));
                self.sender_free = self.sender_free.max(self.now) + self.send_cost;
            }
            self.deliver();
            if self.engine.is_finished() {
                break; // the clock stops where the scan did
            }
            let next_reply = self.in_transit.peek().map(|Reverse(packet)| packet.at);
            let engine_wakeup = self.engine.next_wakeup(self.now).map(|at| at.max(self.sender_free));
            let next = [next_reply, engine_wakeup].into_iter().flatten().min();
            self.now = next.unwrap_or(self.now + MS(1)).max(self.now + Duration::from_micros(1));
            self.deliver();
        }
        self.now - self.start
    }

    fn deliver(&mut self) {
        while let Some(Reverse(packet)) = self.in_transit.peek() {
            if packet.at > self.now {
                break;
            }
            let Reverse(packet) = self.in_transit.pop().expect("peeked");
            self.engine.handle(&packet.response, self.now);
        }
    }

    fn lost(&mut self) -> bool {
        let in_outage = self.outage.is_some_and(|(from, to)| (from..to).contains(&self.now));
        in_outage || (self.loss > 0.0 && self.rng.random_bool(self.loss))
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

    fn answer(&mut self, probe: &Probe) {
        if self.lost() || self.absent.contains(&probe.dst) {
            return;
        }
        let Some(arrives) = self.through_bottleneck() else { return };
        let Some(response) = self.response(probe, arrives) else { return };
        let limited = self.reply_interval.is_some_and(|interval| {
            let last = self.last_reply.get(&probe.dst);
            last.is_some_and(|&last| arrives < last + interval)
        });
        if limited || self.lost() {
            return;
        }
        self.last_reply.insert(probe.dst, arrives);
        self.replies_sent += 1;
        let packet = InTransit { at: arrives + self.rtt, order: self.replies_sent, response };
        self.in_transit.push(Reverse(packet));
    }

    /// What Linux (or the firewall or router in front of it) sends back for `probe`.
    fn response(&mut self, probe: &Probe, at: Instant) -> Option<Response> {
        match &probe.transport {
            Transport::Tcp(tcp) => self.tcp_response(probe, tcp, at),
            Transport::Udp { src_port, dst_port, .. } => {
                let quoted = QuotedProbe::Udp { src_port: *src_port, dst_port: *dst_port };
                let reply = UdpReply {
                    src: probe.dst,
                    src_port: *dst_port,
                    dst: probe.src,
                    dst_port: *src_port,
                    ident: 0,
                    ttl: 64,
                };
                match self.filter(probe.dst, *dst_port) {
                    Ok(Port::Listening) => Some(Response::Udp(reply)),
                    Ok(_) => self.error(probe, probe.dst, 3, quoted, at),
                    Err(rejection) => self.reject(probe, rejection, quoted, at),
                }
            }
            // Linux answers echo and timestamp requests, and ignores address mask requests.
            Transport::Icmp { query: query @ (Query::Echo | Query::Timestamp), ident, seq } if !self.pings_dropped => {
                Some(Response::IcmpReply(IcmpReply {
                    from: probe.dst,
                    to: probe.src,
                    query: *query,
                    ident: *ident,
                    seq: *seq,
                    ttl: 64,
                }))
            }
            Transport::Icmp { .. } => None,
            // The simulated hosts have no SCTP stack, and the scans that use it no tests here.
            Transport::Sctp { .. } => None,
            // No handler for the protocol: Linux answers with a protocol unreachable.
            Transport::Bare { protocol } => {
                self.error(probe, probe.dst, 2, QuotedProbe::Other { protocol: *protocol }, at)
            }
        }
    }

    /// What the firewall lets through to the port, after counting the probe: `Ok` with what
    /// stands behind it, or `Err` with who rejects it (or `None` if dropped).
    fn filter(&mut self, host: IpAddr, port: u16) -> Result<Port, Option<(IpAddr, u8)>> {
        let seen = self.probes_seen.entry((host, port)).or_default();
        *seen = seen.saturating_add(1);
        let seen = *seen;
        match self.port(host, port) {
            Port::Dropped => Err(None),
            Port::LoseFirst(n) if seen <= n => Err(None),
            Port::LoseFirst(_) => Ok(Port::Listening),
            Port::Rejected(code) => Err(Some((host, code))),
            Port::RouterRejects(code) => Err(Some((ROUTER, code))),
            other => Ok(other),
        }
    }

    fn tcp_response(&mut self, probe: &Probe, tcp: &ProbeRepr, at: Instant) -> Option<Response> {
        let quoted = QuotedProbe::Tcp(QuotedTcp { src_port: tcp.src_port, dst_port: tcp.dst_port, seq: tcp.seq });
        let behind = match self.filter(probe.dst, tcp.dst_port) {
            Ok(behind) => behind,
            Err(rejection) => return self.reject(probe, rejection, quoted, at),
        };
        let bare_syn = tcp.flags & (flags::SYN | flags::ACK | flags::RST | flags::FIN) == flags::SYN;
        let reply = |flags, seq, ack| {
            let (src, dst) = (probe.dst, probe.src);
            let (src_port, dst_port) = (tcp.dst_port, tcp.src_port);
            Some(Response::Tcp(TcpReply { src, src_port, dst, dst_port, seq, ack, flags, window: 0, ttl: 64 }))
        };
        let occupied = u32::from(tcp.flags & flags::SYN != 0) + u32::from(tcp.flags & flags::FIN != 0);
        match behind {
            _ if tcp.flags & flags::RST != 0 => None,
            // RFC 9293: a segment with ACK draws a RST taking its acknowledgment number.
            _ if tcp.flags & flags::ACK != 0 => reply(flags::RST, tcp.ack, 0),
            // Linux discards SYN+FIN, and segments without SYN, RST or ACK, at a listener.
            Port::Listening if bare_syn && tcp.flags & flags::FIN == 0 => {
                reply(flags::SYN | flags::ACK, 999, tcp.seq.wrapping_add(1))
            }
            Port::Listening => None,
            _ => reply(flags::RST | flags::ACK, 0, tcp.seq.wrapping_add(occupied)),
        }
    }

    /// A rejection by the host's firewall or a router: an ICMP error from that address.
    fn reject(
        &mut self,
        probe: &Probe,
        rejection: Option<(IpAddr, u8)>,
        quoted: QuotedProbe,
        at: Instant,
    ) -> Option<Response> {
        let (from, code) = rejection?;
        self.error(probe, from, code, quoted, at)
    }

    /// An ICMP destination unreachable from `from`, if its error bucket has a token.
    fn error(&mut self, probe: &Probe, from: IpAddr, code: u8, quoted: QuotedProbe, at: Instant) -> Option<Response> {
        if !self.error_allowed(probe.src, from, at) {
            return None;
        }
        let code = if probe.dst.is_ipv6() { UnreachableCode::V6(icmpv6_code(code)) } else { UnreachableCode::V4(code) };
        let unreachable = Unreachable {
            from,
            code,
            ttl: if from == probe.dst { 64 } else { 255 },
            probe_src: probe.src,
            probe_dst: probe.dst,
            probe_ident: probe.ip_id,
            probe: quoted,
        };
        Some(Response::Unreachable(unreachable))
    }

    /// Whether `from` may send an error to `peer` at `at`, as Linux checks: its limit over all
    /// peers first, then its bucket for this peer; the former is charged only if both allow.
    fn error_allowed(&mut self, peer: IpAddr, from: IpAddr, at: Instant) -> bool {
        if let Some(limit) = self.global_error_limit {
            if !self.global_limits.entry(from).or_insert(limit).allows(at) {
                return false;
            }
        }
        if let Some(limit) = self.error_limit {
            if !self.buckets.entry((from, peer)).or_insert(limit).take(at) {
                return false;
            }
        }
        if let Some(global) = self.global_limits.get_mut(&from) {
            global.credit -= f64::from(self.rng.random_range(0..3u8));
        }
        true
    }

    /// The probes sent to `host`'s `port`.
    pub fn probes_to(&self, host: IpAddr, port: u16) -> Vec<&(Instant, Probe)> {
        self.sent.iter().filter(|(_, probe)| probe.dst == host && probe_port(probe) == port).collect()
    }

    /// Each host's ports whose reported state is not what `truth` makes of what stands behind
    /// them, the scan having finished.
    pub fn wrong_ports(self, truth: impl Fn(Port) -> PortState) -> Vec<(IpAddr, u16, PortState)> {
        let ports = self.ports.clone();
        let default_port = self.default_port;
        let results = self.results();
        let reported = results.iter().flat_map(|host| {
            let addr = host.target.addr;
            host.ports.iter().map(move |port| (addr, port.port, port.state))
        });
        reported
            .filter(|&(addr, port, state)| truth(ports.get(&(addr, port)).copied().unwrap_or(default_port)) != state)
            .collect()
    }

    /// Each host's ports whose reported state and reason are not what `truth` makes of what
    /// stands behind them, the scan having finished.
    pub fn wrong_verdicts(self, truth: impl Fn(Port) -> (PortState, Reason)) -> Vec<(u16, PortState, Reason)> {
        let ports = self.ports.clone();
        let default_port = self.default_port;
        let results = self.results();
        let reported = results.iter().flat_map(|host| {
            let addr = host.target.addr;
            host.ports.iter().map(move |port| (addr, port))
        });
        reported
            .filter(|(addr, port)| {
                truth(ports.get(&(*addr, port.port)).copied().unwrap_or(default_port)) != (port.state, port.reason)
            })
            .map(|(_, port)| (port.port, port.state, port.reason))
            .collect()
    }

    /// Every host's result, the scan having finished.
    pub fn results(self) -> Vec<HostResult> {
        assert!(self.engine.is_finished(), "the scan did not finish");
        self.engine.into_results()
    }
}

/// The ICMPv6 code a host sends where an IPv4 host sends ICMP code `code` (the simulation's
/// ports are set with ICMP's codes): port and host unreachable, and administratively
/// prohibited; others keep their number.
fn icmpv6_code(code: u8) -> u8 {
    match code {
        3 => wire::icmpv6::unreachable::PORT,
        1 => wire::icmpv6::unreachable::ADDRESS,
        13 => wire::icmpv6::unreachable::ADMIN_PROHIBITED,
        other => other,
    }
}

/// The destination port of a probe (for a discovery, the probe's index is not known here).
pub fn probe_port(probe: &Probe) -> u16 {
    match &probe.transport {
        Transport::Tcp(tcp) => tcp.dst_port,
        Transport::Udp { dst_port, .. } => *dst_port,
        Transport::Icmp { .. } => 0,
        Transport::Sctp { dst_port, .. } => *dst_port,
        Transport::Bare { protocol } => u16::from(*protocol),
    }
}

/// The TCP header of a probe.
pub fn tcp(probe: &Probe) -> &ProbeRepr {
    match &probe.transport {
        Transport::Tcp(tcp) => tcp,
        other => panic!("not a TCP probe: {other:?}"),
    }
}

/// Consecutive addresses from `first`: a block of simulated hosts.
pub fn hosts(first: IpAddr, count: u32) -> Vec<IpAddr> {
    match first {
        IpAddr::V4(first) => (0..count).map(|i| Ipv4Addr::from(u32::from(first) + i).into()).collect(),
        IpAddr::V6(first) => (0..count).map(|i| Ipv6Addr::from(u128::from(first) + u128::from(i)).into()).collect(),
    }
}

/// Scanning `me` itself, a key, a port, and the port its first probe leaves from (`from`),
/// such that the probe, read back over loopback as a datagram or bare SYN from `from` to the
/// port, passes by its ports alone for `from`'s answer (the port falls in `from`'s run of
/// source ports).
pub fn key_reading_back_a_probe_as_an_answer(me: IpAddr) -> (CookieKey, u16, u16) {
    (2..)
        .map(|k1| CookieKey::new(1, k1))
        .find_map(|key| {
            key.source_ports().find_map(|port| {
                let from = key.probe(me, me, port, 0).src_port;
                key.verify(me, me, from, port, Echo::Nothing, 0).map(|_| (key, port, from))
            })
        })
        .expect("some key sends some port's probe from a port whose answer it would take")
}
