//! Host discovery before the port scan, as Nmap's ping scan: which hosts of a group are up,
//! and why. The port scan then probes only those.

use std::net::IpAddr;
use std::sync::atomic::AtomicBool;

use engine::drivers::connect::ConnectScanner;
use engine::drivers::{self, RawScanError, ScanObserver};
use engine::NeighbourFound;
use engine::RawConfig;
use model::{HostResult, HostStatus, Protocol, Reason, RoundTrip, Target};
use netio::{Ipv6Link, Link};
use probes::discovery::{AckPing, HostDiscovery, IcmpPing, PingProbe, SctpInitPing, SynPing, UdpPing};
use probes::UdpPayloads;
use services::{DataDirs, MacVendors};

use crate::args::{Ping, ScanOptions, TcpScan};
use crate::error::RunError;
use crate::notes::PacketTrace;
use crate::payloads::udp_payloads;

/// Nmap's discovery without raw sockets: a connection to each of these ports.
const CONNECT_PING_PORTS: [u16; 2] = [80, 443];

/// How the hosts that are up are found.
pub enum Discovery {
    /// `-Pn`: every host is up, as the user says; but on our own Ethernet links ARP (IPv6:
    /// neighbour discovery) still asks, as Nmap does (a host silent there is not there),
    /// unless `--disable-arp-ping`.
    AssumeUp { links: Neighbours },
    /// Raw-packet probes: `-PE`, `-PS`, … or Nmap's default set; and ARP or neighbour
    /// discovery for the targets on one of our Ethernet links (unless `--send-ip`), as Nmap
    /// does whatever the `-P` options.
    Raw { ip: IpProbes, links: Neighbours },
    /// Without raw sockets (or for the connect scan): a connection to ports 80 and
    /// 443; an answer of either kind (accepted or refused) means the host is up.
    Connect,
}

impl Discovery {
    /// Nmap's choice: raw probes when permitted, connections otherwise.
    pub fn choose(options: &ScanOptions, technique: Option<TcpScan>) -> Result<Discovery, RunError> {
        let privileged = options.raw_sockets();
        let raw_possible = privileged && technique != Some(TcpScan::Connect);
        // Only raw scans ask our links for hardware addresses, and so need their vendors.
        let links = match raw_possible {
            true => Neighbours {
                links: neighbour_links(options),
                vendors: MacVendors::load(&DataDirs::from_env(options.datadir.clone())),
            },
            false => Neighbours { links: Vec::new(), vendors: MacVendors::default() },
        };
        if options.assume_up {
            if let Some(ping) = options.pings.iter().find(|ping| **ping != Ping::Arp) {
                return Err(RunError::Usage(format!("-Pn skips host discovery; it cannot go with {}", ping.flag())));
            }
            return Ok(Discovery::AssumeUp { links });
        }
        if let Some(ping) = options.pings.iter().find(|ping| options.ipv6 && !ping.over_ipv6()) {
            return Err(RunError::Usage(match ping {
                Ping::SctpInit(_) => "-PY probes IPv4 hosts only so far".to_string(),
                _ => format!("{} has no ICMPv6 counterpart; use -PE with -6", ping.flag()),
            }));
        }
        let ip = IpProbes {
            v4: host_discovery(options, false)?,
            v6: host_discovery(options, true)?,
            scan_is_ipv6: options.ipv6,
            trace: PacketTrace::asked(options),
        };
        match options.pings.first() {
            None if raw_possible => Ok(Discovery::Raw { ip, links }),
            None => Ok(Discovery::Connect),
            Some(ping) if !privileged => {
                Err(RunError::Failed(format!("{} needs CAP_NET_RAW (run as root, or use -Pn)", ping.flag())))
            }
            Some(ping) if !raw_possible => {
                Err(RunError::Usage(format!("{} works with raw-packet scans only (not with -sT)", ping.flag())))
            }
            Some(_) => Ok(Discovery::Raw { ip, links }),
        }
    }

    /// The probes per host, for `-v`'s "Scanning N hosts [4 ports/host]".
    pub fn probes_per_host(&self) -> usize {
        match self {
            Discovery::AssumeUp { .. } => 0,
            Discovery::Raw { ip, .. } => ip.of_scan().indices().len(),
            Discovery::Connect => CONNECT_PING_PORTS.len(),
        }
    }

