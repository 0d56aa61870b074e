//! Scan techniques. Each is one file implementing [`TcpTechnique`]: which flags its probe
//! carries, what a reply means, and what silence means. The engine owns everything else
//! (sending, matching replies to probes, timing), so a technique is a table of Nmap's rules.

mod ack;
mod custom_flags;
mod fin_null_xmas;
mod response;
mod syn;
mod window;

pub use ack::AckScan;
pub use custom_flags::CustomFlags;
pub use fin_null_xmas::StealthScan;
pub use response::{parse_response, Response, TcpReply, Unreachable};
pub use syn::SynScan;
pub use window::WindowScan;

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

/// A technique borrowed, e.g. one chosen at run time and shared by several scans.
impl<T: TcpTechnique + ?Sized> TcpTechnique for &T {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn probe_flags(&self) -> u8 {
        (**self).probe_flags()
    }

    fn classify_tcp(&self, reply: &TcpReply) -> Option<(PortState, Reason)> {
        (**self).classify_tcp(reply)
    }

    fn classify_unreachable(&self, code: u8) -> Option<(PortState, Reason)> {
        (**self).classify_unreachable(code)
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        (**self).on_timeout()
    }
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

#[cfg(test)]
pub(crate) mod tests {
    use crate::TcpReply;

    /// A reply from the lab target to one of our probes, with the given flags and window.
    pub fn reply(flags: u8, window: u16) -> TcpReply {
        TcpReply {
            src: [198, 18, 0, 2].into(),
            src_port: 80,
            dst: [198, 18, 0, 1].into(),
            dst_port: 40000,
            seq: 0,
            ack: 1,
            flags,
            window,
            ttl: 64,
        }
    }
}
