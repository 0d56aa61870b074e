//! Maimon scan (`-sM`): a FIN/ACK probe. RFC 793 says any such segment draws a RST, but many
//! BSD-derived systems drop it when the port is open, so the table is the FIN scan's. (Linux
//! answers with a RST either way, so every port of a Linux host comes out closed, as in Nmap.)

use model::{PortState, Reason};
use wire::tcp::flags;

use crate::fin_null_xmas::rst_means_closed;
use crate::{TcpReply, TcpTechnique};

#[derive(Debug, Clone, Copy, Default)]
pub struct MaimonScan;

impl TcpTechnique for MaimonScan {
    fn name(&self) -> &'static str {
        "Maimon Scan"
    }

    fn probe_flags(&self) -> u8 {
        flags::FIN | flags::ACK
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
    fn nmaps_maimon_table() {
        assert_eq!(MaimonScan.probe_flags(), flags::FIN | flags::ACK);
        assert_eq!(MaimonScan.classify_tcp(&reply(flags::RST, 0)), Some((PortState::Closed, Reason::Reset)));
        assert_eq!(MaimonScan.on_timeout(), (PortState::OpenFiltered, Reason::NoResponse));
        assert_eq!(MaimonScan.classify_unreachable(3), Some((PortState::Filtered, Reason::PortUnreach)));
    }
}