    /// Finds which hosts of `group` are up, with raw probes; every host comes back, up or down,
    /// in the order given.
    pub fn find_raw(
        &self,
        config: &RawConfig,
        group: Vec<Target>,
        stop: &AtomicBool,
    ) -> Result<Vec<HostResult>, RawScanError> {
        let (ip, links) = match self {
            Discovery::Raw { ip, links } => (Some(ip), links),
            Discovery::AssumeUp { links } => (None, links),
            Discovery::Connect => unreachable!("raw-packet scans discover with raw probes or not at all"),
        };
        // Each target goes to the first link that reaches it, else to the IP probes.
        let routes: Vec<Option<usize>> =
            group.iter().map(|target| links.links.iter().position(|link| link.reaches(target.addr))).collect();
        let mut found: Vec<Option<HostResult>> = vec![None; group.len()];
        for (index, link) in links.links.iter().enumerate() {
            let on_link: Vec<usize> = (0..group.len()).filter(|&i| routes[i] == Some(index)).collect();
            if on_link.is_empty() {
                continue;
            }
            let addrs: Vec<IpAddr> = on_link.iter().map(|&i| group[i].addr).collect();
            let replies = link.ask(&addrs, config, stop)?;
            for (&i, reply) in on_link.iter().zip(replies) {
                found[i] = Some(neighbour_result(group[i].clone(), reply, link.reason(), &links.vendors));
            }
        }
        let elsewhere: Vec<Target> =
            (0..group.len()).filter(|&i| routes[i].is_none()).map(|i| group[i].clone()).collect();
        let by_ip = match ip {
            Some(ip) => ip.find(config, elsewhere, stop)?,
            None => elsewhere.into_iter().map(assumed_up).collect(),
        };
        let mut by_ip = by_ip.into_iter();
        Ok(found
            .into_iter()
            .map(|host| host.unwrap_or_else(|| by_ip.next().expect("an IP discovery per target")))
            .collect())
    }

    /// Finds whether `target` is up by connecting; the result carries no ports.
    pub async fn find_by_connecting(&self, scanner: &ConnectScanner, target: Target) -> Result<HostResult, RunError> {
        match self {
            Discovery::AssumeUp { .. } => Ok(assumed_up(target)),
            Discovery::Connect => {
                let mut host = scanner
                    .scan_host(target, &CONNECT_PING_PORTS, &PingObserver { trace: None })
                    .await
                    .map_err(|e| RunError::Failed(e.to_string()))?;
                host.ports.clear();
                Ok(host)
            }
            Discovery::Raw { .. } => unreachable!("the connect scan discovers by connecting or not at all"),
        }
    }
}

/// The IP probes of a discovery, per family: a scan of names resolved with `--resolve-all`
/// holds both.
pub struct IpProbes {
    v4: HostDiscovery,
    v6: HostDiscovery,
    scan_is_ipv6: bool,
    trace: Option<PacketTrace>,
}

impl IpProbes {
    /// The probes of the scan's own family (`-6` or not).
    fn of_scan(&self) -> &HostDiscovery {
        if self.scan_is_ipv6 {
            &self.v6
        } else {
            &self.v4
        }
    }

    /// Asks each of `targets` with the probes of its family; results in the order given.
    fn find(
        &self,
        config: &RawConfig,
        targets: Vec<Target>,
        stop: &AtomicBool,
    ) -> Result<Vec<HostResult>, RawScanError> {
        // Discovery asks each host from one address: its leads are per host.
        let mut config = config.clone();
        config.source.more_addrs.clear();
        type Numbered = Vec<(usize, Target)>;
        let (v6, v4): (Numbered, Numbered) =
            targets.into_iter().enumerate().partition(|(_, target)| target.addr.is_ipv6());
        let mut found: Vec<(usize, HostResult)> = Vec::new();
        for (probes, family) in [(&self.v4, v4), (&self.v6, v6)] {
            if family.is_empty() {
                continue;
            }
            let (indices, targets): (Vec<usize>, Vec<Target>) = family.into_iter().unzip();
            let observer = PingObserver { trace: self.trace };
            let hosts = drivers::raw::run(probes.clone(), config.clone(), targets, probes.indices(), &observer, stop)?;
            found.extend(indices.into_iter().zip(hosts));
        }
        found.sort_by_key(|(index, _)| *index);
        Ok(found.into_iter().map(|(_, host)| host).collect())
    }
}

