//! Scan techniques. Each is one file: what its probe carries, what a reply means, and what
//! silence means. The engine owns everything else (sending, checking that a reply answers one
//! of its probes, timing), so a technique is a table of Nmap's rules. TCP techniques implement
//! [`TcpTechnique`], a table of flags; every technique is a [`Technique`] to the engine.

#![forbid(unsafe_code)]

mod ack;
mod custom_flags;
pub mod discovery;
mod fin_null_xmas;
mod ip_protocol;
mod payloads;
mod response;
mod sctp;
mod syn;
mod udp;
mod window;

pub use ack::AckScan;
pub use custom_flags::CustomFlags;
pub use fin_null_xmas::StealthScan;
pub use ip_protocol::IpProtocolScan;
pub use payloads::{PayloadError, UdpPayloads, MAX_PAYLOAD};
pub use response::{
    parse_response, IcmpReply, QuotedProbe, Response, SctpReply, TcpReply, UdpReply, Unreachable, UnreachableCode,
};
pub use sctp::SctpScan;
pub use syn::SynScan;
pub use udp::UdpScan;
pub use window::WindowScan;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use model::{PortState, Protocol, Reason};
use wire::tcp::{flags, ProbeRepr, LINUX_SYN_WINDOW};

/// A raw-packet scan technique as the engine drives it.
pub trait Technique: Send + Sync {
    /// The name Nmap prints for the scan ("SYN Stealth Scan", "UDP Scan").
    fn name(&self) -> &'static str;
    fn protocol(&self) -> Protocol;
    /// The transport header (and payload) of a probe carrying the engine's cookie fields.
    fn probe(&self, fields: ProbeFields) -> Transport;
    /// What a received packet says about a port, if it answers this technique's kind of probe.
    /// The engine then checks the echoed cookie before believing it.
    fn read(&self, response: &Response) -> Option<Answer>;
    /// What silence after every allowed retransmission means.
    fn on_timeout(&self) -> (PortState, Reason);
    /// Which ports may answer with ICMP errors, which hosts ration (Linux: six at once, then
    /// one a second): where one may, silence proves nothing until the host is shown to have
    /// had an error to spare.
    fn errors_answer(&self) -> ErrorsAnswer {
        ErrorsAnswer::RejectedPorts
    }
    /// Whether the technique finds hosts rather than ports: its "ports" are the indices of its
    /// probes, and one answer to any of them settles the host.
    fn finds_hosts(&self) -> bool {
        false
    }
    /// The protocols whose packets can answer (ICMP errors always can).
    fn reply_protocols(&self) -> Vec<Protocol> {
        vec![self.protocol()]
    }
}

/// Which ports of a technique answer with ICMP errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorsAnswer {
    /// None: no answer of the technique is an ICMP error a host rations.
    Never,
    /// Ports a firewall rejects: a host that has answered may have had its errors rationed;
    /// a host never heard from is down or filters everything.
    RejectedPorts,
    /// Closed ports too (UDP): any host may have had its errors rationed.
    ClosedPorts,
}

/// The values the engine chooses for one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeFields {
    pub dst_port: u16,
    /// The cookie: source port (which also tells the try apart) and sequence number.
    pub src_port: u16,
    pub seq: u32,
    /// A TCP timestamp clock value, for probes that carry the option.
    pub timestamp: u32,
}

/// A probe's transport layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Tcp(ProbeRepr),
    Udp {
        src_port: u16,
        dst_port: u16,
        payload: Arc<[u8]>,
    },
    Icmp {
        query: wire::icmp::Query,
        ident: u16,
        seq: u16,
    },
    /// An SCTP packet of one chunk (IPv4 only); the verification tag goes with a COOKIE ECHO
    /// (an INIT's is zero, its tag riding in the chunk).
    Sctp {
        src_port: u16,
        dst_port: u16,
        verification_tag: u32,
        chunk: wire::sctp::ProbeChunk,
    },
    /// A bare IP header of this protocol (IPv4 only): the IP protocol scan's probe of
    /// protocols it builds no header for.
    Bare {
        protocol: u8,
    },
}

