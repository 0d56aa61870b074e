//! Drives raw scans with one worker thread per core: where the scan may be split, each worker
//! drives an engine of its own over its share of the targets (see `RawConfig::parts`), and
//! replies go to the engine of the target they speak of; else the workers take turns with one
//! engine. (Sockets of its own for each worker were measured too: no faster.)
//!
//! Each worker sends a batch of probes, then reads every reply already queued without
//! blocking, and blocks on the socket only when it has nothing to send or read. Measured on the
//! lab against a transmit thread plus receive threads: a receiver that blocks is woken for every
//! reply, and those context switches cost more than the packets; and on a veth lab each send
//! also runs the target's kernel work, so sending from every core is what scales.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use model::{HostResult, HostStatus, PortState, Protocol, Reason, Target};
use probes::{parse_response, Response, Technique, Transport};
use wire::ipv4::{PROTO_ICMP, PROTO_TCP, PROTO_UDP};

use super::path::{Outbox, Receiver, Routed, Transmitter};
use super::{close_in_background, RawScanError, ScanObserver, SendFailure};
use crate::core::probe_engine::{gather, Probe, ProbeEngine, RawConfig, ScanGroup, Settled};
use crate::{CookieKey, Decoys, PeakRates, Shaping};

/// Probes taken from the engine, or replies handed to it, per lock. 256 rather than 64: the
/// two workers hand the lock over a quarter as often (a /16 sweep 0.37 s instead of 0.43 s;
/// 1M probes to a dropping peer 2.0 s instead of 2.3 s), with the same findings under loss.
const BATCH: usize = 256;
/// The longest a worker waits for a reply when it has nothing to do.
const IDLE_WAIT: Duration = Duration::from_millis(5);
/// How often each worker tells the observer how far the scan is.
const PROGRESS_EVERY: Duration = Duration::from_millis(50);
/// Workers at most, whatever the core count: beyond this the engine lock is the limit.
const MAX_WORKERS: usize = 4;

struct Sockets {
    sender: Transmitter,
    receivers: Vec<Receiver>,
    /// Targets a send to has failed, each told to the observer once.
    unsendable: Mutex<HashSet<IpAddr>>,
    stall: super::LinkStall,
    shaping: Shaping,
    decoys: Decoys,
    data: Option<std::sync::Arc<[u8]>>,
    ip_options: Option<std::sync::Arc<[u8]>>,
}

/// The largest IP packet after a link-layer header: room for a probe with any payload.
const LARGEST_FRAME: usize = Transmitter::HEADROOM + u16::MAX as usize;

/// Scans `ports` of every target and returns their results in target order, unless `stop`
/// is raised first. Each target follows its own route; targets no route leads to are
/// reported down (no-route), and the rest are scanned in groups by the address their probes
/// leave from (IPv4 and IPv6 targets never share one).
pub fn run<T: Technique + Clone>(
    technique: T,
    config: RawConfig,
    targets: Vec<Target>,
    ports: Vec<u16>,
    observer: &(dyn ScanObserver + 'static),
    stop: &AtomicBool,
) -> Result<Vec<HostResult>, RawScanError> {
    let mut results: Vec<Option<HostResult>> = vec![None; targets.len()];
    for (source, members, routed) in by_route(&config, &targets, &mut results, observer)? {
        if source.is_ipv6() {
            if let Some(&more) = config.source.more_addrs.first() {
                return Err(RawScanError::SourceFamily(more.into()));
            }
        }
        let group = ScanGroup {
            sources: std::iter::once(source).chain(config.source.more_addrs.iter().map(|&addr| addr.into())).collect(),
            targets: members.iter().map(|&index| targets[index].clone()).collect(),
            ports: ports.clone(),
        };
        let sender = super::path::transmitter(&config, &routed, stop)?;
        let scanned = scan_from(technique.clone(), &config, group, sender, observer, stop)?;
        for (index, host) in members.into_iter().zip(scanned) {
            results[index] = Some(host);
        }
    }
    Ok(results.into_iter().map(|host| host.expect("every target has a result")).collect())
}

/// A group of targets (their indices) scanned from one source address, with the routes
/// their probes follow.
type SourceGroup = (IpAddr, Vec<usize>, Vec<Routed>);

/// The targets grouped by the address their probes leave from (`-S`'s, the route's, or the
/// one the kernel would choose); those no route leads to get their result now.
fn by_route(
    config: &RawConfig,
    targets: &[Target],
    results: &mut [Option<HostResult>],
    observer: &dyn ScanObserver,
) -> Result<Vec<SourceGroup>, RawScanError> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let addrs: Vec<IpAddr> = targets.iter().map(|target| target.addr).collect();
    if let Some(fixed) = config.source.addr.filter(|fixed| addrs.iter().any(|addr| addr.is_ipv6() != fixed.is_ipv6())) {
        return Err(RawScanError::SourceFamily(fixed));
    }
    let device = config.source.device.as_deref();
    let through = device.map(netio::interface_index).transpose().map_err(RawScanError::Routes)?;
    let routes = netio::routes_to(&addrs, through).map_err(RawScanError::Routes)?;
    let mut groups: Vec<SourceGroup> = Vec::new();
    for ((index, &addr), route) in addrs.iter().enumerate().zip(routes) {
        let source = route.and_then(|route| {
            let chosen = config.source.addr.or(route.source);
            chosen.map_or_else(|| netio::source_for(addr, device), Ok).map(|source| (source, route))
        });
        match source {
            Ok((source, route)) => {
                let routed = Routed { addr, mac: targets[index].mac, route };
                match groups.iter_mut().find(|(from, _, _)| *from == source) {
                    Some((_, members, paths)) => {
                        members.push(index);
                        paths.push(routed);
                    }
                    None => groups.push((source, vec![index], vec![routed])),
                }
            }
            Err(error) => {
                observer.unreachable(addr, &error);
                results[index] = Some(no_route(targets[index].clone()));
            }
        }
    }
    Ok(groups)
}

