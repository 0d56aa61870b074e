//! Replies read off the wire, before the engine checks that they answer one of its probes.

use std::net::Ipv4Addr;

use wire::icmp;
use wire::ipv4::{Ipv4Packet, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use wire::tcp::{QuotedTcp, TcpPacket};
use wire::udp::UdpPacket;

/// A TCP segment received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpReply {
    pub src: Ipv4Addr,
    pub src_port: u16,
    pub dst: Ipv4Addr,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// The IP TTL the reply arrived with.
    pub ttl: u8,
}

/// A UDP datagram received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpReply {
    pub src: Ipv4Addr,
    pub src_port: u16,
    pub dst: Ipv4Addr,
    pub dst_port: u16,
    /// The IP TTL the reply arrived with.
    pub ttl: u8,
}

/// A reply to an ICMP query (echo, timestamp, address mask).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpReply {
    pub from: Ipv4Addr,
    pub to: Ipv4Addr,
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
    Udp { src_port: u16, dst_port: u16 },
}

/// An ICMP destination-unreachable about a TCP or UDP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable {
    /// Who sent the ICMP message (the target or a router).
    pub from: Ipv4Addr,
    pub code: u8,
    /// The IP TTL the ICMP message arrived with.
    pub ttl: u8,
    /// The quoted probe: its source, destination, IP identification and transport header start.
    pub probe_src: Ipv4Addr,
    pub probe_dst: Ipv4Addr,
    pub probe_ident: u16,
    pub probe: QuotedProbe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    Tcp(TcpReply),
    Udp(UdpReply),
    Unreachable(Unreachable),
    IcmpReply(IcmpReply),
}

/// Reads an IPv4 packet as a possible answer to a TCP, UDP or ICMP probe; `None` for anything else,
/// including malformed bytes.
///
/// As Nmap reads replies: a fragment other than the first holds no transport header, and is
/// not an answer; checksums are not judged, since locally produced packets (over loopback or
/// a veth pair) carry them unfinished, left to offloading that never happens there, and a
/// corrupted reply is unlikely to carry a probe's cookie.
pub fn parse_response(packet: &[u8]) -> Option<Response> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    if ip.fragment_offset() != 0 {
        return None;
    }
    match ip.protocol() {
        PROTO_TCP => {
            let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
            Some(Response::Tcp(TcpReply {
                src: ip.src(),
                src_port: tcp.src_port(),
                dst: ip.dst(),
                dst_port: tcp.dst_port(),
                seq: tcp.seq(),
                ack: tcp.ack(),
                flags: tcp.flags(),
                window: tcp.window(),
                ttl: ip.ttl(),
            }))
        }
        PROTO_UDP => {
            let udp = UdpPacket::new_checked(ip.payload()).ok()?;
            Some(Response::Udp(UdpReply {
                src: ip.src(),
                src_port: udp.src_port(),
                dst: ip.dst(),
                dst_port: udp.dst_port(),
                ttl: ip.ttl(),
            }))
        }
        PROTO_ICMP => {
            if let Some(reply) = icmp::parse_query_reply(ip.payload()).ok()? {
                let (query, ident, seq) = (reply.query, reply.ident, reply.seq);
                return Some(Response::IcmpReply(IcmpReply {
                    from: ip.src(),
                    to: ip.dst(),
                    query,
                    ident,
                    seq,
                    ttl: ip.ttl(),
                }));
            }
            let unreachable = icmp::parse_unreachable(ip.payload()).ok()??;
            let quoted = unreachable.original_transport;
            let probe = match unreachable.original_protocol {
                PROTO_TCP => QuotedProbe::Tcp(QuotedTcp::parse(quoted).ok()?),
                PROTO_UDP => {
                    let udp = UdpPacket::new_checked(quoted).ok()?;
                    QuotedProbe::Udp { src_port: udp.src_port(), dst_port: udp.dst_port() }
                }
                _ => return None,
            };
            Some(Response::Unreachable(Unreachable {
                from: ip.src(),
                code: unreachable.code,
                ttl: ip.ttl(),
                probe_src: unreachable.original_src,
                probe_dst: unreachable.original_dst,
                probe_ident: unreachable.original_ident,
                probe,
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use wire::tcp::{emit_probe_v4, flags, ProbeRepr, LINUX_SYN_WINDOW, PROBE_LEN};

    const SCANNER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const TARGET: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

    fn probe() -> Vec<u8> {
        let syn = ProbeRepr {
            src_port: 40000,
            dst_port: 22,
            seq: 77,
            ack: 0,
            flags: flags::SYN,
            window: LINUX_SYN_WINDOW,
            timestamp: 1,
        };
        let mut buf = vec![0; PROBE_LEN];
        emit_probe_v4(SCANNER, TARGET, 9, &syn, &mut buf).unwrap();
        buf
    }

    #[test]
    fn reads_tcp_segments() {
        let Some(Response::Tcp(reply)) = parse_response(&probe()) else { panic!("not TCP") };
        assert_eq!((reply.src, reply.src_port, reply.dst, reply.dst_port), (SCANNER, 40000, TARGET, 22));
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
        assert_eq!((u.from, u.code, u.probe_src, u.probe_dst, u.probe_ident), (TARGET, 13, SCANNER, TARGET, 9));
        assert_eq!(u.probe, QuotedProbe::Tcp(QuotedTcp { src_port: 40000, dst_port: 22, seq: 77 }));
    }

    #[test]
    fn reads_udp_datagrams_and_unreachables_quoting_them() {
        let Some(Response::Udp(reply)) = parse_response(&udp_probe()) else { panic!("not UDP") };
        assert_eq!((reply.src, reply.src_port, reply.dst, reply.dst_port), (SCANNER, 40001, TARGET, 53));
        let Some(Response::Unreachable(u)) = parse_response(&unreachable_about(&udp_probe(), 3)) else {
            panic!("not an unreachable")
        };
        assert_eq!((u.code, u.probe_dst, u.probe_ident), (3, TARGET, 0x1234));
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
            (TARGET, SCANNER, icmp::Query::Echo, 40000, 77)
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
        fn corrupted_probes_parse_without_panicking(position in 0usize..PROBE_LEN, value: u8, cut in 0usize..=PROBE_LEN) {
            let mut bytes = probe();
            bytes[position] = value;
            bytes.truncate(cut);
            let _ = parse_response(&bytes);
        }
    }
}
