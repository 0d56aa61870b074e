//! `--traceroute`, sans IO: for each remote host, the probe it answered during the scan, sent
//! with TTLs 1 to its expected distance all at once (then further, a TTL at a time, while the
//! host itself has not answered), each TTL told by the probe's source port (or echo
//! sequence number); the routers' time-exceeded messages name the hops, and the host's own
//! answer ends the trace. Unanswered probes are sent once more.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use engine::drivers::exchange::Exchange;
use wire::ipv4::{Ipv4Packet, Ipv4Repr, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use wire::tcp::{flags, SegmentRepr, TcpPacket};

/// Nmap's limit.
pub const MAX_TTL: u8 = 30;
const TIME_EXCEEDED: u8 = 11;
const DEST_UNREACHABLE: u8 = 3;
/// Times an unanswered probe is sent again.
const RESENDS: u8 = 1;

/// The probe a trace sends: the one the host answered during the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceProbe {
    /// A SYN to this port (open, or closed: a SYN/ACK or a reset answers).
    Tcp(u16),
    /// A datagram to this (closed) port: a port unreachable answers.
    Udp(u16),
    /// An echo request.
    Echo,
}

/// One host to trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceTarget {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub probe: TraceProbe,
    /// The hop count expected (from OS detection, or the TTL of the host's answers).
    pub expected_hops: u8,
}

/// A hop: the router (or the host itself, last) that answered the probe of this TTL, and the
/// round-trip time; `None` for a TTL nothing answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hop {
    pub ttl: u8,
    pub answered: Option<(Ipv4Addr, Duration)>,
}

#[derive(Debug)]
struct HostTrace {
    target: TraceTarget,
    /// Per TTL: when its probe last left, and how many times.
    sent: BTreeMap<u8, (Instant, u8)>,
    answers: BTreeMap<u8, (Ipv4Addr, Duration)>,
    /// The lowest TTL the host itself answered.
    reached: Option<u8>,
    /// TTLs still to send, lowest first.
    plan: Vec<u8>,
}

impl HostTrace {
    fn finished(&self, now: Instant, wait: Duration) -> bool {
        self.plan.is_empty() && self.sent.iter().all(|(ttl, (at, tries))| self.settled(*ttl, *at, *tries, now, wait))
    }

    /// Whether the TTL needs nothing more: answered, beyond the host, or out of tries.
    fn settled(&self, ttl: u8, at: Instant, tries: u8, now: Instant, wait: Duration) -> bool {
        self.answers.contains_key(&ttl)
            || self.reached.is_some_and(|reached| ttl > reached)
            || (tries > RESENDS && now >= at + wait)
    }
}

/// The traces of many hosts, at once.
#[derive(Debug)]
pub struct Traces {
    hosts: Vec<HostTrace>,
    port_base: u16,
    echo_id: u16,
    wait: Duration,
    /// The latest instant the trace was polled at.
    now: Option<Instant>,
}

impl Traces {
    /// Traces `targets`, each probe's source port `port_base + TTL` (echo sequence number:
    /// the TTL), waiting `wait` for each answer.
    pub fn new(targets: Vec<TraceTarget>, port_base: u16, echo_id: u16, wait: Duration) -> Traces {
        let hosts = targets
            .into_iter()
            .map(|target| HostTrace {
                target,
                sent: BTreeMap::new(),
                answers: BTreeMap::new(),
                reached: None,
                plan: (1..=target.expected_hops.clamp(1, MAX_TTL)).collect(),
            })
            .collect();
        Traces { hosts, port_base, echo_id, wait, now: None }
    }

    /// The source ports replies come back to.
    pub fn reply_ports(&self) -> std::ops::RangeInclusive<u16> {
        self.port_base..=self.port_base + u16::from(MAX_TTL)
    }

    /// Plans the next TTL up when every TTL sent went past routers only, and sends again
    /// what went unanswered.
    fn extend_or_resend(&mut self, index: usize, now: Instant) {
        let wait = self.wait;
        let host = &mut self.hosts[index];
        if !host.plan.is_empty() {
            return;
        }
        let expired: Vec<u8> = host
            .sent
            .iter()
            .filter(|(ttl, (at, tries))| !host.settled(**ttl, *at, *tries, now, wait) && now >= *at + wait)
            .map(|(ttl, _)| *ttl)
            .collect();
        host.plan.extend(expired);
        let highest = host.sent.keys().next_back().copied().unwrap_or(0);
        let highest_settled = host
            .sent
            .get(&highest)
            .is_some_and(|&(at, tries)| host.answers.contains_key(&highest) || (tries > RESENDS && now >= at + wait));
        if host.reached.is_none() && highest_settled && highest < MAX_TTL {
            host.plan.push(highest + 1);
        }
    }

