//! Drives a [`NeighbourSweep`] over a link-layer socket: the loop ARP and neighbour discovery
//! share, each asking and reading its own messages.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::RawScanError;
use crate::core::{NeighbourFound, NeighbourSweep, Timing};

/// The longest a sweep waits for an answer when it has nothing to send.
const IDLE_WAIT: Duration = Duration::from_millis(5);

/// How one protocol asks a link for a hardware address and reads the answers.
pub(super) trait Asker {
    /// Sends the request for `addr`; an address the protocol cannot ask for (of the other
    /// family) is passed over, and stays silent.
    fn ask(&mut self, addr: IpAddr) -> io::Result<()>;
    /// The next message received, waiting at most `wait`.
    fn recv(&self, buf: &mut [u8], wait: Duration) -> io::Result<Option<usize>>;
    /// The address and hardware address a message answers with, if it is an answer.
    fn read(&self, message: &[u8]) -> Option<(IpAddr, [u8; 6])>;
}

/// Sweeps `addrs` with `asker`, unless `stop` is raised first.
pub(super) fn sweep(
    asker: &mut impl Asker,
    addrs: &[IpAddr],
    timing: &Timing,
    max_rate: Option<f64>,
    stop: &AtomicBool,
) -> Result<Vec<Option<NeighbourFound>>, RawScanError> {
    let mut sweep = NeighbourSweep::new(addrs, timing, max_rate);
    let mut buf = [0u8; 256];
    let stall = super::LinkStall::default();
    while !sweep.is_finished() {
        if stop.load(Ordering::Relaxed) {
            return Err(RawScanError::Interrupted);
        }
        let now = Instant::now();
        while let Some(addr) = sweep.poll_transmit(now) {
            super::while_queue_full(&stall, || asker.ask(addr))
                .map_err(|failure| RawScanError::Send { addr, source: failure.into_error() })?;
        }
        let wait = sweep.next_wakeup(now).map_or(IDLE_WAIT, |at| at.saturating_duration_since(now).min(IDLE_WAIT));
        let Some(len) = asker.recv(&mut buf, wait).map_err(RawScanError::Receive)? else { continue };
        if let Some((addr, mac)) = asker.read(&buf[..len]) {
            sweep.handle(addr, mac, Instant::now());
        }
    }
    Ok(sweep.into_results())
}
