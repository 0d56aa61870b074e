//! UDP datagrams (RFC 768): the view of a reply and the builder of a probe.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{checksum, ipv4, ipv6, Error, Result};

pub const HEADER_LEN: usize = 8;

/// The largest payload a probe may carry: an IPv4 datagram is at most 65,535 bytes.
pub const MAX_PAYLOAD: usize = u16::MAX as usize - ipv4::HEADER_LEN - HEADER_LEN;

/// A UDP datagram whose header is known to be present.
#[derive(Debug, Clone, Copy)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(UdpPacket { buffer })
    }

    pub fn src_port(&self) -> u16 {
        let data = self.buffer.as_ref();
        u16::from_be_bytes([data[0], data[1]])
    }

    pub fn dst_port(&self) -> u16 {
        let data = self.buffer.as_ref();
        u16::from_be_bytes([data[2], data[3]])
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

/// Builds a whole IPv4 UDP probe into `buf`; returns its length. Like a Linux socket's
/// datagrams it leaves with DF set and a checksum.
pub fn emit_probe_v4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
    buf: &mut [u8],
) -> Result<usize> {
    let udp_len = u16::try_from(HEADER_LEN + payload.len()).map_err(|_| Error::Malformed)?;
    let total = ipv4::HEADER_LEN + usize::from(udp_len);
    let buf = buf.get_mut(..total).ok_or(Error::Truncated)?;
    let ip = ipv4::Ipv4Repr {
        src,
        dst,
        protocol: ipv4::PROTO_UDP,
        ident,
        tos: 0,
        ttl: 64,
        dont_fragment: true,
        payload_len: usize::from(udp_len),
    };
    ip.emit(buf)?;
    emit_datagram(src, dst, src_port, dst_port, payload, &mut buf[ipv4::HEADER_LEN..])?;
    Ok(total)
}

/// Builds a whole IPv6 UDP probe into `buf`; returns its length.
pub fn emit_probe_v6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    flow_label: u32,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
    buf: &mut [u8],
) -> Result<usize> {
    let udp_len = HEADER_LEN + payload.len();
    let total = ipv6::HEADER_LEN + udp_len;
    let buf = buf.get_mut(..total).ok_or(Error::Truncated)?;
    let ip = ipv6::Ipv6Repr {
        src,
        dst,
        next_header: ipv4::PROTO_UDP,
        hop_limit: ipv6::DEFAULT_HOP_LIMIT,
        flow_label,
        payload_len: udp_len,
    };
    ip.emit(buf)?;
    emit_datagram(src, dst, src_port, dst_port, payload, &mut buf[ipv6::HEADER_LEN..])?;
    Ok(total)
}

/// Writes a UDP header and `payload` (the IP payload) with its checksum over the
/// pseudo-header of `src`'s family; returns its length.
pub fn emit_datagram(
    src: impl Into<IpAddr>,
    dst: impl Into<IpAddr>,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
    buf: &mut [u8],
) -> Result<usize> {
    let udp_len = u16::try_from(HEADER_LEN + payload.len()).map_err(|_| Error::Malformed)?;
    let udp = buf.get_mut(..usize::from(udp_len)).ok_or(Error::Truncated)?;
    udp[0..2].copy_from_slice(&src_port.to_be_bytes());
    udp[2..4].copy_from_slice(&dst_port.to_be_bytes());
    udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]);
    udp[HEADER_LEN..].copy_from_slice(payload);
    let sum =
        checksum::pseudo_header(src.into(), dst.into(), ipv4::PROTO_UDP, usize::from(udp_len)) + checksum::sum(udp);
    // An all-zero UDP checksum means "none"; a computed zero is sent as all ones (RFC 768).
    let sum = match checksum::finish(sum) {
        0 => 0xffff,
        sum => sum,
    };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    Ok(usize::from(udp_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipv4::Ipv4Packet;
    use proptest::prelude::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

    #[test]
    fn a_probe_reads_back_with_a_valid_checksum() {
        let mut buf = [0u8; 64];
        let len = emit_probe_v4(SRC, DST, 7, 40000, 53, b"hello", &mut buf).unwrap();
        assert_eq!(len, 20 + 8 + 5);
        let ip = Ipv4Packet::new_checked(&buf[..len]).unwrap();
        assert_eq!((ip.protocol(), ip.ident(), ip.total_len()), (ipv4::PROTO_UDP, 7, len));
        assert!(ip.dont_fragment());
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!((udp.src_port(), udp.dst_port(), udp.payload()), (40000, 53, &b"hello"[..]));
        let udp_len = ip.payload().len() as u16;
        let total = checksum::pseudo_header(SRC.into(), DST.into(), ipv4::PROTO_UDP, usize::from(udp_len))
            + checksum::sum(ip.payload());
        assert_eq!(checksum::finish(total), 0, "the checksum covers the pseudo-header, header and payload");
    }

    #[test]
    fn an_ipv6_probe_reads_back_with_a_checksum_over_the_ipv6_pseudo_header() {
        let (src, dst) = (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1), Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2));
        let mut buf = [0u8; 64];
        let len = emit_probe_v6(src, dst, 0x5a5a5, 40000, 53, b"hello", &mut buf).unwrap();
        let ip = crate::ipv6::Ipv6Packet::new_checked(&buf[..len]).unwrap();
        assert_eq!((ip.next_header(), ip.flow_label(), ip.payload().len()), (ipv4::PROTO_UDP, 0x5a5a5, 13));
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!((udp.src_port(), udp.dst_port(), udp.payload()), (40000, 53, &b"hello"[..]));
        let total = checksum::pseudo_header(src.into(), dst.into(), ipv4::PROTO_UDP, 13) + checksum::sum(ip.payload());
        assert_eq!(checksum::finish(total), 0);
    }

    #[test]
    fn a_buffer_too_small_is_an_error() {
        assert_eq!(emit_probe_v4(SRC, DST, 7, 1, 2, &[0; 10], &mut [0u8; 30]), Err(Error::Truncated));
        assert_eq!(UdpPacket::new_checked(&[0u8; 7][..]).unwrap_err(), Error::Truncated);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(udp) = UdpPacket::new_checked(&bytes[..]) {
                let _ = (udp.src_port(), udp.dst_port(), udp.payload());
            }
        }
    }
}
