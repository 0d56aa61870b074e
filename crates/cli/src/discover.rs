//! Host discovery before the port scan, as Nmap's ping scan: which hosts of a group are up,
//! and why. The port scan then probes only those.

use std::sync::atomic::AtomicBool;

use engine::connect::{ConnectScanner, ScanObserver};
use engine::raw::runner::RawScanError;
use engine::raw::{self, RawConfig};
use model::{HostResult, HostStatus, Protocol, Reason, Target};
use probes::discovery::{AckPing, HostDiscovery, IcmpPing, PingProbe, SynPing, UdpPing};
use probes::UdpPayloads;

use crate::args::{Ping, ScanOptions, TcpScan};
use crate::run::RunError;

/// Nmap's discovery without raw sockets: a connection to each of these ports.
const CONNECT_PING_PORTS: [u16; 2] = [80, 443];

/// How the hosts that are up are found.
pub enum Discovery {
    /// `-Pn`: every host is up, as the user says.
    AssumeUp,
    /// Raw-packet probes: `-PE`, `-PS`, … or Nmap's default set.
    Raw(HostDiscovery),
    /// Without raw sockets (or for IPv6, or the connect scan): a connection to ports 80 and
    /// 443; an answer of either kind (accepted or refused) means the host is up.
    Connect,
}

impl Discovery {
    /// Nmap's choice: raw probes when permitted, connections otherwise.
    pub fn choose(options: &ScanOptions, technique: Option<TcpScan>) -> Result<Discovery, RunError> {
        if options.assume_up {
            if let Some(ping) = options.pings.first() {
                return Err(RunError::Usage(format!("-Pn skips host discovery; it cannot go with {}", ping.flag())));
            }
            return Ok(Discovery::AssumeUp);
        }
        let raw_possible = netio::has_cap_net_raw() && !options.ipv6 && technique != Some(TcpScan::Connect);
        match options.pings.first() {
            None if raw_possible => Ok(Discovery::Raw(HostDiscovery::nmap_default())),
            None => Ok(Discovery::Connect),
            Some(ping) if !netio::has_cap_net_raw() => {
                Err(RunError::Failed(format!("{} needs CAP_NET_RAW (run as root, or use -Pn)", ping.flag())))
            }
            Some(ping) if !raw_possible => Err(RunError::Usage(format!(
                "{} works with raw-packet scans of IPv4 only so far (not with -sT or -6)",
                ping.flag()
            ))),
            Some(_) => Ok(Discovery::Raw(HostDiscovery::new(probes(&options.pings)))),
        }
    }

    /// The probes per host, for `-v`'s "Scanning N hosts [4 ports/host]".
    pub fn probes_per_host(&self) -> usize {
        match self {
            Discovery::AssumeUp => 0,
            Discovery::Raw(discovery) => discovery.indices().len(),
            Discovery::Connect => CONNECT_PING_PORTS.len(),
        }
    }

    /// Finds which hosts of `group` are up, with raw probes; every host comes back, up or down.
    pub fn find_raw(
        &self,
        config: &RawConfig,
        group: Vec<Target>,
        stop: &AtomicBool,
    ) -> Result<Vec<HostResult>, RawScanError> {
        match self {
            Discovery::Raw(discovery) => {
                raw::runner::run(discovery.clone(), config.clone(), group, discovery.indices(), &Unobserved, stop)
            }
            Discovery::AssumeUp => Ok(group.into_iter().map(assumed_up).collect()),
            Discovery::Connect => unreachable!("raw-packet scans discover with raw probes or not at all"),
        }
    }

    /// Finds whether `target` is up by connecting; the result carries no ports.
    pub async fn find_by_connecting(&self, scanner: &ConnectScanner, target: Target) -> Result<HostResult, RunError> {
        match self {
            Discovery::AssumeUp => Ok(assumed_up(target)),
            Discovery::Connect => {
                let mut host = scanner
                    .scan_host(target, &CONNECT_PING_PORTS, &Unobserved)
                    .await
                    .map_err(|e| RunError::Failed(e.to_string()))?;
                host.ports.clear();
                Ok(host)
            }
            Discovery::Raw(_) => unreachable!("the connect scan discovers by connecting or not at all"),
        }
    }
}

/// The discovery probes the `-P` options ask for, in the order given.
fn probes(pings: &[Ping]) -> Vec<Box<dyn PingProbe>> {
    let payloads = UdpPayloads::embedded();
    let mut probes: Vec<Box<dyn PingProbe>> = Vec::new();
    for ping in pings {
        match ping {
            Ping::Echo => probes.push(Box::new(IcmpPing::ECHO)),
            Ping::Timestamp => probes.push(Box::new(IcmpPing::TIMESTAMP)),
            Ping::AddressMask => probes.push(Box::new(IcmpPing::ADDRESS_MASK)),
            Ping::Syn(ports) => probes.extend(ports.iter().map(|&p| Box::new(SynPing::new(p)) as Box<dyn PingProbe>)),
            Ping::Ack(ports) => probes.extend(ports.iter().map(|&p| Box::new(AckPing::new(p)) as Box<dyn PingProbe>)),
            Ping::Udp(ports) => {
                probes.extend(ports.iter().map(|&p| Box::new(UdpPing::new(p, &payloads)) as Box<dyn PingProbe>))
            }
        }
    }
    probes
}

fn assumed_up(target: Target) -> HostResult {
    HostResult { target, status: HostStatus::Up { reason: Reason::UserSet }, round_trip: None, ports: Vec::new() }
}

/// A port scan of a host discovery found up: the discovery says why it is up (the port scan
/// may have drawn no answer at all), gives its round trip if the scan measured none, and its
/// target carries the reverse name found meanwhile.
pub fn with_discovery(mut scanned: HostResult, found: &HostResult) -> HostResult {
    scanned.target = found.target.clone();
    if scanned.status != HostStatus::TimedOut {
        scanned.status = found.status;
    }
    scanned.round_trip = scanned.round_trip.or(found.round_trip);
    scanned
}

/// Discovery answers are not open ports: nothing to tell `-v`.
struct Unobserved;

impl ScanObserver for Unobserved {
    fn open_port_found(&self, _: std::net::IpAddr, _: Protocol, _: u16) {}
}
