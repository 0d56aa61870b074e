//! IPv4 headers (RFC 791).

use std::net::Ipv4Addr;

use crate::{checksum, Error, Result};

mod field {
    pub const VER_IHL: usize = 0;
    pub const LENGTH: core::ops::Range<usize> = 2..4;
    pub const IDENT: core::ops::Range<usize> = 4..6;
    pub const FLAGS_FRAG: core::ops::Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: core::ops::Range<usize> = 10..12;
    pub const SRC: core::ops::Range<usize> = 12..16;
    pub const DST: core::ops::Range<usize> = 16..20;
}

pub const HEADER_LEN: usize = 20;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
const DONT_FRAGMENT: u16 = 0x4000;
const FRAGMENT_OFFSET: u16 = 0x1fff;

/// A checked view of an IPv4 packet.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Checks the version, the header length and that the buffer holds the header. The payload
    /// is cut at the total length the header claims when the buffer is longer (Ethernet padding).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let data = buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let packet = Ipv4Packet { buffer };
        if packet.version() != 4 || packet.header_len() < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if packet.buffer.as_ref().len() < packet.header_len() || packet.total_len() < packet.header_len() {
            return Err(Error::Truncated);
        }
        Ok(packet)
    }

    fn data(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn version(&self) -> u8 {
        self.data()[field::VER_IHL] >> 4
    }

    pub fn header_len(&self) -> usize {
        usize::from(self.data()[field::VER_IHL] & 0x0f) * 4
    }

    pub fn total_len(&self) -> usize {
        usize::from(u16::from_be_bytes([self.data()[field::LENGTH.start], self.data()[field::LENGTH.start + 1]]))
    }

    pub fn ident(&self) -> u16 {
        u16::from_be_bytes([self.data()[field::IDENT.start], self.data()[field::IDENT.start + 1]])
    }

    pub fn dont_fragment(&self) -> bool {
        let flags =
            u16::from_be_bytes([self.data()[field::FLAGS_FRAG.start], self.data()[field::FLAGS_FRAG.start + 1]]);
        flags & DONT_FRAGMENT != 0
    }

    /// Where this fragment's data starts in the original packet, in bytes (zero for a whole
    /// packet or its first fragment).
    pub fn fragment_offset(&self) -> usize {
        let flags_offset =
            u16::from_be_bytes([self.data()[field::FLAGS_FRAG.start], self.data()[field::FLAGS_FRAG.start + 1]]);
        usize::from(flags_offset & FRAGMENT_OFFSET) * 8
    }

    pub fn ttl(&self) -> u8 {
        self.data()[field::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.data()[field::PROTOCOL]
    }

    pub fn src(&self) -> Ipv4Addr {
        let d = &self.data()[field::SRC];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    pub fn dst(&self) -> Ipv4Addr {
        let d = &self.data()[field::DST];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// The bytes after the header, up to the total length (or the buffer's end, if shorter:
    /// ICMP errors quote only the start of a packet).
    pub fn payload(&self) -> &[u8] {
        let end = self.total_len().min(self.data().len());
        &self.data()[self.header_len().min(end)..end]
    }

    pub fn checksum_ok(&self) -> bool {
        checksum::finish(checksum::sum(&self.data()[..self.header_len()])) == 0
    }
}

/// The fields of an IPv4 header portolan sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ident: u16,
    /// Type of service (DSCP and ECN bits); portolan's own probes leave it zero.
    pub tos: u8,
    pub ttl: u8,
    pub dont_fragment: bool,
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Writes the 20-byte header (no options) with its checksum into `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let buf = buf.get_mut(..HEADER_LEN).ok_or(Error::Truncated)?;
        let total = u16::try_from(HEADER_LEN + self.payload_len).map_err(|_| Error::Malformed)?;
        buf[field::VER_IHL] = 0x45;
        buf[1] = self.tos;
        buf[field::LENGTH].copy_from_slice(&total.to_be_bytes());
        buf[field::IDENT].copy_from_slice(&self.ident.to_be_bytes());
        let flags = if self.dont_fragment { DONT_FRAGMENT } else { 0 };
        buf[field::FLAGS_FRAG].copy_from_slice(&flags.to_be_bytes());
        buf[field::TTL] = self.ttl;
        buf[field::PROTOCOL] = self.protocol;
        buf[field::SRC].copy_from_slice(&self.src.octets());
        buf[field::DST].copy_from_slice(&self.dst.octets());
        // Summed from the fields, not read back from `buf` (see `tcp::ProbeRepr::sum`).
        let sum = u32::from(u16::from_be_bytes([0x45, self.tos]))
            + u32::from(total)
            + u32::from(self.ident)
            + u32::from(flags)
            + u32::from(u16::from_be_bytes([self.ttl, self.protocol]))
            + checksum::sum_u32(self.src.to_bits())
            + checksum::sum_u32(self.dst.to_bits());
        buf[field::CHECKSUM].copy_from_slice(&checksum::finish(sum).to_be_bytes());
        Ok(())
    }
}

/// Writes a bare IPv4 header of `protocol` with no payload into `buf`, as the IP protocol
/// scan probes protocols it builds no header for; returns its length.
pub fn emit_bare_v4(src: Ipv4Addr, dst: Ipv4Addr, ident: u16, protocol: u8, buf: &mut [u8]) -> Result<usize> {
    let repr = Ipv4Repr { src, dst, protocol, ident, tos: 0, ttl: 64, dont_fragment: false, payload_len: 0 };
    repr.emit(buf)?;
    Ok(HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn repr() -> Ipv4Repr {
        Ipv4Repr {
            src: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::new(198, 18, 0, 2),
            protocol: PROTO_TCP,
            ident: 0xbeef,
            tos: 0,
            ttl: 64,
            dont_fragment: true,
            payload_len: 40,
        }
    }

    #[test]
    fn a_bare_header_is_all_the_packet() {
        let mut buf = [0xffu8; 40];
        let len = emit_bare_v4(repr().src, repr().dst, 9, 47, &mut buf).unwrap();
        let packet = Ipv4Packet::new_checked(&buf[..len]).unwrap();
        assert_eq!((len, packet.protocol(), packet.ident(), packet.payload().len()), (HEADER_LEN, 47, 9, 0));
        assert!(packet.checksum_ok());
    }

    #[test]
    fn emit_then_parse_round_trips() {
        let mut buf = [0u8; 60];
        repr().emit(&mut buf).unwrap();
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!((packet.src(), packet.dst()), (repr().src, repr().dst));
        assert_eq!((packet.protocol(), packet.ident(), packet.ttl()), (PROTO_TCP, 0xbeef, 64));
        assert!(packet.dont_fragment());
        assert_eq!(packet.total_len(), 60);
        assert_eq!(packet.payload().len(), 40);
        assert!(packet.checksum_ok());
    }

    #[test]
    fn rejects_short_and_malformed_headers() {
        assert_eq!(Ipv4Packet::new_checked(&[0x45u8; 19][..]).unwrap_err(), Error::Truncated);
        let mut buf = [0u8; 20];
        buf[0] = 0x65;
        assert_eq!(Ipv4Packet::new_checked(&buf[..]).unwrap_err(), Error::Malformed);
        buf[0] = 0x4f; // header of 60 bytes in a 20-byte buffer
        assert_eq!(Ipv4Packet::new_checked(&buf[..]).unwrap_err(), Error::Truncated);
        buf[0] = 0x44; // header shorter than the minimum
        assert_eq!(Ipv4Packet::new_checked(&buf[..]).unwrap_err(), Error::Malformed);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            if let Ok(packet) = Ipv4Packet::new_checked(&bytes[..]) {
                let _ = (packet.src(), packet.dst(), packet.payload(), packet.checksum_ok(), packet.ident());
            }
        }
    }
}
