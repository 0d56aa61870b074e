//! IPv6 headers (RFC 8200) and the extension headers a reply may carry before its transport
//! header.

use std::net::Ipv6Addr;

use crate::{Error, Result};

mod field {
    use core::ops::Range;
    pub const VERSION_CLASS_FLOW: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
}

pub const HEADER_LEN: usize = 40;
pub const NEXT_ICMPV6: u8 = 58;
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTHENTICATION: u8 = 51;
const DESTINATION_OPTIONS: u8 = 60;
/// The hop limit Linux gives a socket's packets: probes leave with what an ordinary host's do.
pub const DEFAULT_HOP_LIMIT: u8 = 64;
/// The flow label's 20 bits.
pub const FLOW_LABEL_MASK: u32 = 0x000f_ffff;

/// A checked view of an IPv6 packet.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Checks the version and that the buffer holds the fixed header. The payload is cut at
    /// the length the header claims when the buffer is longer (Ethernet padding), and at the
    /// buffer's end when shorter (an ICMPv6 error quotes only the start of a packet).
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let packet = Ipv6Packet { buffer };
        if packet.version() != 6 {
            return Err(Error::Malformed);
        }
        Ok(packet)
    }

    fn data(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn first_word(&self) -> u32 {
        let bytes = &self.data()[field::VERSION_CLASS_FLOW];
        u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    pub fn version(&self) -> u8 {
        (self.first_word() >> 28) as u8
    }

    pub fn flow_label(&self) -> u32 {
        self.first_word() & FLOW_LABEL_MASK
    }

    pub fn payload_len(&self) -> usize {
        let bytes = &self.data()[field::PAYLOAD_LEN];
        usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    pub fn next_header(&self) -> u8 {
        self.data()[field::NEXT_HEADER]
    }

    pub fn hop_limit(&self) -> u8 {
        self.data()[field::HOP_LIMIT]
    }

    pub fn src(&self) -> Ipv6Addr {
        address(&self.data()[field::SRC])
    }

    pub fn dst(&self) -> Ipv6Addr {
        address(&self.data()[field::DST])
    }

    /// The bytes after the fixed header, up to the payload length (or the buffer's end).
    pub fn payload(&self) -> &[u8] {
        let end = (HEADER_LEN + self.payload_len()).min(self.data().len());
        &self.data()[HEADER_LEN..end]
    }

    /// The upper-layer protocol and its bytes, past any hop-by-hop, routing, destination
    /// options, authentication and fragment headers. `None` when the chain runs past the
    /// packet, or for a fragment other than the first, which holds no transport header.
    pub fn upper_layer(&self) -> Option<(u8, &[u8])> {
        past_extension_headers(self.next_header(), self.payload())
    }
}

impl<'a> Ipv6Packet<&'a [u8]> {
    /// [`Ipv6Packet::upper_layer`], borrowing from the bytes rather than the view.
    pub fn into_upper_layer(self) -> Option<(u8, &'a [u8])> {
        let end = (HEADER_LEN + self.payload_len()).min(self.buffer.len());
        past_extension_headers(self.next_header(), &self.buffer[HEADER_LEN..end])
    }
}

/// Walks the extension headers starting with `next`, over `rest`.
fn past_extension_headers(mut next: u8, mut rest: &[u8]) -> Option<(u8, &[u8])> {
    loop {
        let header_len = match next {
            HOP_BY_HOP | ROUTING | DESTINATION_OPTIONS => (usize::from(*rest.get(1)?) + 1) * 8,
            AUTHENTICATION => (usize::from(*rest.get(1)?) + 2) * 4,
            FRAGMENT => {
                let offset = u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]) >> 3;
                if offset != 0 {
                    return None;
                }
                8
            }
            protocol => return Some((protocol, rest)),
        };
        // Every extension header is at least eight bytes, so the walk ends.
        next = *rest.first()?;
        rest = rest.get(header_len..)?;
    }
}

