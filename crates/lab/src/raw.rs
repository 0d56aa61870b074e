//! The raw sockets the lab's user-space hosts (personalities, the idle zombie) answer through:
//! one receiver per protocol, and a sender whose packets carry [`PERSONALITY_MARK`].

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4};

use socket2::{Domain, Protocol, Socket, Type};

use crate::Personality;

/// The firewall mark of personalities' answers: the target's kernel's own answers from their
/// addresses are dropped, these pass.
pub const PERSONALITY_MARK: u32 = 0x504c;

const IPPROTO_RAW: i32 = 255;

pub(crate) struct RawSockets {
    receivers: Vec<Socket>,
    sender: Socket,
}

/// Sockets receiving TCP, UDP and ICMP, as personalities answer them.
pub(crate) fn open_raw() -> io::Result<RawSockets> {
    open_raw_for(&[6, 17, 1])
}

/// Sockets receiving each of `protocols`, and the sender.
pub(crate) fn open_raw_for(protocols: &[i32]) -> io::Result<RawSockets> {
    let receivers = protocols
        .iter()
        .map(|&protocol| {
            let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(protocol)))?;
            socket.set_nonblocking(true)?;
            Ok(socket)
        })
        .collect::<io::Result<Vec<_>>>()?;
    let sender = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_RAW)))?;
    sender.set_mark(PERSONALITY_MARK)?;
    Ok(RawSockets { receivers, sender })
}

/// A host of the lab played in user space: it answers packets to its address itself.
pub(crate) trait Responder {
    fn addr(&self) -> Ipv4Addr;
    /// The whole IPv4 packet answering `packet`, if any.
    fn answer(&mut self, packet: &[u8], now: std::time::Instant) -> Option<Vec<u8>>;
}

impl Responder for Personality {
    fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    fn answer(&mut self, packet: &[u8], now: std::time::Instant) -> Option<Vec<u8>> {
        Personality::answer(self, packet, now)
    }
}

/// Answers every queued packet addressed to one of `responders`; whether there was any.
pub(crate) fn answer_all(sockets: &RawSockets, responders: &mut [impl Responder]) -> bool {
    let mut buf = [0u8; 2048];
    let mut any = false;
    for mut receiver in &sockets.receivers {
        while let Ok(len) = receiver.read(&mut buf) {
            any = true;
            let packet = &buf[..len];
            let Some(dst) = packet.get(16..20).map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3])) else { continue };
            let Some(responder) = responders.iter_mut().find(|r| r.addr() == dst) else { continue };
            if let Some(answer) = responder.answer(packet, std::time::Instant::now()) {
                let to = Ipv4Addr::new(answer[16], answer[17], answer[18], answer[19]);
                let _ = sockets.sender.send_to(&answer, &SocketAddrV4::new(to, 0).into());
            }
        }
    }
    any
}
