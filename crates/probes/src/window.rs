//! Window scan (`-sW`): an ACK scan that reads the window of the RST. Some systems give RSTs from
//! open ports a positive window and those from closed ports a zero one; elsewhere (Linux among
//! them) every RST has window 0 and every reachable port looks closed.

use model::{PortState, Reason};
use wire::tcp::flags;

use crate::{TcpReply, TcpTechnique};

#[derive(Debug, Clone, Copy, Default)]
pub struct WindowScan;

impl TcpTechnique for WindowScan {
    fn name(&self) -> &'static str {
        "Window Scan"
    }

    fn probe_flags(&self) -> u8 {
        flags::ACK
    }

    fn classify_tcp(&self, reply: &TcpReply) -> Option<(PortState, Reason)> {
        if reply.flags & flags::RST == 0 {
            return None;
        }
        let state = if reply.window > 0 { PortState::Open } else { PortState::Closed };
        Some((state, Reason::Reset))
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
    fn nmaps_window_table() {
        assert_eq!(WindowScan.classify_tcp(&reply(flags::RST, 4096)), Some((PortState::Open, Reason::Reset)));
        assert_eq!(WindowScan.classify_tcp(&reply(flags::RST, 0)), Some((PortState::Closed, Reason::Reset)));
        assert_eq!(WindowScan.on_timeout(), (PortState::Filtered, Reason::NoResponse));
        assert_eq!(
            WindowScan.classify_unreachable(UnreachableCode::V4(1)),
            Some((PortState::Filtered, Reason::HostUnreach))
        );
    }
}
