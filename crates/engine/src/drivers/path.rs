//! How probes leave and how replies come back. Each target follows its own route (a policy
//! route, a second gateway, a tunnel): on an Ethernet interface its probes go out as whole
//! frames through a link-layer socket, addressed to its next hop's hardware address from ARP
//! or neighbour discovery, the kernel's neighbour table, or a request of our own; elsewhere
//! (loopback, tunnels, next hops that stay unknown), or with `--send-ip`, the kernel routes
//! raw IP packets. IPv4 replies are read off the interface when every target is sent frames
//! on that one interface, else by raw IP sockets, which see every interface; IPv6 replies
//! always by a link-layer socket (a raw IPv6 socket gives no IPv6 header), on the one
//! interface or on all. The sender alone is twice as fast through the link-layer socket
//! (`cargo bench -p netio --bench tx`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;

use netio::{FrameSender, Ipv6Link, Link, LinkReceiver, RawReceiver, RawSender, Route};
use wire::ethernet;

use super::RawScanError;
use crate::{RawConfig, SendVia};

/// Next hops at most that a scan asks for (by ARP or neighbour discovery) before its first
/// probe; more (an `-Pn` sweep of a whole subnet) would wait longer than raw IP packets take.
const RESOLVE_LIMIT: usize = 256;

/// A target of the scan: its address, the hardware address discovery found for it (if any),
/// and the kernel's route to it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Routed {
    pub addr: IpAddr,
    pub mac: Option<[u8; 6]>,
    pub route: Route,
}

/// An Ethernet interface frames leave through.
struct LinkSender {
    frames: FrameSender,
    interface: u32,
    our_mac: [u8; 6],
}

/// Packets built and waiting to be sent together ([`Transmitter::stage`]), each after
/// [`Transmitter::HEADROOM`] bytes for its link-layer header.
#[derive(Default)]
pub(super) struct Outbox {
    bytes: Vec<u8>,
    staged: Vec<Staged>,
}

struct Staged {
    /// Where its bytes end in the outbox (they begin where the one before ends).
    end: usize,
    dst: IpAddr,
    /// Which of the transmitter's links sends it as a frame; none for raw IP.
    link: Option<usize>,
}

impl Outbox {
    /// Staged packets at most before the outbox asks to be sent ([`Outbox::is_full`]): as
    /// many as one system call sends, so a batch leaves in one.
    const MOST_STAGED: usize = FrameSender::MOST_AT_ONCE;
    /// Staged bytes at most before it asks to be sent: large probes (`--data-length`) wait a
    /// few at a time, not a batch's worth.
    const MOST_BYTES: usize = 256 * 1024;

    fn push(&mut self, bytes: &[u8], dst: IpAddr, link: Option<usize>) {
        self.bytes.extend_from_slice(bytes);
        self.staged.push(Staged { end: self.bytes.len(), dst, link });
    }

    /// Staged packet `index`, link-layer headroom first.
    pub(super) fn bytes(&self, index: usize) -> &[u8] {
        let start = index.checked_sub(1).map_or(0, |before| self.staged[before].end);
        &self.bytes[start..self.staged[index].end]
    }

    pub(super) fn dst(&self, index: usize) -> IpAddr {
        self.staged[index].dst
    }

    pub(super) fn len(&self) -> usize {
        self.staged.len()
    }

    pub(super) fn is_full(&self) -> bool {
        self.staged.len() >= Self::MOST_STAGED || self.bytes.len() >= Self::MOST_BYTES
    }

    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.staged.clear();
    }
}

/// Where probes are sent from: link-layer frames where the next hop is known, raw IP for
/// the rest.
pub(super) struct Transmitter {
    ip: RawSender,
    links: Vec<LinkSender>,
    /// For each target sent frames: which of `links`, and its next hop's hardware address.
    frames: FramePaths,
    /// Whether every target is sent frames: else some go by raw IP, perhaps through another
    /// interface, whose replies only receivers on every interface are sure to see.
    frames_to_every_target: bool,
    /// The one path of every target, when all of them leave through one gateway (any remote
    /// network): no lookup per probe, which at line rate was a miss to memory each.
    one_path: Option<(usize, [u8; 6])>,
    ipv6: bool,
}

impl Transmitter {
    /// Room to leave before a probe's IP header for a link-layer header.
    pub(super) const HEADROOM: usize = ethernet::HEADER_LEN;

    /// Stages the IP packet at `buf[HEADROOM..HEADROOM + len]` to `dst` in `outbox`, as a
    /// frame when the next hop's hardware address is known.
    pub(super) fn stage(&self, buf: &mut [u8], len: usize, dst: IpAddr, outbox: &mut Outbox) {
        let link = self.one_path.or_else(|| self.frames.get(&dst).copied()).map(|(link, next_hop)| {
            let ethertype = if dst.is_ipv6() { ethernet::IPV6 } else { ethernet::IPV4 };
            ethernet::emit_header(next_hop, self.links[link].our_mac, ethertype, buf).expect("headroom left");
            link
        });
        outbox.push(&buf[..Self::HEADROOM + len], dst, link);
    }

