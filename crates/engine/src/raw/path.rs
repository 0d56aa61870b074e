//! How probes leave and how replies come back. On an Ethernet interface probes go out as
//! whole frames through a link-layer socket, addressed to the next hop's hardware address
//! from ARP discovery, the kernel's neighbour table, or an ARP request of our own, and when
//! every target is reached so the replies are read off that interface; elsewhere (loopback,
//! tunnels, next hops that stay unknown), or with `--send-ip`, the kernel routes raw IP
//! packets and raw IP sockets read the replies. The sender alone is twice as fast through the
//! link-layer socket (`cargo bench -p netio --bench tx`).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::AtomicBool;

use netio::{FrameSender, Link, LinkReceiver, RawReceiver, RawSender, Route};
use wire::ethernet;

use super::runner::RawScanError;
use super::RawConfig;
use crate::SendVia;

/// Next hops at most that a scan asks for by ARP before its first probe; more (an `-Pn`
/// sweep of a whole subnet) would wait on ARP longer than raw IP packets take.
const ARP_RESOLVE_LIMIT: usize = 256;

/// The Ethernet side of a scan: our interface and hardware address, and each target's next
/// hop's hardware address.
pub(super) struct EthernetPath {
    frames: FrameSender,
    interface: u32,
    our_mac: [u8; 6],
    next_hop_macs: HashMap<Ipv4Addr, [u8; 6]>,
    /// Whether every target is sent frames: else some go by raw IP, perhaps through another
    /// interface, whose replies only the IP layer's receivers are sure to see.
    frames_to_every_target: bool,
}

/// Where probes are sent from: link-layer frames where the next hop is known, raw IP for
/// the rest.
pub(super) struct Transmitter {
    ip: RawSender,
    ethernet: Option<EthernetPath>,
}

impl Transmitter {
    /// Room to leave before a probe's IP header for a link-layer header.
    pub(super) const HEADROOM: usize = ethernet::HEADER_LEN;

    /// Sends the IP packet at `buf[HEADROOM..HEADROOM + len]` to `dst`, as a frame when the
    /// next hop's hardware address is known.
    pub(super) fn send(&self, buf: &mut [u8], len: usize, dst: Ipv4Addr) -> std::io::Result<()> {
        let path = self.ethernet.as_ref().and_then(|path| Some((path, *path.next_hop_macs.get(&dst)?)));
        match path {
            Some((path, next_hop)) => {
                ethernet::emit_header(next_hop, path.our_mac, ethernet::IPV4, buf).expect("headroom left");
                path.frames.send(&buf[..Self::HEADROOM + len])
            }
            None => self.ip.send(&buf[Self::HEADROOM..Self::HEADROOM + len], dst),
        }
    }

    /// The receivers for the replies: the interface's link-layer socket when every probe goes
    /// out on it as a frame, else one raw socket per protocol that can answer (ICMP last),
    /// which see replies from every interface.
    pub(super) fn receivers(
        &self,
        protocols: &[u8],
        ports: std::ops::RangeInclusive<u16>,
    ) -> Result<Vec<Receiver>, RawScanError> {
        if let Some(path) = self.ethernet.as_ref().filter(|path| path.frames_to_every_target) {
            return Ok(vec![Receiver::Link(LinkReceiver::open(path.interface, ports)?)]);
        }
        let mut receivers = Vec::new();
        for &protocol in protocols {
            let receiver = RawReceiver::open(protocol)?;
            let filtered = if protocol == wire::ipv4::PROTO_ICMP {
                receiver.keep_icmp_answers()
            } else {
                receiver.keep_to_ports(ports.clone())
            };
            filtered.map_err(RawScanError::Receive)?;
            receivers.push(Receiver::Ip(receiver));
        }
        Ok(receivers)
    }
}

/// A socket replies are read from.
pub(super) enum Receiver {
    Ip(RawReceiver),
    Link(LinkReceiver),
}

impl Receiver {
    pub(super) fn try_recv(&self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        match self {
            Receiver::Ip(socket) => socket.try_recv(buf),
            Receiver::Link(socket) => socket.try_recv(buf),
        }
    }

    pub(super) fn recv_timeout(&self, buf: &mut [u8], timeout: std::time::Duration) -> std::io::Result<Option<usize>> {
        match self {
            Receiver::Ip(socket) => socket.recv_timeout(buf, timeout),
            Receiver::Link(socket) => socket.recv_timeout(buf, timeout),
        }
    }
}

