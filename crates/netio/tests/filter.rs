//! The kernel filters on raw and link-layer receivers keep exactly what they promise (needs root).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use netio::{LinkReceiver, RawReceiver, RawSender};
use wire::ipv4::{Ipv4Packet, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use wire::ipv6::Ipv6Packet;
use wire::tcp::{emit_probe_v4, flags, ProbeRepr, TcpPacket, PROBE_LEN};
use wire::udp::UdpPacket;

const FROM: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 77);
const TO: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 78);
const FROM_PORT: u16 = 12345;

fn packet(protocol: u8, dst_port: u16) -> Vec<u8> {
    let mut buf = vec![0; PROBE_LEN];
    let len = if protocol == PROTO_TCP {
        let repr =
            ProbeRepr { src_port: FROM_PORT, dst_port, seq: 1, ack: 0, flags: flags::ACK, window: 512, timestamp: 0 };
        emit_probe_v4(FROM, TO, 1, &repr, &mut buf).unwrap()
    } else {
        wire::udp::emit_probe_v4(FROM, TO, 1, FROM_PORT, dst_port, b"", &mut buf).unwrap()
    };
    buf.truncate(len);
    buf
}

/// The source and destination ports of a TCP or UDP packet.
fn ports(protocol: u8, transport: &[u8]) -> (u16, u16) {
    if protocol == PROTO_TCP {
        let tcp = TcpPacket::new_checked(transport).unwrap();
        (tcp.src_port(), tcp.dst_port())
    } else {
        let udp = UdpPacket::new_checked(transport).unwrap();
        (udp.src_port(), udp.dst_port())
    }
}

/// Receives until three packets of ours have come (or two seconds pass), sorted. Other tests
/// may send on loopback meanwhile: `check` asserts that every packet received passes the
/// filter, and picks out ours.
fn three_of_ours<T: Ord>(
    recv: impl Fn(&mut [u8]) -> Option<usize>,
    mut check: impl FnMut(&Ipv4Packet<&[u8]>) -> Option<T>,
) -> Vec<T> {
    let mut ours = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut buf = [0u8; 2048];
    while ours.len() < 3 && Instant::now() < deadline {
        let Some(len) = recv(&mut buf) else { continue };
        ours.extend(check(&Ipv4Packet::new_checked(&buf[..len]).unwrap()));
    }
    ours.sort();
    ours
}

fn keeps_only_packets_to_the_scan_ports(protocol: u8) {
    let receiver = RawReceiver::open(protocol).unwrap();
    receiver.keep_to_ports(40000..=40010).unwrap();
    let sender = RawSender::open(false, None).unwrap();
    for port in [39999, 40000, 40005, 40010, 40011, 80] {
        sender.send(&packet(protocol, port), TO.into()).unwrap();
    }
    let ours = three_of_ours(
        |buf| receiver.recv_timeout(buf, Duration::from_millis(50)).unwrap(),
        |ip| {
            let (src_port, dst_port) = ports(protocol, ip.payload());
            assert!((40000..=40010).contains(&dst_port), "the filter let port {dst_port} through");
            ((ip.src(), ip.dst(), src_port) == (FROM, TO, FROM_PORT)).then_some(dst_port)
        },
    );
    assert_eq!(ours, [40000, 40005, 40010]);
}

#[test]
fn the_tcp_filter_keeps_only_segments_to_the_scan_ports() {
    if lab::available() {
        keeps_only_packets_to_the_scan_ports(PROTO_TCP);
    }
}

#[test]
fn the_udp_filter_keeps_only_datagrams_to_the_scan_ports() {
    if lab::available() {
        keeps_only_packets_to_the_scan_ports(PROTO_UDP);
    }
}

