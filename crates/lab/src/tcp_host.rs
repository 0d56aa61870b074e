//! Lab hosts whose TCP is played in user space. The idle zombie for the idle scan's tests
//! (-sI) numbers every packet it sends from one counter (an incremental IP identification), as
//! Linux does not (it numbers per destination, and sends its RSTs with 0). The split-handshake
//! host answers a SYN to its listed ports with a bare SYN of its own, as a stack opening the
//! connection from its side would (Nmap's `split-handshake-syn`). Any other segment but a RST
//! is answered with a RST, as RFC 9293 has a closed port do.

use std::net::Ipv4Addr;
use std::time::Instant;

use wire::ipv4::{Ipv4Packet, Ipv4Repr, PROTO_TCP};
use wire::tcp::{flags, SegmentRepr, TcpPacket};

use crate::raw::Responder;

/// A lab host whose TCP this process plays: a zombie, or a split-handshake host.
pub struct TcpHost {
    pub addr: Ipv4Addr,
    /// The last IP identification sent.
    counter: u16,
    /// Ports that answer a SYN with a bare SYN.
    split_handshake: Vec<u16>,
}

/// The split-handshake host's initial sequence number (any will do: nothing checks it).
const SPLIT_ISN: u32 = 0x5eed_0001;
/// The window of its SYN: Linux's initial one.
const SPLIT_WINDOW: u16 = 64240;

impl TcpHost {
    /// An idle zombie on `addr`, its next IP identification `counter` + 1.
    pub fn zombie(addr: Ipv4Addr, counter: u16) -> TcpHost {
        TcpHost { addr, counter, split_handshake: Vec::new() }
    }

    /// A host on `addr` whose `ports` answer a SYN with a bare SYN.
    pub fn split_handshake(addr: Ipv4Addr, ports: &[u16]) -> TcpHost {
        TcpHost { addr, counter: 0, split_handshake: ports.to_vec() }
    }
}

impl Responder for TcpHost {
    fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    fn answer(&mut self, packet: &[u8], _now: Instant) -> Option<Vec<u8>> {
        let ip = Ipv4Packet::new_checked(packet).ok()?;
        if ip.dst() != self.addr || ip.protocol() != PROTO_TCP {
            return None;
        }
        let segment = TcpPacket::new_checked(ip.payload()).ok()?;
        if segment.flags() & flags::RST != 0 {
            return None;
        }
        // A SYN to a split-handshake port is answered with a SYN; else a segment with ACK set
        // is refused with its acknowledgment number as our sequence, one without by
        // acknowledging all it occupied (a SYN counts one).
        let bare_syn = segment.flags() & (flags::SYN | flags::ACK) == flags::SYN;
        let (seq, ack, reply_flags) = if bare_syn && self.split_handshake.contains(&segment.dst_port()) {
            (SPLIT_ISN, 0, flags::SYN)
        } else if segment.flags() & flags::ACK != 0 {
            (segment.ack(), 0, flags::RST)
        } else {
            let occupied = u32::from(segment.flags() & (flags::SYN | flags::FIN) != 0);
            let data = (ip.payload().len() - segment.header_len()) as u32;
            (0, segment.seq().wrapping_add(occupied + data), flags::RST | flags::ACK)
        };
        let reply = SegmentRepr {
            src_port: segment.dst_port(),
            dst_port: segment.src_port(),
            seq,
            ack,
            reserved: 0,
            flags: reply_flags,
            window: if reply_flags == flags::SYN { SPLIT_WINDOW } else { 0 },
            urgent: 0,
            options: &[],
        };
        let mut transport = [0u8; 20];
        let len = reply.emit(self.addr, ip.src(), &mut transport).ok()?;
        self.counter = self.counter.wrapping_add(1);
        let header = Ipv4Repr {
            src: self.addr,
            dst: ip.src(),
            protocol: PROTO_TCP,
            ident: self.counter,
            tos: 0,
            ttl: 64,
            dont_fragment: false,
            payload_len: len,
        };
        let mut answer = vec![0u8; wire::ipv4::HEADER_LEN + len];
        header.emit(&mut answer).ok()?;
        answer[wire::ipv4::HEADER_LEN..].copy_from_slice(&transport[..len]);
        Some(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::tcp::{emit_probe_v4, ProbeRepr, PROBE_LEN};

    fn segment(flags: u8) -> Vec<u8> {
        let probe = ProbeRepr { src_port: 40000, dst_port: 80, seq: 10, ack: 77, flags, window: 1024, timestamp: 1 };
        let mut packet = vec![0u8; PROBE_LEN];
        let len =
            emit_probe_v4(Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 10), 1, &probe, &mut packet).unwrap();
        packet.truncate(len);
        packet
    }

    #[test]
    fn every_answer_takes_the_next_number() {
        let mut zombie = TcpHost::zombie(Ipv4Addr::new(198, 18, 0, 10), 500);
        let now = Instant::now();
        let ids: Vec<u16> = (0..3)
            .map(|_| {
                Ipv4Packet::new_checked(zombie.answer(&segment(flags::SYN | flags::ACK), now).unwrap()).unwrap().ident()
            })
            .collect();
        assert_eq!(ids, [501, 502, 503]);
        let answer = zombie.answer(&segment(flags::SYN | flags::ACK), now).unwrap();
        let ip = Ipv4Packet::new_checked(&answer[..]).unwrap();
        let rst = TcpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!((rst.flags(), rst.seq(), rst.dst_port()), (flags::RST, 77, 40000), "the SYN/ACK's ack, as RFC 9293");
        let syn = zombie.answer(&segment(flags::SYN), now).unwrap();
        let rst = TcpPacket::new_checked(Ipv4Packet::new_checked(&syn[..]).unwrap().payload().to_vec()).unwrap();
        assert_eq!((rst.flags(), rst.ack()), (flags::RST | flags::ACK, 11));
        assert!(zombie.answer(&segment(flags::RST), now).is_none(), "a RST is never answered");
    }

    #[test]
    fn a_split_handshake_port_answers_a_syn_with_a_bare_syn_and_the_rest_are_closed() {
        let mut host = TcpHost::split_handshake(Ipv4Addr::new(198, 18, 0, 10), &[80]);
        let now = Instant::now();
        let answer = host.answer(&segment(flags::SYN), now).unwrap();
        let syn = TcpPacket::new_checked(Ipv4Packet::new_checked(&answer[..]).unwrap().payload().to_vec()).unwrap();
        assert_eq!((syn.flags(), syn.seq(), syn.ack(), syn.src_port()), (flags::SYN, SPLIT_ISN, 0, 80));
        let answer = host.answer(&segment(flags::ACK), now).unwrap();
        let rst = TcpPacket::new_checked(Ipv4Packet::new_checked(&answer[..]).unwrap().payload().to_vec()).unwrap();
        assert_eq!((rst.flags(), rst.seq()), (flags::RST, 77), "only a SYN is answered with a SYN");
        let mut other = TcpHost::split_handshake(Ipv4Addr::new(198, 18, 0, 10), &[443]);
        let answer = other.answer(&segment(flags::SYN), now).unwrap();
        let rst = TcpPacket::new_checked(Ipv4Packet::new_checked(&answer[..]).unwrap().payload().to_vec()).unwrap();
        assert_eq!(rst.flags(), flags::RST | flags::ACK, "a port not listed is closed");
    }
}
