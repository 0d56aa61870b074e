//! Replies read off the wire, before the engine checks that they answer one of its probes.

use std::net::IpAddr;

use model::Reason;
use wire::icmp;
use wire::icmpv6;
use wire::ipv4::{Ipv4Packet, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use wire::ipv6::{Ipv6Packet, NEXT_ICMPV6};
use wire::sctp::{SctpPacket, PROTO_SCTP};
use wire::tcp::{QuotedTcp, TcpPacket};
use wire::udp::UdpPacket;

/// A TCP segment received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpReply {
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// The IP TTL (IPv6: hop limit) the reply arrived with.
    pub ttl: u8,
}

/// A UDP datagram received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpReply {
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    /// The IPv4 identification, or the IPv6 flow label's low 16 bits: where a UDP probe of
    /// ours carries its cookie.
    pub ident: u16,
    /// The IP TTL (IPv6: hop limit) the reply arrived with.
    pub ttl: u8,
}

/// An SCTP packet received: its common header and first chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpReply {
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub verification_tag: u32,
    /// The first chunk's type and flags.
    pub chunk: u8,
    pub chunk_flags: u8,
    pub ttl: u8,
}

/// A reply to an ICMP query (echo, timestamp, address mask) or an ICMPv6 echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpReply {
    pub from: IpAddr,
    pub to: IpAddr,
    pub query: icmp::Query,
    /// The identifier and sequence number of the query, echoed.
    pub ident: u16,
    pub seq: u16,
    pub ttl: u8,
}

/// The start of a probe's transport header as an ICMP error quotes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotedProbe {
    Tcp(QuotedTcp),
    Udp {
        src_port: u16,
        dst_port: u16,
    },
    Sctp {
        src_port: u16,
        dst_port: u16,
        verification_tag: u32,
    },
    /// A probe of another protocol (the IP protocol scan's), known by its number alone.
    Other {
        protocol: u8,
    },
}

/// A destination-unreachable code: ICMP and ICMPv6 number their codes differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnreachableCode {
    V4(u8),
    V6(u8),
}

impl UnreachableCode {
    /// The reason Nmap gives for the code; `None` for codes that Nmap does not take as an
    /// answer about the port (e.g. fragmentation needed).
    pub fn reason(self) -> Option<Reason> {
        match self {
            UnreachableCode::V4(code) => match code {
                0 => Some(Reason::NetUnreach),
                1 => Some(Reason::HostUnreach),
                2 => Some(Reason::ProtoUnreach),
                3 => Some(Reason::PortUnreach),
                9 => Some(Reason::NetProhibited),
                10 => Some(Reason::HostProhibited),
                13 => Some(Reason::AdminProhibited),
                _ => None,
            },
            UnreachableCode::V6(code) => match code {
                icmpv6::unreachable::NO_ROUTE => Some(Reason::NoRoute),
                icmpv6::unreachable::ADMIN_PROHIBITED | icmpv6::unreachable::SOURCE_POLICY => {
                    Some(Reason::AdminProhibited)
                }
                icmpv6::unreachable::BEYOND_SCOPE => Some(Reason::BeyondScope),
                icmpv6::unreachable::ADDRESS => Some(Reason::HostUnreach),
                icmpv6::unreachable::PORT => Some(Reason::PortUnreach),
                icmpv6::unreachable::REJECT_ROUTE => Some(Reason::RejectRoute),
                _ => None,
            },
        }
    }

    /// Port unreachable: from the target itself, a closed UDP port.
    pub fn is_port_unreachable(self) -> bool {
        self == UnreachableCode::V4(3) || self == UnreachableCode::V6(icmpv6::unreachable::PORT)
    }
}

/// An ICMP or ICMPv6 destination-unreachable about a TCP or UDP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable {
    /// Who sent the ICMP message (the target or a router).
    pub from: IpAddr,
    pub code: UnreachableCode,
    /// The IP TTL (IPv6: hop limit) the ICMP message arrived with.
    pub ttl: u8,
    /// The quoted probe: its source, destination, IP identification (IPv6: the low 16 bits
    /// of its flow label, where portolan puts the same value) and transport header start.
    pub probe_src: IpAddr,
    pub probe_dst: IpAddr,
    pub probe_ident: u16,
    pub probe: QuotedProbe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    Tcp(TcpReply),
    Udp(UdpReply),
    Sctp(SctpReply),
    Unreachable(Unreachable),
    IcmpReply(IcmpReply),
}

