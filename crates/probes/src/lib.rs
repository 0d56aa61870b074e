//! Scan techniques. Each is one file implementing [`TcpTechnique`]: which flags its probe
//! carries, what a reply means, and what silence means. The engine owns everything else
//! (sending, matching replies to probes, timing), so a technique is a table of Nmap's rules.

mod response;
mod syn;

pub use response::{parse_response, Response, TcpReply, Unreachable};
pub use syn::SynScan;

use model::{PortState, Reason};

/// A raw-packet TCP scan technique.
pub trait TcpTechnique: Send + Sync {
    /// The name Nmap prints for the scan ("SYN Stealth Scan").
    fn name(&self) -> &'static str;
    /// The TCP flags of the probe.
    fn probe_flags(&self) -> u8;
    /// What a TCP reply to the probe says about the port, or `None` if it says nothing.
    fn classify_tcp(&self, reply: &TcpReply) -> Option<(PortState, Reason)>;
    /// What an ICMP destination-unreachable with this code says about the port.
    fn classify_unreachable(&self, code: u8) -> Option<(PortState, Reason)> {
        unreachable_reason(code).map(|reason| (PortState::Filtered, reason))
    }
    /// What silence after every allowed retransmission means.
    fn on_timeout(&self) -> (PortState, Reason);
}

/// The reason Nmap gives for an ICMP destination-unreachable code; `None` for codes that Nmap
/// does not take as an answer about the port (e.g. fragmentation needed).
pub fn unreachable_reason(code: u8) -> Option<Reason> {
    match code {
        0 => Some(Reason::NetUnreach),
        1 => Some(Reason::HostUnreach),
        2 => Some(Reason::ProtoUnreach),
        3 => Some(Reason::PortUnreach),
        9 => Some(Reason::NetProhibited),
        10 => Some(Reason::HostProhibited),
        13 => Some(Reason::AdminProhibited),
        _ => None,
    }
}
