//! ACK scan (`-sA`): maps firewall rules rather than services. Any port a packet reaches answers
//! an unsolicited ACK with a RST, open or closed, so a RST means unfiltered; silence or an ICMP
//! unreachable means filtered.

use model::{PortState, Reason};
use wire::tcp::flags;

use crate::{TcpReply, TcpTechnique};

#[derive(Debug, Clone, Copy, Default)]
pub struct AckScan;

impl TcpTechnique for AckScan {
    fn name(&self) -> &'static str {
        "ACK Scan"
    }

    fn probe_flags(&self) -> u8 {
        flags::ACK
    }

    fn classify_tcp(&self, reply: &TcpReply) -> Option<(PortState, Reason)> {
        (reply.flags & flags::RST != 0).then_some((PortState::Unfiltered, Reason::Reset))
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
    fn nmaps_ack_table() {
        assert_eq!(AckScan.classify_tcp(&reply(flags::RST, 0)), Some((PortState::Unfiltered, Reason::Reset)));
        assert_eq!(AckScan.classify_tcp(&reply(flags::RST, 512)), Some((PortState::Unfiltered, Reason::Reset)));
        assert_eq!(AckScan.on_timeout(), (PortState::Filtered, Reason::NoResponse));
        assert_eq!(
            AckScan.classify_unreachable(UnreachableCode::V4(13)),
            Some((PortState::Filtered, Reason::AdminProhibited))
        );
    }
}
