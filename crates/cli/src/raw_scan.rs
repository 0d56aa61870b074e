//! The raw-packet path of a scan: each group of targets goes through host discovery, reverse
//! DNS of the hosts found, then the TCP technique (or the idle scan), UDP, SCTP and the IP
//! protocol scan (all at once when there are several), and its hosts are reported in the
//! order given.

use std::sync::atomic::AtomicBool;

use engine::drivers::{self, RawScanError};
use engine::RawConfig;
use model::{HostResult, HostStatus, Target};
use netio::RawSocketError;
use probes::{AckScan, CustomFlags, IpProtocolScan, SctpScan, StealthScan, SynScan, TcpTechnique, UdpScan, WindowScan};

use crate::args::{ScanOptions, SctpScanType, TcpScan, TimingOptions};
use crate::discover::{with_discovery, Discovery};
use crate::error::{not_permitted, RunError};
use crate::idle_scan::Zombie;
use crate::inputs::Ports;
use crate::outputs::terminal_output;
use crate::payloads::udp_payloads;
use crate::phases::Phase;
use crate::session::{rate_caps, timing, Discoveries, Finished, ScanRun};

/// The raw engine keeps a verdict per (host, port) of a group and about a kilobyte per host
/// (its timing state, its result, its target): groups are sized so that resident memory stays
/// near 30 MB whatever the scan's size (peer-bench P4), and the results of each group stream
/// to the outputs before the next begins.
const RAW_SLOTS_PER_GROUP: usize = 1 << 20;
const RAW_DEFAULT_HOSTGROUP: usize = 1 << 14;

/// The raw-packet technique: the scan type's table, with `--scanflags` replacing its flags.
pub(crate) fn raw_technique(technique: TcpScan, scan_flags: Option<u8>) -> Box<dyn TcpTechnique> {
    let table: Box<dyn TcpTechnique> = match technique {
        TcpScan::Syn => Box::new(SynScan),
        TcpScan::Fin => Box::new(StealthScan::FIN),
        TcpScan::Null => Box::new(StealthScan::NULL),
        TcpScan::Xmas => Box::new(StealthScan::XMAS),
        TcpScan::Maimon => Box::new(StealthScan::MAIMON),
        TcpScan::Ack => Box::new(AckScan),
        TcpScan::Window => Box::new(WindowScan),
        TcpScan::Connect | TcpScan::Idle => unreachable!("neither the connect nor the idle scan is a probe technique"),
    };
    match scan_flags {
        Some(flags) => Box::new(CustomFlags::new(flags, table)),
        None => table,
    }
}

