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

/// Calls `send` again, a moment later, while the kernel's queue for the socket is full (ENOBUFS,
/// or EAGAIN), rather than losing the packet or failing the scan.
fn while_queue_full(mut send: impl FnMut() -> io::Result<()>) -> io::Result<()> {
    const NO_BUFFER_SPACE: i32 = 105;
    loop {
        match send() {
            Err(error)
                if error.raw_os_error() == Some(NO_BUFFER_SPACE) || error.kind() == io::ErrorKind::WouldBlock =>
            {
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
            sent => return sent,
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
