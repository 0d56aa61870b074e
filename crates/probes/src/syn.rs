//! SYN scan (`-sS`): half-open. A SYN/ACK means open, a RST closed, an ICMP unreachable or
//! silence filtered. The scanner never completes the handshake (its kernel, which knows no
//! such connection, answers the SYN/ACK with a RST).

use model::{PortState, Reason};
use wire::tcp::flags;

use crate::{TcpReply, TcpTechnique};

#[derive(Debug, Clone, Copy, Default)]
pub struct SynScan;

impl TcpTechnique for SynScan {
    fn name(&self) -> &'static str {
        "SYN Stealth Scan"
    }

    fn probe_flags(&self) -> u8 {
        flags::SYN
    }

    fn classify_tcp(&self, reply: &TcpReply) -> Option<(PortState, Reason)> {
        if reply.flags & flags::RST != 0 {
            Some((PortState::Closed, Reason::Reset))
        } else if reply.flags & (flags::SYN | flags::ACK) == flags::SYN | flags::ACK {
            Some((PortState::Open, Reason::SynAck))
        } else {
            None
        }
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        (PortState::Filtered, Reason::NoResponse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::reply;

    #[test]
    fn nmaps_syn_scan_table() {
        assert_eq!(SynScan.classify_tcp(&reply(flags::SYN | flags::ACK, 0)), Some((PortState::Open, Reason::SynAck)));
        assert_eq!(SynScan.classify_tcp(&reply(flags::RST | flags::ACK, 0)), Some((PortState::Closed, Reason::Reset)));
        assert_eq!(SynScan.classify_tcp(&reply(flags::RST, 0)), Some((PortState::Closed, Reason::Reset)));
        assert_eq!(SynScan.classify_tcp(&reply(flags::ACK, 0)), None);
        assert_eq!(SynScan.on_timeout(), (PortState::Filtered, Reason::NoResponse));
        for (code, reason) in [
            (1, Reason::HostUnreach),
            (2, Reason::ProtoUnreach),
            (3, Reason::PortUnreach),
            (9, Reason::NetProhibited),
            (10, Reason::HostProhibited),
            (13, Reason::AdminProhibited),
        ] {
            assert_eq!(SynScan.classify_unreachable(code), Some((PortState::Filtered, reason)), "code {code}");
        }
        assert_eq!(SynScan.classify_unreachable(4), None, "fragmentation needed says nothing about the port");
    }
}
