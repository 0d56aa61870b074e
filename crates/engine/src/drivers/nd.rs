//! Drives a [`NeighbourSweep`] with IPv6 neighbour solicitations over a link-layer socket.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netio::{Ipv6Link, NeighbourSocket};
use wire::icmpv6;
use wire::ipv6::Ipv6Packet;

use super::RawScanError;
use crate::core::{NeighbourFound, NeighbourSweep, Timing};

/// The longest a sweep waits for an advertisement when it has nothing to send.
const IDLE_WAIT: Duration = Duration::from_millis(5);

/// Sweeps `addrs`, all on `link` (IPv6 ones: no other is asked for), unless `stop` is raised
/// first.
pub fn run(
    link: &Ipv6Link,
    addrs: &[IpAddr],
    timing: &Timing,
    max_rate: Option<f64>,
    stop: &AtomicBool,
) -> Result<Vec<Option<NeighbourFound>>, RawScanError> {
    let socket = NeighbourSocket::open(link)?;
    let mut sweep = NeighbourSweep::new(addrs, timing, max_rate);
    let mut solicitation = [0u8; icmpv6::SOLICITATION_LEN];
    let mut buf = [0u8; 256];
    while !sweep.is_finished() {
        if stop.load(Ordering::Relaxed) {
            return Err(RawScanError::Interrupted);
        }
        let now = Instant::now();
        while let Some(asked) = sweep.poll_transmit(now) {
            // An address of the other family is never asked for: it stays silent.
            let IpAddr::V6(addr) = asked else { continue };
            let len = icmpv6::emit_solicitation(link.addr, link.mac, addr, &mut solicitation)
                .expect("a solicitation fits its buffer");
            let group_mac = icmpv6::multicast_mac(icmpv6::solicited_node(addr));
            let sent = socket.send(&solicitation[..len], group_mac);
            sent.map_err(|source| RawScanError::Send { addr: addr.into(), source })?;
        }
        let wait = sweep.next_wakeup(now).map_or(IDLE_WAIT, |at| at.saturating_duration_since(now).min(IDLE_WAIT));
        let Some(len) = socket.recv_timeout(&mut buf, wait).map_err(RawScanError::Receive)? else { continue };
        if let Some(advertisement) = read_advertisement(&buf[..len]) {
            sweep.handle(advertisement.target.into(), advertisement.mac, Instant::now());
        }
    }
    super::close_in_background(socket);
    Ok(sweep.into_results())
}

/// An advertisement that can only have come from the link: hop limit 255 (RFC 4861 section
/// 7.1.2), as a router would have lowered it.
fn read_advertisement(packet: &[u8]) -> Option<icmpv6::Advertisement> {
    let ip = Ipv6Packet::new_checked(packet).ok().filter(|ip| ip.hop_limit() == 255)?;
    let (protocol, icmp) = ip.into_upper_layer()?;
    (protocol == wire::ipv6::NEXT_ICMPV6).then(|| icmpv6::parse_advertisement(icmp).ok().flatten())?
}
