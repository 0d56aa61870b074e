//! An SCTP host for the SCTP scans' tests (-sY, -sZ): this machine's kernel has no SCTP, so
//! the lab answers as RFC 9260 has a host do, from user space. A raw socket for the protocol
//! also keeps the kernel from answering with protocol unreachables.
//!
//! An INIT to an open port draws an INIT ACK, to a closed one an ABORT, both with the INIT's
//! initiate tag as verification tag; a COOKIE ECHO out of the blue is dropped by an open port
//! and aborted by a closed one, the ABORT reflecting its tag (T flag). A packet whose CRC32c is
//! wrong is dropped unread, as a real stack drops it.

use std::net::Ipv4Addr;
use std::time::Instant;

use wire::ipv4::{Ipv4Packet, Ipv4Repr};
use wire::sctp::{chunk, emit_packet, SctpPacket, ABORT_REFLECTED_TAG, COMMON_HEADER_LEN, PROTO_SCTP};

use crate::raw::Responder;

/// The state cookie an INIT ACK carries: any bytes, since no association follows.
const COOKIE: [u8; 8] = *b"portolan";

pub struct SctpHost {
    pub addr: Ipv4Addr,
    open: Vec<u16>,
    /// Our initiate tags: any number but zero.
    next_tag: u32,
}

impl SctpHost {
    pub fn new(addr: Ipv4Addr, open: &[u16]) -> SctpHost {
        SctpHost { addr, open: open.to_vec(), next_tag: 0x5c7b_0001 }
    }

    /// An INIT ACK chunk: our initiate tag, window, streams, TSN, and the state cookie.
    fn init_ack(&mut self) -> Vec<u8> {
        self.next_tag = self.next_tag.wrapping_mul(69_069).wrapping_add(1) | 1;
        let cookie_parameter = 4 + COOKIE.len();
        let len = 20 + cookie_parameter;
        let mut chunk = Vec::with_capacity(len);
        chunk.extend_from_slice(&[chunk::INIT_ACK, 0]);
        chunk.extend_from_slice(&(len as u16).to_be_bytes());
        chunk.extend_from_slice(&self.next_tag.to_be_bytes());
        chunk.extend_from_slice(&106_496u32.to_be_bytes()); // advertised receive window
        chunk.extend_from_slice(&10u16.to_be_bytes()); // outbound streams
        chunk.extend_from_slice(&10u16.to_be_bytes()); // inbound streams
        chunk.extend_from_slice(&self.next_tag.rotate_left(7).to_be_bytes()); // initial TSN
        chunk.extend_from_slice(&7u16.to_be_bytes()); // the State Cookie parameter
        chunk.extend_from_slice(&(cookie_parameter as u16).to_be_bytes());
        chunk.extend_from_slice(&COOKIE);
        chunk
    }

    fn ip_packet(&self, dst: Ipv4Addr, sctp: &[u8]) -> Vec<u8> {
        let header = Ipv4Repr {
            src: self.addr,
            dst,
            protocol: PROTO_SCTP,
            ident: 0,
            tos: 0,
            ttl: 64,
            dont_fragment: true,
            payload_len: sctp.len(),
        };
        let mut packet = vec![0u8; wire::ipv4::HEADER_LEN + sctp.len()];
        header.emit(&mut packet).expect("the buffer holds the header");
        packet[wire::ipv4::HEADER_LEN..].copy_from_slice(sctp);
        packet
    }
}

impl Responder for SctpHost {
    fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    fn answer(&mut self, packet: &[u8], _now: Instant) -> Option<Vec<u8>> {
        let ip = Ipv4Packet::new_checked(packet).ok()?;
        if ip.dst() != self.addr || ip.protocol() != PROTO_SCTP {
            return None;
        }
        let sctp = SctpPacket::new_checked(ip.payload()).ok()?;
        if !sctp.checksum_ok() {
            return None;
        }
        let open = self.open.contains(&sctp.dst_port());
        let (tag, chunks) = match sctp.first_chunk()? {
            (chunk::INIT, _) if sctp.verification_tag() == 0 => {
                let tag = sctp.initiate_tag()?;
                (tag, if open { self.init_ack() } else { vec![chunk::ABORT, 0, 0, 4] })
            }
            (chunk::COOKIE_ECHO, _) if !open => {
                (sctp.verification_tag(), vec![chunk::ABORT, ABORT_REFLECTED_TAG, 0, 4])
            }
            _ => return None,
        };
        let mut answer = vec![0u8; COMMON_HEADER_LEN + chunks.len()];
        let len = emit_packet(sctp.dst_port(), sctp.src_port(), tag, &chunks, &mut answer).ok()?;
        Some(self.ip_packet(ip.src(), &answer[..len]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::sctp::{emit_probe_v4, ProbeChunk, PROBE_LEN};

    const SCANNER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

    fn probe(port: u16, chunk: ProbeChunk) -> Vec<u8> {
        let mut buf = vec![0u8; PROBE_LEN];
        let len = emit_probe_v4(SCANNER, HOST, 1, 40000, port, 0x77, chunk, &mut buf).unwrap();
        buf.truncate(len);
        buf
    }

    /// The first chunk's type and flags, and the verification tag, of an answer.
    fn read(answer: &[u8]) -> (u8, u8, u32) {
        let ip = Ipv4Packet::new_checked(answer).unwrap();
        let sctp = SctpPacket::new_checked(ip.payload()).unwrap();
        assert!(sctp.checksum_ok());
        let (kind, flags) = sctp.first_chunk().unwrap();
        (kind, flags, sctp.verification_tag())
    }

    #[test]
    fn rfc_9260s_answers_to_an_init_and_a_cookie_echo() {
        let mut host = SctpHost::new(HOST, &[80]);
        let now = Instant::now();
        let init = ProbeChunk::Init { initiate_tag: 0xfeed };
        assert_eq!(read(&host.answer(&probe(80, init), now).unwrap()), (chunk::INIT_ACK, 0, 0xfeed));
        assert_eq!(read(&host.answer(&probe(81, init), now).unwrap()), (chunk::ABORT, 0, 0xfeed));
        assert!(host.answer(&probe(80, ProbeChunk::CookieEcho), now).is_none());
        assert_eq!(
            read(&host.answer(&probe(81, ProbeChunk::CookieEcho), now).unwrap()),
            (chunk::ABORT, ABORT_REFLECTED_TAG, 0x77)
        );
        let mut corrupted = probe(80, init);
        corrupted[40] ^= 0xff;
        assert!(host.answer(&corrupted, now).is_none(), "a bad checksum is dropped");
    }
}
