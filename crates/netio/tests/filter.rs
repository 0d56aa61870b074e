//! The kernel filters on raw receivers keep exactly what they promise (needs root).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use netio::{RawReceiver, RawSender};
use wire::ipv4::{Ipv4Packet, PROTO_TCP};
use wire::tcp::{emit_probe_v4, flags, ProbeRepr, TcpPacket, PROBE_LEN};

const FROM: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 77);
const TO: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 78);

fn segment(dst_port: u16) -> Vec<u8> {
    let repr = ProbeRepr { src_port: 12345, dst_port, seq: 1, ack: 0, flags: flags::ACK, window: 512, timestamp: 0 };
    let mut buf = vec![0; PROBE_LEN];
    let len = emit_probe_v4(FROM, TO, 1, &repr, &mut buf).unwrap();
    buf.truncate(len);
    buf
}

#[test]
fn the_tcp_filter_keeps_only_segments_to_the_scan_ports() {
    if !lab::available() {
        return;
    }
    let receiver = RawReceiver::open(PROTO_TCP).unwrap();
    receiver.keep_tcp_to_ports(40000..=40010).unwrap();
    let sender = RawSender::open(None).unwrap();
    for port in [39999, 40000, 40005, 40010, 40011, 80] {
        sender.send(&segment(port), TO).unwrap();
    }
    // Other tests may send on loopback meanwhile: every packet received must pass the filter,
    // and the three of ours that should, must arrive.
    let mut ours = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut buf = [0u8; 2048];
    while ours.len() < 3 && Instant::now() < deadline {
        let Some(len) = receiver.recv_timeout(&mut buf, Duration::from_millis(50)).unwrap() else { continue };
        let ip = Ipv4Packet::new_checked(&buf[..len]).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!((40000..=40010).contains(&tcp.dst_port()), "the filter let port {} through", tcp.dst_port());
        if (ip.src(), ip.dst(), tcp.src_port()) == (FROM, TO, 12345) {
            ours.push(tcp.dst_port());
        }
    }
    ours.sort();
    assert_eq!(ours, [40000, 40005, 40010]);
}
