//! FIN (`-sF`), NULL (`-sN`) and Xmas (`-sX`) scans. RFC 793 has a closed port answer any
//! segment without RST with a RST, and an open port drop one without SYN, RST or ACK: so a
//! RST means closed, and silence open or filtered.

use model::{PortState, Reason};
use wire::tcp::flags;

use crate::{TcpReply, TcpTechnique};

/// One of the three scans that differ only in the flags they send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StealthScan {
    name: &'static str,
    flags: u8,
}

impl StealthScan {
    pub const FIN: StealthScan = StealthScan { name: "FIN Scan", flags: flags::FIN };
    pub const NULL: StealthScan = StealthScan { name: "NULL Scan", flags: 0 };
    pub const XMAS: StealthScan = StealthScan { name: "XMAS Scan", flags: flags::FIN | flags::PSH | flags::URG };
}

/// The state table shared by the scans that expect silence from open ports (these three and
/// Maimon's).
pub(crate) fn rst_means_closed(reply: &TcpReply) -> Option<(PortState, Reason)> {
    (reply.flags & flags::RST != 0).then_some((PortState::Closed, Reason::Reset))
}

impl TcpTechnique for StealthScan {
    fn name(&self) -> &'static str {
        self.name
    }

    fn probe_flags(&self) -> u8 {
        self.flags
    }

    fn classify_tcp(&self, reply: &TcpReply) -> Option<(PortState, Reason)> {
        rst_means_closed(reply)
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        (PortState::OpenFiltered, Reason::NoResponse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::reply;

    #[test]
    fn nmaps_fin_null_xmas_table() {
        for scan in [StealthScan::FIN, StealthScan::NULL, StealthScan::XMAS] {
            assert_eq!(scan.classify_tcp(&reply(flags::RST | flags::ACK, 0)), Some((PortState::Closed, Reason::Reset)));
            assert_eq!(scan.classify_tcp(&reply(flags::SYN | flags::ACK, 0)), None);
            assert_eq!(scan.on_timeout(), (PortState::OpenFiltered, Reason::NoResponse));
            assert_eq!(scan.classify_unreachable(13), Some((PortState::Filtered, Reason::AdminProhibited)));
        }
        assert_eq!(StealthScan::XMAS.probe_flags(), 0x29, "FIN, PSH and URG");
        assert_eq!(StealthScan::NULL.probe_flags(), 0);
    }
}
