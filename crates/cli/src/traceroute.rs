//! `--traceroute`: after each batch's scans, the route to each host that is up, as Nmap
//! traces it: a host on our own link is one hop and costs no probe; a remote one is probed
//! with the probe it answered during the scan, with every TTL up to its expected distance at
//! once (see [`os::trace`]), all hosts together. Hops shared with a host traced before are
//! reported as such.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use engine::drivers::exchange;
use model::{HostResult, PortState, Protocol, Trace, TraceHop};
use os::trace::{Hop, TraceProbe, TraceTarget, Traces};
use rand::Rng;

use crate::error::{not_permitted, RunError};
use crate::outputs::terminal_output;
use crate::phases::Phase;
use crate::session::Discoveries;

/// Nmap's first guess at a distance it does not know.
const UNKNOWN_DISTANCE: u8 = 10;
/// The answer wait stays within these bounds whatever the round-trip estimate.
const MIN_WAIT: Duration = Duration::from_millis(100);
const MAX_WAIT: Duration = Duration::from_secs(2);

pub(crate) struct Traceroute {
    device: Option<String>,
    source: Option<IpAddr>,
    verbose: bool,
}

impl Traceroute {
    pub(crate) fn new(options: &crate::args::ScanOptions) -> Result<Traceroute, RunError> {
        if !options.raw_sockets() {
            return Err(not_permitted("--traceroute"));
        }
        Ok(Traceroute {
            device: options.source.device.clone(),
            source: options.source.addr,
            verbose: options.verbosity > 0 && terminal_output(options),
        })
    }

    /// Traces every IPv4 host of the batch that is up (but this machine's own addresses).
    pub(crate) fn trace(&self, hosts: &mut [HostResult], observer: &Discoveries, stop: &AtomicBool) {
        if hosts.iter().any(|host| host.is_up() && host.target.ipv4().is_none()) {
            eprintln!("Note: traceroute of IPv6 hosts is not built yet; they are reported without it");
        }
        let mut remote: Vec<(usize, TraceTarget)> = Vec::new();
        for (index, host) in hosts.iter_mut().enumerate() {
            let Some(dst) = host.target.ipv4().filter(|_| host.is_up()) else { continue };
            let Some(src) = self.source_for(dst) else { continue };
            if dst.is_loopback() || dst == src {
                continue;
            }
            if host.target.mac.is_some() {
                host.trace = Some(Box::new(direct(host, dst)));
            } else {
                remote.push((
                    index,
                    TraceTarget { src, dst, probe: probe_for(host), expected_hops: expected_hops(host) },
                ));
            }
        }
        if remote.is_empty() {
            return;
        }
        let phase = Phase::announce(self.verbose, format!("Traceroute of {} hosts", remote.len()));
        let wait = remote
            .iter()
            .filter_map(|(index, _)| hosts[*index].round_trip.map(|trip| trip.timeout))
            .max()
            .unwrap_or(MAX_WAIT / 2)
            .clamp(MIN_WAIT, MAX_WAIT);
        let mut rng = rand::rng();
        let targets: Vec<TraceTarget> = remote.iter().map(|(_, target)| *target).collect();
        let mut traces = Traces::new(targets.clone(), rng.random_range(33_000..60_000), rng.random(), wait);
        let ports = traces.reply_ports();
        if let Err(error) = exchange::run(&mut traces, self.device.as_deref(), ports, observer, stop) {
            eprintln!("Traceroute stopped: {error}");
            return;
        }
        let mut done: Vec<(Ipv4Addr, Vec<Hop>)> = Vec::new();
        for (((index, _), target), hops) in remote.iter().zip(&targets).zip(traces.into_hops()) {
            let shared_with = shared_prefix(&hops, &done);
            hosts[*index].trace = Some(Box::new(remote_trace(target.probe, &hops, shared_with)));
            done.push((target.dst, hops));
        }
        phase.end_quietly();
    }

    fn source_for(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        match self.source {
            Some(IpAddr::V4(source)) => Some(source),
            _ => match netio::source_for(IpAddr::V4(dst), self.device.as_deref()) {
                Ok(IpAddr::V4(source)) => Some(source),
                _ => None,
            },
        }
    }
}

/// A neighbour: one hop, the host itself, at its round-trip time (Nmap sends nothing).
fn direct(host: &HostResult, dst: Ipv4Addr) -> Trace {
    let rtt_ms = host.latency().map(|rtt| rtt.as_secs_f64() * 1000.0);
    Trace {
        port: None,
        protocol: None,
        hops: vec![TraceHop { ttl: 1, addr: Some(dst.into()), rtt_ms }],
        shared_with: None,
    }
}

/// The probe the host answered: a SYN to an open port, else to a closed one, else a datagram
/// to a closed UDP port, else an echo request.
fn probe_for(host: &HostResult) -> TraceProbe {
    let first = |protocol: Protocol, state: PortState| {
        host.ports.iter().find(|port| port.protocol == protocol && port.state == state).map(|port| port.port)
    };
    first(Protocol::Tcp, PortState::Open)
        .or_else(|| first(Protocol::Tcp, PortState::Closed))
        .map(TraceProbe::Tcp)
        .or_else(|| first(Protocol::Udp, PortState::Closed).map(TraceProbe::Udp))
        .unwrap_or(TraceProbe::Echo)
}

/// The distance OS detection measured, else the one the host's answers' TTL suggests.
fn expected_hops(host: &HostResult) -> u8 {
    if let Some(hops) = host.os.as_ref().and_then(|os| os.distance) {
        return hops;
    }
    let ttl = host.ports.iter().find_map(|port| port.reason_ttl.filter(|_| port.reason_ip.is_none()));
    ttl.map_or(UNKNOWN_DISTANCE, |ttl| os::assemble::initial_ttl_guess(ttl) - ttl + 1)
}

/// The longest run of first hops (short of the host itself) that a host traced before
/// shares: its last TTL, and that host.
fn shared_prefix(hops: &[Hop], before: &[(Ipv4Addr, Vec<Hop>)]) -> Option<(u8, IpAddr)> {
    let routers = &hops[..hops.len().saturating_sub(1)];
    before
        .iter()
        .map(|(addr, theirs)| {
            let shared = routers
                .iter()
                .zip(theirs)
                .take_while(|(ours, theirs)| {
                    ours.answered.is_some() && ours.answered.map(|a| a.0) == theirs.answered.map(|a| a.0)
                })
                .count();
            (shared, *addr)
        })
        .filter(|&(shared, _)| shared > 0)
        // The first host traced through the longest shared run, as Nmap names it.
        .fold(None, |best: Option<(usize, Ipv4Addr)>, (shared, addr)| match best {
            Some((longest, _)) if longest >= shared => best,
            _ => Some((shared, addr)),
        })
        .map(|(shared, addr)| (shared as u8, addr.into()))
}

fn remote_trace(probe: TraceProbe, hops: &[Hop], shared_with: Option<(u8, IpAddr)>) -> Trace {
    let (port, protocol) = match probe {
        TraceProbe::Tcp(port) => (Some(port), "tcp"),
        TraceProbe::Udp(port) => (Some(port), "udp"),
        TraceProbe::Echo => (None, "icmp"),
    };
    let hops = hops
        .iter()
        .map(|hop| TraceHop {
            ttl: hop.ttl,
            addr: hop.answered.map(|(addr, _)| addr.into()),
            rtt_ms: hop.answered.map(|(_, rtt)| rtt.as_secs_f64() * 1000.0),
        })
        .collect();
    Trace { port, protocol: Some(protocol.into()), hops, shared_with }
}