    /// Which host and TTL a packet answers, and whether it comes from the host itself.
    fn answer_of(&self, ip: &Ipv4Packet<&[u8]>) -> Option<(Ipv4Addr, u8, bool)> {
        let payload = ip.payload();
        match ip.protocol() {
            PROTO_TCP => {
                let segment = TcpPacket::new_checked(payload).ok()?;
                Some((ip.src(), self.ttl_of_port(segment.dst_port())?, true))
            }
            PROTO_ICMP => {
                let kind = *payload.first()?;
                if kind == 0 {
                    let reply = wire::icmp::parse_query_reply(payload).ok().flatten()?;
                    let ttl = u8::try_from(reply.seq).ok().filter(|_| reply.ident == self.echo_id)?;
                    return Some((ip.src(), ttl, true));
                }
                if kind != TIME_EXCEEDED && kind != DEST_UNREACHABLE {
                    return None;
                }
                let quoted_bytes = payload.get(8..)?;
                let header_len = usize::from(quoted_bytes.first()? & 0x0f) * 4;
                let dst = Ipv4Addr::from(<[u8; 4]>::try_from(quoted_bytes.get(16..20)?).ok()?);
                let transport = quoted_bytes.get(header_len..)?;
                let protocol = *quoted_bytes.get(9)?;
                let ttl = match protocol {
                    PROTO_TCP | PROTO_UDP => {
                        self.ttl_of_port(u16::from_be_bytes([*transport.first()?, *transport.get(1)?]))?
                    }
                    PROTO_ICMP => {
                        let ident = u16::from_be_bytes([*transport.get(4)?, *transport.get(5)?]);
                        let seq = u16::from_be_bytes([*transport.get(6)?, *transport.get(7)?]);
                        u8::try_from(seq).ok().filter(|_| ident == self.echo_id)?
                    }
                    _ => return None,
                };
                Some((dst, ttl, kind == DEST_UNREACHABLE && ip.src() == dst))
            }
            _ => None,
        }
    }

    fn ttl_of_port(&self, port: u16) -> Option<u8> {
        let ttl = u8::try_from(port.checked_sub(self.port_base)?).ok()?;
        (1..=MAX_TTL).contains(&ttl).then_some(ttl)
    }

    fn packet(&self, target: &TraceTarget, ttl: u8) -> Vec<u8> {
        let mut transport = [0u8; 40];
        let src_port = self.port_base + u16::from(ttl);
        let (protocol, len) = match target.probe {
            TraceProbe::Tcp(port) => {
                let segment = SegmentRepr {
                    src_port,
                    dst_port: port,
                    seq: u32::from(src_port) << 16 | u32::from(ttl),
                    ack: 0,
                    reserved: 0,
                    flags: flags::SYN,
                    window: wire::tcp::LINUX_SYN_WINDOW,
                    urgent: 0,
                    options: &[2, 4, 0x05, 0xb4],
                };
                (PROTO_TCP, segment.emit(target.src, target.dst, &mut transport).expect("room for a SYN"))
            }
            TraceProbe::Udp(port) => {
                let len = wire::udp::emit_datagram(target.src, target.dst, src_port, port, &[], &mut transport);
                (PROTO_UDP, len.expect("room for a datagram"))
            }
            TraceProbe::Echo => {
                let len = wire::icmp::emit_echo(self.echo_id, u16::from(ttl), 0, &[], &mut transport);
                (PROTO_ICMP, len.expect("room for an echo"))
            }
        };
        let mut packet = vec![0u8; wire::ipv4::HEADER_LEN + len];
        let header = Ipv4Repr {
            src: target.src,
            dst: target.dst,
            protocol,
            ident: src_port,
            tos: 0,
            ttl,
            dont_fragment: true,
            payload_len: len,
        };
        header.emit(&mut packet).expect("room for the header");
        packet[wire::ipv4::HEADER_LEN..].copy_from_slice(&transport[..len]);
        packet
    }

    /// Each host's hops, in the order the hosts were given: every TTL up to the one the host
    /// answered (all sent, when it never did).
    pub fn into_hops(self) -> Vec<Vec<Hop>> {
        self.hosts
            .into_iter()
            .map(|host| {
                let last = host.reached.unwrap_or_else(|| host.sent.keys().next_back().copied().unwrap_or(0));
                (1..=last).map(|ttl| Hop { ttl, answered: host.answers.get(&ttl).copied() }).collect()
            })
            .collect()
    }
}

/// The engine's packet runner drives traces.
impl Exchange for Traces {
    /// The next probe due at `now`: its destination and the whole IPv4 packet.
    fn poll_transmit(&mut self, now: Instant) -> Option<(Ipv4Addr, Vec<u8>)> {
        self.now = Some(now);
        for index in 0..self.hosts.len() {
            self.extend_or_resend(index, now);
            let host = &mut self.hosts[index];
            if host.plan.is_empty() {
                continue;
            }
            let ttl = host.plan.remove(0);
            let tries = host.sent.get(&ttl).map_or(0, |&(_, tries)| tries);
            host.sent.insert(ttl, (now, tries + 1));
            return Some((host.target.dst, self.packet(&self.hosts[index].target, ttl)));
        }
        None
    }

    fn next_wakeup(&self) -> Option<Instant> {
        self.hosts.iter().flat_map(|host| host.sent.values().map(|(at, _)| *at + self.wait)).min()
    }