/// A target no route leads to: down, as Nmap reports it.
fn no_route(target: Target) -> HostResult {
    HostResult {
        target,
        status: HostStatus::Down { reason: Reason::NoRoute },
        round_trip: None,
        ports: Vec::new(),
        os: None,
        trace: None,
    }
}

/// Scans `group`, whose probes leave through `sender`.
fn scan_from<T: Technique + Clone>(
    technique: T,
    config: &RawConfig,
    group: ScanGroup,
    sender: Transmitter,
    observer: &(dyn ScanObserver + 'static),
    stop: &AtomicBool,
) -> Result<Vec<HostResult>, RawScanError> {
    let key = match config.source.port {
        Some(port) => CookieKey::random().with_source_port(port),
        None => CookieKey::random(),
    };
    let mut protocols: Vec<u8> = technique
        .reply_protocols()
        .iter()
        .map(|&protocol| match protocol {
            Protocol::Udp => PROTO_UDP,
            Protocol::Sctp => wire::sctp::PROTO_SCTP,
            _ => PROTO_TCP,
        })
        .collect();
    protocols.push(PROTO_ICMP);
    let receivers = sender.receivers(&protocols, key.source_ports())?;
    let sockets = Sockets {
        sender,
        receivers,
        unsendable: Mutex::new(HashSet::new()),
        stall: super::LinkStall::default(),
        shaping: config.shaping,
        decoys: config.decoys.clone(),
        data: config.data.clone(),
        ip_options: config.ip_options.clone(),
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_WORKERS);
    let parts = config.parts(workers, group.targets.len());
    let engines = Engines::new(technique, config, group, key, parts);
    let worked = std::thread::scope(|scope| {
        let (sockets, engines) = (&sockets, &engines);
        let handles: Vec<_> = (0..workers)
            .map(|worker| scope.spawn(move || work(sockets, engines, worker % parts, observer, stop)))
            .collect();
        handles.into_iter().try_for_each(|handle| handle.join().expect("scan worker panicked"))
    });
    close_in_background(sockets);
    worked?;
    let engines: Vec<ProbeEngine<T>> =
        engines.engines.into_iter().map(|engine| engine.into_inner().expect("engine lock")).collect();
    let peaks = engines.iter().map(ProbeEngine::peak_rates).reduce(PeakRates::together).unwrap_or_default();
    observer.peak_rates(peaks);
    Ok(gather(engines.into_iter().map(ProbeEngine::into_results).collect()))
}

/// The engines sharing one scan (see `RawConfig::parts`): one per worker where the scan may
/// be split, each deciding every `parts`-th target; else one that every worker drives.
struct Engines<T> {
    engines: Vec<Mutex<ProbeEngine<T>>>,
    /// Which engine scans each target, when there are several.
    owners: HashMap<IpAddr, usize>,
    /// When the scan's progress is next told to the observer, by whichever worker comes first.
    next_progress_report: Mutex<Instant>,
}

impl<T: Technique + Clone> Engines<T> {
    fn new(technique: T, config: &RawConfig, group: ScanGroup, key: CookieKey, parts: usize) -> Engines<T> {
        let mut rng = crate::order_rng(config.seed);
        let part_config = config.part(parts);
        let now = Instant::now();
        let mut owners = HashMap::new();
        let engines = (group.deal(parts).into_iter().enumerate())
            .map(|(part, group)| {
                if parts > 1 {
                    owners.extend(group.targets.iter().map(|target| (target.addr, part)));
                }
                let engine = ProbeEngine::new(technique.clone(), part_config.clone(), group, key, &mut rng, now);
                Mutex::new(engine)
            })
            .collect();
        Engines { engines, owners, next_progress_report: Mutex::new(now) }
    }
}

impl<T: Technique> Engines<T> {
    /// The engine a reply is for, if it speaks of one of the scan's targets.
    fn owner(&self, reply: &Response) -> Option<usize> {
        if self.engines.len() == 1 {
            return Some(0);
        }
        self.owners.get(&reply.target()).copied()
    }

    /// Tells the observer how many (host, port) slots have their verdict over every engine,
    /// of how many, when it is time to. Called outside any engine's lock: it takes them all.
    fn report_progress(&self, now: Instant, observer: &dyn ScanObserver) {
        {
            let mut next = self.next_progress_report.lock().expect("progress lock");
            if now < *next {
                return;
            }
            *next = now + PROGRESS_EVERY;
        }
        let each = self.engines.iter().map(|engine| engine.lock().expect("engine lock").progress());
        let (settled, total) = each.fold((0, 0), |(settled, total), (s, t)| (settled + s, total + t));
        observer.probes_settled(settled, total);
    }
}

fn work<T: Technique>(
    sockets: &Sockets,
    engines: &Engines<T>,
    mine: usize,
    observer: &dyn ScanObserver,
    stop: &AtomicBool,
) -> Result<(), RawScanError> {
    let engine = &engines.engines[mine];
    let mut probes = Vec::with_capacity(BATCH);
    let mut replies = Vec::with_capacity(BATCH);
    let mut frame = vec![0u8; LARGEST_FRAME];
    let mut outbox = Outbox::default();
    let mut buf = [0u8; 2048];
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(RawScanError::Interrupted);
        }
        let now = Instant::now();
        let (wakeup, events) = {
            let mut engine = engine.lock().expect("engine lock");
            if engine.is_finished() {
                return Ok(());
            }
            probes.extend(std::iter::from_fn(|| engine.poll_transmit(now)).take(BATCH));
            (engine.next_wakeup(now), engine.drain_debug_events())
        };
        events.iter().for_each(|event| observer.debug(event));
        engines.report_progress(now, observer);
        let sent = !probes.is_empty();
        for probe in probes.drain(..) {
            stage_probe(sockets, &mut frame, &probe, &mut outbox);
            if outbox.is_full() {
                send_outbox(sockets, &mut outbox, observer);
            }
        }
        send_outbox(sockets, &mut outbox, observer);
        let mut received = drain(sockets, &mut buf, &mut replies, observer)?;
        if !sent && !received {
            // Idle: wait for a reply, or until the engine has something to do.
            let idle = wakeup.map_or(IDLE_WAIT, |at| at.saturating_duration_since(now).min(IDLE_WAIT));
            if let Some(len) = sockets.receivers[0].recv_timeout(&mut buf, idle).map_err(RawScanError::Receive)? {
                replies.extend(read_reply(&buf[..len], observer));
                received = true;
            }
        }
        if received {
            hand_over(&mut replies, engines, observer);
        }
    }
}

