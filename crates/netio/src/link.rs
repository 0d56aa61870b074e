//! The directly attached Ethernet link towards a destination, and an ARP socket on it, for
//! ARP host discovery (Nmap's -PR), which needs no route and finds hosts that drop all IP;
//! and for IPv6 the link's prefixes and a socket for neighbour discovery, its counterpart.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::RawSocketError;

/// An Ethernet interface and one of its IPv4 subnets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
    /// Our address on the link, the ARP requests' sender.
    pub addr: Ipv4Addr,
    pub netmask: Ipv4Addr,
}

impl Link {
    /// Whether `dst` sits on this link's subnet (and is not our own address).
    pub fn reaches(&self, dst: Ipv4Addr) -> bool {
        let mask = u32::from(self.netmask);
        u32::from(self.addr) & mask == u32::from(dst) & mask && dst != self.addr
    }
}

/// Linux's ARPHRD_ETHER, as /sys/class/net/*/type reports it.
const ARPHRD_ETHER: &str = "1";
const BROADCAST: [u8; 6] = [0xff; 6];

/// Every IPv4 subnet of this host's Ethernet interfaces (none if they cannot be listed).
pub fn ethernet_links() -> Vec<Link> {
    let Ok(interfaces) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
    interfaces
        .filter_map(|interface| {
            let addr = interface.address.as_ref()?.as_sockaddr_in()?.ip();
            let netmask = interface.netmask.as_ref()?.as_sockaddr_in()?.ip();
            if !is_ethernet(&interface.interface_name) {
                return None;
            }
            Some(Link {
                index: nix::net::if_::if_nametoindex(interface.interface_name.as_str()).ok()?,
                mac: hardware_address(&interface.interface_name)?,
                addr,
                netmask,
                name: interface.interface_name,
            })
        })
        .collect()
}

/// An Ethernet interface and one of its IPv6 prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Link {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
    /// Our address on the link, the solicitations' source.
    pub addr: Ipv6Addr,
    pub prefix_len: u32,
}

impl Ipv6Link {
    /// Whether `dst` sits in this link's prefix (and is not our own address).
    pub fn reaches(&self, dst: Ipv6Addr) -> bool {
        let mask = u128::MAX.checked_shl(128 - self.prefix_len).unwrap_or(0);
        u128::from(self.addr) & mask == u128::from(dst) & mask && dst != self.addr
    }
}

/// Every IPv6 prefix of this host's Ethernet interfaces, link-local ones included (every
/// interface has fe80::/64: a link-local target is asked for on the interface it was named
/// with).
pub fn ethernet_links_v6() -> Vec<Ipv6Link> {
    let Ok(interfaces) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
    interfaces
        .filter_map(|interface| {
            let addr = interface.address.as_ref()?.as_sockaddr_in6()?.ip();
            let netmask = interface.netmask.as_ref()?.as_sockaddr_in6()?.ip();
            if !is_ethernet(&interface.interface_name) {
                return None;
            }
            Some(Ipv6Link {
                index: nix::net::if_::if_nametoindex(interface.interface_name.as_str()).ok()?,
                mac: hardware_address(&interface.interface_name)?,
                addr,
                prefix_len: u128::from(netmask).count_ones(),
                name: interface.interface_name,
            })
        })
        .collect()
}

/// A link-layer socket that sends IPv6 packets to a hardware address on one interface and
/// receives the neighbour advertisements arriving there (from their IPv6 header on).
pub struct NeighbourSocket {
    socket: Socket,
    index: u32,
}

impl NeighbourSocket {
    pub fn open(link: &Ipv6Link) -> Result<NeighbourSocket, RawSocketError> {
        // As for the scan's receivers: opened for no protocol, filtered, then bound, so
        // nothing unfiltered is ever queued.
        let socket =
            Socket::new(Domain::PACKET, Type::DGRAM, Some(Protocol::from(0))).map_err(RawSocketError::opening)?;
        crate::filter::attach(&socket, &crate::filter::neighbour_advertisements()).map_err(RawSocketError::Io)?;
        socket.bind(&ipv6_address(link.index, None)).map_err(RawSocketError::Io)?;
        Ok(NeighbourSocket { socket, index: link.index })
    }