/// Raw-packet scans: the TCP technique, UDP, or both at once over each group of hosts.
pub(crate) fn raw_scan(
    options: &ScanOptions,
    tcp: Option<TcpScan>,
    targets: impl Iterator<Item = Target>,
    run: ScanRun,
) -> Result<Finished, RunError> {
    let ScanRun { ports, discovery, names, runtime, observer, report, stop } = run;
    let mut targets = targets.peekable();
    let (max_host_rate, max_sweep_rate) = rate_caps(&options.timing);
    let config = RawConfig {
        timing: timing(&options.timing),
        max_rate: options.timing.max_rate,
        min_rate: options.timing.min_rate,
        max_host_rate,
        max_sweep_rate,
        max_source_rate: options.timing.max_source_rate,
        assume_up: options.assume_up,
        sequential_ports: options.sequential_ports,
        source: options.source.clone(),
        shaping: options.shaping,
        decoys: crate::decoys::resolve(options),
        data: crate::payloads::probe_data(options),
        ip_options: options.ip_options.as_deref().map(std::sync::Arc::from),
        seed: options.seed,
        debug_level: options.debug,
    };
    let techniques = RawTechniques::new(options, tcp)?;
    let flag = match tcp {
        Some(scan) => scan.flag(),
        None if options.udp => "-sU",
        None if options.ip_protocols => "-sO",
        None if options.sctp == Some(SctpScanType::Init) => "-sY",
        None if options.sctp.is_some() => "-sZ",
        None => "-sn",
    };
    let verbose = options.verbosity > 0 && terminal_output(options);
    let probes_per_host = (ports.tcp.len() + ports.udp.len() + ports.sctp.len() + ports.protocols.len())
        .max(discovery.probes_per_host())
        .max(1);
    let group_size = raw_group_size(&options.timing, probes_per_host);
    loop {
        let group = next_group(&mut targets, group_size);
        if group.is_empty() {
            return Ok(Finished::All);
        }
        let ping_phase = matches!(discovery, Discovery::Raw { .. }).then(|| {
            observer.progress.begin_phase("Ping Scan", group.len());
            Phase::begin(verbose, "Ping Scan", &group, discovery.probes_per_host())
        });
        let mut found = match discovery.find_raw(&config, group, stop) {
            Ok(found) => found,
            Err(RawScanError::Interrupted) => return Ok(Finished::Interrupted),
            Err(error) => return Err(raw_failure(error, flag)),
        };
        if let Some(phase) = ping_phase {
            phase.end(found.len(), "hosts");
        }
        let to_name = names.map_or(0, |names| names.count(&found));
        if let Some(names) = names.filter(|_| to_name > 0) {
            let phase = Phase::announce(verbose, dns_phase_name(to_name));
            runtime.block_on(names.name_all(&mut found));
            phase.end_quietly();
        }
        if options.hosts_only {
            report(found)?;
            continue;
        }
        let up_targets: Vec<Target> =
            found.iter().filter(|host| host.is_up()).map(|host| host.target.clone()).collect();
        let phases = techniques.begin_phases(verbose, &up_targets, ports);
        observer.progress.begin_phase(techniques.name(ports), up_targets.len());
        let mut scanned = match techniques.scan(&config, up_targets, ports, observer, stop) {
            Ok(results) => results.into_iter(),
            Err(RawScanError::Interrupted) => return Ok(Finished::Interrupted),
            Err(error) => return Err(raw_failure(error, flag)),
        };
        for (phase, per_host) in phases {
            phase.end(scanned.len() * per_host, "ports");
        }
        // Reported in the order of the targets, each up host with its port scan.
        let hosts: Vec<HostResult> = found
            .into_iter()
            .map(|host| {
                if host.is_up() {
                    with_discovery(scanned.next().expect("a port scan per host up"), &host)
                } else {
                    host
                }
            })
            .collect();
        if options.debug > 0 {
            hosts.iter().for_each(crate::notes::final_times);
        }
        report(hosts)?;
    }
}

/// Nmap's name for the phase, which names its own scope: "Parallel DNS resolution of 3 hosts.".
fn dns_phase_name(hosts: usize) -> String {
    let noun = if hosts == 1 { "host" } else { "hosts" };
    format!("Parallel DNS resolution of {hosts} {noun}.")
}

/// The raw-packet techniques of a scan: at most one TCP technique (a probe technique, or the
/// idle scan), UDP, an SCTP scan, and the IP protocol scan.
struct RawTechniques {
    tcp: Option<Box<dyn TcpTechnique>>,
    /// The idle scan's zombie, which takes the TCP technique's place.
    zombie: Option<Zombie>,
    udp: Option<UdpScan>,
    sctp: Option<SctpScan>,
    protocols: Option<IpProtocolScan>,
}

/// Nmap's name for the idle scan's phase.
const IDLE_SCAN: &str = "Idle Scan";

/// One technique's scan of a group of hosts.
type GroupScan<'a> = Box<dyn Fn(Vec<Target>) -> Result<Vec<HostResult>, RawScanError> + Send + Sync + 'a>;

