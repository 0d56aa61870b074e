//! SCTP (RFC 9260) as a port scan needs it: the common header, the INIT and COOKIE ECHO
//! chunks probes carry, and the INIT ACK and ABORT chunks that answer them. Every packet is
//! covered by a CRC32c checksum (RFC 9260 appendix A), which a receiver checks before reading
//! anything else.

use std::net::Ipv4Addr;

use crate::ipv4;
use crate::{Error, Result};

pub const PROTO_SCTP: u8 = 132;
pub const COMMON_HEADER_LEN: usize = 12;
const CHUNK_HEADER_LEN: usize = 4;
const INIT_LEN: usize = CHUNK_HEADER_LEN + 16;
/// The cookie a COOKIE ECHO probe echoes: any bytes, since no association exists.
const PROBE_COOKIE_LEN: usize = 8;
/// The longest probe: IPv4 header, common header, INIT.
pub const PROBE_LEN: usize = ipv4::HEADER_LEN + COMMON_HEADER_LEN + INIT_LEN;

/// Chunk types.
pub mod chunk {
    pub const INIT: u8 = 1;
    pub const INIT_ACK: u8 = 2;
    pub const ABORT: u8 = 6;
    pub const COOKIE_ECHO: u8 = 10;
}

/// The ABORT chunk's T flag: its verification tag is the one of the packet it answers,
/// reflected, rather than the receiver's own.
pub const ABORT_REFLECTED_TAG: u8 = 0x01;

/// The receive window, streams and parameters Linux's SCTP stack offers in its INIT.
const LINUX_A_RWND: u32 = 106_496;
const LINUX_OUTBOUND_STREAMS: u16 = 10;
const LINUX_MAX_INBOUND_STREAMS: u16 = 65_535;

/// A checked view of an SCTP packet: the common header, and the first chunk's type and flags
/// when there is one.
#[derive(Debug, Clone, Copy)]
pub struct SctpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SctpPacket<T> {
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < COMMON_HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(SctpPacket { buffer })
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn word(&self, at: usize) -> u32 {
        u32::from_be_bytes(self.bytes()[at..at + 4].try_into().expect("checked length"))
    }

    pub fn src_port(&self) -> u16 {
        u16::from_be_bytes([self.bytes()[0], self.bytes()[1]])
    }

    pub fn dst_port(&self) -> u16 {
        u16::from_be_bytes([self.bytes()[2], self.bytes()[3]])
    }

    pub fn verification_tag(&self) -> u32 {
        self.word(4)
    }

    /// Whether the packet's CRC32c is right.
    pub fn checksum_ok(&self) -> bool {
        let stored = u32::from_le_bytes(self.bytes()[8..12].try_into().expect("checked length"));
        stored == checksum(self.bytes())
    }

    /// The first chunk's type and flags, if the packet holds one.
    pub fn first_chunk(&self) -> Option<(u8, u8)> {
        let chunk = self.bytes().get(COMMON_HEADER_LEN..COMMON_HEADER_LEN + CHUNK_HEADER_LEN)?;
        Some((chunk[0], chunk[1]))
    }

    /// The initiate tag of an INIT or INIT ACK first chunk.
    pub fn initiate_tag(&self) -> Option<u32> {
        let (kind, _) = self.first_chunk()?;
        if kind != chunk::INIT && kind != chunk::INIT_ACK {
            return None;
        }
        let at = COMMON_HEADER_LEN + CHUNK_HEADER_LEN;
        let tag = self.bytes().get(at..at + 4)?;
        Some(u32::from_be_bytes(tag.try_into().expect("four bytes")))
    }
}

/// The CRC32c of a whole SCTP packet, its checksum field taken as zero.
pub fn checksum(packet: &[u8]) -> u32 {
    let (head, rest) = packet.split_at(8.min(packet.len()));
    let crc = crc32c::crc32c_append(crc32c::crc32c(head), &[0; 4]);
    crc32c::crc32c_append(crc, rest.get(4..).unwrap_or_default())
}

/// What a probe carries after the common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeChunk {
    /// An INIT opening an association: answered with an INIT ACK on an open port, with an
    /// ABORT on a closed one. Its initiate tag comes back as their verification tag.
    Init { initiate_tag: u32 },
    /// A COOKIE ECHO out of the blue: ignored by an open port, aborted by a closed one.
    CookieEcho,
}

