//! One round of OS-detection probes to many hosts at once, sans IO: fed instants and the
//! packets received, it says which probe to send when, and keeps each probe's first answer.
//!
//! Per host, the six SEQ probes leave 100 ms apart (the rates in the SEQ line are measured
//! over that spacing); the other probes follow, 25 ms apart (Nmap's pace, which spares
//! targets' rate limits), and are sent again when unanswered. A SEQ probe that went
//! unanswered is not sent again (its timing is gone) but an OPS probe with its options is, so
//! that the OPS and WIN lines can still be complete. The two echoes go and come back as a
//! pair: the IP IDs of their answers tell how the host counts only when they left together,
//! so when either goes unanswered both are sent again, under new identifiers. Hosts are
//! served in turn, so hundreds are fingerprinted in the time of one.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use engine::drivers::exchange::Exchange;
use wire::ipv4::{Ipv4Packet, PROTO_ICMP, PROTO_TCP, PROTO_UDP};

use crate::probe::{HostProbes, Probe, LONGEST};

/// How a round paces and waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundConfig {
    /// Between a host's SEQ probes.
    pub seq_gap: Duration,
    /// Between a host's other probes.
    pub probe_gap: Duration,
    /// How long an answer is waited for before the probe is sent again or given up.
    pub reply_timeout: Duration,
    /// Times an unanswered probe (other than SEQ) is sent again.
    pub retries: u8,
    /// Times the echo pair is sent again once the host has answered an echo. The pair counts
    /// only when all four of its packets get through (two requests, two replies): at 20 %
    /// loss each way, two times in five, so that four tries miss one round in eight. (A host
    /// that never answers an echo has its pair sent no more often than any other probe.)
    pub echo_retries: u8,
    /// Seeds the probes' IP IDs.
    pub seed: u64,
}

impl Default for RoundConfig {
    fn default() -> Self {
        RoundConfig {
            seq_gap: Duration::from_millis(100),
            probe_gap: Duration::from_millis(25),
            reply_timeout: Duration::from_millis(300),
            retries: 3,
            echo_retries: 7,
            seed: 0,
        }
    }
}

/// What one host answered in a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAnswers {
    pub probes: HostProbes,
    /// When each SEQ probe left, from the round's start.
    pub seq_sent: [Option<Duration>; 6],
    /// Each answered probe's first answer (the whole IPv4 packet), and when it came.
    pub answers: BTreeMap<Probe, (Vec<u8>, Duration)>,
    /// The round showed loss: a probe was answered only when sent again, or a SEQ probe was
    /// not answered while others were. (Probes that got nothing however often they were sent
    /// show a host that does not answer them, not loss.)
    pub loss_seen: bool,
}

#[derive(Debug)]
struct Outstanding {
    probe: Probe,
    sent: Instant,
    tries: u8,
}

#[derive(Debug)]
struct HostRound {
    answers: HostAnswers,
    /// Probes still to send, in order, each with the tries already made.
    plan: VecDeque<(Probe, u8)>,
    outstanding: Vec<Outstanding>,
    last_sent: Option<Instant>,
    /// How many times the echo pair has been sent again: its identifiers move on by two each
    /// time, so that late answers to an earlier pair are not taken for the current one.
    echo_resends: u16,
    /// Whether the host has answered an echo request, in any pair.
    echo_answered: bool,
}

impl HostRound {
    fn new(probes: HostProbes) -> HostRound {
        let plan = Probe::round().filter(|probe| probe.dst_port(&probes).is_some()).map(|probe| (probe, 0)).collect();
        HostRound {
            answers: HostAnswers { probes, seq_sent: [None; 6], answers: BTreeMap::new(), loss_seen: false },
            plan,
            outstanding: Vec::new(),
            last_sent: None,
            echo_resends: 0,
            echo_answered: false,
        }
    }

    /// The probes' numbers for the echo pair now in flight.
    fn current(&self) -> HostProbes {
        let probes = self.answers.probes;
        HostProbes { echo_id: probes.echo_id.wrapping_add(2 * self.echo_resends), ..probes }
    }