impl RawTechniques {
    fn new(options: &ScanOptions, tcp: Option<TcpScan>) -> Result<RawTechniques, RunError> {
        let zombie = match (tcp, &options.zombie) {
            (Some(TcpScan::Idle), Some(zombie)) => Some(Zombie::resolve(zombie)?),
            _ => None,
        };
        Ok(RawTechniques {
            tcp: tcp.filter(|&scan| scan != TcpScan::Idle).map(|scan| raw_technique(scan, options.scan_flags)),
            zombie,
            udp: if options.udp { Some(UdpScan::new(udp_payloads(options)?.0)) } else { None },
            sctp: options.sctp.map(|kind| match kind {
                SctpScanType::Init => SctpScan::INIT,
                SctpScanType::CookieEcho => SctpScan::COOKIE_ECHO,
            }),
            protocols: options.ip_protocols.then(|| IpProtocolScan::new(protocol_scan_port(options))),
        })
    }

    /// Each technique's name, as progress displays call it, with the ports it probes per
    /// host, in Nmap's order: TCP (or the idle scan), UDP, SCTP, the IP protocol scan.
    fn named<'a>(&self, ports: &'a Ports) -> impl Iterator<Item = (&'static str, usize)> + use<'_, 'a> {
        let tcp = (self.tcp.as_ref().map(|tcp| tcp.name()))
            .or(self.zombie.map(|_| IDLE_SCAN))
            .map(|name| (name, ports.tcp.len()));
        let udp = self.udp.as_ref().map(|udp| (probes::Technique::name(udp), ports.udp.len()));
        let sctp = self.sctp.as_ref().map(|scan| (probes::Technique::name(scan), ports.sctp.len()));
        let protocols = self.protocols.as_ref().map(|scan| (probes::Technique::name(scan), ports.protocols.len()));
        tcp.into_iter().chain(udp).chain(sctp).chain(protocols)
    }

    /// The name of the scan, as progress displays call it: its first technique's.
    fn name(&self, ports: &Ports) -> &'static str {
        self.named(ports).next().map(|(name, _)| name).expect("choose_technique picks a technique")
    }

    /// `-v`'s phase lines, one per technique, with its ports per host; empty for no hosts.
    fn begin_phases(&self, verbose: bool, targets: &[Target], ports: &Ports) -> Vec<(Phase, usize)> {
        if targets.is_empty() {
            return Vec::new();
        }
        self.named(ports).map(|(name, count)| (Phase::begin(verbose, name, targets, count), count)).collect()
    }

    /// Scans one group with each technique, all at once, and joins each host's results in
    /// Nmap's order: TCP ports, UDP ports, SCTP ports, then protocols.
    fn scan(
        &self,
        config: &RawConfig,
        group: Vec<Target>,
        ports: &Ports,
        observer: &Discoveries,
        stop: &AtomicBool,
    ) -> Result<Vec<HostResult>, RawScanError> {
        let mut scans: Vec<GroupScan> = Vec::new();
        if let Some(tcp) = self.tcp.as_deref() {
            scans.push(Box::new(move |group| {
                drivers::raw::run(tcp, config.clone(), group, ports.tcp.clone(), observer, stop)
            }));
        }
        if let Some(zombie) = &self.zombie {
            scans.push(Box::new(move |group| zombie.scan_group(config, group, &ports.tcp, observer, stop)));
        }
        if let Some(udp) = &self.udp {
            scans.push(Box::new(move |group| {
                drivers::raw::run(udp.clone(), config.clone(), group, ports.udp.clone(), observer, stop)
            }));
        }
        if let Some(sctp) = self.sctp {
            scans.push(Box::new(move |group| {
                drivers::raw::run(sctp, config.clone(), group, ports.sctp.clone(), observer, stop)
            }));
        }
        if let Some(protocols) = self.protocols {
            // Its answers carry no port of ours but the one it sends from (see IpProtocolScan).
            let mut config = config.clone();
            config.source.port = Some(protocols.source_port());
            scans.push(Box::new(move |group| {
                drivers::raw::run(protocols, config.clone(), group, ports.protocols.clone(), observer, stop)
            }));
        }
        let (first, others) = scans.split_first().expect("choose_technique picks a technique");
        std::thread::scope(|scope| {
            let running: Vec<_> = others
                .iter()
                .map(|scan| {
                    let group = group.clone();
                    scope.spawn(move || scan(group))
                })
                .collect();
            let mut joined = first(group)?;
            for scan in running {
                let results = scan.join().expect("a raw scan panicked")?;
                joined = joined.into_iter().zip(results).map(|(host, more)| join_results(host, more)).collect();
            }
            Ok(joined)
        })
    }
}