/// The discovery probes for targets of one family: those the `-P` options ask for that the
/// family has (ICMPv6 has no timestamp or address mask request), else Nmap's default set.
fn host_discovery(options: &ScanOptions, ipv6: bool) -> Result<HostDiscovery, RunError> {
    let pings: Vec<Ping> = options.pings.iter().filter(|ping| !ipv6 || ping.over_ipv6()).cloned().collect();
    let probes = probes(&pings, options)?;
    if probes.len() > HostDiscovery::MAX_PROBES {
        let (count, most) = (probes.len(), HostDiscovery::MAX_PROBES);
        return Err(RunError::Usage(format!("{count} discovery probes per host: at most {most}")));
    }
    Ok(match probes.is_empty() {
        true if ipv6 => HostDiscovery::nmap_default_v6(),
        true => HostDiscovery::nmap_default(),
        false => HostDiscovery::new(probes),
    })
}

/// Our Ethernet links, and the vendors of the hardware addresses found on them.
pub struct Neighbours {
    links: Vec<NeighbourLink>,
    vendors: MacVendors,
}

/// An Ethernet link of ours and how hosts on it are asked for: ARP, or IPv6 neighbour
/// discovery.
pub enum NeighbourLink {
    Arp(Link),
    Nd(Ipv6Link),
}

impl NeighbourLink {
    fn reaches(&self, addr: IpAddr) -> bool {
        match (self, addr) {
            (NeighbourLink::Arp(link), IpAddr::V4(addr)) => link.reaches(addr),
            (NeighbourLink::Nd(link), IpAddr::V6(addr)) => link.reaches(addr),
            _ => false,
        }
    }

    /// Asks for `addrs` (all reached by this link, of its family).
    fn ask(
        &self,
        addrs: &[IpAddr],
        config: &RawConfig,
        stop: &AtomicBool,
    ) -> Result<Vec<Option<NeighbourFound>>, RawScanError> {
        let (timing, max_rate) = (&config.timing, config.max_rate);
        match self {
            NeighbourLink::Arp(link) => drivers::arp::run(link, addrs, timing, max_rate, stop),
            NeighbourLink::Nd(link) => drivers::nd::run(link, addrs, timing, max_rate, stop),
        }
    }

    /// Nmap's reason for a host that answered.
    fn reason(&self) -> Reason {
        match self {
            NeighbourLink::Arp(_) => Reason::ArpResponse,
            NeighbourLink::Nd(_) => Reason::NdResponse,
        }
    }
}

/// The Ethernet links asked on, for both families (ARP and neighbour discovery): ours (only
/// `-e`'s, when given), none with `--send-ip` or `--disable-arp-ping`.
fn neighbour_links(options: &ScanOptions) -> Vec<NeighbourLink> {
    if options.no_arp {
        return Vec::new();
    }
    let device = options.source.device.as_deref();
    let named = |name: &str| device.is_none_or(|device| device == name);
    // `--spoof-mac`: the requests carry the spoofed address, so that the answers come to it.
    let mac = |ours: [u8; 6]| options.source.mac.unwrap_or(ours);
    let v4 = netio::ethernet_links().into_iter().filter(|link| named(&link.name));
    let v6 = netio::ethernet_links_v6().into_iter().filter(|link| named(&link.name));
    let arp = v4.map(|link| NeighbourLink::Arp(Link { mac: mac(link.mac), ..link }));
    arp.chain(v6.map(|link| NeighbourLink::Nd(Ipv6Link { mac: mac(link.mac), ..link }))).collect()
}

