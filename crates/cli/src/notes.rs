//! Warnings printed while a scan runs, on standard error.

use std::net::IpAddr;

/// Probes to `addr` cannot be sent (no route to it, or a local firewall refusing them).
pub(crate) fn unreachable(addr: IpAddr, error: &std::io::Error) {
    eprintln!("WARNING: probes to {addr} cannot be sent ({error}); it counts as not answering");
}
