//! IP protocol scan (`-sO`): which IP protocols a host supports. Its "ports" are protocol
//! numbers. ICMP, TCP and UDP are probed with a packet of their own (an echo request, an ACK
//! to port 80, an empty datagram to port 40125), any other protocol with a bare IP header.
//! As Nmap reads the answers: a packet of the probed protocol back, or a port unreachable
//! about the UDP probe, means open; a protocol unreachable from the host, closed; another
//! unreachable, filtered; silence, open|filtered. IPv4 only.
//!
//! A protocol with no ports carries no cookie but the IP identification its errors quote,
//! so the scan sends from one source port (the engine's key is fixed to it), which this
//! technique names for answers that cannot carry one.

use std::sync::Arc;

use model::{PortState, Protocol, Reason};
use wire::icmp::Query;
use wire::ipv4::{PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use wire::sctp::PROTO_SCTP;
use wire::tcp::{flags, ProbeRepr, LINUX_SYN_WINDOW};

use crate::{echo_of, Answer, Echo, ErrorsAnswer, ProbeFields, QuotedProbe, Response, Technique, Transport};

/// Where the TCP probe goes; where the UDP probe goes (a port unlikely to be open, so that
/// the host answers with a port unreachable).
const TCP_PROBE_PORT: u16 = 80;
const UDP_PROBE_PORT: u16 = 40125;

#[derive(Debug, Clone, Copy)]
pub struct IpProtocolScan {
    source_port: u16,
}

impl IpProtocolScan {
    /// The scan, its probes all sent from `source_port`.
    pub fn new(source_port: u16) -> IpProtocolScan {
        IpProtocolScan { source_port }
    }

    /// The port every probe is sent from.
    pub fn source_port(self) -> u16 {
        self.source_port
    }

    /// The answer about a protocol that an ICMP unreachable gives.
    fn unreachable(&self, u: &crate::Unreachable) -> Option<Answer> {
        let reason = u.code.reason()?;
        let from_host = u.from == u.probe_dst;
        let (protocol, scanner_port, echo) = match u.probe {
            QuotedProbe::Tcp(quoted) => (PROTO_TCP, quoted.src_port, Echo::Sequence(quoted.seq)),
            QuotedProbe::Udp { src_port, .. } => (PROTO_UDP, src_port, Echo::IpIdent(u.probe_ident)),
            QuotedProbe::Sctp { .. } => (PROTO_SCTP, self.source_port, Echo::IpIdent(u.probe_ident)),
            QuotedProbe::Other { protocol } => (protocol, self.source_port, Echo::IpIdent(u.probe_ident)),
        };
        let state = match reason {
            Reason::ProtoUnreach if from_host => PortState::Closed,
            // The host's UDP layer answered: UDP is there.
            Reason::PortUnreach if from_host && protocol == PROTO_UDP => PortState::Open,
            _ => PortState::Filtered,
        };
        Some(Answer::from_error(u, (scanner_port, u16::from(protocol)), echo, (state, reason)))
    }
}

impl Technique for IpProtocolScan {
    fn name(&self) -> &'static str {
        "IPProto Scan"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Ip
    }

    fn probe(&self, fields: ProbeFields) -> Transport {
        match u8::try_from(fields.dst_port) {
            Ok(PROTO_ICMP) => Transport::Icmp { query: Query::Echo, ident: fields.src_port, seq: fields.seq as u16 },
            Ok(PROTO_TCP) => Transport::Tcp(ProbeRepr {
                src_port: fields.src_port,
                dst_port: TCP_PROBE_PORT,
                seq: fields.seq,
                // A RST answering an ACK carries our acknowledgment number back.
                ack: fields.seq,
                flags: flags::ACK,
                window: LINUX_SYN_WINDOW,
                timestamp: fields.timestamp,
            }),
            Ok(PROTO_UDP) => {
                Transport::Udp { src_port: fields.src_port, dst_port: UDP_PROBE_PORT, payload: Arc::from(&[][..]) }
            }
            Ok(protocol) => Transport::Bare { protocol },
            Err(_) => unreachable!("the CLI keeps the IP protocol scan to protocols 0-255"),
        }
    }

    fn read(&self, response: &Response) -> Option<Answer> {
        let answer = |scanner, scanner_port, target, protocol: u8, echo, ttl, reason| Answer {
            scanner,
            scanner_port,
            target,
            target_port: u16::from(protocol),
            echo,
            ttl,
            sender: target,
            state: PortState::Open,
            reason,
            by_icmp: false,
        };
        match response {
            Response::Tcp(reply) if reply.src_port == TCP_PROBE_PORT => {
                let echo = echo_of(flags::ACK, reply);
                Some(answer(reply.dst, reply.dst_port, reply.src, PROTO_TCP, echo, reply.ttl, Reason::ProtoResponse))
            }
            Response::Udp(reply) if reply.src_port == UDP_PROBE_PORT => Some(answer(
                reply.dst,
                reply.dst_port,
                reply.src,
                PROTO_UDP,
                Echo::Nothing,
                reply.ttl,
                Reason::ProtoResponse,
            )),
            Response::IcmpReply(reply) if reply.query == Query::Echo => {
                let echo = Echo::SequenceLow16(reply.seq);
                Some(answer(reply.to, reply.ident, reply.from, PROTO_ICMP, echo, reply.ttl, Reason::EchoReply))
            }
            Response::Unreachable(u) => self.unreachable(u),
            _ => None,
        }
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        (PortState::OpenFiltered, Reason::NoResponse)
    }

    /// Closed protocols answer with protocol unreachables, which hosts ration.
    fn errors_answer(&self) -> ErrorsAnswer {
        ErrorsAnswer::ClosedPorts
    }

    fn reply_protocols(&self) -> Vec<Protocol> {
        vec![Protocol::Tcp, Protocol::Udp]
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::{IcmpReply, TcpReply, UdpReply, Unreachable, UnreachableCode};

    const SCANNER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
    const TARGET: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
    const ROUTER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 254));
    const SCAN: IpProtocolScan = IpProtocolScan { source_port: 50000 };

    fn fields(protocol: u16) -> ProbeFields {
        ProbeFields { dst_port: protocol, src_port: 50000, seq: 0x1234_5678, timestamp: 1 }
    }

    #[test]
    fn icmp_tcp_and_udp_get_packets_of_their_own_the_rest_a_bare_header() {
        assert_eq!(SCAN.probe(fields(1)), Transport::Icmp { query: Query::Echo, ident: 50000, seq: 0x5678 });
        let Transport::Tcp(tcp) = SCAN.probe(fields(6)) else { panic!("TCP probes TCP") };
        assert_eq!((tcp.dst_port, tcp.flags, tcp.ack), (80, flags::ACK, 0x1234_5678));
        let Transport::Udp { dst_port, payload, .. } = SCAN.probe(fields(17)) else { panic!("UDP probes UDP") };
        assert_eq!((dst_port, payload.len()), (40125, 0));
        assert_eq!(SCAN.probe(fields(47)), Transport::Bare { protocol: 47 });
        assert_eq!(SCAN.probe(fields(0)), Transport::Bare { protocol: 0 });
    }

    fn unreachable(code: u8, from: IpAddr, probe: QuotedProbe) -> Response {
        Response::Unreachable(Unreachable {
            from,
            code: UnreachableCode::V4(code),
            ttl: 64,
            probe_src: SCANNER,
            probe_dst: TARGET,
            probe_ident: 7,
            probe,
        })
    }

    fn verdict(response: Response) -> Option<(u16, PortState, Reason)> {
        SCAN.read(&response).map(|a| (a.target_port, a.state, a.reason))
    }

    #[test]
    fn nmaps_ip_protocol_table() {
        let gre = QuotedProbe::Other { protocol: 47 };
        assert_eq!(verdict(unreachable(2, TARGET, gre)), Some((47, PortState::Closed, Reason::ProtoUnreach)));
        assert_eq!(verdict(unreachable(13, TARGET, gre)), Some((47, PortState::Filtered, Reason::AdminProhibited)));
        assert_eq!(
            verdict(unreachable(2, ROUTER, gre)),
            Some((47, PortState::Filtered, Reason::ProtoUnreach)),
            "only the host says a protocol is closed"
        );
        let udp = QuotedProbe::Udp { src_port: 50000, dst_port: 40125 };
        assert_eq!(verdict(unreachable(3, TARGET, udp)), Some((17, PortState::Open, Reason::PortUnreach)));
        assert_eq!(verdict(unreachable(3, ROUTER, udp)), Some((17, PortState::Filtered, Reason::PortUnreach)));
        let tcp = TcpReply {
            src: TARGET,
            src_port: 80,
            dst: SCANNER,
            dst_port: 50000,
            seq: 9,
            ack: 0,
            flags: flags::RST,
            window: 0,
            ttl: 64,
        };
        assert_eq!(verdict(Response::Tcp(tcp)), Some((6, PortState::Open, Reason::ProtoResponse)));
        let udp_reply = UdpReply { src: TARGET, src_port: 40125, dst: SCANNER, dst_port: 50000, ident: 0, ttl: 64 };
        assert_eq!(verdict(Response::Udp(udp_reply)), Some((17, PortState::Open, Reason::ProtoResponse)));
        let echo = IcmpReply { from: TARGET, to: SCANNER, query: Query::Echo, ident: 50000, seq: 0x5678, ttl: 64 };
        assert_eq!(verdict(Response::IcmpReply(echo)), Some((1, PortState::Open, Reason::EchoReply)));
        assert_eq!(SCAN.on_timeout(), (PortState::OpenFiltered, Reason::NoResponse));
    }

    #[test]
    fn answers_carry_the_cookie_the_probe_carried() {
        // A protocol without ports: the fixed source port, and the quoted identification.
        let answer = SCAN.read(&unreachable(2, TARGET, QuotedProbe::Other { protocol: 47 })).unwrap();
        assert_eq!((answer.scanner_port, answer.echo), (50000, Echo::IpIdent(7)));
        // TCP: the RST's sequence number is the probe's acknowledgment number.
        let rst = TcpReply {
            src: TARGET,
            src_port: 80,
            dst: SCANNER,
            dst_port: 50000,
            seq: 0x1234_5678,
            ack: 0,
            flags: flags::RST,
            window: 0,
            ttl: 64,
        };
        assert_eq!(SCAN.read(&Response::Tcp(rst)).unwrap().echo, Echo::Sequence(0x1234_5678));
        // Replies from other ports answer other scans.
        let other = TcpReply { src_port: 22, ..rst };
        assert_eq!(SCAN.read(&Response::Tcp(other)), None);
    }
}
