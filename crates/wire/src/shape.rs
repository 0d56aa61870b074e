//! Changes to a probe already built, for the evasion options: data after its transport
//! header (`--data` on TCP and ICMP probes), its TTL (`--ttl`), a wrong transport checksum
//! (`--badsum`), and fragmentation (`-f`, `-ff`, `--mtu`). The probe is a
//! whole IPv4 or IPv6 packet as the builders write it: no IPv4 options, no IPv6 extension
//! headers, the transport header right after the IP header.

use crate::ipv4::{self, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use crate::ipv6::{self, NEXT_ICMPV6};
use crate::{checksum, Error, Result};

/// IPv6's fragment header (RFC 8200 section 4.5).
const NEXT_FRAGMENT: u8 = 44;
const FRAGMENT_HEADER_LEN: usize = 8;
const MORE_FRAGMENTS: u16 = 0x1;

/// Appends `data` to the packet of `len` bytes at the start of `buf`, keeping its lengths and
/// checksums right; returns the new length.
pub fn append_data(buf: &mut [u8], len: usize, data: &[u8]) -> Result<usize> {
    let total = len + data.len();
    let packet = buf.get_mut(..total).ok_or(Error::Truncated)?;
    let v4 = version(&packet[..len])? == 4;
    let (protocol, header_len) =
        if v4 { (packet[9], usize::from(packet[0] & 0x0f) * 4) } else { (packet[6], ipv6::HEADER_LEN) };
    let offset = checksum_offset(protocol)?;
    let shortest = if protocol == PROTO_UDP { 8 } else { offset + 2 };
    if len - header_len < shortest {
        return Err(Error::Truncated);
    }
    packet[len..].copy_from_slice(data);
    set_total_length(packet, v4)?;
    if protocol == PROTO_UDP {
        let udp_len = u16::try_from(total - header_len).map_err(|_| Error::Malformed)?;
        packet[header_len + 4..header_len + 6].copy_from_slice(&udp_len.to_be_bytes());
    }
    refresh_transport_checksum(packet, v4, header_len, protocol)?;
    Ok(total)
}

/// Sets the IP header's length field to the packet's length (IPv4: total length, with the
/// header checksum; IPv6: payload length).
fn set_total_length(packet: &mut [u8], v4: bool) -> Result<()> {
    if v4 {
        let total = u16::try_from(packet.len()).map_err(|_| Error::Malformed)?;
        packet[2..4].copy_from_slice(&total.to_be_bytes());
        refresh_ipv4_checksum(packet);
    } else {
        let payload_len = u16::try_from(packet.len() - ipv6::HEADER_LEN).map_err(|_| Error::Malformed)?;
        packet[4..6].copy_from_slice(&payload_len.to_be_bytes());
    }
    Ok(())
}

/// Recomputes the checksum of the transport header of `protocol` starting at `header_len`,
/// over the rest of the packet.
fn refresh_transport_checksum(packet: &mut [u8], v4: bool, header_len: usize, protocol: u8) -> Result<()> {
    let offset = checksum_offset(protocol)?;
    let (src, dst) = addresses(packet, v4);
    let transport = &mut packet[header_len..];
    transport[offset..offset + 2].copy_from_slice(&[0, 0]);
    // ICMP (for IPv4) alone has no pseudo-header in its checksum.
    let pseudo = if protocol == PROTO_ICMP { 0 } else { checksum::pseudo_header(src, dst, protocol, transport.len()) };
    let sum = checksum::finish(pseudo + checksum::sum(transport));
    // A computed zero UDP checksum is sent as all ones: zero means "none" (RFC 768).
    let sum = if protocol == PROTO_UDP && sum == 0 { 0xffff } else { sum };
    transport[offset..offset + 2].copy_from_slice(&sum.to_be_bytes());
    Ok(())
}

/// The packet's source and destination addresses.
fn addresses(packet: &[u8], v4: bool) -> (std::net::IpAddr, std::net::IpAddr) {
    if v4 {
        let octets = |at: usize| std::net::Ipv4Addr::new(packet[at], packet[at + 1], packet[at + 2], packet[at + 3]);
        (octets(12).into(), octets(16).into())
    } else {
        let octets = |at: usize| {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&packet[at..at + 16]);
            std::net::Ipv6Addr::from(bytes)
        };
        (octets(8).into(), octets(24).into())
    }
}