impl Response {
    /// The address of the target this speaks of: who sent a reply, or where the probe an
    /// error quotes was going (the error may come from a router on the way).
    pub fn target(&self) -> IpAddr {
        match self {
            Response::Tcp(reply) => reply.src,
            Response::Udp(reply) => reply.src,
            Response::Sctp(reply) => reply.src,
            Response::Unreachable(error) => error.probe_dst,
            Response::IcmpReply(reply) => reply.from,
        }
    }
}

/// Reads an IPv4 or IPv6 packet as a possible answer to a TCP, UDP or ICMP probe; `None` for
/// anything else, including malformed bytes.
///
/// As Nmap reads replies: a fragment other than the first holds no transport header, and is
/// not an answer; checksums are not judged, since locally produced packets (over loopback or
/// a veth pair) carry them unfinished, left to offloading that never happens there, and a
/// corrupted reply is unlikely to carry a probe's cookie.
pub fn parse_response(packet: &[u8]) -> Option<Response> {
    match packet.first()? >> 4 {
        4 => parse_v4(packet),
        6 => parse_v6(packet),
        _ => None,
    }
}

/// Addresses, TTL and identification (see [`UdpReply::ident`]) of a received packet,
/// whichever its family.
struct Envelope {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    ident: u16,
}

fn parse_v4(packet: &[u8]) -> Option<Response> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    if ip.fragment_offset() != 0 {
        return None;
    }
    let envelope = Envelope { src: ip.src().into(), dst: ip.dst().into(), ttl: ip.ttl(), ident: ip.ident() };
    match ip.protocol() {
        PROTO_ICMP => {
            if let Some(reply) = icmp::parse_query_reply(ip.payload()).ok()? {
                return Some(icmp_reply(&envelope, reply.query, reply.ident, reply.seq));
            }
            let unreachable = icmp::parse_unreachable(ip.payload()).ok()??;
            let probe = quoted_probe(unreachable.original_protocol, unreachable.original_transport)?;
            Some(Response::Unreachable(Unreachable {
                from: envelope.src,
                code: UnreachableCode::V4(unreachable.code),
                ttl: envelope.ttl,
                probe_src: unreachable.original_src.into(),
                probe_dst: unreachable.original_dst.into(),
                probe_ident: unreachable.original_ident,
                probe,
            }))
        }
        protocol => transport_reply(&envelope, protocol, ip.payload()),
    }
}

fn parse_v6(packet: &[u8]) -> Option<Response> {
    let ip = Ipv6Packet::new_checked(packet).ok()?;
    let ident = ip.flow_label() as u16;
    let envelope = Envelope { src: ip.src().into(), dst: ip.dst().into(), ttl: ip.hop_limit(), ident };
    let (protocol, upper) = ip.into_upper_layer()?;
    if protocol != NEXT_ICMPV6 {
        return transport_reply(&envelope, protocol, upper);
    }
    if let Some((ident, seq)) = icmpv6::parse_echo_reply(upper).ok()? {
        return Some(icmp_reply(&envelope, icmp::Query::Echo, ident, seq));
    }
    let error = icmpv6::parse_error(upper).ok()??;
    if error.kind != icmpv6::TYPE_DEST_UNREACHABLE {
        return None;
    }
    let probe = quoted_probe(error.original_protocol, error.original_transport)?;
    Some(Response::Unreachable(Unreachable {
        from: envelope.src,
        code: UnreachableCode::V6(error.code),
        ttl: envelope.ttl,
        probe_src: error.original_src.into(),
        probe_dst: error.original_dst.into(),
        probe_ident: error.original_flow_label as u16,
        probe,
    }))
}