impl Transport {
    /// Writes the whole IP packet, of the family of `src` and `dst`, into `buf`; returns its
    /// length. `ident` is the IPv4 identification, or the low 16 bits of the IPv6 flow label
    /// (which ICMPv6 errors quote as ICMP errors quote the identification).
    pub fn emit(&self, src: IpAddr, dst: IpAddr, ident: u16, buf: &mut [u8]) -> wire::Result<usize> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => self.emit_v4(src, dst, ident, buf),
            (IpAddr::V6(src), IpAddr::V6(dst)) => self.emit_v6(src, dst, flow_label(ident), buf),
            _ => Err(wire::Error::Malformed),
        }
    }

    fn emit_v4(&self, src: Ipv4Addr, dst: Ipv4Addr, ident: u16, buf: &mut [u8]) -> wire::Result<usize> {
        match self {
            Transport::Tcp(tcp) => wire::tcp::emit_probe_v4(src, dst, ident, tcp, buf),
            Transport::Udp { src_port, dst_port, payload } => {
                wire::udp::emit_probe_v4(src, dst, ident, *src_port, *dst_port, payload, buf)
            }
            Transport::Icmp { query, ident: icmp_ident, seq } => {
                wire::icmp::emit_query_v4(src, dst, ident, *query, *icmp_ident, *seq, buf)
            }
            Transport::Sctp { src_port, dst_port, verification_tag, chunk } => {
                wire::sctp::emit_probe_v4(src, dst, ident, *src_port, *dst_port, *verification_tag, *chunk, buf)
            }
            Transport::Bare { protocol } => wire::ipv4::emit_bare_v4(src, dst, ident, *protocol, buf),
        }
    }

    /// IPv6 has an echo but no timestamp or address mask query, and the IP protocol and SCTP
    /// scans are IPv4's so far: those are an error.
    fn emit_v6(&self, src: Ipv6Addr, dst: Ipv6Addr, flow_label: u32, buf: &mut [u8]) -> wire::Result<usize> {
        match self {
            Transport::Tcp(tcp) => wire::tcp::emit_probe_v6(src, dst, flow_label, tcp, buf),
            Transport::Udp { src_port, dst_port, payload } => {
                wire::udp::emit_probe_v6(src, dst, flow_label, *src_port, *dst_port, payload, buf)
            }
            Transport::Icmp { query: wire::icmp::Query::Echo, ident, seq } => {
                wire::icmpv6::emit_echo_v6(src, dst, flow_label, *ident, *seq, buf)
            }
            Transport::Icmp { .. } | Transport::Sctp { .. } | Transport::Bare { .. } => Err(wire::Error::Malformed),
        }
    }
}

/// The flow label carrying `ident` in its low 16 bits. Linux labels a connection's packets
/// with a hash spread over all 20 bits; the top four are drawn from `ident` so that probes'
/// labels spread the same way rather than all staying below 0x10000.
fn flow_label(ident: u16) -> u32 {
    let top = u32::from(ident.wrapping_mul(0x9e37) >> 12);
    top << 16 | u32::from(ident)
}

/// A packet read as an answer about one port, before its cookie is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The probe's source: the address the scan sends from, if the packet is ours.
    pub scanner: IpAddr,
    pub scanner_port: u16,
    pub target: IpAddr,
    pub target_port: u16,
    /// What of the probe's cookie came back besides the source port.
    pub echo: Echo,
    /// The IP TTL of the packet that answered, and who sent it: the target, or a router
    /// answering for it with an ICMP error.
    pub ttl: u8,
    pub sender: IpAddr,
    pub state: PortState,
    pub reason: Reason,
    /// The answer is an ICMP error (which hosts may rate-limit).
    pub by_icmp: bool,
}

impl Answer {
    /// The answer an ICMP error gives about the probe it quotes: the probe's own addresses,
    /// the error's sender and TTL; the ports and cookie echo as the technique reads the quote.
    pub fn from_error(
        error: &Unreachable,
        (scanner_port, target_port): (u16, u16),
        echo: Echo,
        (state, reason): (PortState, Reason),
    ) -> Answer {
        Answer {
            scanner: error.probe_src,
            scanner_port,
            target: error.probe_dst,
            target_port,
            echo,
            ttl: error.ttl,
            sender: error.from,
            state,
            reason,
            by_icmp: true,
        }
    }
}

/// The part of a probe's cookie that an answer carries back, besides the source port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// The probe's sequence number.
    Sequence(u32),
    /// The probe's IP identification, quoted in an ICMP error.
    IpIdent(u16),
    /// The low 16 bits of the probe's sequence number (an ICMP query's sequence field).
    SequenceLow16(u16),
    /// Nothing more: a UDP reply carries only the ports.
    Nothing,
}

/// A raw-packet TCP scan technique.
pub trait TcpTechnique: Send + Sync {
    /// The name Nmap prints for the scan ("SYN Stealth Scan").
    fn name(&self) -> &'static str;
    /// The TCP flags of the probe.
    fn probe_flags(&self) -> u8;
    /// What a TCP reply to the probe says about the port, or `None` if it says nothing.
    fn classify_tcp(&self, reply: &TcpReply) -> Option<(PortState, Reason)>;
    /// What an ICMP destination-unreachable with this code says about the port.
    fn classify_unreachable(&self, code: UnreachableCode) -> Option<(PortState, Reason)> {
        code.reason().map(|reason| (PortState::Filtered, reason))
    }
    /// What silence after every allowed retransmission means.
    fn on_timeout(&self) -> (PortState, Reason);
}

/// A technique borrowed, e.g. one chosen at run time and shared by several scans.
impl<T: TcpTechnique + ?Sized> TcpTechnique for &T {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn probe_flags(&self) -> u8 {
        (**self).probe_flags()
    }

    fn classify_tcp(&self, reply: &TcpReply) -> Option<(PortState, Reason)> {
        (**self).classify_tcp(reply)
    }

