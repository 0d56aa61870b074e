//! TCP ACK ping (`-PA`): an ACK out of the blue to a port; the RST any host sends back means
//! it is up. That RST carries no ACK flag and takes our acknowledgment number as its sequence
//! number, so the cookie rides there.

use model::{Protocol, Reason};
use wire::tcp::{flags, ProbeRepr, LINUX_SYN_WINDOW};

use super::{PingAnswer, PingProbe};
use crate::{Echo, ProbeFields, Response, Transport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckPing {
    port: u16,
}

impl AckPing {
    pub fn new(port: u16) -> AckPing {
        AckPing { port }
    }
}

impl PingProbe for AckPing {
    fn probe(&self, fields: ProbeFields) -> Transport {
        Transport::Tcp(ProbeRepr {
            src_port: fields.src_port,
            dst_port: self.port,
            seq: fields.seq,
            ack: fields.seq,
            flags: flags::ACK,
            window: LINUX_SYN_WINDOW,
            timestamp: fields.timestamp,
        })
    }

    fn read(&self, response: &Response) -> Option<PingAnswer> {
        let Response::Tcp(reply) = response else { return None };
        let bare_rst = reply.flags & (flags::RST | flags::ACK) == flags::RST;
        if reply.src_port != self.port || !bare_rst {
            return None;
        }
        Some(PingAnswer {
            scanner: reply.dst,
            scanner_port: reply.dst_port,
            target: reply.src,
            echo: Echo::Sequence(reply.seq),
            ttl: reply.ttl,
            reason: Reason::Reset,
            by_icmp: false,
        })
    }

    fn reply_protocol(&self) -> Option<Protocol> {
        Some(Protocol::Tcp)
    }
}
