//! The OS-detection probes (the Nmap book's "TCP/IP Fingerprinting Methods Supported by
//! Nmap"): six SYNs to an open port with six option sets and windows (SEQ, OPS, WIN, and T1
//! from the first), a SYN with ECN's flags (ECN), T2–T7 to the open and a closed port, a UDP
//! datagram to a closed port (U1), and two ICMP echoes (IE). Each probe leaves from a source
//! port of its own, so a reply names the probe it answers.

use std::net::Ipv4Addr;

use wire::ipv4::{self, Ipv4Repr, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use wire::tcp::{flags, SegmentRepr};

/// One probe of a host's round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Probe {
    /// The timed SYNs to the open port, 0–5, 100 ms apart.
    Seq(u8),
    /// A SYN sent again with SEQ probe n's options when SEQ probe n went unanswered, for the
    /// OPS and WIN lines.
    Ops(u8),
    Ecn,
    /// T2–T7 (T1 is the first SEQ probe's answer).
    T(u8),
    /// U1, to the closed UDP port.
    Udp,
    /// The two echoes, 0 and 1.
    Echo(u8),
}

/// TCP SYN probes carry these TCP option sets, SEQ probes 0–5 in order (MSS, window scale,
/// SACK permitted, timestamps with TSval all ones, NOP, end of list), as the book lists them.
const SEQ_OPTIONS: [&[u8]; 6] = [
    &[3, 3, 10, 1, 2, 4, 5, 0xb4, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2],
    &[2, 4, 5, 0x78, 3, 3, 0, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0],
    &[8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 1, 3, 3, 5, 1, 2, 4, 2, 0x80],
    &[4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 3, 3, 10, 0],
    &[2, 4, 2, 0x18, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 3, 3, 10, 0],
    &[2, 4, 1, 9, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
];
const SEQ_WINDOWS: [u16; 6] = [1, 63, 4, 4, 16, 512];
/// ECN: window scale 10, NOP, MSS 1460, SACK permitted, NOP, NOP; window 3.
const ECN_OPTIONS: &[u8] = &[3, 3, 10, 1, 2, 4, 5, 0xb4, 4, 2, 1, 1];
/// T2–T6: window scale 10, NOP, MSS 265, timestamps, SACK permitted; T7 scales by 15.
const T_OPTIONS: &[u8] = &[3, 3, 10, 1, 2, 4, 1, 9, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2];
const T7_OPTIONS: &[u8] = &[3, 3, 15, 1, 2, 4, 1, 9, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2];
/// The ECN probe's urgent pointer (without URG) and reserved bits.
const ECN_URGENT: u16 = 0xF7F5;
const ECN_RESERVED: u8 = 8;
/// U1 carries 300 bytes of 'C' in an IP packet of ID 0x1042: 328 bytes in all.
pub const UDP_FILL: u8 = b'C';
pub const UDP_DATA_LEN: usize = 300;
pub const UDP_IP_ID: u16 = 0x1042;
/// The echoes' sequence numbers, data lengths, codes and types of service.
const ECHO_SEQ: u16 = 295;
const ECHO_DATA: [usize; 2] = [120, 150];
const ECHO_CODE: [u8; 2] = [9, 0];
const ECHO_TOS: [u8; 2] = [0, 4];
/// Probes leave with an ordinary host's TTL.
const TTL: u8 = 64;
/// Source ports each round takes from its base: SEQ 0–5, OPS 6–11, ECN 12, T2–T7 13–18, U1 19.
pub const PORTS_PER_ROUND: u16 = 20;
/// The longest probe: U1.
pub const LONGEST: usize = ipv4::HEADER_LEN + 8 + UDP_DATA_LEN;

/// What a host's probes are built from: its address and ports, and the round's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostProbes {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub open_tcp: Option<u16>,
    pub closed_tcp: Option<u16>,
    pub closed_udp: Option<u16>,
    /// The first of the round's [`PORTS_PER_ROUND`] source ports.
    pub port_base: u16,
    /// SEQ probe n carries `seq_base + n`, the others `seq_base`; all TCP probes but ECN
    /// acknowledge `ack`.
    pub seq_base: u32,
    pub ack: u32,
    /// The first echo's identifier; the second's is one more.
    pub echo_id: u16,
}

impl Probe {
    /// Every probe of a round, in the order Nmap sends them: the SEQ probes first (they are
    /// timed), then the echoes, U1, ECN and T2–T7, so the IP IDs of SEQ and echo replies
    /// follow on from each other.
    pub fn round() -> impl Iterator<Item = Probe> {
        (0..6)
            .map(Probe::Seq)
            .chain((0..2).map(Probe::Echo))
            .chain([Probe::Udp, Probe::Ecn])
            .chain((2..=7).map(Probe::T))
    }

