//! One line about a packet, as Nmap's `--packet-trace` prints them after "SENT" or "RCVD":
//! `TCP 198.18.0.1:40000 > 198.18.0.2:22 S ttl=64 id=4660 iplen=60  seq=7 win=64240`.
//! For diagnostics only: it allocates, and reads any bytes without panicking.

use std::fmt::Write;

use crate::ipv4::{Ipv4Packet, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use crate::ipv6::{Ipv6Packet, NEXT_ICMPV6};
use crate::tcp::TcpPacket;
use crate::udp::UdpPacket;

/// TCP flags in the order Nmap writes them (lowest bit first): "S", "SA", "RA", "FPU".
const FLAG_LETTERS: [(u8, char); 8] =
    [(0x01, 'F'), (0x02, 'S'), (0x04, 'R'), (0x08, 'P'), (0x10, 'A'), (0x20, 'U'), (0x40, 'E'), (0x80, 'C')];

/// The line for an IPv4 or IPv6 packet; unknown or malformed bytes are said to be so.
pub fn describe(packet: &[u8]) -> String {
    match packet.first().map(|byte| byte >> 4) {
        Some(4) => describe_v4(packet),
        Some(6) => describe_v6(packet),
        _ => format!("unknown packet of {} bytes", packet.len()),
    }
}

fn describe_v4(packet: &[u8]) -> String {
    let Ok(ip) = Ipv4Packet::new_checked(packet) else {
        return format!("malformed IPv4 packet of {} bytes", packet.len());
    };
    let (src, dst) = (ip.src().to_string(), ip.dst().to_string());
    let ip_fields = format!("ttl={} id={} iplen={}", ip.ttl(), ip.ident(), ip.total_len());
    let fragment =
        if ip.fragment_offset() != 0 { format!(" frag offset={}", ip.fragment_offset()) } else { String::new() };
    if ip.fragment_offset() != 0 {
        return format!("IP {src} > {dst} proto={} {ip_fields}{fragment}", ip.protocol());
    }
    match ip.protocol() {
        PROTO_ICMP => {
            let icmp = ip.payload();
            let (kind, code) = (icmp.first().copied().unwrap_or(0), icmp.get(1).copied().unwrap_or(0));
            format!("ICMP [{src} > {dst} {} (type={kind}/code={code}) ] IP [{ip_fields} ]", icmp_name(kind))
        }
        protocol => transport(protocol, &src, &dst, ip.payload(), &ip_fields),
    }
}

fn describe_v6(packet: &[u8]) -> String {
    let Ok(ip) = Ipv6Packet::new_checked(packet) else {
        return format!("malformed IPv6 packet of {} bytes", packet.len());
    };
    let (src, dst) = (format!("[{}]", ip.src()), format!("[{}]", ip.dst()));
    let ip_fields = format!("hlim={} flow={:#x} payloadlen={}", ip.hop_limit(), ip.flow_label(), ip.payload_len());
    match ip.upper_layer() {
        Some((NEXT_ICMPV6, icmp)) => {
            let (kind, code) = (icmp.first().copied().unwrap_or(0), icmp.get(1).copied().unwrap_or(0));
            format!("ICMPv6 [{src} > {dst} (type={kind}/code={code}) ] IPv6 [{ip_fields} ]")
        }
        Some((protocol, bytes)) => transport(protocol, &src, &dst, bytes, &ip_fields),
        None => format!("IPv6 {src} > {dst} fragment {ip_fields}"),
    }
}

/// A TCP segment, UDP datagram or SCTP packet, or another protocol by number.
fn transport(protocol: u8, src: &str, dst: &str, bytes: &[u8], ip_fields: &str) -> String {
    match protocol {
        PROTO_TCP => match TcpPacket::new_checked(bytes) {
            Ok(tcp) => {
                let flags: String =
                    FLAG_LETTERS.iter().filter(|(bit, _)| tcp.flags() & bit != 0).map(|&(_, letter)| letter).collect();
                let mut line = format!(
                    "TCP {src}:{} > {dst}:{} {flags} {ip_fields}  seq={} win={}",
                    tcp.src_port(),
                    tcp.dst_port(),
                    tcp.seq(),
                    tcp.window()
                );
                if tcp.flags() & 0x10 != 0 {
                    let _ = write!(line, " ack={}", tcp.ack());
                }
                if !tcp.options().is_empty() {
                    let _ = write!(line, " <{}>", tcp_options(tcp.options()));
                }
                line
            }
            Err(_) => format!("TCP {src} > {dst} (truncated) {ip_fields}"),
        },
        PROTO_UDP => match UdpPacket::new_checked(bytes) {
            Ok(udp) => format!("UDP {src}:{} > {dst}:{} {ip_fields}", udp.src_port(), udp.dst_port()),
            Err(_) => format!("UDP {src} > {dst} (truncated) {ip_fields}"),
        },
        crate::sctp::PROTO_SCTP => match crate::sctp::SctpPacket::new_checked(bytes) {
            Ok(sctp) => {
                let chunk = match sctp.first_chunk().map(|(kind, _)| kind) {
                    Some(crate::sctp::chunk::INIT) => "INIT".to_string(),
                    Some(crate::sctp::chunk::INIT_ACK) => "INIT-ACK".to_string(),
                    Some(crate::sctp::chunk::ABORT) => "ABORT".to_string(),
                    Some(crate::sctp::chunk::COOKIE_ECHO) => "COOKIE-ECHO".to_string(),
                    Some(other) => format!("chunk={other}"),
                    None => "no chunk".to_string(),
                };
                let (sport, dport, tag) = (sctp.src_port(), sctp.dst_port(), sctp.verification_tag());
                format!("SCTP {src}:{sport} > {dst}:{dport} {chunk} {ip_fields}  vtag={tag}")
            }
            Err(_) => format!("SCTP {src} > {dst} (truncated) {ip_fields}"),
        },
        other => format!("IP {src} > {dst} proto={other} {ip_fields}"),
    }
}

/// "mss 1460,sackOK,timestamp 12345 0,nop,wscale 7", as Nmap lists a segment's options.
fn tcp_options(mut options: &[u8]) -> String {
    let mut listed = Vec::new();
    while let Some(&kind) = options.first() {
        let len = match kind {
            0 | 1 => 1,
            _ => usize::from(*options.get(1).unwrap_or(&0)).max(2),
        };
        let value = options.get(2..len.min(options.len())).unwrap_or(&[]);
        listed.push(match (kind, value) {
            (0, _) => "eol".to_string(),
            (1, _) => "nop".to_string(),
            (2, [a, b]) => format!("mss {}", u16::from_be_bytes([*a, *b])),
            (3, [shift]) => format!("wscale {shift}"),
            (4, _) => "sackOK".to_string(),
            (8, [a, b, c, d, e, f, g, h]) => {
                format!("timestamp {} {}", u32::from_be_bytes([*a, *b, *c, *d]), u32::from_be_bytes([*e, *f, *g, *h]))
            }
            (kind, _) => format!("option {kind}"),
        });
        options = options.get(len..).unwrap_or(&[]);
    }
    listed.join(",")
}

fn icmp_name(kind: u8) -> &'static str {
    match kind {
        0 => "Echo reply",
        3 => "Destination unreachable",
        8 => "Echo request",
        11 => "Time exceeded",
        13 => "Timestamp request",
        14 => "Timestamp reply",
        17 => "Address mask request",
        18 => "Address mask reply",
        _ => "ICMP",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::icmp;
    use crate::tcp::{emit_probe_v4, emit_probe_v6, flags, ProbeRepr, PROBE_LEN, PROBE_LEN_V6};
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn syn() -> ProbeRepr {
        ProbeRepr { src_port: 40000, dst_port: 22, seq: 7, ack: 0, flags: flags::SYN, window: 64240, timestamp: 1 }
    }

    #[test]
    fn a_syn_reads_as_nmap_traces_it() {
        let mut buf = [0u8; PROBE_LEN];
        emit_probe_v4(Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2), 4660, &syn(), &mut buf).unwrap();
        assert_eq!(
            describe(&buf),
            "TCP 198.18.0.1:40000 > 198.18.0.2:22 S ttl=64 id=4660 iplen=60  seq=7 win=64240 \
             <mss 1460,sackOK,timestamp 1 0,nop,wscale 7>"
        );
        let reset = ProbeRepr { flags: flags::RST | flags::ACK, ack: 8, ..syn() };
        let mut buf = [0u8; PROBE_LEN];
        let len =
            emit_probe_v4(Ipv4Addr::new(198, 18, 0, 2), Ipv4Addr::new(198, 18, 0, 1), 0, &reset, &mut buf).unwrap();
        assert!(
            describe(&buf[..len]).contains(" RA ttl=64 id=0 iplen=40  seq=7 win=64240 ack=8"),
            "{}",
            describe(&buf[..len])
        );
    }

    #[test]
    fn ipv6_udp_and_icmp_read_too() {
        let (src, dst) = (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1), Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2));
        let mut buf = [0u8; PROBE_LEN_V6];
        emit_probe_v6(src, dst, 0x12345, &syn(), &mut buf).unwrap();
        assert!(describe(&buf).starts_with("TCP [2001:2::1]:40000 > [2001:2::2]:22 S hlim=64 flow=0x12345"));
        let mut buf = [0u8; 64];
        let len = crate::udp::emit_probe_v4(
            Ipv4Addr::new(198, 18, 0, 1),
            Ipv4Addr::new(198, 18, 0, 2),
            1,
            40000,
            53,
            b"",
            &mut buf,
        )
        .unwrap();
        assert_eq!(describe(&buf[..len]), "UDP 198.18.0.1:40000 > 198.18.0.2:53 ttl=64 id=1 iplen=28");
        let len = icmp::emit_query_v4(
            Ipv4Addr::new(198, 18, 0, 1),
            Ipv4Addr::new(198, 18, 0, 2),
            9,
            icmp::Query::Echo,
            5,
            6,
            &mut buf,
        )
        .unwrap();
        assert_eq!(
            describe(&buf[..len]),
            "ICMP [198.18.0.1 > 198.18.0.2 Echo request (type=8/code=0) ] IP [ttl=64 id=9 iplen=28 ]"
        );
    }

    #[test]
    fn sctp_reads_with_its_chunk_and_tag() {
        let mut buf = [0u8; crate::sctp::PROBE_LEN];
        let (src, dst) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        let init = crate::sctp::ProbeChunk::Init { initiate_tag: 5 };
        let len = crate::sctp::emit_probe_v4(src, dst, 3, 40000, 80, 0, init, &mut buf).unwrap();
        assert_eq!(describe(&buf[..len]), "SCTP 198.18.0.1:40000 > 198.18.0.2:80 INIT ttl=64 id=3 iplen=52  vtag=0");
    }

    proptest! {
        #[test]
        fn any_bytes_are_described_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..120), v6: bool) {
            let mut bytes = bytes;
            if let Some(first) = bytes.first_mut() {
                *first = if v6 { 0x60 } else { 0x45 };
            }
            let _ = describe(&bytes);
        }
    }
}