    /// When the next planned probe may leave (the first, at once).
    fn next_send(&self, config: &RoundConfig, started: Instant) -> Option<Instant> {
        let &(probe, _) = self.plan.front()?;
        let gap = if matches!(probe, Probe::Seq(_)) { config.seq_gap } else { config.probe_gap };
        Some(self.last_sent.map_or(started, |last| last + gap))
    }

    /// Whether `probe` has left and has no answer yet.
    fn awaits(&self, probe: Probe) -> bool {
        !self.answers.answers.contains_key(&probe)
            && (self.outstanding.iter().any(|out| out.probe == probe)
                || self.plan.iter().any(|&(planned, tries)| planned == probe && tries > 0)
                || matches!(probe, Probe::Seq(n) if self.answers.seq_sent[usize::from(n)].is_some()))
    }

    /// Moves probes whose wait is over back into the plan (or, for SEQ probes, plans their
    /// OPS stand-in), and forgets those out of tries.
    fn expire(&mut self, config: &RoundConfig, now: Instant) {
        let (expired, waiting): (Vec<Outstanding>, Vec<Outstanding>) =
            self.outstanding.drain(..).partition(|out| now >= out.sent + config.reply_timeout);
        self.outstanding = waiting;
        for out in expired {
            match out.probe {
                Probe::Seq(n) => self.plan.push_back((Probe::Ops(n), 0)),
                Probe::Echo(_) if out.tries <= self.echo_retries(config) => self.resend_echoes(out.tries),
                probe if out.tries <= config.retries => self.plan.push_back((probe, out.tries)),
                _ => {}
            }
        }
    }

    /// Times the echo pair may be sent again: more once the host has shown it answers echoes.
    fn echo_retries(&self, config: &RoundConfig) -> u8 {
        if self.echo_answered {
            config.echo_retries
        } else {
            config.retries
        }
    }

    /// Plans both echoes again, as a new pair.
    fn resend_echoes(&mut self, tries: u8) {
        if self.plan.iter().any(|(probe, _)| matches!(probe, Probe::Echo(_))) {
            return;
        }
        self.echo_resends += 1;
        self.outstanding.retain(|out| !matches!(out.probe, Probe::Echo(_)));
        self.answers.answers.retain(|probe, _| !matches!(probe, Probe::Echo(_)));
        self.plan.extend([(Probe::Echo(0), tries), (Probe::Echo(1), tries)]);
    }

    fn finished(&self) -> bool {
        self.plan.is_empty() && self.outstanding.is_empty()
    }
}

/// A round over many hosts.
#[derive(Debug)]
pub struct Round {
    config: RoundConfig,
    started: Instant,
    hosts: Vec<HostRound>,
    by_addr: HashMap<Ipv4Addr, usize>,
    /// The host served next, so that every host gets its turn.
    cursor: usize,
    ip_ids: u64,
}

impl Round {
    pub fn new(hosts: Vec<HostProbes>, config: RoundConfig, now: Instant) -> Round {
        let by_addr = hosts.iter().enumerate().map(|(index, host)| (host.dst, index)).collect();
        Round {
            config,
            started: now,
            hosts: hosts.into_iter().map(HostRound::new).collect(),
            by_addr,
            cursor: 0,
            ip_ids: config.seed | 1,
        }
    }

    /// Each host's answers, in the order the hosts were given.
    pub fn into_answers(self) -> Vec<HostAnswers> {
        self.hosts
            .into_iter()
            .map(|host| {
                let mut answers = host.answers;
                let seq_answered = answers.answers.keys().filter(|probe| matches!(probe, Probe::Seq(_))).count();
                answers.loss_seen |= (1..6).contains(&seq_answered);
                answers
            })
            .collect()
    }
}

