//! Warnings printed while a scan runs, on standard error.

use std::net::IpAddr;

/// Probes to `addr` cannot be sent (no route to it, or a local firewall refusing them).
pub(crate) fn unreachable(addr: IpAddr, error: &std::io::Error) {
    eprintln!("WARNING: probes to {addr} cannot be sent ({error}); it counts as not answering");
}

/// The link refuses every probe (see engine's `LinkStall`). Told once a run: each host group,
/// and each technique of a group, sends through its own sockets and finds the stall anew.
pub(crate) fn link_stalled(error: &std::io::Error) {
    static TOLD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if TOLD.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    eprintln!(
        "WARNING: the kernel has refused every probe for a second ({error}): the link is most likely down; \
         probes count as not answering until they get through again"
    );
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

/// `--packet-trace`: each packet a raw scan sends or receives, as Nmap prints them: "SENT
/// (0.0452s) TCP 198.18.0.1:40000 > 198.18.0.2:22 S ttl=64 …", the time since the scan began.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PacketTrace {
    started: std::time::Instant,
}

impl PacketTrace {
    /// A trace when `--packet-trace` asks for one.
    pub(crate) fn asked(options: &crate::args::ScanOptions) -> Option<PacketTrace> {
        options.packet_trace.then(|| PacketTrace { started: std::time::Instant::now() })
    }

    pub(crate) fn print(&self, sent: bool, packet: &[u8]) {
        let label = if sent { "SENT" } else { "RCVD" };
        let elapsed = self.started.elapsed().as_secs_f64();
        println!("{label} ({elapsed:.4}s) {}", wire::describe::describe(packet));
    }
}

/// `-d`: the round-trip estimate a host ended with, in microseconds, as Nmap's debugging
/// output gives it ("Final times for host").
pub(crate) fn final_times(host: &model::HostResult) {
    if let Some(times) = host.round_trip {
        let micros = |duration: std::time::Duration| duration.as_micros();
        println!(
            "Final times for host {}: srtt: {} rttvar: {} to: {}",
            host.target.addr,
            micros(times.srtt),
            micros(times.rttvar),
            micros(times.timeout)
        );
    }
}