/// A TCP segment, UDP datagram or SCTP packet (`bytes`, from its header on); `None` for
/// other protocols.
fn transport_reply(envelope: &Envelope, protocol: u8, bytes: &[u8]) -> Option<Response> {
    match protocol {
        PROTO_TCP => {
            let tcp = TcpPacket::new_checked(bytes).ok()?;
            Some(Response::Tcp(TcpReply {
                src: envelope.src,
                src_port: tcp.src_port(),
                dst: envelope.dst,
                dst_port: tcp.dst_port(),
                seq: tcp.seq(),
                ack: tcp.ack(),
                flags: tcp.flags(),
                window: tcp.window(),
                ttl: envelope.ttl,
            }))
        }
        PROTO_UDP => {
            let udp = UdpPacket::new_checked(bytes).ok()?;
            Some(Response::Udp(UdpReply {
                src: envelope.src,
                src_port: udp.src_port(),
                dst: envelope.dst,
                dst_port: udp.dst_port(),
                ident: envelope.ident,
                ttl: envelope.ttl,
            }))
        }
        PROTO_SCTP => {
            let sctp = SctpPacket::new_checked(bytes).ok()?;
            let (chunk, chunk_flags) = sctp.first_chunk()?;
            Some(Response::Sctp(SctpReply {
                src: envelope.src,
                src_port: sctp.src_port(),
                dst: envelope.dst,
                dst_port: sctp.dst_port(),
                verification_tag: sctp.verification_tag(),
                chunk,
                chunk_flags,
                ttl: envelope.ttl,
            }))
        }
        _ => None,
    }
}

fn icmp_reply(envelope: &Envelope, query: icmp::Query, ident: u16, seq: u16) -> Response {
    Response::IcmpReply(IcmpReply { from: envelope.src, to: envelope.dst, query, ident, seq, ttl: envelope.ttl })
}