/// The engine's packet runner drives rounds.
impl Exchange for Round {
    /// The next probe due at `now`, if any.
    fn poll_transmit(&mut self, now: Instant) -> Option<(Ipv4Addr, Vec<u8>)> {
        let count = self.hosts.len();
        for step in 0..count {
            let index = (self.cursor + step) % count;
            let host = &mut self.hosts[index];
            host.expire(&self.config, now);
            if host.next_send(&self.config, self.started).is_none_or(|at| at > now) {
                continue;
            }
            let (probe, tries) = host.plan.pop_front().expect("a ready host has a probe planned");
            let mut buf = [0u8; LONGEST];
            let len = probe.emit(&host.current(), next_ip_id(&mut self.ip_ids), &mut buf)?;
            if let Probe::Seq(n) = probe {
                host.answers.seq_sent[usize::from(n)] = Some(now - self.started);
            }
            host.outstanding.push(Outstanding { probe, sent: now, tries: tries + 1 });
            host.last_sent = Some(now);
            self.cursor = (index + 1) % count;
            return Some((host.answers.probes.dst, buf[..len].to_vec()));
        }
        None
    }

    /// When the round should next be polled, if it is not finished.
    fn next_wakeup(&self) -> Option<Instant> {
        let sends = self.hosts.iter().filter_map(|host| host.next_send(&self.config, self.started));
        let timeouts =
            self.hosts.iter().flat_map(|host| host.outstanding.iter().map(|out| out.sent + self.config.reply_timeout));
        sends.chain(timeouts).min()
    }

    fn is_finished(&self) -> bool {
        self.hosts.iter().all(HostRound::finished)
    }

    /// Takes a received IPv4 packet; one that answers an outstanding probe is kept.
    fn handle(&mut self, packet: &[u8], now: Instant) {
        let Ok(ip) = Ipv4Packet::new_checked(packet) else { return };
        let Some(&index) = self.by_addr.get(&ip.src()) else { return };
        let host = &mut self.hosts[index];
        let Some(probe) = answered_probe(&ip, &host.current()) else { return };
        if !host.awaits(probe) {
            return;
        }
        let tries = host.outstanding.iter().find(|out| out.probe == probe).map_or(2, |out| out.tries);
        host.answers.loss_seen |= tries > 1;
        host.echo_answered |= matches!(probe, Probe::Echo(_));
        host.outstanding.retain(|out| out.probe != probe);
        // A late answer to a SEQ probe makes its OPS stand-in needless.
        let stand_in = match probe {
            Probe::Seq(n) => Some(Probe::Ops(n)),
            _ => None,
        };
        host.plan.retain(|&(planned, tries)| planned != probe && !(Some(planned) == stand_in && tries == 0));
        host.answers.answers.insert(probe, (packet.to_vec(), now - self.started));
    }
}

/// Which of `host`'s probes a packet from it answers.
fn answered_probe(ip: &Ipv4Packet<&[u8]>, host: &HostProbes) -> Option<Probe> {
    let payload = ip.payload();
    match ip.protocol() {
        PROTO_TCP => {
            let segment = wire::tcp::TcpPacket::new_checked(payload).ok()?;
            let probe = Probe::of_tcp_port(segment.dst_port(), host.port_base)?;
            (probe.dst_port(host) == Some(segment.src_port())).then_some(probe)
        }
        PROTO_ICMP => {
            if let Some(reply) = wire::icmp::parse_query_reply(payload).ok().flatten() {
                let n = reply.ident.wrapping_sub(host.echo_id);
                return (reply.query == wire::icmp::Query::Echo && n < 2).then_some(Probe::Echo(n as u8));
            }
            let unreachable = wire::icmp::parse_unreachable(payload).ok().flatten()?;
            let ports = unreachable.original_transport.get(..4)?;
            let ours = unreachable.original_protocol == PROTO_UDP
                && u16::from_be_bytes([ports[0], ports[1]]) == Probe::udp_source_port(host.port_base)
                && Some(u16::from_be_bytes([ports[2], ports[3]])) == host.closed_udp;
            ours.then_some(Probe::Udp)
        }
        _ => None,
    }
}

/// IP IDs for the probes: a xorshift sequence, so they look random and repeat with the seed.
fn next_ip_id(state: &mut u64) -> u16 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 24) as u16
}
