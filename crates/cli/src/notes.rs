//! Warnings printed while a scan runs, on standard error.

use std::net::IpAddr;

/// Probes to `addr` cannot be sent (no route to it, or a local firewall refusing them).
pub(crate) fn unreachable(addr: IpAddr, error: &std::io::Error) {
    eprintln!("WARNING: probes to {addr} cannot be sent ({error}); it counts as not answering");
}

/// The TCP header without options: what a first fragment must hold for RFC 7112 hosts.
const TCP_HEADER: usize = 20;

/// IPv6 fragments smaller than a TCP header split it, and RFC 7112 hosts (Linux among them)
/// drop such first fragments: say so before the scan reports the ports filtered.
pub(crate) fn fragments_split_headers(ipv6: bool, tcp: bool, fragment_size: Option<usize>) {
    if let Some(size) = fragment_size.filter(|&size| ipv6 && tcp && size < TCP_HEADER) {
        eprintln!(
            "WARNING: IPv6 fragments of {size} bytes split the probes' TCP headers, and hosts following RFC 7112 \
             (Linux among them) drop them; --mtu 24 or more keeps each header in the first fragment"
        );
    }
}