/// Where the checksum sits in the transport header of `protocol`.
fn checksum_offset(protocol: u8) -> Result<usize> {
    match protocol {
        PROTO_TCP => Ok(16),
        PROTO_UDP => Ok(6),
        PROTO_ICMP | NEXT_ICMPV6 => Ok(2),
        _ => Err(Error::Malformed),
    }
}

/// A client operating system whose first SYN a probe copies (`--mimic`), so that neither
/// signature rules nor passive fingerprinting (p0f) single the scanner out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// What the builders write: a Linux client's SYN (TTL 64, window 64240, MSS, SACK
    /// permitted, timestamps, NOP, window scale 7).
    Linux,
    /// Windows 10 and 11: TTL 128, window 64240, MSS, NOP, window scale 8, NOP, NOP, SACK
    /// permitted; no timestamps.
    Windows,
    /// macOS: TTL 64, window 65535, MSS, NOP, window scale 6, NOP, NOP, timestamps, SACK
    /// permitted, end of list.
    MacOs,
}

impl Stack {
    fn ttl(self) -> u8 {
        match self {
            Stack::Windows => 128,
            Stack::Linux | Stack::MacOs => 64,
        }
    }

    /// The SYN's window and options (laid out, a multiple of four bytes), with `timestamp`
    /// as the timestamp value where the system sends one.
    fn syn(self, timestamp: [u8; 4]) -> Option<(u16, Vec<u8>)> {
        let ts = timestamp;
        match self {
            Stack::Linux => None,
            Stack::Windows => Some((64240, vec![2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2])),
            Stack::MacOs => Some((
                65535,
                vec![2, 4, 0x05, 0xb4, 1, 3, 3, 6, 1, 1, 8, 10, ts[0], ts[1], ts[2], ts[3], 0, 0, 0, 0, 4, 2, 0, 0],
            )),
        }
    }
}

/// Makes the probe of `len` bytes at the start of `buf` look like `stack`'s: its TTL (IPv6:
/// hop limit), and for a SYN the window and options of that system's first SYN, the lengths
/// and checksums kept right; returns the new length. The probe must be as the builders write
/// it (a Linux SYN's options, if any).
pub fn mimic(buf: &mut [u8], len: usize, stack: Stack) -> Result<usize> {
    let v4 = version(buf.get(..len).ok_or(Error::Truncated)?)? == 4;
    set_ttl(&mut buf[..len], stack.ttl())?;
    let (protocol, header_len) = if v4 { (buf[9], usize::from(buf[0] & 0x0f) * 4) } else { (buf[6], ipv6::HEADER_LEN) };
    let tcp_start = header_len;
    if protocol != PROTO_TCP || len < tcp_start + 20 {
        return Ok(len);
    }
    let tcp_len = usize::from(buf[tcp_start + 12] >> 4) * 4;
    let flags = buf[tcp_start + 13];
    let is_syn = flags & 0x02 != 0 && flags & 0x10 == 0;
    if !is_syn || tcp_len < 20 || len < tcp_start + tcp_len {
        return Ok(len);
    }
    // The builders' Linux options put the timestamp value at offset 8 of the options.
    let old_options = &buf[tcp_start + 20..tcp_start + tcp_len];
    let timestamp = old_options.get(8..12).map_or([0; 4], |ts| [ts[0], ts[1], ts[2], ts[3]]);
    let Some((window, options)) = stack.syn(timestamp) else { return Ok(len) };
    let new_tcp_len = 20 + options.len();
    let total = len - tcp_len + new_tcp_len;
    let packet = buf.get_mut(..total.max(len)).ok_or(Error::Truncated)?;
    packet.copy_within(tcp_start + tcp_len..len, tcp_start + new_tcp_len);
    packet[tcp_start + 20..tcp_start + new_tcp_len].copy_from_slice(&options);
    packet[tcp_start + 12] = ((new_tcp_len / 4) as u8) << 4;
    packet[tcp_start + 14..tcp_start + 16].copy_from_slice(&window.to_be_bytes());
    let packet = &mut packet[..total];
    set_total_length(packet, v4)?;
    refresh_transport_checksum(packet, v4, tcp_start, PROTO_TCP)?;
    Ok(total)
}