/// Chooses how the probes to `targets` (with the hardware addresses ARP discovery found, if
/// any) leave, by the route to the first of them.
pub(super) fn transmitter(
    config: &RawConfig,
    targets: &[(Ipv4Addr, Option<[u8; 6]>)],
    stop: &AtomicBool,
) -> Result<Transmitter, RawScanError> {
    let ip = RawSender::open(config.source.device.as_deref())?;
    let ethernet = match config.source.via {
        SendVia::Ip => None,
        // Where frames cannot go, raw IP can; only an interruption stops the scan.
        SendVia::Auto => match ethernet_path(config, targets, stop) {
            Err(RawScanError::Interrupted) => return Err(RawScanError::Interrupted),
            found => found.ok().flatten(),
        },
        SendVia::Ethernet => Some(
            ethernet_path(config, targets, stop)?
                .ok_or_else(|| RawScanError::NoEthernet("no next hop's hardware address is known".into()))?,
        ),
    };
    Ok(Transmitter { ip, ethernet })
}

/// The Ethernet path to `targets`, if their route leaves through an Ethernet interface and
/// some next hop's hardware address is known or can be learnt.
fn ethernet_path(
    config: &RawConfig,
    targets: &[(Ipv4Addr, Option<[u8; 6]>)],
    stop: &AtomicBool,
) -> Result<Option<EthernetPath>, RawScanError> {
    let Some(&(first, _)) = targets.first() else { return Ok(None) };
    let links = netio::ethernet_links();
    let device = match config.source.device.as_deref() {
        Some(name) => Some(links.iter().find(|link| link.name == name).map(|link| link.index).ok_or_else(|| {
            RawScanError::NoEthernet(format!("interface '{name}' has no IPv4 address on an Ethernet link"))
        })?),
        None => None,
    };
    let route = netio::route_to(first, device).map_err(|source| RawScanError::NoRoute { addr: first, source })?;
    let subnets: Vec<&Link> = links.iter().filter(|link| link.index == route.interface).collect();
    let Some(&link) = subnets.first() else {
        return Err(RawScanError::NoEthernet(format!(
            "the route to {first} does not leave through an Ethernet interface"
        )));
    };
    let next_hops: Vec<(Ipv4Addr, Ipv4Addr)> =
        targets.iter().map(|&(target, _)| (target, next_hop(&route, &subnets, target))).collect();
    let mut known = netio::neighbours(route.interface).unwrap_or_default();
    known.extend(targets.iter().filter_map(|&(addr, mac)| Some((addr, mac?))));
    let mut missing: Vec<Ipv4Addr> =
        next_hops.iter().map(|&(_, hop)| hop).filter(|hop| !known.contains_key(hop)).collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() && missing.len() <= ARP_RESOLVE_LIMIT {
        let found = crate::arp::run(link, &missing, &config.timing, config.max_rate, stop)?;
        known.extend(missing.iter().zip(found).filter_map(|(&addr, found)| Some((addr, found?.mac))));
    }
    let next_hop_macs: HashMap<Ipv4Addr, [u8; 6]> =
        next_hops.into_iter().filter_map(|(target, hop)| Some((target, *known.get(&hop)?))).collect();
    if next_hop_macs.is_empty() {
        return Ok(None);
    }
    Ok(Some(EthernetPath {
        frames: FrameSender::open(route.interface)?,
        interface: route.interface,
        our_mac: link.mac,
        frames_to_every_target: next_hop_macs.len() == targets.len(),
        next_hop_macs,
    }))
}

/// The hop a probe to `target` goes to first: the target itself on the interface's own
/// subnets (or when the route names no gateway), else the gateway.
fn next_hop(route: &Route, subnets: &[&Link], target: Ipv4Addr) -> Ipv4Addr {
    match route.gateway {
        Some(gateway) if !subnets.iter().any(|link| link.reaches(target)) => gateway,
        _ => target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet() -> Link {
        Link {
            name: "scan0".into(),
            index: 2,
            mac: [2, 0, 0, 0, 0, 1],
            addr: Ipv4Addr::new(198, 18, 0, 1),
            netmask: Ipv4Addr::new(255, 255, 255, 0),
        }
    }

    #[test]
    fn targets_on_the_link_are_their_own_next_hop_and_others_go_through_the_gateway() {
        let link = subnet();
        let gateway = Ipv4Addr::new(198, 18, 0, 2);
        let route = Route { interface: 2, gateway: Some(gateway) };
        assert_eq!(next_hop(&route, &[&link], Ipv4Addr::new(198, 18, 0, 9)), Ipv4Addr::new(198, 18, 0, 9));
        assert_eq!(next_hop(&route, &[&link], Ipv4Addr::new(198, 19, 3, 4)), gateway);
        let direct = Route { interface: 2, gateway: None };
        assert_eq!(next_hop(&direct, &[&link], Ipv4Addr::new(198, 19, 3, 4)), Ipv4Addr::new(198, 19, 3, 4));
    }
}
