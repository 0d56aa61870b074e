//! UDP scan (`-sU`). Any UDP reply means open; an ICMP port unreachable from the target,
//! closed; another unreachable, or one from a router answering for the target, filtered;
//! silence, open|filtered. Probes to well-known services carry a
//! request the service answers (see [`UdpPayloads`]), since most stay silent otherwise.

use std::sync::Arc;

use model::{PortState, Protocol, Reason};

use crate::{Answer, Echo, ErrorsAnswer, ProbeFields, QuotedProbe, Response, Technique, Transport, UdpPayloads};

#[derive(Debug, Clone)]
pub struct UdpScan {
    payloads: Arc<UdpPayloads>,
}

impl UdpScan {
    pub fn new(payloads: UdpPayloads) -> UdpScan {
        UdpScan { payloads: Arc::new(payloads) }
    }
}

impl Technique for UdpScan {
    fn name(&self) -> &'static str {
        "UDP Scan"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Udp
    }

    fn probe(&self, fields: ProbeFields) -> Transport {
        Transport::Udp {
            src_port: fields.src_port,
            dst_port: fields.dst_port,
            payload: self.payloads.for_port(fields.dst_port),
        }
    }

    fn read(&self, response: &Response) -> Option<Answer> {
        match response {
            Response::Udp(reply) => Some(Answer {
                scanner: reply.dst,
                scanner_port: reply.dst_port,
                target: reply.src,
                target_port: reply.src_port,
                echo: Echo::Nothing,
                ttl: reply.ttl,
                sender: reply.src,
                state: PortState::Open,
                reason: Reason::UdpResponse,
                by_icmp: false,
            }),
            Response::Unreachable(u) => {
                let QuotedProbe::Udp { src_port, dst_port } = u.probe else { return None };
                let reason = u.code.reason()?;
                // Only the target itself says its port is closed (as Nmap reads it).
                let closed = u.code.is_port_unreachable() && u.from == u.probe_dst;
                let state = if closed { PortState::Closed } else { PortState::Filtered };
                Some(Answer::from_error(u, (src_port, dst_port), Echo::IpIdent(u.probe_ident), (state, reason)))
            }
            Response::Tcp(_) | Response::Sctp(_) | Response::IcmpReply(_) => None,
        }
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        (PortState::OpenFiltered, Reason::NoResponse)
    }

    fn errors_answer(&self) -> ErrorsAnswer {
        ErrorsAnswer::ClosedPorts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{UdpReply, Unreachable, UnreachableCode};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    const SCANNER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
    const TARGET: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));

    fn scan() -> UdpScan {
        UdpScan::new(UdpPayloads::embedded())
    }

    fn unreachable(code: u8) -> Response {
        Response::Unreachable(Unreachable {
            from: TARGET,
            code: UnreachableCode::V4(code),
            ttl: 64,
            probe_src: SCANNER,
            probe_dst: TARGET,
            probe_ident: 77,
            probe: QuotedProbe::Udp { src_port: 40000, dst_port: 53 },
        })
    }

    fn verdict(response: &Response) -> Option<(PortState, Reason)> {
        scan().read(response).map(|answer| (answer.state, answer.reason))
    }

    #[test]
    fn nmaps_udp_scan_table() {
        let reply =
            Response::Udp(UdpReply { src: TARGET, src_port: 53, dst: SCANNER, dst_port: 40000, ident: 0, ttl: 64 });
        assert_eq!(verdict(&reply), Some((PortState::Open, Reason::UdpResponse)));
        assert_eq!(verdict(&unreachable(3)), Some((PortState::Closed, Reason::PortUnreach)));
        for (code, reason) in [
            (1, Reason::HostUnreach),
            (2, Reason::ProtoUnreach),
            (9, Reason::NetProhibited),
            (10, Reason::HostProhibited),
            (13, Reason::AdminProhibited),
        ] {
            assert_eq!(verdict(&unreachable(code)), Some((PortState::Filtered, reason)), "code {code}");
        }
        assert_eq!(verdict(&unreachable(4)), None, "fragmentation needed says nothing about the port");
    }

    #[test]
    fn nmaps_udp_scan_table_over_icmpv6() {
        let (scanner, target) =
            (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1), Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2));
        let unreachable = |code| {
            Response::Unreachable(Unreachable {
                from: target.into(),
                code: UnreachableCode::V6(code),
                ttl: 64,
                probe_src: scanner.into(),
                probe_dst: target.into(),
                probe_ident: 77,
                probe: QuotedProbe::Udp { src_port: 40000, dst_port: 53 },
            })
        };
        assert_eq!(verdict(&unreachable(4)), Some((PortState::Closed, Reason::PortUnreach)));
        for (code, reason) in [
            (0, Reason::NoRoute),
            (1, Reason::AdminProhibited),
            (2, Reason::BeyondScope),
            (3, Reason::HostUnreach),
            (5, Reason::AdminProhibited),
            (6, Reason::RejectRoute),
        ] {
            assert_eq!(verdict(&unreachable(code)), Some((PortState::Filtered, reason)), "code {code}");
        }
        assert_eq!(verdict(&unreachable(7)), None, "an unassigned code says nothing");
    }

    #[test]
    fn a_port_unreachable_from_a_router_means_filtered() {
        let Response::Unreachable(from_target) = unreachable(3) else { unreachable!() };
        let router = IpAddr::from([198, 18, 0, 254]);
        let answer = scan().read(&Response::Unreachable(Unreachable { from: router, ..from_target })).unwrap();
        assert_eq!((answer.state, answer.reason, answer.sender), (PortState::Filtered, Reason::PortUnreach, router));
        assert_eq!(scan().on_timeout(), (PortState::OpenFiltered, Reason::NoResponse));
    }

    #[test]
    fn an_icmp_answer_echoes_the_quoted_ip_identification() {
        let answer = scan().read(&unreachable(3)).unwrap();
        assert_eq!((answer.echo, answer.scanner_port, answer.target_port), (Echo::IpIdent(77), 40000, 53));
        assert!(answer.by_icmp);
    }

    #[test]
    fn probes_carry_the_ports_payload() {
        let fields = ProbeFields { dst_port: 123, src_port: 40000, seq: 0, timestamp: 0 };
        let Transport::Udp { payload, src_port, .. } = scan().probe(fields) else { panic!("not UDP") };
        assert_eq!((payload.len(), src_port), (48, 40000));
    }
}