/// The most option bytes an IPv4 header holds (a 60-byte header).
pub const MAX_IPV4_OPTIONS: usize = 40;

/// Inserts IPv4 `options` (padded with end-of-list zeros to a multiple of four) after the
/// header of the IPv4 packet of `len` bytes at the start of `buf`, keeping its lengths and
/// header checksum right; returns the new length. The transport checksum covers no header
/// field that changes.
pub fn insert_ipv4_options(buf: &mut [u8], len: usize, options: &[u8]) -> Result<usize> {
    if version(buf.get(..len).ok_or(Error::Truncated)?)? != 4 || options.len() > MAX_IPV4_OPTIONS {
        return Err(Error::Malformed);
    }
    let header_len = usize::from(buf[0] & 0x0f) * 4;
    let padded = options.len().next_multiple_of(4);
    let new_header_len = header_len + padded;
    if new_header_len > 60 {
        return Err(Error::Malformed);
    }
    let total = len + padded;
    let packet = buf.get_mut(..total).ok_or(Error::Truncated)?;
    packet.copy_within(header_len..len, new_header_len);
    packet[header_len..new_header_len].fill(0);
    packet[header_len..header_len + options.len()].copy_from_slice(options);
    packet[0] = 0x40 | (new_header_len / 4) as u8;
    set_total_length(packet, true)?;
    Ok(total)
}

/// Sets the packet's TTL (IPv6: hop limit), keeping the IPv4 header checksum right.
pub fn set_ttl(packet: &mut [u8], ttl: u8) -> Result<()> {
    match version(packet)? {
        4 => {
            packet[8] = ttl;
            refresh_ipv4_checksum(packet);
        }
        _ => packet[7] = ttl,
    }
    Ok(())
}

/// Makes the transport checksum wrong, so that a host's stack drops the probe and only what
/// does not check it (a firewall, a middlebox) may answer.
pub fn spoil_checksum(packet: &mut [u8]) -> Result<()> {
    let (protocol, header_len) = match version(packet)? {
        4 => (packet[9], usize::from(packet[0] & 0x0f) * 4),
        _ => (packet[6], ipv6::HEADER_LEN),
    };
    let offset = checksum_offset(protocol)?;
    let field = packet.get_mut(header_len + offset..header_len + offset + 2).ok_or(Error::Truncated)?;
    let right = u16::from_be_bytes([field[0], field[1]]);
    // Any other value is wrong, except a zero UDP checksum, which means "none".
    let wrong = match right ^ 0x5555 {
        0 => 0xaaaa,
        wrong => wrong,
    };
    field.copy_from_slice(&wrong.to_be_bytes());
    Ok(())
}

/// The packet cut into fragments carrying at most `size` bytes of its payload each (a
/// multiple of eight, as fragment offsets count in eight-byte units): IPv4 fragments, or
/// IPv6 ones with a fragment header whose identification is `ident`. A packet whose payload
/// fits in one is still sent as one fragment, as Nmap's `-f` does.
pub fn fragment(packet: &[u8], size: usize, ident: u32) -> Result<Vec<Vec<u8>>> {
    if size == 0 || !size.is_multiple_of(8) {
        return Err(Error::Malformed);
    }
    match version(packet)? {
        4 => fragment_v4(packet, size),
        _ => fragment_v6(packet, size, ident),
    }
}

fn fragment_v4(packet: &[u8], size: usize) -> Result<Vec<Vec<u8>>> {
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    let payload = packet.get(header_len..).ok_or(Error::Truncated)?;
    let pieces = payload.chunks(size).count();
    let mut fragments = Vec::with_capacity(pieces);
    for (index, piece) in payload.chunks(size).enumerate() {
        let mut fragment = Vec::with_capacity(header_len + piece.len());
        fragment.extend_from_slice(&packet[..header_len]);
        fragment.extend_from_slice(piece);
        let total = u16::try_from(fragment.len()).map_err(|_| Error::Malformed)?;
        fragment[2..4].copy_from_slice(&total.to_be_bytes());
        // Offset in eight-byte units; DF cleared, MF on all but the last.
        let more = if index + 1 < pieces { 0x2000 } else { 0 };
        let flags_offset = more | ((index * size / 8) as u16 & 0x1fff);
        fragment[6..8].copy_from_slice(&flags_offset.to_be_bytes());
        refresh_ipv4_checksum(&mut fragment);
        fragments.push(fragment);
    }
    Ok(fragments)
}

