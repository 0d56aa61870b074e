//! The drivers: everything that touches sockets, threads or the clock, each feeding a sans-IO
//! state machine of [`crate::core`] the instants and packets it needs. The raw-packet runner
//! ([`raw`]) and how its probes leave ([`path`]), the ARP sweep's runner ([`arp`]), and the TCP
//! connect scan ([`connect`]), whose probes are the kernel's own connections; and any exchange
//! of whole packets, such as OS detection's rounds ([`exchange`]).

pub mod arp;
pub mod connect;
pub mod exchange;
pub mod nd;
mod neighbours;
mod path;
pub mod raw;

use std::io;
use std::net::IpAddr;

use model::Protocol;
use netio::RawSocketError;

/// Told about findings as they happen, for `-v`'s "Discovered open port" lines.
pub trait ScanObserver: Send + Sync {
    fn open_port_found(&self, addr: IpAddr, protocol: Protocol, port: u16);
    /// Of the `total` (host, port) probes of the current raw-packet scan, `settled` have their
    /// verdict (for progress displays).
    fn probes_settled(&self, _settled: u64, _total: u64) {}
    /// Probes to `addr` could not be sent (no route to it, or a local firewall refusing them):
    /// the scan goes on, and the target is reported as nothing answered, or down.
    fn unreachable(&self, _addr: IpAddr, _error: &io::Error) {}
    /// The kernel has refused every probe for a second, whatever its target, its queue staying
    /// full (`error`): the link is most likely down. Told once per stall; the scan goes on,
    /// its probes counting as unanswered until they get through again.
    fn link_stalled(&self, _error: &io::Error) {}
    /// A raw-packet scan of a group ended, having reached at most these rates.
    fn peak_rates(&self, _peaks: crate::PeakRates) {}
    /// Whether every packet sent and received is to be told (`--packet-trace`).
    fn traces_packets(&self) -> bool {
        false
    }
    /// A whole IP packet was sent (`sent`) or received, when [`Self::traces_packets`].
    fn packet(&self, _sent: bool, _packet: &[u8]) {}
    /// The engine made a decision `-d` asks to be told of.
    fn debug(&self, _event: &crate::DebugEvent) {}
}

/// How long sends may find the kernel's queue full, none getting through, before the link is
/// taken to be down: far longer than a full queue takes to drain on any working link.
const STALL_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether a scan's sends find its link stalled (the kernel's queue full for [`STALL_AFTER`]
/// on end, as when the link's carrier is lost). Shared by the scan's senders: once one has
/// waited in vain, the others lose their packets at once instead of each waiting in turn.
#[derive(Debug, Default)]
struct LinkStall {
    stalled: std::sync::atomic::AtomicBool,
}

/// Why a packet was not sent.
#[derive(Debug)]
enum SendFailure {
    /// The link is stalled (see [`LinkStall`]); `began` for the send that found it so first.
    Stalled { began: bool, error: io::Error },
    /// The kernel refused the packet (no route, a local firewall).
    Refused(io::Error),
}

/// Calls `send` again, a moment later, while the kernel's queue for the socket is full (ENOBUFS,
/// or EAGAIN), rather than losing the packet or failing the scan; but not past [`STALL_AFTER`],
/// nor at all while the link is stalled, where a queue that never empties would hold the scan
/// forever.
fn while_queue_full<T>(stall: &LinkStall, mut send: impl FnMut() -> io::Result<T>) -> Result<T, SendFailure> {
    use std::sync::atomic::Ordering::Relaxed;
    const NO_BUFFER_SPACE: i32 = 105;
    let since = std::time::Instant::now();
    loop {
        match send() {
            Ok(sent) => {
                // Read first: a store on every send would bounce the line between senders.
                if stall.stalled.load(Relaxed) {
                    stall.stalled.store(false, Relaxed);
                }
                return Ok(sent);
            }
            Err(error)
                if error.raw_os_error() == Some(NO_BUFFER_SPACE) || error.kind() == io::ErrorKind::WouldBlock =>
            {
                if stall.stalled.load(Relaxed) {
                    return Err(SendFailure::Stalled { began: false, error });
                }
                if since.elapsed() >= STALL_AFTER {
                    let began = !stall.stalled.swap(true, Relaxed);
                    return Err(SendFailure::Stalled { began, error });
                }
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
            Err(error) => return Err(SendFailure::Refused(error)),
        }
    }
}

impl SendFailure {
    fn into_error(self) -> io::Error {
        match self {
            SendFailure::Stalled { error, .. } | SendFailure::Refused(error) => error,
        }
    }
}

/// Closes sockets on a thread of their own: closing a link-layer socket waits for the
/// kernel's network RCU grace period (`synchronize_net`), some 40 ms each on the lab, time the
/// results can spend reaching the outputs instead.
fn close_in_background(sockets: impl Send + 'static) {
    std::thread::spawn(move || drop(sockets));
}

/// Why a raw-packet scan (or an ARP sweep) could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RawScanError {
    #[error(transparent)]
    Socket(#[from] RawSocketError),
    #[error("looking up routes failed: {0}")]
    Routes(io::Error),
    #[error("sending to {addr} failed: {source}")]
    Send { addr: IpAddr, source: io::Error },
    #[error("receiving failed: {0}")]
    Receive(io::Error),
    #[error("the source address {0} is not of the targets' family")]
    SourceFamily(IpAddr),
    #[error("--send-eth: {0}")]
    NoEthernet(String),
    #[error(transparent)]
    Idle(#[from] crate::core::IdleError),
    /// `stop` was raised before the group was done; its partial results are dropped.
    #[error("interrupted")]
    Interrupted,
}