    /// The source port (TCP and UDP probes) relative to the round's base.
    fn port_offset(self) -> u16 {
        match self {
            Probe::Seq(n) => u16::from(n),
            Probe::Ops(n) => 6 + u16::from(n),
            Probe::Ecn => 12,
            Probe::T(n) => 11 + u16::from(n),
            Probe::Udp => 19,
            Probe::Echo(_) => 0,
        }
    }

    /// Which TCP probe a reply to source port `port` answers.
    pub fn of_tcp_port(port: u16, base: u16) -> Option<Probe> {
        let offset = port.checked_sub(base)?;
        let offset = u8::try_from(offset).ok()?;
        Some(match offset {
            0..=5 => Probe::Seq(offset),
            6..=11 => Probe::Ops(offset - 6),
            12 => Probe::Ecn,
            13..=18 => Probe::T(offset - 11),
            _ => return None,
        })
    }

    pub fn udp_source_port(base: u16) -> u16 {
        base + Probe::Udp.port_offset()
    }

    /// The probe's destination port, `None` when the host has no port of the kind it needs.
    pub fn dst_port(self, host: &HostProbes) -> Option<u16> {
        match self {
            Probe::Seq(_) | Probe::Ops(_) | Probe::Ecn | Probe::T(2..=4) => host.open_tcp,
            Probe::T(_) => host.closed_tcp,
            Probe::Udp => host.closed_udp,
            Probe::Echo(_) => Some(0),
        }
    }

    /// The sequence number a TCP probe carries.
    pub fn seq(self, host: &HostProbes) -> u32 {
        match self {
            Probe::Seq(n) => host.seq_base.wrapping_add(u32::from(n)),
            _ => host.seq_base,
        }
    }

    /// The acknowledgement number a TCP probe carries.
    pub fn ack(self, host: &HostProbes) -> u32 {
        match self {
            Probe::Ecn => 0,
            _ => host.ack,
        }
    }

    /// Writes the whole IPv4 packet into `buf`; `None` when the host lacks the port it needs
    /// or `buf` is shorter than [`LONGEST`].
    pub fn emit(self, host: &HostProbes, ip_id: u16, buf: &mut [u8]) -> Option<usize> {
        let dst_port = self.dst_port(host)?;
        let transport = buf.get_mut(ipv4::HEADER_LEN..)?;
        let (protocol, len, dont_fragment, tos, ident) = match self {
            Probe::Echo(n) => {
                let n = usize::from(n);
                let data = [0u8; 150];
                let len = wire::icmp::emit_echo(
                    host.echo_id.wrapping_add(n as u16),
                    ECHO_SEQ + n as u16,
                    ECHO_CODE[n],
                    &data[..ECHO_DATA[n]],
                    transport,
                )
                .ok()?;
                (PROTO_ICMP, len, n == 0, ECHO_TOS[n], ip_id)
            }
            Probe::Udp => {
                let data = [UDP_FILL; UDP_DATA_LEN];
                let src_port = Probe::udp_source_port(host.port_base);
                let len = wire::udp::emit_datagram(host.src, host.dst, src_port, dst_port, &data, transport).ok()?;
                (PROTO_UDP, len, false, 0, UDP_IP_ID)
            }
            tcp => {
                let segment = tcp.segment(host, dst_port);
                let len = segment.emit(host.src, host.dst, transport).ok()?;
                (PROTO_TCP, len, tcp.dont_fragment(), 0, ip_id)
            }
        };
        let ip =
            Ipv4Repr { src: host.src, dst: host.dst, protocol, ident, tos, ttl: TTL, dont_fragment, payload_len: len };
        ip.emit(buf).ok()?;
        Some(ipv4::HEADER_LEN + len)
    }

    /// T2, T4 and T6 ask not to be fragmented.
    fn dont_fragment(self) -> bool {
        matches!(self, Probe::T(2 | 4 | 6))
    }