    /// Whether every host's trace is done, as of the latest poll.
    fn is_finished(&self) -> bool {
        self.now.is_some_and(|now| self.hosts.iter().all(|host| host.finished(now, self.wait)))
    }

    /// Takes a received IPv4 packet: a router's time exceeded, or the host's own answer.
    fn handle(&mut self, packet: &[u8], now: Instant) {
        let Ok(ip) = Ipv4Packet::new_checked(packet) else { return };
        let Some((dst, ttl, from_host)) = self.answer_of(&ip) else { return };
        let Some(host) = self.hosts.iter_mut().find(|host| host.target.dst == dst) else { return };
        let Some(&(sent, _)) = host.sent.get(&ttl) else { return };
        host.answers.entry(ttl).or_insert((ip.src(), now.saturating_duration_since(sent)));
        if from_host {
            host.reached = Some(host.reached.map_or(ttl, |reached| reached.min(ttl)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCANNER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const ROUTERS: [Ipv4Addr; 2] = [Ipv4Addr::new(198, 18, 0, 2), Ipv4Addr::new(198, 18, 2, 1)];
    const HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 3, 3);

    /// A path of two routers then the host: a probe's answer, if any (`silent` routers drop
    /// their time-exceeded messages).
    fn network(probe: &[u8], silent: &[usize]) -> Option<Vec<u8>> {
        let ip = Ipv4Packet::new_checked(probe).ok()?;
        let hop = usize::from(ip.ttl());
        if hop <= ROUTERS.len() {
            if silent.contains(&(hop - 1)) {
                return None;
            }
            let mut icmp = vec![TIME_EXCEEDED, 0, 0, 0, 0, 0, 0, 0];
            icmp.extend_from_slice(&probe[..28]);
            return Some(ip_packet(ROUTERS[hop - 1], PROTO_ICMP, &icmp));
        }
        let segment = TcpPacket::new_checked(ip.payload()).ok()?;
        let reply = SegmentRepr {
            src_port: segment.dst_port(),
            dst_port: segment.src_port(),
            seq: 0,
            ack: segment.seq().wrapping_add(1),
            reserved: 0,
            flags: flags::RST | flags::ACK,
            window: 0,
            urgent: 0,
            options: &[],
        };
        let mut transport = [0u8; 20];
        reply.emit(HOST, SCANNER, &mut transport).ok()?;
        Some(ip_packet(HOST, PROTO_TCP, &transport))
    }

    fn ip_packet(src: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
        let mut packet = vec![0u8; 20 + payload.len()];
        let header = Ipv4Repr {
            src,
            dst: SCANNER,
            protocol,
            ident: 1,
            tos: 0,
            ttl: 64,
            dont_fragment: false,
            payload_len: payload.len(),
        };
        header.emit(&mut packet).unwrap();
        packet[20..].copy_from_slice(payload);
        packet
    }

    /// Runs a trace to HOST over the simulated path; the hops and the TTLs sent.
    fn trace(expected_hops: u8, silent: &[usize]) -> (Vec<Hop>, Vec<u8>) {
        let target = TraceTarget { src: SCANNER, dst: HOST, probe: TraceProbe::Tcp(23), expected_hops };
        let wait = Duration::from_millis(100);
        let mut traces = Traces::new(vec![target], 40_000, 7, wait);
        let mut now = Instant::now();
        let mut sent = Vec::new();
        while !traces.is_finished() {
            while let Some((_, probe)) = traces.poll_transmit(now) {
                sent.push(probe[8]);
                if let Some(answer) = network(&probe, silent) {
                    traces.handle(&answer, now + Duration::from_millis(1));
                }
            }
            now = traces.next_wakeup().map_or(now + wait, |at| at.max(now + Duration::from_millis(1)));
            assert!(sent.len() < 200, "the trace never ends");
        }
        (traces.into_hops().remove(0), sent)
    }

    #[test]
    fn a_distance_guessed_too_far_stops_at_the_host() {
        let (hops, sent) = trace(10, &[]);
        let answered: Vec<Option<Ipv4Addr>> = hops.iter().map(|hop| hop.answered.map(|(addr, _)| addr)).collect();
        assert_eq!(answered, [Some(ROUTERS[0]), Some(ROUTERS[1]), Some(HOST)]);
        assert_eq!(sent.len(), 10, "TTLs 1 to 10 at once, none again: {sent:?}");
    }

    #[test]
    fn a_distance_guessed_too_near_climbs_a_ttl_at_a_time() {
        let (hops, sent) = trace(1, &[]);
        assert_eq!(hops.len(), 3);
        assert_eq!(hops[2].answered.map(|(addr, _)| addr), Some(HOST));
        assert_eq!(sent, [1, 2, 3]);
    }

    #[test]
    fn a_silent_router_is_a_hop_without_an_address_after_a_second_try() {
        let (hops, sent) = trace(3, &[1]);
        assert_eq!(hops[1].answered, None);
        assert_eq!(hops[2].answered.map(|(addr, _)| addr), Some(HOST));
        assert_eq!(sent.iter().filter(|&&ttl| ttl == 2).count(), 2, "{sent:?}");
    }
}
