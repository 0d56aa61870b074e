//! Drives an [`NeighbourSweep`] over a link-layer socket.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netio::{ArpSocket, Link};

use super::RawScanError;
use crate::core::{NeighbourFound, NeighbourSweep, Timing};

/// The longest a sweep waits for a reply when it has nothing to send.
const IDLE_WAIT: Duration = Duration::from_millis(5);

/// Sweeps `addrs`, all on `link` (IPv4 ones: no other is asked for), unless `stop` is raised
/// first.
pub fn run(
    link: &Link,
    addrs: &[IpAddr],
    timing: &Timing,
    max_rate: Option<f64>,
    stop: &AtomicBool,
) -> Result<Vec<Option<NeighbourFound>>, RawScanError> {
    let socket = ArpSocket::open(link)?;
    let mut sweep = NeighbourSweep::new(addrs, timing, max_rate);
    let mut buf = [0u8; 64];
    while !sweep.is_finished() {
        if stop.load(Ordering::Relaxed) {
            return Err(RawScanError::Interrupted);
        }
        let now = Instant::now();
        while let Some(asked) = sweep.poll_transmit(now) {
            // An address of the other family is never asked for: it stays silent.
            let IpAddr::V4(addr) = asked else { continue };
            let request = wire::arp::request(link.mac, link.addr, addr);
            socket.broadcast(&request).map_err(|source| RawScanError::Send { addr: addr.into(), source })?;
        }
        let wait = sweep.next_wakeup(now).map_or(IDLE_WAIT, |at| at.saturating_duration_since(now).min(IDLE_WAIT));
        let Some(len) = socket.recv_timeout(&mut buf, wait).map_err(RawScanError::Receive)? else { continue };
        if let Ok(Some(reply)) = wire::arp::parse_reply(&buf[..len]) {
            if reply.target == link.addr {
                sweep.handle(reply.sender.into(), reply.sender_mac, Instant::now());
            }
        }
    }
    super::close_in_background(socket);
    Ok(sweep.into_results())
}
