//! Drives any sans-IO exchange of whole IPv4 packets (the OS-detection rounds) over raw IP
//! sockets: what it asks to send leaves as is, and every TCP segment to its ports and every
//! ICMP answer comes back to it.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netio::{RawReceiver, RawSender};
use wire::ipv4::{PROTO_ICMP, PROTO_TCP};

use super::{close_in_background, RawScanError, ScanObserver};

/// The longest the runner waits for a packet when it has nothing to send.
const IDLE_WAIT: Duration = Duration::from_millis(5);

/// A packet exchange the runner drives: it says what to send and when, and takes what
/// arrives.
pub trait Exchange {
    /// The next packet due at `now`: its destination and the whole IPv4 packet.
    fn poll_transmit(&mut self, now: Instant) -> Option<(Ipv4Addr, Vec<u8>)>;
    /// A received IPv4 packet.
    fn handle(&mut self, packet: &[u8], now: Instant);
    fn next_wakeup(&self) -> Option<Instant>;
    fn is_finished(&self) -> bool;
}

/// Runs `exchange` to its end, unless `stop` is raised first. Its probes leave through
/// `device` when one is named; TCP replies are kept when addressed to `reply_ports`.
pub fn run(
    exchange: &mut dyn Exchange,
    device: Option<&str>,
    reply_ports: RangeInclusive<u16>,
    observer: &dyn ScanObserver,
    stop: &AtomicBool,
) -> Result<(), RawScanError> {
    let sender = RawSender::open(false, device)?;
    let tcp = RawReceiver::open(PROTO_TCP)?;
    tcp.keep_to_ports(reply_ports).map_err(RawScanError::Receive)?;
    let icmp = RawReceiver::open(PROTO_ICMP)?;
    icmp.keep_icmp_answers().map_err(RawScanError::Receive)?;
    let mut unsendable = std::collections::HashSet::new();
    let mut buf = vec![0u8; 65_536];
    while !exchange.is_finished() {
        if stop.load(Ordering::Relaxed) {
            return Err(RawScanError::Interrupted);
        }
        let now = Instant::now();
        while let Some((dst, packet)) = exchange.poll_transmit(now) {
            if let Err(error) = sender.send(&packet, dst.into()) {
                // As in a port scan, a probe a local firewall or a missing route keeps from
                // leaving counts as unanswered.
                if unsendable.insert(dst) {
                    observer.unreachable(dst.into(), &error);
                }
            }
        }
        let mut received = false;
        for receiver in [&tcp, &icmp] {
            while let Some(len) = receiver.try_recv(&mut buf).map_err(RawScanError::Receive)? {
                exchange.handle(&buf[..len], Instant::now());
                received = true;
            }
        }
        if !received {
            let wait = exchange.next_wakeup().map_or(IDLE_WAIT, |at| at.saturating_duration_since(now).min(IDLE_WAIT));
            if let Some(len) = tcp.recv_timeout(&mut buf, wait).map_err(RawScanError::Receive)? {
                exchange.handle(&buf[..len], Instant::now());
            }
        }
    }
    close_in_background((sender, tcp, icmp));
    Ok(())
}