    /// Sends the staged frame `first` of `outbox` and those after it that leave the same way,
    /// as many as one system call takes; returns how many were sent, or the first one's error.
    pub(super) fn send_staged(&self, outbox: &Outbox, first: usize) -> std::io::Result<usize> {
        let Some(link) = outbox.staged[first].link else {
            return self.ip.send(&outbox.bytes(first)[Self::HEADROOM..], outbox.dst(first)).map(|()| 1);
        };
        let same_link = outbox.staged[first..].iter().take_while(|staged| staged.link == Some(link)).count();
        let count = same_link.min(FrameSender::MOST_AT_ONCE);
        let mut frames = [&[][..]; FrameSender::MOST_AT_ONCE];
        for (frame, index) in frames.iter_mut().zip(first..first + count) {
            *frame = outbox.bytes(index);
        }
        self.links[link].frames.send_many(&frames[..count])
    }

    /// The receivers for the replies: the interface's link-layer socket when every probe goes
    /// out on it as a frame; else, for IPv4, one raw socket per protocol that can answer
    /// (ICMP last), and for IPv6 a link-layer socket on every interface.
    pub(super) fn receivers(
        &self,
        protocols: &[u8],
        ports: std::ops::RangeInclusive<u16>,
    ) -> Result<Vec<Receiver>, RawScanError> {
        let one_link = match self.links.as_slice() {
            [link] if self.frames_to_every_target => Some(link.interface),
            _ => None,
        };
        if self.ipv6 {
            return Ok(vec![Receiver::Link(LinkReceiver::open_ipv6(one_link, ports)?)]);
        }
        if let Some(interface) = one_link {
            return Ok(vec![Receiver::Link(LinkReceiver::open(interface, ports)?)]);
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

/// Chooses how the probes to each of `targets` (all of one family) leave, by its own route.
pub(super) fn transmitter(
    config: &RawConfig,
    targets: &[Routed],
    stop: &AtomicBool,
) -> Result<Transmitter, RawScanError> {
    let ipv6 = targets.first().is_some_and(|target| target.addr.is_ipv6());
    let ip = RawSender::open(ipv6, config.source.device.as_deref())?;
    let no_frames = || (Vec::new(), FramePaths::default());
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
                    Some(first) if !OurLinks::find(None).leaves_on(first) => {
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
    let mut paths = frames.values().copied();
    let first_path = paths.next();
    let one_path = first_path.filter(|&first| frames_to_every_target && paths.all(|path| path == first));
    Ok(Transmitter { ip, links, frames, frames_to_every_target, one_path, ipv6 })
}

/// This host's Ethernet interfaces: their IPv4 subnets and IPv6 prefixes.
struct OurLinks {
    v4: Vec<Link>,
    v6: Vec<Ipv6Link>,
}

impl OurLinks {
    /// Our links, each with `spoofed` for its hardware address when one is given.
    fn find(spoofed: Option<[u8; 6]>) -> OurLinks {
        let mut ours = OurLinks { v4: netio::ethernet_links(), v6: netio::ethernet_links_v6() };
        if let Some(mac) = spoofed {
            ours.v4.iter_mut().for_each(|link| link.mac = mac);
            ours.v6.iter_mut().for_each(|link| link.mac = mac);
        }
        ours
    }

    fn leaves_on(&self, target: &Routed) -> bool {
        self.mac(target.route.interface).is_some()
    }

    /// Our hardware address on interface `index`, if it is one of ours on Ethernet.
    fn mac(&self, index: u32) -> Option<[u8; 6]> {
        let v4 = self.v4.iter().find(|link| link.index == index).map(|link| link.mac);
        v4.or_else(|| self.v6.iter().find(|link| link.index == index).map(|link| link.mac))
    }

    /// Whether `addr` is on one of interface `index`'s own subnets or prefixes.
    fn on_link(&self, index: u32, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(addr) => self.v4.iter().any(|link| link.index == index && link.reaches(addr)),
            IpAddr::V6(addr) => self.v6.iter().any(|link| link.index == index && link.reaches(addr)),
        }
    }
}

/// For each target reached by Ethernet frames: which of the link senders it leaves through,
/// and its next hop's hardware address.
type FramePaths = HashMap<IpAddr, (usize, [u8; 6]), foldhash::fast::RandomState>;

/// The Ethernet interfaces the targets' routes leave through, and for each target a next hop
/// whose hardware address is known or can be learnt, the link it is on, and that address.
fn ethernet_paths(
    targets: &[Routed],
    config: &RawConfig,
    stop: &AtomicBool,
) -> Result<(Vec<LinkSender>, FramePaths), RawScanError> {
    let ours = OurLinks::find(config.source.mac);
    let mut by_interface: Vec<(u32, Vec<&Routed>)> = Vec::new();
    for target in targets.iter().filter(|target| ours.leaves_on(target)) {
        match by_interface.iter_mut().find(|(interface, _)| *interface == target.route.interface) {
            Some((_, on_it)) => on_it.push(target),
            None => by_interface.push((target.route.interface, vec![target])),
        }
    }
    let mut senders = Vec::new();
    let mut frames = FramePaths::default();
    let mut budget = RESOLVE_LIMIT;
    for (interface, on_it) in by_interface {
        let macs = next_hop_macs(&on_it, interface, &ours, &mut budget, config, stop)?;
        let Some(our_mac) = ours.mac(interface).filter(|_| !macs.is_empty()) else { continue };
        let link = senders.len();
        frames.extend(macs.into_iter().map(|(addr, mac)| (addr, (link, mac))));
        senders.push(LinkSender { frames: FrameSender::open(interface)?, interface, our_mac });
    }
    Ok((senders, frames))
}

/// The hardware address of the next hop of each of `targets` (all leaving through interface
/// `interface`) that is known, or learnt by ARP or neighbour discovery within `budget` next
/// hops.
fn next_hop_macs(
    targets: &[&Routed],
    interface: u32,
    ours: &OurLinks,
    budget: &mut usize,
    config: &RawConfig,
    stop: &AtomicBool,
) -> Result<HashMap<IpAddr, [u8; 6]>, RawScanError> {
    let next_hops: Vec<(IpAddr, IpAddr)> = targets
        .iter()
        .map(|target| (target.addr, next_hop(&target.route, ours.on_link(interface, target.addr), target.addr)))
        .collect();
    let mut known = netio::neighbours(interface).unwrap_or_default();
    known.extend(targets.iter().filter_map(|target| Some((target.addr, target.mac?))));
    let mut missing: Vec<IpAddr> =
        next_hops.iter().map(|&(_, hop)| hop).filter(|hop| !known.contains_key(hop)).collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() && missing.len() <= *budget {
        *budget -= missing.len();
        known.extend(ask_for(&missing, interface, ours, config, stop)?);
    }
    Ok(next_hops.into_iter().filter_map(|(target, hop)| Some((target, *known.get(&hop)?))).collect())
}

/// Asks the link of interface `interface` for the hardware addresses of `addrs` (all of one
/// family): by ARP, or by neighbour discovery.
fn ask_for(
    addrs: &[IpAddr],
    interface: u32,
    ours: &OurLinks,
    config: &RawConfig,
    stop: &AtomicBool,
) -> Result<Vec<(IpAddr, [u8; 6])>, RawScanError> {
    let (timing, max_rate) = (&config.timing, config.max_rate);
    let found = match addrs.first() {
        Some(IpAddr::V4(_)) => {
            let Some(link) = ours.v4.iter().find(|link| link.index == interface) else { return Ok(Vec::new()) };
            super::arp::run(link, addrs, timing, max_rate, stop)?
        }
        Some(IpAddr::V6(_)) => {
            let Some(link) = ours.v6.iter().find(|link| link.index == interface) else { return Ok(Vec::new()) };
            super::nd::run(link, addrs, timing, max_rate, stop)?
        }
        None => return Ok(Vec::new()),
    };
    Ok(addrs.iter().zip(found).filter_map(|(&addr, found)| Some((addr, found?.mac))).collect())
}

/// The hop a probe to `target` goes to first: the target itself when it is `on_link` (on
/// the interface's own subnets) or the route names no gateway, else the gateway.
fn next_hop(route: &Route, on_link: bool, target: IpAddr) -> IpAddr {
    match route.gateway {
        Some(gateway) if !on_link => gateway,
        _ => target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outbox_gives_back_each_staged_packet_whole_and_fills_at_a_batch_or_its_bytes() {
        let mut outbox = Outbox::default();
        let (near, far) = (IpAddr::from([198, 18, 0, 9]), IpAddr::from([198, 19, 3, 4]));
        outbox.push(&[1; 40], near, Some(0));
        outbox.push(&[2; 74], far, None);
        assert_eq!((outbox.len(), outbox.bytes(0), outbox.bytes(1)), (2, &[1; 40][..], &[2; 74][..]));
        assert_eq!((outbox.dst(0), outbox.dst(1)), (near, far));
        (2..Outbox::MOST_STAGED).for_each(|_| outbox.push(&[3; 60], far, Some(0)));
        assert!(outbox.is_full(), "a batch's worth of packets");
        outbox.clear();
        assert_eq!(outbox.len(), 0);
        outbox.push(&vec![4; Outbox::MOST_BYTES - 1], far, Some(0));
        assert!(!outbox.is_full());
        outbox.push(&[5; 1], far, Some(0));
        assert!(outbox.is_full(), "a large probe's worth of bytes");
    }

    #[test]
    fn targets_on_the_link_are_their_own_next_hop_and_others_go_through_the_gateway() {
        let gateway = IpAddr::from([198, 18, 0, 2]);
        let route = Route { interface: 2, gateway: Some(gateway), source: None };
        let (near, far) = (IpAddr::from([198, 18, 0, 9]), IpAddr::from([198, 19, 3, 4]));
        assert_eq!(next_hop(&route, true, near), near);
        assert_eq!(next_hop(&route, false, far), gateway);
        let direct = Route { interface: 2, gateway: None, source: None };
        assert_eq!(next_hop(&direct, false, far), far);
    }
}
