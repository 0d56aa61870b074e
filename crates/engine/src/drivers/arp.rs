//! ARP requests on an IPv4 Ethernet link, for a [`crate::core::NeighbourSweep`].

use std::io;
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use netio::{ArpSocket, Link};

use super::neighbours::{sweep, Asker};
use super::RawScanError;
use crate::core::{NeighbourFound, Timing};

/// Sweeps `addrs`, all on `link` (IPv4 ones: no other is asked for), unless `stop` is raised
/// first.
pub fn run(
    link: &Link,
    addrs: &[IpAddr],
    timing: &Timing,
    max_rate: Option<f64>,
    stop: &AtomicBool,
) -> Result<Vec<Option<NeighbourFound>>, RawScanError> {
    let mut arp = Arp { socket: ArpSocket::open(link)?, link };
    let found = sweep(&mut arp, addrs, timing, max_rate, stop);
    super::close_in_background(arp.socket);
    found
}

struct Arp<'a> {
    socket: ArpSocket,
    link: &'a Link,
}

impl Asker for Arp<'_> {
    fn ask(&mut self, addr: IpAddr) -> io::Result<()> {
        let IpAddr::V4(addr) = addr else { return Ok(()) };
        self.socket.broadcast(&wire::arp::request(self.link.mac, self.link.addr, addr))
    }

    fn recv(&self, buf: &mut [u8], wait: Duration) -> io::Result<Option<usize>> {
        self.socket.recv_timeout(buf, wait)
    }

    /// A reply to one of our requests: addressed to our address on the link.
    fn read(&self, message: &[u8]) -> Option<(IpAddr, [u8; 6])> {
        let reply = wire::arp::parse_reply(message).ok()??;
        (reply.target == self.link.addr).then(|| (reply.sender.into(), reply.sender_mac))
    }
}