/// Reads up to a batch of queued replies from every receiver without waiting.
fn drain(
    sockets: &Sockets,
    buf: &mut [u8],
    replies: &mut Vec<Response>,
    observer: &dyn ScanObserver,
) -> Result<bool, RawScanError> {
    let mut read_any = false;
    for receiver in &sockets.receivers {
        while replies.len() < BATCH {
            let Some(len) = receiver.try_recv(buf).map_err(RawScanError::Receive)? else { break };
            read_any = true;
            replies.extend(read_reply(&buf[..len], observer));
        }
    }
    Ok(read_any)
}

/// A packet received, as a reply, told to the observer when it traces packets.
fn read_reply(packet: &[u8], observer: &dyn ScanObserver) -> Option<Response> {
    if observer.traces_packets() {
        observer.packet(false, packet);
    }
    parse_response(packet)
}

/// Gives each engine its share of a batch of replies under one lock, then reports the open
/// ports found.
fn hand_over<T: Technique>(replies: &mut Vec<Response>, engines: &Engines<T>, observer: &dyn ScanObserver) {
    let now = Instant::now();
    let owners: Vec<Option<usize>> = replies.iter().map(|reply| engines.owner(reply)).collect();
    for (part, engine) in engines.engines.iter().enumerate() {
        let mut theirs =
            (replies.iter().zip(&owners)).filter(|&(_, &owner)| owner == Some(part)).map(|(reply, _)| reply).peekable();
        if theirs.peek().is_none() {
            continue;
        }
        let (settled, protocol, events): (Vec<Settled>, Protocol, _) = {
            let mut engine = engine.lock().expect("engine lock");
            let settled = theirs.filter_map(|reply| engine.handle(reply, now)).collect();
            (settled, engine.protocol(), engine.drain_debug_events())
        };
        events.iter().for_each(|event| observer.debug(event));
        for port in settled.into_iter().filter(|s| s.state == PortState::Open) {
            observer.open_port_found(port.addr, protocol, port.port);
        }
    }
    replies.clear();
}

