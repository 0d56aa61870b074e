//! SYN scan (`-sS`): half-open. A SYN/ACK means open, a RST closed, an ICMP unreachable or
//! silence filtered. The scanner never completes the handshake (its kernel, which knows no
//! such connection, answers the SYN/ACK with a RST).
//!
//! Two rarer answers mean open too. A bare SYN is a split handshake (Nmap's
//! `split-handshake-syn`). A bare ACK acknowledging one of our SYNs comes when every try
//! leaves from one source port (`-g`) and the first try's SYN/ACK was lost: the port holds that
//! SYN half-open, and Linux answers a new SYN with another sequence number by acknowledging the
//! old one. Only a listening port holds a SYN half-open. (Our kernel's RST to that ACK clears it.)

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
        let handshake = reply.flags & (flags::SYN | flags::ACK);
        if reply.flags & flags::RST != 0 {
            Some((PortState::Closed, Reason::Reset))
        } else if handshake == flags::SYN | flags::ACK {
            Some((PortState::Open, Reason::SynAck))
        } else if handshake == flags::SYN {
            Some((PortState::Open, Reason::SplitHandshakeSyn))
        } else if handshake == flags::ACK {
            Some((PortState::Open, Reason::TcpResponse))
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
    use crate::UnreachableCode;

    #[test]
    fn nmaps_syn_scan_table() {
        assert_eq!(SynScan.classify_tcp(&reply(flags::SYN | flags::ACK, 0)), Some((PortState::Open, Reason::SynAck)));
        assert_eq!(SynScan.classify_tcp(&reply(flags::RST | flags::ACK, 0)), Some((PortState::Closed, Reason::Reset)));
        assert_eq!(SynScan.classify_tcp(&reply(flags::RST, 0)), Some((PortState::Closed, Reason::Reset)));
        assert_eq!(SynScan.classify_tcp(&reply(flags::FIN, 0)), None);
        assert_eq!(SynScan.on_timeout(), (PortState::Filtered, Reason::NoResponse));
        for (code, reason) in [
            (1, Reason::HostUnreach),
            (2, Reason::ProtoUnreach),
            (3, Reason::PortUnreach),
            (9, Reason::NetProhibited),
            (10, Reason::HostProhibited),
            (13, Reason::AdminProhibited),
        ] {
            assert_eq!(
                SynScan.classify_unreachable(UnreachableCode::V4(code)),
                Some((PortState::Filtered, reason)),
                "code {code}"
            );
        }
        assert_eq!(
            SynScan.classify_unreachable(UnreachableCode::V4(4)),
            None,
            "fragmentation needed says nothing about the port"
        );
    }

    #[test]
    fn a_split_handshake_syn_means_open() {
        assert_eq!(SynScan.classify_tcp(&reply(flags::SYN, 0)), Some((PortState::Open, Reason::SplitHandshakeSyn)));
    }

    #[test]
    fn a_bare_ack_to_a_syn_held_half_open_means_open() {
        assert_eq!(SynScan.classify_tcp(&reply(flags::ACK, 0)), Some((PortState::Open, Reason::TcpResponse)));
    }
}
