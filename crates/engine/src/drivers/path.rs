//! How probes leave and how replies come back. Each target follows its own route (a policy
//! route, a second gateway, a tunnel): on an Ethernet interface its probes go out as whole
//! frames through a link-layer socket, addressed to its next hop's hardware address from ARP
//! discovery, the kernel's neighbour table, or an ARP request of our own; elsewhere (loopback,
//! tunnels, next hops that stay unknown), or with `--send-ip`, the kernel routes raw IP
//! packets. Replies are read off the interface when every target is sent frames on that one
//! interface, else by raw IP sockets, which see every interface. The sender alone is twice as
//! fast through the link-layer socket (`cargo bench -p netio --bench tx`). IPv6 probes go as
//! raw IPv6 packets, routed by the kernel, and their replies are read off every interface.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::AtomicBool;

use netio::{FrameSender, Link, LinkReceiver, RawReceiver, RawSender, Route};
use wire::ethernet;

use super::RawScanError;
use crate::{RawConfig, SendVia};

/// Next hops at most that a scan asks for by ARP before its first probe; more (an `-Pn`
/// sweep of a whole subnet) would wait on ARP longer than raw IP packets take.
const ARP_RESOLVE_LIMIT: usize = 256;

/// A target of the scan: its address, the hardware address ARP discovery found for it (if
/// any), and the kernel's route to it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Routed {
    pub addr: Ipv4Addr,
    pub mac: Option<[u8; 6]>,
    pub route: Route,
}

/// An Ethernet interface frames leave through.
struct LinkSender {
    frames: FrameSender,
    interface: u32,
    our_mac: [u8; 6],
}

/// Where probes are sent from: link-layer frames where the next hop is known, raw IP for
/// the rest.
pub(super) struct Transmitter {
    ip: RawSender,
    links: Vec<LinkSender>,
    /// For each target sent frames: which of `links`, and its next hop's hardware address.
    frames: FramePaths,
    /// Whether every target is sent frames: else some go by raw IP, perhaps through another
    /// interface, whose replies only the IP layer's receivers are sure to see.
    frames_to_every_target: bool,
    ipv6: bool,
}

impl Transmitter {
    /// Room to leave before a probe's IP header for a link-layer header.
    pub(super) const HEADROOM: usize = ethernet::HEADER_LEN;

    /// A transmitter of raw IPv6 packets, which the kernel routes.
    pub(super) fn ipv6(config: &RawConfig) -> Result<Transmitter, RawScanError> {
        Ok(Transmitter {
            ip: RawSender::open(true, config.source.device.as_deref())?,
            links: Vec::new(),
            frames: HashMap::new(),
            frames_to_every_target: false,
            ipv6: true,
        })
    }

    /// Sends the IP packet at `buf[HEADROOM..HEADROOM + len]` to `dst`, as a frame when the
    /// next hop's hardware address is known.
    pub(super) fn send(&self, buf: &mut [u8], len: usize, dst: IpAddr) -> std::io::Result<()> {
        let frame_path = match dst {
            IpAddr::V4(dst) => self.frames.get(&dst),
            IpAddr::V6(_) => None,
        };
        match frame_path {
            Some(&(link, next_hop)) => {
                let link = &self.links[link];
                ethernet::emit_header(next_hop, link.our_mac, ethernet::IPV4, buf).expect("headroom left");
                link.frames.send(&buf[..Self::HEADROOM + len])
            }
            None => self.ip.send(&buf[Self::HEADROOM..Self::HEADROOM + len], dst),
        }
    }