/// The first chunk of a probe, laid out.
fn probe_chunk(chunk: ProbeChunk, buf: &mut [u8]) -> Result<usize> {
    match chunk {
        ProbeChunk::Init { initiate_tag } => {
            let init = buf.get_mut(..INIT_LEN).ok_or(Error::Truncated)?;
            init[0] = chunk::INIT;
            init[1] = 0;
            init[2..4].copy_from_slice(&(INIT_LEN as u16).to_be_bytes());
            init[4..8].copy_from_slice(&initiate_tag.to_be_bytes());
            init[8..12].copy_from_slice(&LINUX_A_RWND.to_be_bytes());
            init[12..14].copy_from_slice(&LINUX_OUTBOUND_STREAMS.to_be_bytes());
            init[14..16].copy_from_slice(&LINUX_MAX_INBOUND_STREAMS.to_be_bytes());
            // The initial TSN: any number; the tag's will do.
            init[16..20].copy_from_slice(&initiate_tag.rotate_left(13).to_be_bytes());
            Ok(INIT_LEN)
        }
        ProbeChunk::CookieEcho => {
            let len = CHUNK_HEADER_LEN + PROBE_COOKIE_LEN;
            let echo = buf.get_mut(..len).ok_or(Error::Truncated)?;
            echo.fill(0);
            echo[0] = chunk::COOKIE_ECHO;
            echo[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            Ok(len)
        }
    }
}

/// Writes an SCTP packet into `buf`: the common header, `chunks` (already laid out) and the
/// checksum; returns its length.
pub fn emit_packet(
    src_port: u16,
    dst_port: u16,
    verification_tag: u32,
    chunks: &[u8],
    buf: &mut [u8],
) -> Result<usize> {
    let len = COMMON_HEADER_LEN + chunks.len();
    let packet = buf.get_mut(..len).ok_or(Error::Truncated)?;
    packet[0..2].copy_from_slice(&src_port.to_be_bytes());
    packet[2..4].copy_from_slice(&dst_port.to_be_bytes());
    packet[4..8].copy_from_slice(&verification_tag.to_be_bytes());
    packet[8..12].fill(0);
    packet[COMMON_HEADER_LEN..].copy_from_slice(chunks);
    let sum = checksum(packet);
    packet[8..12].copy_from_slice(&sum.to_le_bytes());
    Ok(len)
}

/// Builds a whole IPv4 SCTP probe into `buf`; returns its length. An INIT goes with a zero
/// verification tag, as RFC 9260 requires; a COOKIE ECHO with `verification_tag`.
#[allow(clippy::too_many_arguments)]
pub fn emit_probe_v4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    src_port: u16,
    dst_port: u16,
    verification_tag: u32,
    chunk: ProbeChunk,
    buf: &mut [u8],
) -> Result<usize> {
    let mut chunks = [0u8; INIT_LEN];
    let chunks_len = probe_chunk(chunk, &mut chunks)?;
    let tag = if matches!(chunk, ProbeChunk::Init { .. }) { 0 } else { verification_tag };
    let sctp_len = COMMON_HEADER_LEN + chunks_len;
    let total = ipv4::HEADER_LEN + sctp_len;
    let buf = buf.get_mut(..total).ok_or(Error::Truncated)?;
    let ip = ipv4::Ipv4Repr {
        src,
        dst,
        protocol: PROTO_SCTP,
        ident,
        tos: 0,
        ttl: 64,
        dont_fragment: true,
        payload_len: sctp_len,
    };
    ip.emit(buf)?;
    emit_packet(src_port, dst_port, tag, &chunks[..chunks_len], &mut buf[ipv4::HEADER_LEN..])?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc32c_of_rfc_3720s_test_vector() {
        // iSCSI's CRC32c test vector (RFC 3720 B.4): 32 bytes of zeros give 0x8a9136aa.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8a91_36aa);
    }

    #[test]
    fn an_init_probe_carries_its_tag_and_a_checksum_a_receiver_accepts() {
        let mut buf = [0u8; PROBE_LEN];
        let (src, dst) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        let len = emit_probe_v4(src, dst, 7, 40000, 80, 99, ProbeChunk::Init { initiate_tag: 0xdead_beef }, &mut buf)
            .unwrap();
        assert_eq!(len, PROBE_LEN);
        let ip = ipv4::Ipv4Packet::new_checked(&buf[..len]).unwrap();
        assert_eq!(ip.protocol(), PROTO_SCTP);
        let sctp = SctpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!((sctp.src_port(), sctp.dst_port(), sctp.verification_tag()), (40000, 80, 0));
        assert_eq!(sctp.first_chunk(), Some((chunk::INIT, 0)));
        assert_eq!(sctp.initiate_tag(), Some(0xdead_beef));
        assert!(sctp.checksum_ok());
        let mut corrupted = ip.payload().to_vec();
        corrupted[20] ^= 1;
        assert!(!SctpPacket::new_checked(&corrupted[..]).unwrap().checksum_ok());
    }

    #[test]
    fn a_cookie_echo_probe_carries_the_verification_tag() {
        let mut buf = [0u8; PROBE_LEN];
        let (src, dst) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        let len = emit_probe_v4(src, dst, 7, 40000, 80, 0x1234_5678, ProbeChunk::CookieEcho, &mut buf).unwrap();
        let ip = ipv4::Ipv4Packet::new_checked(&buf[..len]).unwrap();
        let sctp = SctpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!((sctp.verification_tag(), sctp.first_chunk()), (0x1234_5678, Some((chunk::COOKIE_ECHO, 0))));
        assert_eq!(sctp.initiate_tag(), None);
        assert!(sctp.checksum_ok());
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(sctp) = SctpPacket::new_checked(&bytes[..]) {
                let _ = (sctp.src_port(), sctp.dst_port(), sctp.verification_tag(), sctp.checksum_ok());
                let _ = (sctp.first_chunk(), sctp.initiate_tag());
            }
        }
    }
}
