//! UDP ping (`-PU`): a datagram to a port, best a closed one; a port unreachable from the host,
//! or any UDP reply, means it is up. Known services get their payload, as in the UDP scan.

use std::sync::Arc;

use model::{Protocol, Reason};

use super::{PingAnswer, PingProbe};
use crate::{Echo, ProbeFields, QuotedProbe, Response, Transport, UdpPayloads};

#[derive(Debug, Clone)]
pub struct UdpPing {
    port: u16,
    payload: Arc<[u8]>,
}

impl UdpPing {
    pub fn new(port: u16, payloads: &UdpPayloads) -> UdpPing {
        UdpPing { port, payload: payloads.for_port(port) }
    }
}

impl PingProbe for UdpPing {
    fn probe(&self, fields: ProbeFields) -> Transport {
        Transport::Udp { src_port: fields.src_port, dst_port: self.port, payload: self.payload.clone() }
    }

    fn read(&self, response: &Response) -> Option<PingAnswer> {
        match response {
            Response::Udp(reply) if reply.src_port == self.port => Some(PingAnswer {
                scanner: reply.dst,
                scanner_port: reply.dst_port,
                target: reply.src,
                echo: Echo::Nothing,
                ttl: reply.ttl,
                reason: Reason::UdpResponse,
                by_icmp: false,
            }),
            Response::Unreachable(u) => {
                let QuotedProbe::Udp { src_port, dst_port } = u.probe else { return None };
                // Only the host itself says its port is closed; a router's error says nothing
                // of the host being up.
                let from_the_host = u.from == u.probe_dst && u.code.is_port_unreachable();
                (dst_port == self.port && from_the_host).then_some(PingAnswer {
                    scanner: u.probe_src,
                    scanner_port: src_port,
                    target: u.probe_dst,
                    echo: Echo::IpIdent(u.probe_ident),
                    ttl: u.ttl,
                    reason: Reason::PortUnreach,
                    by_icmp: true,
                })
            }
            _ => None,
        }
    }

    fn reply_protocol(&self) -> Option<Protocol> {
        Some(Protocol::Udp)
    }

    fn answered_by_errors(&self) -> bool {
        true
    }
}