    /// The receivers for the replies: the interface's link-layer socket when every probe goes
    /// out on it as a frame, else one raw socket per protocol that can answer (ICMP last),
    /// which see replies from every interface; for IPv6, a link-layer socket on every
    /// interface.
    pub(super) fn receivers(
        &self,
        protocols: &[u8],
        ports: std::ops::RangeInclusive<u16>,
    ) -> Result<Vec<Receiver>, RawScanError> {
        if self.ipv6 {
            return Ok(vec![Receiver::Link(LinkReceiver::open_ipv6(ports)?)]);
        }
        if let [link] = self.links.as_slice() {
            if self.frames_to_every_target {
                return Ok(vec![Receiver::Link(LinkReceiver::open(link.interface, ports)?)]);
            }
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

/// Chooses how the probes to each of `targets` leave, by its own route.
pub(super) fn transmitter(
    config: &RawConfig,
    targets: &[Routed],
    stop: &AtomicBool,
) -> Result<Transmitter, RawScanError> {
    let ip = RawSender::open(false, config.source.device.as_deref())?;
    let no_frames = || (Vec::new(), HashMap::new());
    let (links, frames) = match config.source.via {
        SendVia::Ip => no_frames(),
        // Where frames cannot go, raw IP can; only an interruption stops the scan.
        SendVia::Auto => match ethernet_paths(targets, config, stop) {
            Err(RawScanError::Interrupted) => return Err(RawScanError::Interrupted),
            found => found.unwrap_or_else(|_| no_frames()),
        },
        SendVia::Ethernet => {
            let found = ethernet_paths(targets, config, stop)?;
            if found.1.is_empty() {
                let reason = match targets.first() {
                    Some(first) if !leaves_on_ethernet(first, &netio::ethernet_links()) => {
                        format!("the route to {} does not leave through an Ethernet interface", first.addr)
                    }
                    _ => "no next hop's hardware address is known".into(),
                };
                return Err(RawScanError::NoEthernet(reason));
            }
            found
        }
    };
    let frames_to_every_target = frames.len() == targets.len();
    Ok(Transmitter { ip, links, frames, frames_to_every_target, ipv6: false })
}

fn leaves_on_ethernet(target: &Routed, links: &[Link]) -> bool {
    links.iter().any(|link| link.index == target.route.interface)
}

/// For each target reached by Ethernet frames: which of the link senders it leaves through,
/// and its next hop's hardware address.
type FramePaths = HashMap<Ipv4Addr, (usize, [u8; 6])>;

/// The Ethernet interfaces the targets' routes leave through, and for each target a next hop
/// whose hardware address is known or can be learnt, the link it is on, and that address.
fn ethernet_paths(
    targets: &[Routed],
    config: &RawConfig,
    stop: &AtomicBool,
) -> Result<(Vec<LinkSender>, FramePaths), RawScanError> {
    let links = netio::ethernet_links();
    let mut by_interface: Vec<(u32, Vec<&Routed>)> = Vec::new();
    for target in targets.iter().filter(|target| leaves_on_ethernet(target, &links)) {
        match by_interface.iter_mut().find(|(interface, _)| *interface == target.route.interface) {
            Some((_, on_it)) => on_it.push(target),
            None => by_interface.push((target.route.interface, vec![target])),
        }
    }
    let mut senders = Vec::new();
    let mut frames = HashMap::new();
    let mut arp_budget = ARP_RESOLVE_LIMIT;
    for (interface, on_it) in by_interface {
        let subnets: Vec<&Link> = links.iter().filter(|link| link.index == interface).collect();
        let macs = next_hop_macs(&on_it, &subnets, &mut arp_budget, config, stop)?;
        if macs.is_empty() {
            continue;
        }
        let link = senders.len();
        frames.extend(macs.into_iter().map(|(addr, mac)| (addr, (link, mac))));
        senders.push(LinkSender { frames: FrameSender::open(interface)?, interface, our_mac: subnets[0].mac });
    }
    Ok((senders, frames))
}

/// The hardware address of the next hop of each of `targets` (all leaving through the link
/// of `subnets`) that is known, or learnt by ARP within `arp_budget` next hops.
fn next_hop_macs(
    targets: &[&Routed],
    subnets: &[&Link],
    arp_budget: &mut usize,
    config: &RawConfig,
    stop: &AtomicBool,
) -> Result<HashMap<Ipv4Addr, [u8; 6]>, RawScanError> {
    let link = subnets[0];
    let next_hops: Vec<(Ipv4Addr, Ipv4Addr)> =
        targets.iter().map(|target| (target.addr, next_hop(&target.route, subnets, target.addr))).collect();
    let mut known = netio::neighbours(link.index).unwrap_or_default();
    known.extend(targets.iter().filter_map(|target| Some((target.addr, target.mac?))));
    let mut missing: Vec<Ipv4Addr> =
        next_hops.iter().map(|&(_, hop)| hop).filter(|hop| !known.contains_key(hop)).collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() && missing.len() <= *arp_budget {
        *arp_budget -= missing.len();
        let found = super::arp::run(link, &missing, &config.timing, config.max_rate, stop)?;
        known.extend(missing.iter().zip(found).filter_map(|(&addr, found)| Some((addr, found?.mac))));
    }
    Ok(next_hops.into_iter().filter_map(|(target, hop)| Some((target, *known.get(&hop)?))).collect())
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
        let route = Route { interface: 2, gateway: Some(gateway), source: None };
        assert_eq!(next_hop(&route, &[&link], Ipv4Addr::new(198, 18, 0, 9)), Ipv4Addr::new(198, 18, 0, 9));
        assert_eq!(next_hop(&route, &[&link], Ipv4Addr::new(198, 19, 3, 4)), gateway);
        let direct = Route { interface: 2, gateway: None, source: None };
        assert_eq!(next_hop(&direct, &[&link], Ipv4Addr::new(198, 19, 3, 4)), Ipv4Addr::new(198, 19, 3, 4));
    }
}