fn fragment_v6(packet: &[u8], size: usize, ident: u32) -> Result<Vec<Vec<u8>>> {
    let header = packet.get(..ipv6::HEADER_LEN).ok_or(Error::Truncated)?;
    let next_header = header[6];
    let payload = &packet[ipv6::HEADER_LEN..];
    let pieces = payload.chunks(size).count();
    let mut fragments = Vec::with_capacity(pieces);
    for (index, piece) in payload.chunks(size).enumerate() {
        let mut fragment = Vec::with_capacity(ipv6::HEADER_LEN + FRAGMENT_HEADER_LEN + piece.len());
        fragment.extend_from_slice(header);
        let more = if index + 1 < pieces { MORE_FRAGMENTS } else { 0 };
        let offset_flags = ((index * size) as u16 & !0x7) | more;
        fragment.extend_from_slice(&[next_header, 0]);
        fragment.extend_from_slice(&offset_flags.to_be_bytes());
        fragment.extend_from_slice(&ident.to_be_bytes());
        fragment.extend_from_slice(piece);
        let payload_len = u16::try_from(fragment.len() - ipv6::HEADER_LEN).map_err(|_| Error::Malformed)?;
        fragment[4..6].copy_from_slice(&payload_len.to_be_bytes());
        fragment[6] = NEXT_FRAGMENT;
        fragments.push(fragment);
    }
    Ok(fragments)
}

/// The packet's IP version, once its header is known to be whole (an IPv4 header of a valid
/// length).
fn version(packet: &[u8]) -> Result<u8> {
    match packet.first().map(|byte| byte >> 4) {
        Some(4) => {
            let header_len = usize::from(packet[0] & 0x0f) * 4;
            if header_len < ipv4::HEADER_LEN {
                return Err(Error::Malformed);
            }
            if packet.len() < header_len {
                return Err(Error::Truncated);
            }
            Ok(4)
        }
        Some(6) if packet.len() >= ipv6::HEADER_LEN => Ok(6),
        Some(6) | None => Err(Error::Truncated),
        Some(_) => Err(Error::Malformed),
    }
}

