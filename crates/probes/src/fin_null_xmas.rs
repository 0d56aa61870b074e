//! FIN (`-sF`), NULL (`-sN`), Xmas (`-sX`) and Maimon (`-sM`) scans. RFC 793 has a closed port
//! answer any segment without RST with a RST, and an open port drop one without SYN, RST or ACK:
//! so a RST means closed, and silence open or filtered.
//!
//! Maimon's FIN/ACK should draw a RST from open ports too, by the RFC, but many BSD-derived
//! systems drop it there, so it reads replies by the same table. (Linux answers it with a RST
//! either way, so every port of a Linux host comes out closed, as in Nmap.)

use model::{PortState, Reason};
use wire::tcp::flags;

use crate::{TcpReply, TcpTechnique};

/// One of the four scans that differ only in the flags they send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StealthScan {
    name: &'static str,
    flags: u8,
}

impl StealthScan {
    pub const FIN: StealthScan = StealthScan { name: "FIN Scan", flags: flags::FIN };
    pub const NULL: StealthScan = StealthScan { name: "NULL Scan", flags: 0 };
    pub const XMAS: StealthScan = StealthScan { name: "XMAS Scan", flags: flags::FIN | flags::PSH | flags::URG };
    pub const MAIMON: StealthScan = StealthScan { name: "Maimon Scan", flags: flags::FIN | flags::ACK };
}

impl TcpTechnique for StealthScan {
    fn name(&self) -> &'static str {
        self.name
    }

    fn probe_flags(&self) -> u8 {
        self.flags
    }

    fn classify_tcp(&self, reply: &TcpReply) -> Option<(PortState, Reason)> {
        (reply.flags & flags::RST != 0).then_some((PortState::Closed, Reason::Reset))
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        (PortState::OpenFiltered, Reason::NoResponse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::reply;
    use crate::UnreachableCode;

    #[test]
    fn nmaps_fin_null_xmas_maimon_table() {
        for scan in [StealthScan::FIN, StealthScan::NULL, StealthScan::XMAS, StealthScan::MAIMON] {
            assert_eq!(scan.classify_tcp(&reply(flags::RST | flags::ACK, 0)), Some((PortState::Closed, Reason::Reset)));
            assert_eq!(scan.classify_tcp(&reply(flags::SYN | flags::ACK, 0)), None);
            assert_eq!(scan.on_timeout(), (PortState::OpenFiltered, Reason::NoResponse));
            assert_eq!(
                scan.classify_unreachable(UnreachableCode::V4(13)),
                Some((PortState::Filtered, Reason::AdminProhibited))
            );
        }
        assert_eq!(StealthScan::XMAS.probe_flags(), 0x29, "FIN, PSH and URG");
        assert_eq!(StealthScan::NULL.probe_flags(), 0);
        assert_eq!(StealthScan::MAIMON.probe_flags(), flags::FIN | flags::ACK);
    }
}