#[test]
fn the_link_filter_keeps_replies_to_the_scan_ports_and_icmp_answers_only() {
    // Ports of its own: the raw-socket tests send to 40000-40010 on the same loopback at the
    // same time, and this receiver sees every packet on it (it once failed for that).
    if !lab::available() {
        return;
    }
    let lo = nix::net::if_::if_nametoindex("lo").unwrap();
    let receiver = LinkReceiver::open(lo, 41000..=41010).unwrap();
    let sender = RawSender::open(false, None).unwrap();
    for port in [40999, 41003, 41011] {
        sender.send(&packet(PROTO_TCP, port), TO.into()).unwrap();
        sender.send(&packet(PROTO_UDP, port), TO.into()).unwrap();
    }
    // An echo request (not an answer) from FROM to TO draws an echo reply (an answer) back.
    let mut echo = vec![0u8; 64];
    let len = wire::icmp::emit_query_v4(FROM, TO, 1, wire::icmp::Query::Echo, 0x5151, 7, &mut echo).unwrap();
    sender.send(&echo[..len], TO.into()).unwrap();
    let ours = three_of_ours(
        |buf| receiver.recv_timeout(buf, Duration::from_millis(50)).unwrap(),
        |ip| match ip.protocol() {
            PROTO_TCP | PROTO_UDP => {
                let (src_port, dst_port) = ports(ip.protocol(), ip.payload());
                assert!((41000..=41010).contains(&dst_port), "the filter let port {dst_port} through");
                (src_port == FROM_PORT).then(|| format!("{} {dst_port}", ip.protocol()))
            }
            PROTO_ICMP => {
                let icmp_type = ip.payload()[0];
                assert!([0, 3, 11, 14, 18].contains(&icmp_type), "the filter let ICMP type {icmp_type} through");
                (ip.dst() == FROM && icmp_type == 0).then(|| "echo reply".to_string())
            }
            other => panic!("the filter let protocol {other} through"),
        },
    );
    assert_eq!(ours, ["17 41003", "6 41003", "echo reply"]);
}

#[test]
fn the_ipv6_filter_keeps_replies_to_the_scan_ports_and_icmpv6_answers_only() {
    if !lab::available() {
        return;
    }
    let (from, to) = (Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
    let receiver = LinkReceiver::open_ipv6(None, 42000..=42010).unwrap();
    let sender = RawSender::open(true, None).unwrap();
    let mut buf = vec![0u8; 128];
    for port in [41999, 42003, 42011] {
        let repr = ProbeRepr {
            src_port: FROM_PORT,
            dst_port: port,
            seq: 1,
            ack: 0,
            flags: flags::ACK,
            window: 512,
            timestamp: 0,
        };
        let len = wire::tcp::emit_probe_v6(from, to, 1, &repr, &mut buf).unwrap();
        sender.send(&buf[..len], to.into()).unwrap();
        let len = wire::udp::emit_probe_v6(from, to, 1, FROM_PORT, port, b"", &mut buf).unwrap();
        sender.send(&buf[..len], to.into()).unwrap();
    }
    // An echo request (not an answer) draws an echo reply (an answer) back.
    let len = wire::icmpv6::emit_echo_v6(from, to, 1, 0x5151, 7, &mut buf).unwrap();
    sender.send(&buf[..len], to.into()).unwrap();
    let mut ours = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut packet = [0u8; 2048];
    while ours.len() < 3 && Instant::now() < deadline {
        let Some(len) = receiver.recv_timeout(&mut packet, Duration::from_millis(50)).unwrap() else { continue };
        let ip = Ipv6Packet::new_checked(&packet[..len]).unwrap();
        let (protocol, upper) = ip.upper_layer().unwrap();
        match protocol {
            PROTO_TCP | PROTO_UDP => {
                let (src_port, dst_port) = ports(protocol, upper);
                assert!((42000..=42010).contains(&dst_port), "the filter let port {dst_port} through");
                ours.extend((src_port == FROM_PORT).then(|| format!("{protocol} {dst_port}")));
            }
            wire::ipv6::NEXT_ICMPV6 => {
                assert!([1, 3, 129].contains(&upper[0]), "the filter let ICMPv6 type {} through", upper[0]);
                ours.extend((upper[0] == 129 && upper[4..6] == [0x51, 0x51]).then(|| "echo reply".to_string()));
            }
            other => panic!("the filter let next header {other} through"),
        }
    }
    ours.sort();
    assert_eq!(ours, ["17 42003", "6 42003", "echo reply"]);
}