/// The source port of the IP protocol scan's probes: `-g`'s, else one drawn for the scan.
fn protocol_scan_port(options: &ScanOptions) -> u16 {
    options.source.port.unwrap_or_else(|| rand::random_range(32768..61000))
}

/// One host's results of two techniques as one: up if either found it up, skipped if either
/// ran past `--host-timeout` (as Nmap skips a timed-out host whole).
fn join_results(mut tcp: HostResult, udp: HostResult) -> HostResult {
    tcp.status = match (tcp.status, udp.status) {
        (HostStatus::TimedOut, _) | (_, HostStatus::TimedOut) => HostStatus::TimedOut,
        (up @ HostStatus::Up { .. }, _) | (_, up @ HostStatus::Up { .. }) => up,
        // Neither found it up (a listing never reaches a scan).
        _ => HostStatus::SILENT,
    };
    tcp.round_trip = tcp.round_trip.or(udp.round_trip);
    if tcp.status == HostStatus::TimedOut {
        tcp.ports.clear();
    } else {
        tcp.ports.extend(udp.ports);
    }
    tcp
}

/// Up to `size` targets, ending before an address the group already holds: replies are matched
/// to targets by address, so a target listed twice is scanned twice, in two groups.
fn next_group(targets: &mut std::iter::Peekable<impl Iterator<Item = Target>>, size: usize) -> Vec<Target> {
    let mut group = Vec::new();
    let mut addrs = std::collections::HashSet::new();
    while group.len() < size {
        let Some(target) = targets.next_if(|t| !addrs.contains(&t.addr)) else { break };
        addrs.insert(target.addr);
        group.push(target);
    }
    group
}

/// Hosts per raw-engine group: bounded by the slot budget unless `--min-hostgroup` asks for more.
pub(crate) fn raw_group_size(timing: &TimingOptions, ports: usize) -> usize {
    let by_slots = (RAW_SLOTS_PER_GROUP / ports).max(1);
    let bounded = timing.max_hostgroup.unwrap_or(RAW_DEFAULT_HOSTGROUP).min(by_slots);
    bounded.max(timing.min_hostgroup.unwrap_or(1))
}

fn raw_failure(error: RawScanError, flag: &str) -> RunError {
    match error {
        RawScanError::Socket(RawSocketError::NotPermitted) => not_permitted(flag),
        other => RunError::Failed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_groups_hold_a_million_slots_unless_told_otherwise() {
        let timing = TimingOptions::default();
        assert_eq!(raw_group_size(&timing, 1), RAW_DEFAULT_HOSTGROUP);
        assert_eq!(raw_group_size(&timing, 1000), 1048);
        assert_eq!(raw_group_size(&timing, 65535), 16);
        let small = TimingOptions { max_hostgroup: Some(8), ..TimingOptions::default() };
        assert_eq!(raw_group_size(&small, 1), 8);
        let big = TimingOptions { min_hostgroup: Some(4096), ..TimingOptions::default() };
        assert_eq!(raw_group_size(&big, 65535), 4096, "--min-hostgroup overrides the slot budget");
    }

    #[test]
    fn a_repeated_address_starts_a_new_group() {
        let addr = |last: u8| Target::from_addr(std::net::Ipv4Addr::new(198, 18, 0, last).into());
        let mut targets = vec![addr(1), addr(2), addr(1), addr(3), addr(4)].into_iter().peekable();
        let sizes: Vec<Vec<String>> = std::iter::from_fn(|| Some(next_group(&mut targets, 3)))
            .take_while(|g| !g.is_empty())
            .map(|g| g.iter().map(|t| t.addr.to_string()).collect())
            .collect();
        assert_eq!(sizes, [vec!["198.18.0.1", "198.18.0.2"], vec!["198.18.0.1", "198.18.0.3", "198.18.0.4"]]);
    }
}
