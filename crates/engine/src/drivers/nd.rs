//! IPv6 neighbour solicitations on an Ethernet link (RFC 4861), for a
//! [`crate::core::NeighbourSweep`].

use std::io;
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use netio::{Ipv6Link, NeighbourSocket};
use wire::icmpv6;
use wire::ipv6::Ipv6Packet;

use super::neighbours::{sweep, Asker};
use super::RawScanError;
use crate::core::{NeighbourFound, Timing};

/// Sweeps `addrs`, all on `link` (IPv6 ones: no other is asked for), unless `stop` is raised
/// first.
pub fn run(
    link: &Ipv6Link,
    addrs: &[IpAddr],
    timing: &Timing,
    max_rate: Option<f64>,
    stop: &AtomicBool,
) -> Result<Vec<Option<NeighbourFound>>, RawScanError> {
    let mut nd = Nd { socket: NeighbourSocket::open(link)?, link, solicitation: [0; icmpv6::SOLICITATION_LEN] };
    let found = sweep(&mut nd, addrs, timing, max_rate, stop);
    super::close_in_background(nd.socket);
    found
}

struct Nd<'a> {
    socket: NeighbourSocket,
    link: &'a Ipv6Link,
    solicitation: [u8; icmpv6::SOLICITATION_LEN],
}

impl Asker for Nd<'_> {
    /// A solicitation to the target's solicited-node group, from our address on the link.
    fn ask(&mut self, addr: IpAddr) -> io::Result<()> {
        let IpAddr::V6(addr) = addr else { return Ok(()) };
        let len = icmpv6::emit_solicitation(self.link.addr, self.link.mac, addr, &mut self.solicitation)
            .expect("a solicitation fits its buffer");
        let group_mac = icmpv6::multicast_mac(icmpv6::solicited_node(addr));
        self.socket.send(&self.solicitation[..len], group_mac)
    }

    fn recv(&self, buf: &mut [u8], wait: Duration) -> io::Result<Option<usize>> {
        self.socket.recv_timeout(buf, wait)
    }

    /// An advertisement that can only have come from the link: hop limit 255 (RFC 4861
    /// section 7.1.2), as a router would have lowered it.
    fn read(&self, message: &[u8]) -> Option<(IpAddr, [u8; 6])> {
        let ip = Ipv6Packet::new_checked(message).ok().filter(|ip| ip.hop_limit() == 255)?;
        let (protocol, icmp) = ip.into_upper_layer()?;
        let advertisement =
            icmpv6::parse_advertisement(icmp).ok().flatten().filter(|_| protocol == wire::ipv6::NEXT_ICMPV6)?;
        Some((advertisement.target.into(), advertisement.mac))
    }
}