fn address(bytes: &[u8]) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(bytes);
    Ipv6Addr::from(octets)
}

/// The fields of an IPv6 header portolan sends (no extension headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
    /// The low 20 bits are used.
    pub flow_label: u32,
    pub payload_len: usize,
}

impl Ipv6Repr {
    /// Writes the 40-byte header into `buf` (traffic class zero).
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let buf = buf.get_mut(..HEADER_LEN).ok_or(Error::Truncated)?;
        let payload_len = u16::try_from(self.payload_len).map_err(|_| Error::Malformed)?;
        let first_word = 6 << 28 | (self.flow_label & FLOW_LABEL_MASK);
        buf[field::VERSION_CLASS_FLOW].copy_from_slice(&first_word.to_be_bytes());
        buf[field::PAYLOAD_LEN].copy_from_slice(&payload_len.to_be_bytes());
        buf[field::NEXT_HEADER] = self.next_header;
        buf[field::HOP_LIMIT] = self.hop_limit;
        buf[field::SRC].copy_from_slice(&self.src.octets());
        buf[field::DST].copy_from_slice(&self.dst.octets());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
    const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);

    fn packet(next_header: u8, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; HEADER_LEN + payload.len()];
        let repr = Ipv6Repr {
            src: SRC,
            dst: DST,
            next_header,
            hop_limit: 64,
            flow_label: 0x12345,
            payload_len: payload.len(),
        };
        repr.emit(&mut buf).unwrap();
        buf[HEADER_LEN..].copy_from_slice(payload);
        buf
    }

    #[test]
    fn emit_then_parse_round_trips() {
        let bytes = packet(6, &[1, 2, 3, 4]);
        let ip = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!((ip.version(), ip.src(), ip.dst(), ip.hop_limit()), (6, SRC, DST, 64));
        assert_eq!((ip.flow_label(), ip.next_header(), ip.payload()), (0x12345, 6, &[1, 2, 3, 4][..]));
        assert_eq!(ip.upper_layer(), Some((6, &[1, 2, 3, 4][..])));
    }

    #[test]
    fn the_transport_header_is_found_past_extension_headers() {
        // Hop-by-hop (8 bytes) → destination options (16 bytes) → first fragment → TCP.
        let mut payload = vec![DESTINATION_OPTIONS, 0, 1, 4, 0, 0, 0, 0];
        payload.extend([FRAGMENT, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        payload.extend([6, 0, 0, 1, 0, 0, 0, 7]);
        payload.extend([0xaa; 20]);
        let bytes = packet(HOP_BY_HOP, &payload);
        let ip = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(ip.upper_layer(), Some((6, &[0xaa; 20][..])));
    }

    #[test]
    fn later_fragments_and_chains_past_the_end_hold_no_transport_header() {
        let later = packet(FRAGMENT, &[6, 0, 0, 0x08, 0, 0, 0, 1, 0xaa, 0xaa]);
        assert_eq!(Ipv6Packet::new_checked(&later[..]).unwrap().upper_layer(), None);
        let overlong = packet(ROUTING, &[6, 3, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Ipv6Packet::new_checked(&overlong[..]).unwrap().upper_layer(), None);
    }

    #[test]
    fn rejects_short_and_other_versions() {
        assert_eq!(Ipv6Packet::new_checked(&[0x60u8; 39][..]).unwrap_err(), Error::Truncated);
        assert_eq!(Ipv6Packet::new_checked(&[0x45u8; 40][..]).unwrap_err(), Error::Malformed);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(mut bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Some(first) = bytes.first_mut() {
                *first = 0x60 | (*first & 0x0f);
            }
            if let Ok(packet) = Ipv6Packet::new_checked(&bytes[..]) {
                let _ = (packet.src(), packet.dst(), packet.payload(), packet.flow_label(), packet.upper_layer());
            }
        }
    }
}
