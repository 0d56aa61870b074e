//! TCP SYN ping (`-PS`): a SYN to a port; a SYN/ACK (open) or a RST (closed) means the host is
//! up. Both answers acknowledge the SYN, which tells them from answers to an ACK ping.

use model::{Protocol, Reason};
use wire::tcp::{flags, ProbeRepr, LINUX_SYN_WINDOW};

use super::{PingAnswer, PingProbe};
use crate::{Echo, ProbeFields, Response, Transport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynPing {
    port: u16,
}

impl SynPing {
    pub fn new(port: u16) -> SynPing {
        SynPing { port }
    }
}

impl PingProbe for SynPing {
    fn probe(&self, fields: ProbeFields) -> Transport {
        Transport::Tcp(ProbeRepr {
            src_port: fields.src_port,
            dst_port: self.port,
            seq: fields.seq,
            ack: 0,
            flags: flags::SYN,
            window: LINUX_SYN_WINDOW,
            timestamp: fields.timestamp,
        })
    }

    fn read(&self, response: &Response) -> Option<PingAnswer> {
        let Response::Tcp(reply) = response else { return None };
        if reply.src_port != self.port || reply.flags & flags::ACK == 0 {
            return None;
        }
        let reason = if reply.flags & flags::RST != 0 {
            Reason::Reset
        } else if reply.flags & flags::SYN != 0 {
            Reason::SynAck
        } else {
            return None;
        };
        Some(PingAnswer {
            scanner: reply.dst,
            scanner_port: reply.dst_port,
            target: reply.src,
            echo: Echo::Sequence(reply.ack.wrapping_sub(1)),
            ttl: reply.ttl,
            reason,
            by_icmp: false,
        })
    }

    fn reply_protocol(&self) -> Option<Protocol> {
        Some(Protocol::Tcp)
    }
}
