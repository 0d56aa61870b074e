//! SCTP INIT (`-sY`) and COOKIE ECHO (`-sZ`) scans, with Nmap's tables. An INIT opens an
//! association as a client would: an open port answers with an INIT ACK, a closed one with an
//! ABORT, so it reads like a SYN scan. A COOKIE ECHO out of the blue is dropped by an open port
//! and aborted by a closed one (RFC 9260 8.4), so silence reads open|filtered.
//!
//! The cookie rides in the INIT's initiate tag (which the INIT ACK, and an ABORT answering the
//! INIT, carry back as their verification tag) or in the COOKIE ECHO's verification tag (which
//! the ABORT reflects); ICMP errors quote the IP identification.

use model::{PortState, Protocol, Reason};
use wire::sctp::{chunk, ProbeChunk};

use crate::{Answer, Echo, ProbeFields, QuotedProbe, Response, Technique, Transport};

/// One of the two scans, which differ in the chunk they send and in what silence means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpScan {
    cookie_echo: bool,
}

impl SctpScan {
    pub const INIT: SctpScan = SctpScan { cookie_echo: false };
    pub const COOKIE_ECHO: SctpScan = SctpScan { cookie_echo: true };
}

impl Technique for SctpScan {
    fn name(&self) -> &'static str {
        if self.cookie_echo {
            "SCTP COOKIE-ECHO Scan"
        } else {
            "SCTP INIT Scan"
        }
    }

    fn protocol(&self) -> Protocol {
        Protocol::Sctp
    }

    fn probe(&self, fields: ProbeFields) -> Transport {
        let (verification_tag, chunk) = if self.cookie_echo {
            (fields.seq, ProbeChunk::CookieEcho)
        } else {
            (0, ProbeChunk::Init { initiate_tag: fields.seq })
        };
        Transport::Sctp { src_port: fields.src_port, dst_port: fields.dst_port, verification_tag, chunk }
    }

    fn read(&self, response: &Response) -> Option<Answer> {
        match response {
            Response::Sctp(reply) => {
                let (state, reason) = match reply.chunk {
                    chunk::INIT_ACK if !self.cookie_echo => (PortState::Open, Reason::InitAck),
                    chunk::ABORT => (PortState::Closed, Reason::Abort),
                    _ => return None,
                };
                Some(Answer {
                    scanner: reply.dst,
                    scanner_port: reply.dst_port,
                    target: reply.src,
                    target_port: reply.src_port,
                    echo: Echo::Sequence(reply.verification_tag),
                    ttl: reply.ttl,
                    sender: reply.src,
                    state,
                    reason,
                    by_icmp: false,
                })
            }
            Response::Unreachable(u) => {
                let QuotedProbe::Sctp { src_port, dst_port, .. } = u.probe else { return None };
                let verdict = (PortState::Filtered, u.code.reason()?);
                Some(Answer::from_error(u, (src_port, dst_port), Echo::IpIdent(u.probe_ident), verdict))
            }
            _ => None,
        }
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        if self.cookie_echo {
            (PortState::OpenFiltered, Reason::NoResponse)
        } else {
            (PortState::Filtered, Reason::NoResponse)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::{SctpReply, Unreachable, UnreachableCode};

    const SCANNER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
    const TARGET: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));

    fn reply(chunk: u8, verification_tag: u32) -> Response {
        Response::Sctp(SctpReply {
            src: TARGET,
            src_port: 80,
            dst: SCANNER,
            dst_port: 40000,
            verification_tag,
            chunk,
            chunk_flags: 0,
            ttl: 64,
        })
    }

    fn verdict(scan: SctpScan, response: Response) -> Option<(PortState, Reason, Echo)> {
        scan.read(&response).map(|answer| (answer.state, answer.reason, answer.echo))
    }

    #[test]
    fn nmaps_init_scan_table() {
        let scan = SctpScan::INIT;
        assert_eq!(
            verdict(scan, reply(chunk::INIT_ACK, 7)),
            Some((PortState::Open, Reason::InitAck, Echo::Sequence(7)))
        );
        assert_eq!(verdict(scan, reply(chunk::ABORT, 7)), Some((PortState::Closed, Reason::Abort, Echo::Sequence(7))));
        assert_eq!(scan.on_timeout(), (PortState::Filtered, Reason::NoResponse));
        let probe = scan.probe(ProbeFields { dst_port: 80, src_port: 40000, seq: 0xabcd, timestamp: 0 });
        assert_eq!(
            probe,
            Transport::Sctp {
                src_port: 40000,
                dst_port: 80,
                verification_tag: 0,
                chunk: ProbeChunk::Init { initiate_tag: 0xabcd }
            }
        );
    }

    #[test]
    fn nmaps_cookie_echo_scan_table() {
        let scan = SctpScan::COOKIE_ECHO;
        assert_eq!(verdict(scan, reply(chunk::ABORT, 9)), Some((PortState::Closed, Reason::Abort, Echo::Sequence(9))));
        assert_eq!(verdict(scan, reply(chunk::INIT_ACK, 9)), None, "a COOKIE ECHO draws no INIT ACK");
        assert_eq!(scan.on_timeout(), (PortState::OpenFiltered, Reason::NoResponse));
        let probe = scan.probe(ProbeFields { dst_port: 80, src_port: 40000, seq: 0xabcd, timestamp: 0 });
        assert_eq!(
            probe,
            Transport::Sctp { src_port: 40000, dst_port: 80, verification_tag: 0xabcd, chunk: ProbeChunk::CookieEcho }
        );
    }

    #[test]
    fn unreachables_mean_filtered() {
        for scan in [SctpScan::INIT, SctpScan::COOKIE_ECHO] {
            let error = Response::Unreachable(Unreachable {
                from: TARGET,
                code: UnreachableCode::V4(13),
                ttl: 64,
                probe_src: SCANNER,
                probe_dst: TARGET,
                probe_ident: 5,
                probe: QuotedProbe::Sctp { src_port: 40000, dst_port: 80, verification_tag: 0 },
            });
            assert_eq!(verdict(scan, error), Some((PortState::Filtered, Reason::AdminProhibited, Echo::IpIdent(5))));
        }
    }
}
