//! SCTP INIT ping (`-PY`): an INIT to a port; an INIT ACK (open) or an ABORT (closed) means
//! the host is up. Both carry the INIT's initiate tag back as their verification tag.

use model::{Protocol, Reason};
use wire::sctp::{chunk, ProbeChunk};

use super::{PingAnswer, PingProbe};
use crate::{Echo, ProbeFields, Response, Transport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpInitPing {
    port: u16,
}

impl SctpInitPing {
    pub fn new(port: u16) -> SctpInitPing {
        SctpInitPing { port }
    }
}

impl PingProbe for SctpInitPing {
    fn probe(&self, fields: ProbeFields) -> Transport {
        Transport::Sctp {
            src_port: fields.src_port,
            dst_port: self.port,
            verification_tag: 0,
            chunk: ProbeChunk::Init { initiate_tag: fields.seq },
        }
    }

    fn read(&self, response: &Response) -> Option<PingAnswer> {
        let Response::Sctp(reply) = response else { return None };
        if reply.src_port != self.port {
            return None;
        }
        let reason = match reply.chunk {
            chunk::INIT_ACK => Reason::InitAck,
            chunk::ABORT => Reason::Abort,
            _ => return None,
        };
        Some(PingAnswer {
            scanner: reply.dst,
            scanner_port: reply.dst_port,
            target: reply.src,
            echo: Echo::Sequence(reply.verification_tag),
            ttl: reply.ttl,
            reason,
            by_icmp: false,
        })
    }

    fn reply_protocol(&self) -> Option<Protocol> {
        Some(Protocol::Sctp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SctpReply;

    #[test]
    fn an_init_ack_or_an_abort_from_the_port_means_up() {
        let ping = SctpInitPing::new(80);
        let probe = ping.probe(ProbeFields { dst_port: 0, src_port: 40000, seq: 0x99, timestamp: 0 });
        assert_eq!(
            probe,
            Transport::Sctp {
                src_port: 40000,
                dst_port: 80,
                verification_tag: 0,
                chunk: ProbeChunk::Init { initiate_tag: 0x99 }
            }
        );
        let reply = |src_port, chunk| {
            Response::Sctp(SctpReply {
                src: [198, 18, 0, 2].into(),
                src_port,
                dst: [198, 18, 0, 1].into(),
                dst_port: 40000,
                verification_tag: 0x99,
                chunk,
                chunk_flags: 0,
                ttl: 64,
            })
        };
        let read = |response| ping.read(&response).map(|answer| (answer.reason, answer.echo));
        assert_eq!(read(reply(80, chunk::INIT_ACK)), Some((Reason::InitAck, Echo::Sequence(0x99))));
        assert_eq!(read(reply(80, chunk::ABORT)), Some((Reason::Abort, Echo::Sequence(0x99))));
        assert_eq!(read(reply(81, chunk::ABORT)), None, "another port's answer");
    }
}