    /// Sends a whole IPv6 packet in a frame to `mac`.
    pub fn send(&self, packet: &[u8], mac: [u8; 6]) -> io::Result<()> {
        crate::sent_whole(self.socket.send_to(packet, &ipv6_address(self.index, Some(mac)))?, packet.len())
    }

    /// The next advertisement, waiting at most `timeout`.
    pub fn recv_timeout(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        crate::raw::recv_timeout(&self.socket, buf, timeout)
    }
}

fn ipv6_address(index: u32, mac: Option<[u8; 6]>) -> SockAddr {
    sockaddr_ll(index, (libc::ETH_P_IPV6 as u16).to_be(), mac)
}

fn is_ethernet(name: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{name}/type")).is_ok_and(|kind| kind.trim() == ARPHRD_ETHER)
}

pub(crate) fn hardware_address(name: &str) -> Option<[u8; 6]> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/address")).ok()?;
    let mut mac = [0u8; 6];
    let mut octets = text.trim().split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(octets.next()?, 16).ok()?;
    }
    octets.next().is_none().then_some(mac)
}

/// A link-layer socket that sends and receives ARP messages (without Ethernet headers) on one
/// interface.
pub struct ArpSocket {
    socket: Socket,
    index: u32,
}

impl ArpSocket {
    pub fn open(link: &Link) -> Result<ArpSocket, RawSocketError> {
        let protocol = i32::from((libc::ETH_P_ARP as u16).to_be());
        let socket = Socket::new(Domain::PACKET, Type::DGRAM, Some(Protocol::from(protocol)))
            .map_err(RawSocketError::opening)?;
        socket.bind(&arp_address(link.index, None)).map_err(RawSocketError::Io)?;
        Ok(ArpSocket { socket, index: link.index })
    }

    /// Broadcasts an ARP message on the link.
    pub fn broadcast(&self, message: &[u8]) -> io::Result<()> {
        self.socket.send_to(message, &arp_address(self.index, Some(BROADCAST))).map(drop)
    }

    /// The next ARP message, waiting at most `timeout`.
    pub fn recv_timeout(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        crate::raw::recv_timeout(&self.socket, buf, timeout)
    }
}

/// A `sockaddr_ll` for ARP on interface `index`, addressed to `mac` when sending.
fn arp_address(index: u32, mac: Option<[u8; 6]>) -> SockAddr {
    sockaddr_ll(index, (libc::ETH_P_ARP as u16).to_be(), mac)
}

/// A `sockaddr_ll` on interface `index` for `protocol` (network order), addressed to `mac`
/// when sending.
pub(crate) fn sockaddr_ll(index: u32, protocol: u16, mac: Option<[u8; 6]>) -> SockAddr {
    let mut storage = socket2::SockAddrStorage::zeroed();
    // SAFETY: sockaddr_ll is one of this platform's sockaddr types, which view_as expects.
    let link = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    link.sll_family = libc::AF_PACKET as u16;
    link.sll_protocol = protocol;
    link.sll_ifindex = index as i32;
    if let Some(mac) = mac {
        link.sll_halen = 6;
        link.sll_addr[..6].copy_from_slice(&mac);
    }
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `storage` holds an initialised sockaddr_ll of `len` bytes.
    unsafe { SockAddr::new(storage, len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_no_ethernet_link() {
        assert!(ethernet_links().iter().all(|link| !link.reaches(Ipv4Addr::new(127, 0, 0, 2))));
    }

    #[test]
    fn a_link_reaches_its_subnet_but_not_our_own_address() {
        let link = Link {
            name: "scan0".into(),
            index: 2,
            mac: [2, 0, 0, 0, 0, 1],
            addr: Ipv4Addr::new(198, 18, 0, 1),
            netmask: Ipv4Addr::new(255, 255, 255, 0),
        };
        assert!(link.reaches(Ipv4Addr::new(198, 18, 0, 9)));
        assert!(!link.reaches(Ipv4Addr::new(198, 18, 1, 9)));
        assert!(!link.reaches(link.addr));
    }
}