/// Stages `probe`, and a copy from each decoy around it (`-D`), built in `frame`.
fn stage_probe(sockets: &Sockets, frame: &mut [u8], probe: &Probe, outbox: &mut Outbox) {
    let decoys = &sockets.decoys;
    let mut sources = decoys.addrs.iter().copied().filter(|decoy| decoy.is_ipv4() == probe.src.is_ipv4());
    for position in 0..=decoys.addrs.len() {
        let src = if position == decoys.me_at { Some(probe.src) } else { sources.next() };
        let Some(src) = src else { continue };
        let packet = &mut frame[Transmitter::HEADROOM..];
        let mut len = (probe.transport.emit(src, probe.dst, probe.ip_id, packet))
            .expect("a probe fits the largest packet, in its targets' family");
        if let Some(stack) = sockets.shaping.mimic {
            len = wire::shape::mimic(packet, len, stack).expect("a probe is a whole IP packet");
        }
        if let Some(data) = sockets.data.as_deref().filter(|_| !matches!(probe.transport, Transport::Udp { .. })) {
            len = wire::shape::append_data(packet, len, data).expect("the data fits the largest packet");
        }
        if let Some(options) = sockets.ip_options.as_deref().filter(|_| src.is_ipv4()) {
            len = wire::shape::insert_ipv4_options(packet, len, options).expect("options fit an IPv4 header");
        }
        stage_shaped(sockets, frame, len, probe, outbox);
    }
}

/// Stages the probe of `len` bytes in `frame` (after the link-layer headroom) as the evasion
/// options shape it: its TTL, its checksum, in fragments.
fn stage_shaped(sockets: &Sockets, frame: &mut [u8], len: usize, probe: &Probe, outbox: &mut Outbox) {
    let shaping = &sockets.shaping;
    let packet = &mut frame[Transmitter::HEADROOM..Transmitter::HEADROOM + len];
    if let Some(ttl) = shaping.ttl {
        wire::shape::set_ttl(packet, ttl).expect("a probe is a whole IP packet");
    }
    if shaping.bad_checksum {
        wire::shape::spoil_checksum(packet).expect("a probe is a whole IP packet");
    }
    let Some(size) = shaping.fragment_size else {
        return sockets.sender.stage(frame, len, probe.dst, outbox);
    };
    let fragments = wire::shape::fragment(packet, size, u32::from(probe.ip_id)).expect("a probe is a whole IP packet");
    for fragment in fragments {
        frame[Transmitter::HEADROOM..Transmitter::HEADROOM + fragment.len()].copy_from_slice(&fragment);
        sockets.sender.stage(frame, fragment.len(), probe.dst, outbox);
    }
}

/// Sends every packet staged in `outbox`, a batch a system call, waiting briefly while the
/// kernel's queue is full rather than losing them; tells the observer of each packet sent
/// when it traces them. A packet not sent counts as sent and unanswered, as in Nmap: a
/// target a local firewall or a missing route keeps probes from has its ports filtered, and
/// the scan goes on; so does a scan whose link is down, told once, not per target.
fn send_outbox(sockets: &Sockets, outbox: &mut Outbox, observer: &dyn ScanObserver) {
    let mut next = 0;
    while next < outbox.len() {
        match super::while_queue_full(&sockets.stall, || sockets.sender.send_staged(outbox, next)) {
            Ok(sent) => {
                if observer.traces_packets() {
                    (next..next + sent)
                        .for_each(|index| observer.packet(true, &outbox.bytes(index)[Transmitter::HEADROOM..]));
                }
                next += sent;
            }
            Err(SendFailure::Stalled { began, error }) => {
                if began {
                    observer.link_stalled(&error);
                }
                break;
            }
            Err(SendFailure::Refused(error)) => {
                let dst = outbox.dst(next);
                if sockets.unsendable.lock().expect("unsendable lock").insert(dst) {
                    observer.unreachable(dst, &error);
                }
                next += 1;
            }
        }
    }
    outbox.clear();
}