/// The discovery probes the `-P` options ask for, in the order given; UDP pings carry the
/// scan's UDP payloads (`--data`, or the tables).
fn probes(pings: &[Ping], options: &ScanOptions) -> Result<Vec<Box<dyn PingProbe>>, RunError> {
    let payloads = if pings.iter().any(|ping| matches!(ping, Ping::Udp(_))) {
        udp_payloads(options)?.0
    } else {
        UdpPayloads::embedded()
    };
    let mut probes: Vec<Box<dyn PingProbe>> = Vec::new();
    for ping in pings {
        match ping {
            Ping::Arp => {} // on our own links, whatever the other probes
            Ping::Echo => probes.push(Box::new(IcmpPing::ECHO)),
            Ping::Timestamp => probes.push(Box::new(IcmpPing::TIMESTAMP)),
            Ping::AddressMask => probes.push(Box::new(IcmpPing::ADDRESS_MASK)),
            Ping::Syn(ports) => probes.extend(ports.iter().map(|&p| Box::new(SynPing::new(p)) as Box<dyn PingProbe>)),
            Ping::Ack(ports) => probes.extend(ports.iter().map(|&p| Box::new(AckPing::new(p)) as Box<dyn PingProbe>)),
            Ping::Udp(ports) => {
                probes.extend(ports.iter().map(|&p| Box::new(UdpPing::new(p, &payloads)) as Box<dyn PingProbe>))
            }
            Ping::SctpInit(ports) => {
                probes.extend(ports.iter().map(|&p| Box::new(SctpInitPing::new(p)) as Box<dyn PingProbe>))
            }
        }
    }
    Ok(probes)
}

/// A target asked for on its link: up with its hardware address (for `reason`), or down if
/// it stayed silent (on its own link, a silent host is not there, as Nmap concludes too).
fn neighbour_result(
    mut target: Target,
    reply: Option<NeighbourFound>,
    reason: Reason,
    vendors: &MacVendors,
) -> HostResult {
    let Some(reply) = reply else {
        return HostResult {
            target,
            status: HostStatus::SILENT,
            round_trip: None,
            ports: Vec::new(),
            os: None,
            trace: None,
        };
    };
    target.mac = Some(reply.mac);
    target.mac_vendor = vendors.vendor(reply.mac).map(String::from);
    HostResult {
        target,
        status: HostStatus::Up { reason },
        round_trip: Some(RoundTrip::from_sample(reply.rtt)),
        ports: Vec::new(),
        os: None,
        trace: None,
    }
}

fn assumed_up(target: Target) -> HostResult {
    HostResult {
        target,
        status: HostStatus::Up { reason: Reason::UserSet },
        round_trip: None,
        ports: Vec::new(),
        os: None,
        trace: None,
    }
}

/// A port scan of a host discovery found up: the discovery says why it is up (the port scan
/// may have drawn no answer at all), gives its round trip if the scan measured none, and its
/// target carries the reverse name found meanwhile. A host the port scan timed out on, or
/// found no route to (`-Pn` finds every host up), stays so.
pub fn with_discovery(mut scanned: HostResult, found: &HostResult) -> HostResult {
    scanned.target = found.target.clone();
    let unreached = matches!(scanned.status, HostStatus::TimedOut | HostStatus::Down { reason: Reason::NoRoute });
    if !unreached {
        scanned.status = found.status;
    }
    scanned.round_trip = scanned.round_trip.or(found.round_trip);
    scanned
}

/// Discovery answers are not open ports: nothing to tell `-v`; targets that cannot be reached
/// are told as in the port scan.
struct PingObserver {
    trace: Option<PacketTrace>,
}

impl ScanObserver for PingObserver {
    fn open_port_found(&self, _: std::net::IpAddr, _: Protocol, _: u16) {}

    fn unreachable(&self, addr: std::net::IpAddr, error: &std::io::Error) {
        crate::notes::unreachable(addr, error);
    }

    fn link_stalled(&self, error: &std::io::Error) {
        crate::notes::link_stalled(error);
    }

    fn traces_packets(&self) -> bool {
        self.trace.is_some()
    }

    fn packet(&self, sent: bool, packet: &[u8]) {
        if let Some(trace) = &self.trace {
            trace.print(sent, packet);
        }
    }
}