fn refresh_ipv4_checksum(packet: &mut [u8]) {
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    packet[10..12].copy_from_slice(&[0, 0]);
    let sum = checksum::finish(checksum::sum(&packet[..header_len]));
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipv4::Ipv4Packet;
    use crate::ipv6::Ipv6Packet;
    use crate::tcp::{emit_probe_v4, emit_probe_v6, flags, ProbeRepr, TcpPacket, PROBE_LEN, PROBE_LEN_V6};
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn syn() -> ProbeRepr {
        ProbeRepr { src_port: 40000, dst_port: 80, seq: 7, ack: 0, flags: flags::SYN, window: 64240, timestamp: 1 }
    }

    fn probe_v4() -> Vec<u8> {
        let mut buf = vec![0u8; PROBE_LEN];
        emit_probe_v4(Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2), 0x1234, &syn(), &mut buf).unwrap();
        buf
    }

    fn probe_v6() -> Vec<u8> {
        let (src, dst) = (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1), Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2));
        let mut buf = vec![0u8; PROBE_LEN_V6];
        emit_probe_v6(src, dst, 0x1234, &syn(), &mut buf).unwrap();
        buf
    }

    #[test]
    fn appended_data_keeps_lengths_and_checksums_right() {
        for packet in [probe_v4(), probe_v6()] {
            let mut buf = packet.clone();
            buf.resize(packet.len() + 16, 0);
            let len = append_data(&mut buf, packet.len(), b"hello").unwrap();
            assert_eq!(len, packet.len() + 5);
            let (src, dst, segment) = if buf[0] >> 4 == 4 {
                let ip = Ipv4Packet::new_checked(&buf[..len]).unwrap();
                assert!(ip.checksum_ok() && ip.total_len() == len);
                (ip.src().into(), ip.dst().into(), ip.payload().to_vec())
            } else {
                let ip = Ipv6Packet::new_checked(&buf[..len]).unwrap();
                assert_eq!(ip.payload_len(), len - 40);
                (ip.src().into(), ip.dst().into(), ip.payload().to_vec())
            };
            let tcp = TcpPacket::new_checked(&segment[..]).unwrap();
            assert_eq!(tcp.payload(), b"hello");
            let sum = checksum::pseudo_header(src, dst, PROTO_TCP, segment.len()) + checksum::sum(&segment);
            assert_eq!(checksum::finish(sum), 0, "the TCP checksum covers the data");
        }
    }

    #[test]
    fn ipv4_options_go_after_the_header_and_the_probe_still_reads() {
        let packet = probe_v4();
        let mut buf = packet.clone();
        buf.resize(packet.len() + 40, 0);
        let record_route = [7, 7, 4, 0, 0, 0, 0]; // one slot
        let len = insert_ipv4_options(&mut buf, packet.len(), &record_route).unwrap();
        assert_eq!(len, packet.len() + 8);
        let ip = Ipv4Packet::new_checked(&buf[..len]).unwrap();
        assert!(ip.checksum_ok());
        assert_eq!((ip.header_len(), ip.total_len(), &buf[20..28]), (28, len, &[7, 7, 4, 0, 0, 0, 0, 0][..]));
        assert_eq!(ip.payload(), &packet[20..], "the TCP segment unchanged");
        assert_eq!(insert_ipv4_options(&mut buf, packet.len(), &[1; 41]), Err(Error::Malformed));
        assert_eq!(insert_ipv4_options(&mut probe_v6(), 60, &[1]), Err(Error::Malformed));
    }

    #[test]
    fn a_mimicked_syn_carries_that_systems_options_window_and_ttl() {
        for (stack, ttl, window, options) in [
            (Stack::Windows, 128, 64240, vec![2, 4, 5, 180, 1, 3, 3, 8, 1, 1, 4, 2]),
            (Stack::MacOs, 64, 65535, vec![2, 4, 5, 180, 1, 3, 3, 6, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 4, 2, 0, 0]),
        ] {
            for packet in [probe_v4(), probe_v6()] {
                let mut buf = packet.clone();
                buf.resize(packet.len() + 8, 0);
                let len = mimic(&mut buf, packet.len(), stack).unwrap();
                let v4 = buf[0] >> 4 == 4;
                let (src, dst, segment, hops) = if v4 {
                    let ip = Ipv4Packet::new_checked(&buf[..len]).unwrap();
                    assert!(ip.checksum_ok() && ip.total_len() == len);
                    (ip.src().into(), ip.dst().into(), ip.payload().to_vec(), ip.ttl())
                } else {
                    let ip = Ipv6Packet::new_checked(&buf[..len]).unwrap();
                    assert_eq!(ip.payload_len(), len - 40);
                    (ip.src().into(), ip.dst().into(), ip.payload().to_vec(), ip.hop_limit())
                };
                let tcp = TcpPacket::new_checked(&segment[..]).unwrap();
                assert_eq!((hops, tcp.window(), tcp.options()), (ttl, window, &options[..]), "{stack:?}");
                assert_eq!((tcp.seq(), tcp.dst_port()), (7, 80));
                let sum = checksum::pseudo_header(src, dst, PROTO_TCP, segment.len()) + checksum::sum(&segment);
                assert_eq!(checksum::finish(sum), 0, "{stack:?}");
            }
        }
        let mut linux = probe_v4();
        assert_eq!(mimic(&mut linux, PROBE_LEN, Stack::Linux), Ok(PROBE_LEN));
        assert_eq!(linux, probe_v4(), "the builders' SYN is Linux's");
    }

    #[test]
    fn the_ttl_changes_and_the_header_checksum_follows() {
        let mut packet = probe_v4();
        set_ttl(&mut packet, 3).unwrap();
        let ip = Ipv4Packet::new_checked(&packet[..]).unwrap();
        assert_eq!(ip.ttl(), 3);
        assert!(ip.checksum_ok());
        let mut packet = probe_v6();
        set_ttl(&mut packet, 9).unwrap();
        assert_eq!(Ipv6Packet::new_checked(&packet[..]).unwrap().hop_limit(), 9);
    }

    #[test]
    fn a_spoiled_checksum_no_longer_verifies() {
        for mut packet in [probe_v4(), probe_v6()] {
            let before = packet.clone();
            spoil_checksum(&mut packet).unwrap();
            assert_ne!(before, packet);
            let header_len = if packet[0] >> 4 == 4 { 20 } else { 40 };
            let changed: Vec<usize> = (0..packet.len()).filter(|&i| before[i] != packet[i]).collect();
            assert!(changed.iter().all(|&i| i == header_len + 16 || i == header_len + 17), "{changed:?}");
        }
    }

    #[test]
    fn ipv4_fragments_carry_eight_bytes_each_and_reassemble_to_the_probe() {
        let packet = probe_v4();
        let fragments = fragment(&packet, 8, 0).unwrap();
        assert_eq!(fragments.len(), 5, "40 bytes of TCP in 8-byte pieces");
        let mut reassembled = Vec::new();
        for (index, bytes) in fragments.iter().enumerate() {
            let ip = Ipv4Packet::new_checked(&bytes[..]).unwrap();
            assert!(ip.checksum_ok() && !ip.dont_fragment());
            assert_eq!((ip.ident(), ip.fragment_offset(), ip.payload().len()), (0x1234, index * 8, 8));
            let more = u16::from_be_bytes([bytes[6], bytes[7]]) & 0x2000 != 0;
            assert_eq!(more, index < 4);
            reassembled.extend_from_slice(ip.payload());
        }
        assert_eq!(reassembled, packet[20..]);
    }

    #[test]
    fn ipv6_fragments_carry_a_fragment_header_and_reassemble_to_the_probe() {
        let packet = probe_v6();
        let fragments = fragment(&packet, 16, 0xabcd).unwrap();
        assert_eq!(fragments.len(), 3, "40 bytes of TCP in 16-byte pieces");
        let mut reassembled = Vec::new();
        for (index, bytes) in fragments.iter().enumerate() {
            let ip = Ipv6Packet::new_checked(&bytes[..]).unwrap();
            assert_eq!(ip.next_header(), NEXT_FRAGMENT);
            let header = &ip.payload()[..8];
            assert_eq!(header[0], PROTO_TCP);
            let offset_flags = u16::from_be_bytes([header[2], header[3]]);
            assert_eq!((usize::from(offset_flags & !0x7), offset_flags & 1 == 1), (index * 16, index < 2));
            assert_eq!(u32::from_be_bytes([header[4], header[5], header[6], header[7]]), 0xabcd);
            reassembled.extend_from_slice(&ip.payload()[8..]);
        }
        assert_eq!(reassembled, packet[40..]);
        let (protocol, first) = Ipv6Packet::new_checked(&fragments[0][..]).unwrap().into_upper_layer().unwrap();
        assert_eq!(
            (protocol, TcpPacket::new_checked(&packet[40..]).unwrap().dst_port(), first.len()),
            (PROTO_TCP, 80, 16)
        );
    }

    #[test]
    fn fragment_sizes_must_be_multiples_of_eight() {
        assert_eq!(fragment(&probe_v4(), 12, 0), Err(Error::Malformed));
        assert_eq!(fragment(&probe_v4(), 0, 0), Err(Error::Malformed));
        assert_eq!(fragment(&[0x45; 10], 8, 0), Err(Error::Truncated));
        assert_eq!(fragment(&[0x41; 30], 8, 0), Err(Error::Malformed), "a header shorter than 20 bytes");
    }

    proptest! {
        #[test]
        fn any_bytes_are_shaped_without_panicking(mut bytes in proptest::collection::vec(any::<u8>(), 0..100), size in 1usize..64, v6: bool) {
            if let Some(first) = bytes.first_mut() {
                *first = if v6 { 0x60 } else { 0x40 | (*first & 0x0f) };
            }
            let _ = fragment(&bytes, size * 8, 1);
            let len = bytes.len();
            bytes.resize(len + 8, 0);
            let _ = append_data(&mut bytes, len, b"data");
            bytes.resize(len + 48, 0);
            let _ = insert_ipv4_options(&mut bytes, len, &[7, 3, 4]);
            let _ = mimic(&mut bytes, len, Stack::MacOs);
            let _ = spoil_checksum(&mut bytes);
            let _ = set_ttl(&mut bytes, 1);
        }
    }
}