/// The TCP, UDP or SCTP header start an ICMP error quotes, or the protocol of another probe.
fn quoted_probe(protocol: u8, transport: &[u8]) -> Option<QuotedProbe> {
    match protocol {
        PROTO_TCP => Some(QuotedProbe::Tcp(QuotedTcp::parse(transport).ok()?)),
        PROTO_UDP => {
            let udp = UdpPacket::new_checked(transport).ok()?;
            Some(QuotedProbe::Udp { src_port: udp.src_port(), dst_port: udp.dst_port() })
        }
        // The common header's first eight bytes, ports and verification tag; a bare IP header
        // of the protocol (the IP protocol scan's probe) quotes none.
        PROTO_SCTP if transport.len() >= 8 => {
            let header: [u8; 8] = transport[..8].try_into().ok()?;
            Some(QuotedProbe::Sctp {
                src_port: u16::from_be_bytes([header[0], header[1]]),
                dst_port: u16::from_be_bytes([header[2], header[3]]),
                verification_tag: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
            })
        }
        protocol => Some(QuotedProbe::Other { protocol }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use wire::tcp::{emit_probe_v4, flags, ProbeRepr, LINUX_SYN_WINDOW, PROBE_LEN};

    const SCANNER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const TARGET: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

    /// The SYN both families' test probes carry: port 40000 to 22, sequence 77.
    fn syn() -> ProbeRepr {
        ProbeRepr {
            src_port: 40000,
            dst_port: 22,
            seq: 77,
            ack: 0,
            flags: flags::SYN,
            window: LINUX_SYN_WINDOW,
            timestamp: 1,
        }
    }

    fn probe() -> Vec<u8> {
        let syn = syn();
        let mut buf = vec![0; PROBE_LEN];
        emit_probe_v4(SCANNER, TARGET, 9, &syn, &mut buf).unwrap();
        buf
    }

    #[test]
    fn reads_tcp_segments() {
        let Some(Response::Tcp(reply)) = parse_response(&probe()) else { panic!("not TCP") };
        assert_eq!((reply.src, reply.src_port, reply.dst, reply.dst_port), (SCANNER.into(), 40000, TARGET.into(), 22));
        assert_eq!((reply.seq, reply.flags), (77, flags::SYN));
    }

    fn udp_probe() -> Vec<u8> {
        let mut buf = vec![0; 64];
        let len = wire::udp::emit_probe_v4(SCANNER, TARGET, 0x1234, 40001, 53, b"query", &mut buf).unwrap();
        buf.truncate(len);
        buf
    }

    /// An ICMP destination-unreachable from the target quoting the first 28 bytes of `probe`.
    fn unreachable_about(probe: &[u8], code: u8) -> Vec<u8> {
        let mut packet = vec![0u8; 20];
        let icmp_len = 8 + 28;
        wire::ipv4::Ipv4Repr {
            src: TARGET,
            dst: SCANNER,
            protocol: PROTO_ICMP,
            ident: 1,
            tos: 0,
            ttl: 64,
            dont_fragment: false,
            payload_len: icmp_len,
        }
        .emit(&mut packet)
        .unwrap();
        packet.extend_from_slice(&[3, code, 0, 0, 0, 0, 0, 0]);
        packet.extend_from_slice(&probe[..28]);
        packet
    }

    #[test]
    fn reads_unreachables_quoting_a_probe() {
        let packet = unreachable_about(&probe(), 13);
        let Some(Response::Unreachable(u)) = parse_response(&packet) else { panic!("not an unreachable") };
        assert_eq!(
            (u.from, u.code, u.probe_src, u.probe_dst, u.probe_ident),
            (TARGET.into(), UnreachableCode::V4(13), SCANNER.into(), TARGET.into(), 9)
        );
        assert_eq!(u.probe, QuotedProbe::Tcp(QuotedTcp { src_port: 40000, dst_port: 22, seq: 77 }));
    }

    #[test]
    fn reads_udp_datagrams_and_unreachables_quoting_them() {
        let Some(Response::Udp(reply)) = parse_response(&udp_probe()) else { panic!("not UDP") };
        assert_eq!((reply.src, reply.src_port, reply.dst, reply.dst_port), (SCANNER.into(), 40001, TARGET.into(), 53));
        assert_eq!(reply.ident, 0x1234, "the IP identification, where our probes carry their cookie");
        let Some(Response::Unreachable(u)) = parse_response(&unreachable_about(&udp_probe(), 3)) else {
            panic!("not an unreachable")
        };
        assert_eq!((u.code, u.probe_dst, u.probe_ident), (UnreachableCode::V4(3), TARGET.into(), 0x1234));
        assert_eq!(u.probe, QuotedProbe::Udp { src_port: 40001, dst_port: 53 });
    }

    #[test]
    fn reads_icmp_query_replies() {
        let mut packet = vec![0u8; wire::icmp::QUERY_PROBE_LEN];
        let len = wire::icmp::emit_query_v4(TARGET, SCANNER, 1, icmp::Query::Echo, 40000, 77, &mut packet).unwrap();
        packet.truncate(len);
        packet[20] = 0; // an echo request turned into its reply
        let Some(Response::IcmpReply(reply)) = parse_response(&packet) else { panic!("not a reply") };
        assert_eq!(
            (reply.from, reply.to, reply.query, reply.ident, reply.seq),
            (TARGET.into(), SCANNER.into(), icmp::Query::Echo, 40000, 77)
        );
    }

    const SCANNER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
    const TARGET_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);

    fn probe_v6() -> Vec<u8> {
        let syn = syn();
        let mut buf = vec![0; wire::tcp::PROBE_LEN_V6];
        wire::tcp::emit_probe_v6(SCANNER_V6, TARGET_V6, 0x4321, &syn, &mut buf).unwrap();
        buf
    }

    #[test]
    fn reads_the_identification_of_an_ipv6_datagram_from_its_flow_label() {
        let mut buf = vec![0; 64];
        let len = wire::udp::emit_probe_v6(SCANNER_V6, TARGET_V6, 0x5_4321, 40001, 53, b"query", &mut buf).unwrap();
        let Some(Response::Udp(reply)) = parse_response(&buf[..len]) else { panic!("not UDP") };
        assert_eq!((reply.src_port, reply.dst_port, reply.ident), (40001, 53, 0x4321));
    }

    #[test]
    fn reads_ipv6_segments_with_their_hop_limit() {
        let Some(Response::Tcp(reply)) = parse_response(&probe_v6()) else { panic!("not TCP") };
        assert_eq!((reply.src, reply.dst, reply.dst_port, reply.seq), (SCANNER_V6.into(), TARGET_V6.into(), 22, 77));
        assert_eq!(reply.ttl, 64);
    }

    /// An ICMPv6 message of `kind`/`code` from the target quoting `probe`.
    fn icmpv6_about(probe: &[u8], kind: u8, code: u8) -> Vec<u8> {
        let mut message = vec![kind, code, 0, 0, 0, 0, 0, 0];
        message.extend_from_slice(probe);
        let mut packet = vec![0u8; wire::ipv6::HEADER_LEN];
        wire::ipv6::Ipv6Repr {
            src: TARGET_V6,
            dst: SCANNER_V6,
            next_header: NEXT_ICMPV6,
            hop_limit: 63,
            flow_label: 0,
            payload_len: message.len(),
        }
        .emit(&mut packet)
        .unwrap();
        packet.extend(message);
        packet
    }

    #[test]
    fn reads_icmpv6_unreachables_with_the_flow_label_as_the_quoted_identification() {
        let packet = icmpv6_about(&probe_v6(), icmpv6::TYPE_DEST_UNREACHABLE, icmpv6::unreachable::PORT);
        let Some(Response::Unreachable(u)) = parse_response(&packet) else { panic!("not an unreachable") };
        assert_eq!((u.from, u.code, u.ttl), (TARGET_V6.into(), UnreachableCode::V6(4), 63));
        assert_eq!((u.probe_src, u.probe_dst, u.probe_ident), (SCANNER_V6.into(), TARGET_V6.into(), 0x4321));
        assert_eq!(u.probe, QuotedProbe::Tcp(QuotedTcp { src_port: 40000, dst_port: 22, seq: 77 }));
        assert!(u.code.is_port_unreachable() && !UnreachableCode::V4(4).is_port_unreachable());
        let expired = icmpv6_about(&probe_v6(), icmpv6::TYPE_TIME_EXCEEDED, 0);
        assert_eq!(parse_response(&expired), None, "time exceeded says nothing about a port");
    }

    #[test]
    fn reads_icmpv6_echo_replies() {
        let mut packet = vec![0u8; icmpv6::ECHO_PROBE_LEN];
        icmpv6::emit_echo_v6(TARGET_V6, SCANNER_V6, 0, 40000, 77, &mut packet).unwrap();
        packet[wire::ipv6::HEADER_LEN] = icmpv6::TYPE_ECHO_REPLY;
        let Some(Response::IcmpReply(reply)) = parse_response(&packet) else { panic!("not a reply") };
        assert_eq!(
            (reply.from, reply.to, reply.query, reply.ident, reply.seq),
            (TARGET_V6.into(), SCANNER_V6.into(), icmp::Query::Echo, 40000, 77)
        );
    }

    /// `packet` with its IP flags and fragment offset field set to `flags_offset`.
    fn with_fragment_field(mut packet: Vec<u8>, flags_offset: u16) -> Vec<u8> {
        packet[6..8].copy_from_slice(&flags_offset.to_be_bytes());
        packet
    }

    #[test]
    fn only_a_whole_packet_or_its_first_fragment_is_read() {
        let more_fragments = 0x2000;
        assert!(parse_response(&with_fragment_field(probe(), more_fragments)).is_some(), "a first fragment");
        assert_eq!(parse_response(&with_fragment_field(probe(), 3)), None, "offset 24: no transport header there");
    }

    #[test]
    fn a_reply_with_a_bad_checksum_is_read_as_nmap_reads_it() {
        let mut bad_tcp_checksum = probe();
        bad_tcp_checksum[36] ^= 0xff;
        let Some(Response::Tcp(reply)) = parse_response(&bad_tcp_checksum) else { panic!("not read") };
        assert_eq!((reply.src_port, reply.dst_port), (40000, 22));
        let mut bad_ip_checksum = probe();
        bad_ip_checksum[10] ^= 0xff;
        assert!(parse_response(&bad_ip_checksum).is_some());
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = parse_response(&bytes);
        }

        #[test]
        fn any_ipv6_bytes_parse_without_panicking(mut bytes in proptest::collection::vec(any::<u8>(), 1..160)) {
            bytes[0] = 0x60;
            let _ = parse_response(&bytes);
        }

        #[test]
        fn corrupted_ipv6_errors_parse_without_panicking(position in 0usize..128, value: u8, cut in 0usize..=128) {
            let mut bytes = icmpv6_about(&probe_v6(), icmpv6::TYPE_DEST_UNREACHABLE, 1);
            bytes[position] = value;
            bytes.truncate(cut);
            let _ = parse_response(&bytes);
        }

        #[test]
        fn corrupted_probes_parse_without_panicking(position in 0usize..PROBE_LEN, value: u8, cut in 0usize..=PROBE_LEN) {
            let mut bytes = probe();
            bytes[position] = value;
            bytes.truncate(cut);
            let _ = parse_response(&bytes);
        }
    }
}
