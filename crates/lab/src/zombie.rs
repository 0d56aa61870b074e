//! An idle zombie for the idle scan's tests (-sI): a host that numbers every packet it sends
//! from one counter (an incremental IP identification), as Linux does not (it numbers per
//! destination, and sends its RSTs with 0). With no listener, it answers any TCP segment but a
//! RST with a RST, as RFC 9293 has a closed port do.

use std::net::Ipv4Addr;
use std::time::Instant;

use wire::ipv4::{Ipv4Packet, Ipv4Repr, PROTO_TCP};
use wire::tcp::{flags, SegmentRepr, TcpPacket};

use crate::raw::Responder;

pub struct Zombie {
    pub addr: Ipv4Addr,
    counter: u16,
}

impl Zombie {
    pub fn new(addr: Ipv4Addr, counter: u16) -> Zombie {
        Zombie { addr, counter }
    }
}

impl Responder for Zombie {
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
        // A segment with ACK set is refused with its acknowledgment number as our sequence;
        // one without, by acknowledging all it occupied (a SYN counts one).
        let (seq, ack, reply_flags) = if segment.flags() & flags::ACK != 0 {
            (segment.ack(), 0, flags::RST)
        } else {
            let occupied = u32::from(segment.flags() & (flags::SYN | flags::FIN) != 0);
            let data = (ip.payload().len() - segment.header_len()) as u32;
            (0, segment.seq().wrapping_add(occupied + data), flags::RST | flags::ACK)
        };
        let rst = SegmentRepr {
            src_port: segment.dst_port(),
            dst_port: segment.src_port(),
            seq,
            ack,
            reserved: 0,
            flags: reply_flags,
            window: 0,
            urgent: 0,
            options: &[],
        };
        let mut transport = [0u8; 20];
        let len = rst.emit(self.addr, ip.src(), &mut transport).ok()?;
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
        let mut zombie = Zombie::new(Ipv4Addr::new(198, 18, 0, 10), 500);
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
}