    fn classify_unreachable(&self, code: UnreachableCode) -> Option<(PortState, Reason)> {
        (**self).classify_unreachable(code)
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        (**self).on_timeout()
    }
}

impl<T: TcpTechnique> Technique for T {
    fn name(&self) -> &'static str {
        TcpTechnique::name(self)
    }

    fn protocol(&self) -> Protocol {
        Protocol::Tcp
    }

    fn probe(&self, fields: ProbeFields) -> Transport {
        let flags = self.probe_flags();
        Transport::Tcp(ProbeRepr {
            src_port: fields.src_port,
            dst_port: fields.dst_port,
            seq: fields.seq,
            // A RST answering a segment with ACK set echoes our acknowledgment number, not our
            // sequence number (RFC 9293 3.10.7.1): the cookie rides in both.
            ack: if flags & flags::ACK != 0 { fields.seq } else { 0 },
            flags,
            window: LINUX_SYN_WINDOW,
            timestamp: fields.timestamp,
        })
    }

    fn read(&self, response: &Response) -> Option<Answer> {
        match response {
            Response::Tcp(reply) => {
                let (state, reason) = self.classify_tcp(reply)?;
                Some(Answer {
                    scanner: reply.dst,
                    scanner_port: reply.dst_port,
                    target: reply.src,
                    target_port: reply.src_port,
                    echo: echo_of(self.probe_flags(), reply),
                    ttl: reply.ttl,
                    sender: reply.src,
                    state,
                    reason,
                    by_icmp: false,
                })
            }
            Response::Unreachable(u) => {
                let QuotedProbe::Tcp(quoted) = u.probe else { return None };
                let verdict = self.classify_unreachable(u.code)?;
                let ports = (quoted.src_port, quoted.dst_port);
                Some(Answer::from_error(u, ports, Echo::Sequence(quoted.seq), verdict))
            }
            Response::Udp(_) | Response::Sctp(_) | Response::IcmpReply(_) => None,
        }
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        TcpTechnique::on_timeout(self)
    }
}

/// What of the probe's cookie a TCP reply carries back. A reply with ACK set acknowledges
/// the probe's sequence number plus what the probe occupied of the sequence space (one for
/// SYN, one for FIN); a reply without ACK (a RST answering an ACK-bearing probe) takes the
/// probe's acknowledgment number, which carries the cookie too, as its sequence number. A
/// bare SYN (a split handshake) opens the target's own side with its own sequence number and
/// carries nothing of ours: only its ports vouch for it, as for a UDP reply.
pub(crate) fn echo_of(probe_flags: u8, reply: &TcpReply) -> Echo {
    if reply.flags & flags::ACK != 0 {
        let occupied = u32::from(probe_flags & flags::SYN != 0) + u32::from(probe_flags & flags::FIN != 0);
        Echo::Sequence(reply.ack.wrapping_sub(occupied))
    } else if reply.flags & (flags::SYN | flags::RST) == flags::SYN {
        Echo::Nothing
    } else {
        Echo::Sequence(reply.seq)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use wire::tcp::flags;

    use crate::{Echo, TcpReply};

    #[test]
    fn flow_labels_carry_the_identification_and_spread_over_twenty_bits() {
        let labels: Vec<u32> = (0..=u16::MAX).step_by(97).map(super::flow_label).collect();
        assert!(labels.iter().zip((0..=u16::MAX).step_by(97)).all(|(&label, ident)| label as u16 == ident));
        assert!(labels.iter().all(|&label| label <= wire::ipv6::FLOW_LABEL_MASK));
        let high = labels.iter().filter(|&&label| label >= 1 << 19).count();
        assert!(high * 3 > labels.len() && high * 3 < labels.len() * 2, "{high} of {} in the top half", labels.len());
    }

    #[test]
    fn a_split_handshake_syn_carries_nothing_of_the_probe_and_other_replies_their_echo() {
        let echo = |probe_flags, reply_flags| {
            super::echo_of(probe_flags, &TcpReply { seq: 777, ack: 1001, ..reply(reply_flags, 0) })
        };
        assert_eq!(echo(flags::SYN, flags::SYN), Echo::Nothing);
        assert_eq!(echo(flags::SYN, flags::SYN | flags::ACK), Echo::Sequence(1000));
        assert_eq!(echo(flags::SYN, flags::RST | flags::ACK), Echo::Sequence(1000));
        assert_eq!(echo(flags::ACK, flags::RST), Echo::Sequence(777));
        assert_eq!(echo(flags::ACK, flags::SYN | flags::RST), Echo::Sequence(777));
    }

    /// A reply from the lab target to one of our probes, with the given flags and window.
    pub fn reply(flags: u8, window: u16) -> TcpReply {
        TcpReply {
            src: [198, 18, 0, 2].into(),
            src_port: 80,
            dst: [198, 18, 0, 1].into(),
            dst_port: 40000,
            seq: 0,
            ack: 1,
            flags,
            window,
            ttl: 64,
        }
    }
}