    fn segment(self, host: &HostProbes, dst_port: u16) -> SegmentRepr<'static> {
        let (flags, window, options) = match self {
            Probe::Seq(n) | Probe::Ops(n) => (flags::SYN, SEQ_WINDOWS[usize::from(n)], SEQ_OPTIONS[usize::from(n)]),
            Probe::Ecn => (CWR | ECE | flags::SYN, 3, ECN_OPTIONS),
            Probe::T(2) => (0, 128, T_OPTIONS),
            Probe::T(3) => (flags::SYN | flags::FIN | flags::URG | flags::PSH, 256, T_OPTIONS),
            Probe::T(4) => (flags::ACK, 1024, T_OPTIONS),
            Probe::T(5) => (flags::SYN, 31337, T_OPTIONS),
            Probe::T(6) => (flags::ACK, 32768, T_OPTIONS),
            _ => (flags::FIN | flags::PSH | flags::URG, 65535, T7_OPTIONS),
        };
        let ecn = self == Probe::Ecn;
        SegmentRepr {
            src_port: host.port_base + self.port_offset(),
            dst_port,
            seq: self.seq(host),
            ack: self.ack(host),
            reserved: if ecn { ECN_RESERVED } else { 0 },
            flags,
            window,
            urgent: if ecn { ECN_URGENT } else { 0 },
            options,
        }
    }
}

const ECE: u8 = 0x40;
const CWR: u8 = 0x80;

#[cfg(test)]
mod tests {
    use super::*;
    use wire::ipv4::Ipv4Packet;
    use wire::tcp::TcpPacket;

    fn host() -> HostProbes {
        HostProbes {
            src: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::new(198, 18, 0, 2),
            open_tcp: Some(22),
            closed_tcp: Some(23),
            closed_udp: Some(40000),
            port_base: 40000,
            seq_base: 1000,
            ack: 2000,
            echo_id: 7,
        }
    }

    fn emitted(probe: Probe) -> Vec<u8> {
        let mut buf = [0u8; LONGEST];
        let len = probe.emit(&host(), 0x1234, &mut buf).expect("probe fits");
        buf[..len].to_vec()
    }

    #[test]
    fn each_tcp_probe_goes_to_its_port_from_its_own_source_port() {
        let tcp: Vec<Probe> = Probe::round().filter(|p| !matches!(p, Probe::Udp | Probe::Echo(_))).collect();
        for probe in tcp {
            let packet = emitted(probe);
            let ip = Ipv4Packet::new_checked(&packet[..]).unwrap();
            let segment = TcpPacket::new_checked(ip.payload()).unwrap();
            assert_eq!(Probe::of_tcp_port(segment.src_port(), 40000), Some(probe));
            let expected_port = if matches!(probe, Probe::T(5..=7)) { 23 } else { 22 };
            assert_eq!(segment.dst_port(), expected_port, "{probe:?}");
            assert_eq!(ip.dont_fragment(), matches!(probe, Probe::T(2 | 4 | 6)), "{probe:?}");
        }
    }

    #[test]
    fn the_ecn_probe_sets_cwr_ece_a_reserved_bit_and_an_urgent_pointer() {
        let packet = emitted(Probe::Ecn);
        let ip = Ipv4Packet::new_checked(&packet[..]).unwrap();
        let segment = TcpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!(segment.flags(), 0xc2);
        assert_eq!((segment.reserved(), segment.urgent_pointer(), segment.window()), (8, 0xF7F5, 3));
        assert_eq!((segment.seq(), segment.ack()), (1000, 0));
    }

    #[test]
    fn u1_is_328_bytes_of_id_1042_without_df() {
        let packet = emitted(Probe::Udp);
        let ip = Ipv4Packet::new_checked(&packet[..]).unwrap();
        assert_eq!((packet.len(), ip.ident(), ip.dont_fragment()), (328, 0x1042, false));
        assert!(ip.payload()[8..].iter().all(|&byte| byte == b'C'));
    }

    #[test]
    fn the_echoes_differ_in_code_tos_df_and_length() {
        let [first, second] = [emitted(Probe::Echo(0)), emitted(Probe::Echo(1))];
        assert_eq!((first[1], first.len(), first[20 + 1]), (0, 20 + 8 + 120, 9));
        assert_eq!((second[1], second.len(), second[20 + 1]), (4, 20 + 8 + 150, 0));
        let df = |packet: &[u8]| Ipv4Packet::new_checked(packet).unwrap().dont_fragment();
        assert!(df(&first) && !df(&second));
        assert_eq!(u16::from_be_bytes([second[24], second[25]]), 8, "the second echo's identifier is one more");
    }

    #[test]
    fn a_host_without_a_closed_port_gets_no_probe_that_needs_one() {
        let mut host = host();
        host.closed_tcp = None;
        let mut buf = [0u8; LONGEST];
        assert!(Probe::T(5).emit(&host, 1, &mut buf).is_none());
        assert!(Probe::T(4).emit(&host, 1, &mut buf).is_some());
    }
}
