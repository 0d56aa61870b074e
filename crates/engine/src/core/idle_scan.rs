//! Idle scan (`-sI zombie[:port]`): which ports of a target are open, learnt without sending
//! it one packet from our own address.
//!
//! A zombie that numbers every packet it sends from one counter (an incremental IP
//! identification) tells its counter to anyone: asked with a SYN/ACK, it answers with a RST
//! carrying it. SYNs to the target's ports then leave with the zombie's address as their
//! source. An open port answers the zombie with a SYN/ACK, which the zombie answers with a RST,
//! spending one number; a closed port's RST, or a filtered port's silence, costs it none. Asked
//! again, the counter tells how many of the ports were open. Ports are tested in groups, and a
//! group holding open ports is split in halves until each is found (Nmap's binary search). A
//! counter that moved more than the ports can explain means the zombie was busy: the group is
//! tested again. A zombie is first asked a few times in a row, and refused unless its counter
//! moves by small steps.
//!
//! The counter read after one group is the counter before the next one's SYNs, so each test
//! costs one question to the zombie.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use wire::ipv4::{Ipv4Packet, PROTO_TCP};
use wire::tcp::{emit_probe_v4, flags, ProbeRepr, TcpPacket, LINUX_SYN_WINDOW, PROBE_LEN};

use crate::drivers::exchange::Exchange;

/// Questions asked of a zombie before the scan, to see how its counter moves.
const QUALIFYING_QUESTIONS: usize = 6;
/// The time between qualifying questions.
const QUALIFYING_SPACING: Duration = Duration::from_millis(20);
/// The largest step between consecutive answers of a zombie that counts as incremental: one
/// for our question, and a little room for other traffic.
const LARGEST_IDLE_STEP: u16 = 5;
/// How long an answer to a question may take before the question is asked again, until a
/// round trip is measured; and how many times it is asked.
const FIRST_QUESTION_TIMEOUT: Duration = Duration::from_secs(1);
const QUESTION_TRIES: u32 = 3;
/// The least time the SYNs of a group are given to draw the target's answers and the
/// zombie's RSTs: a round trip from us to the zombie is no measure of the path from the
/// target to it.
const LEAST_SETTLE: Duration = Duration::from_millis(50);
/// Ports tested together at first.
const GROUP_SIZE: usize = 32;
/// Tests of one scan that a busy zombie may spoil before the scan gives up on it.
const BUSY_TESTS_ALLOWED: u32 = 10;

/// Who is who in an idle scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleConfig {
    /// Our address, which only the zombie sees.
    pub scanner: Ipv4Addr,
    pub zombie: Ipv4Addr,
    /// The zombie's port the questions go to (Nmap's default: 80).
    pub zombie_port: u16,
    pub target: Ipv4Addr,
    /// The port questions leave from, where the zombie's answers come back.
    pub question_port: u16,
    /// The source port of the SYNs sent in the zombie's name.
    pub spoofed_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdleError {
    #[error("the zombie {0} does not answer a SYN/ACK to port {1} with a RST")]
    ZombieSilent(Ipv4Addr, u16),
    #[error(
        "the zombie {zombie}'s IP identification is not incremental (it gave {ids:?}): it cannot tell what it sent"
    )]
    NotIncremental { zombie: Ipv4Addr, ids: Vec<u16> },
    #[error("the zombie {0} is not idle: its IP identification keeps moving more than the scan explains")]
    ZombieBusy(Ipv4Addr),
}

/// Where the scan stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Asking the zombie its counter several times in a row.
    Qualifying {
        ids: Vec<u16>,
    },
    /// A group's SYNs have left, from a counter of `before`; the counter is read at `until`.
    Settling {
        group: Vec<u16>,
        before: u16,
        until: Instant,
    },
    /// Waiting for the counter after a group's SYNs; or, with no reading `before` (an answer
    /// was lost, and with it the count), for a fresh reading to test the group again from.
    Reading {
        group: Vec<u16>,
        before: Option<u16>,
    },
    Done,
}

/// A question out to the zombie.
#[derive(Debug, Clone, Copy)]
struct Question {
    nonce: u32,
    sent_at: Instant,
    tries: u32,
}

/// The idle scan of one target through one zombie, as a packet exchange.
pub struct IdleScan {
    config: IdleConfig,
    stage: Stage,
    groups: VecDeque<Vec<u16>>,
    open: Vec<u16>,
    outbox: VecDeque<(Ipv4Addr, Vec<u8>)>,
    question: Option<Question>,
    /// When the next qualifying question is due.
    next_question: Option<Instant>,
    round_trip: Option<Duration>,
    busy_tests: u32,
    nonce: u32,
    error: Option<IdleError>,
}

impl IdleScan {
    /// The scan of `ports`, which starts by qualifying the zombie at `now`; `seed` varies the
    /// questions' and SYNs' sequence numbers.
    pub fn new(config: IdleConfig, ports: &[u16], seed: u32, now: Instant) -> IdleScan {
        let groups = ports.chunks(GROUP_SIZE).map(<[u16]>::to_vec).collect();
        let mut scan = IdleScan {
            config,
            stage: Stage::Qualifying { ids: Vec::new() },
            groups,
            open: Vec::new(),
            outbox: VecDeque::new(),
            question: None,
            next_question: None,
            round_trip: None,
            busy_tests: 0,
            nonce: seed | 1,
            error: None,
        };
        scan.ask(now);
        scan
    }

    /// The open ports found, in order, or why the zombie could not serve.
    pub fn into_result(self) -> Result<Vec<u16>, IdleError> {
        match self.error {
            Some(error) => Err(error),
            None => {
                let mut open = self.open;
                open.sort_unstable();
                Ok(open)
            }
        }
    }

    fn question_timeout(&self) -> Duration {
        self.round_trip.map_or(FIRST_QUESTION_TIMEOUT, |rtt| (rtt * 4).max(Duration::from_millis(100)))
    }

    fn settle_time(&self) -> Duration {
        self.round_trip.map_or(LEAST_SETTLE, |rtt| (rtt * 4).max(LEAST_SETTLE))
    }

    fn next_nonce(&mut self) -> u32 {
        // A full-period sequence (an LCG modulo 2^32): no nonce repeats within a scan.
        self.nonce = self.nonce.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        self.nonce
    }

    /// Asks the zombie its counter: a SYN/ACK, whose acknowledgment number the RST answering
    /// it carries back as its sequence number.
    fn ask(&mut self, now: Instant) {
        let tries = self.question.map_or(1, |question| question.tries + 1);
        let nonce = self.next_nonce();
        let probe = ProbeRepr {
            src_port: self.config.question_port,
            dst_port: self.config.zombie_port,
            seq: nonce.rotate_left(16),
            ack: nonce,
            flags: flags::SYN | flags::ACK,
            window: LINUX_SYN_WINDOW,
            timestamp: nonce,
        };
        self.send(self.config.scanner, self.config.zombie, &probe, nonce as u16);
        self.question = Some(Question { nonce, sent_at: now, tries });
    }

    /// SYNs to `group`'s ports in the zombie's name.
    fn send_spoofed(&mut self, group: &[u16]) {
        for &port in group {
            let seq = self.next_nonce();
            let syn = ProbeRepr {
                src_port: self.config.spoofed_port,
                dst_port: port,
                seq,
                ack: 0,
                flags: flags::SYN,
                window: LINUX_SYN_WINDOW,
                timestamp: seq,
            };
            self.send(self.config.zombie, self.config.target, &syn, seq as u16);
        }
    }

    fn send(&mut self, src: Ipv4Addr, dst: Ipv4Addr, probe: &ProbeRepr, ident: u16) {
        let mut packet = vec![0u8; PROBE_LEN];
        let len = emit_probe_v4(src, dst, ident, probe, &mut packet).expect("a probe fits its buffer");
        packet.truncate(len);
        self.outbox.push_back((dst, packet));
    }

    /// The zombie's counter, read at `now`.
    fn counter_read(&mut self, id: u16, now: Instant) {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Qualifying { mut ids } => {
                ids.push(id);
                if ids.len() < QUALIFYING_QUESTIONS {
                    self.stage = Stage::Qualifying { ids };
                    self.next_question = Some(now + QUALIFYING_SPACING);
                } else if ids.windows(2).all(|pair| (1..=LARGEST_IDLE_STEP).contains(&pair[1].wrapping_sub(pair[0]))) {
                    self.next_group(id, now);
                } else {
                    self.error = Some(IdleError::NotIncremental { zombie: self.config.zombie, ids });
                }
            }
            Stage::Reading { group, before: Some(before) } => {
                self.judge(group, before, id);
                self.next_group(id, now);
            }
            Stage::Reading { group, before: None } => {
                self.groups.push_front(group);
                self.next_group(id, now);
            }
            stage => self.stage = stage,
        }
    }

    /// What a group's effect on the counter says. Our question spent one number.
    fn judge(&mut self, mut group: Vec<u16>, before: u16, after: u16) {
        let opened = usize::from(after.wrapping_sub(before).wrapping_sub(1));
        if opened == 0 {
            return; // every port closed or filtered
        }
        if opened > group.len() {
            self.busy_tests += 1;
            if self.busy_tests > BUSY_TESTS_ALLOWED {
                self.error = Some(IdleError::ZombieBusy(self.config.zombie));
            }
            self.groups.push_front(group);
            return;
        }
        if opened == group.len() {
            self.open.append(&mut group);
            return;
        }
        let second = group.split_off(group.len() / 2);
        self.groups.push_front(second);
        self.groups.push_front(group);
    }

    /// Sends the next group's SYNs, the counter being `counter`; or ends.
    fn next_group(&mut self, counter: u16, now: Instant) {
        self.question = None;
        if self.error.is_some() {
            return;
        }
        match self.groups.pop_front() {
            Some(group) => {
                self.send_spoofed(&group);
                self.stage = Stage::Settling { group, before: counter, until: now + self.settle_time() };
            }
            None => self.stage = Stage::Done,
        }
    }

    /// A question unanswered: asked again, or the zombie given up.
    fn question_timed_out(&mut self, now: Instant) {
        let Some(question) = self.question else { return };
        if now < question.sent_at + self.question_timeout() {
            return;
        }
        if question.tries >= QUESTION_TRIES {
            self.error = Some(IdleError::ZombieSilent(self.config.zombie, self.config.zombie_port));
            self.stage = Stage::Done;
            return;
        }
        // The zombie may have spent a number on an answer that was lost, which would read as
        // an open port: a group whose SYNs went out is tested again from a fresh reading.
        if let Stage::Reading { before, .. } = &mut self.stage {
            *before = None;
        }
        self.ask(now);
    }
}

impl Exchange for IdleScan {
    fn poll_transmit(&mut self, now: Instant) -> Option<(Ipv4Addr, Vec<u8>)> {
        if let Some(packet) = self.outbox.pop_front() {
            return Some(packet);
        }
        if self.error.is_some() {
            self.stage = Stage::Done;
            return None;
        }
        if self.next_question.is_some_and(|due| now >= due) {
            self.next_question = None;
            self.ask(now);
        } else if matches!(self.stage, Stage::Settling { until, .. } if now >= until) {
            let Stage::Settling { group, before, .. } = std::mem::replace(&mut self.stage, Stage::Done) else {
                unreachable!("matched above")
            };
            self.stage = Stage::Reading { group, before: Some(before) };
            self.ask(now);
        } else {
            self.question_timed_out(now);
        }
        self.outbox.pop_front()
    }

    fn handle(&mut self, packet: &[u8], now: Instant) {
        let Ok(ip) = Ipv4Packet::new_checked(packet) else { return };
        if ip.protocol() != PROTO_TCP || ip.src() != self.config.zombie || ip.dst() != self.config.scanner {
            return;
        }
        let Ok(segment) = TcpPacket::new_checked(ip.payload()) else { return };
        let Some(question) = self.question else { return };
        let answers = segment.flags() & flags::RST != 0
            && segment.src_port() == self.config.zombie_port
            && segment.dst_port() == self.config.question_port
            && segment.seq() == question.nonce;
        if !answers {
            return;
        }
        let rtt = now.saturating_duration_since(question.sent_at);
        self.round_trip = Some(self.round_trip.map_or(rtt, |old| (old * 7 + rtt) / 8));
        self.question = None;
        self.counter_read(ip.ident(), now);
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let settling = match self.stage {
            Stage::Settling { until, .. } => Some(until),
            _ => None,
        };
        let question = self.question.map(|question| question.sent_at + self.question_timeout());
        [settling, question, self.next_question].into_iter().flatten().min()
    }

    fn is_finished(&self) -> bool {
        self.stage == Stage::Done && self.outbox.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCANNER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const TARGET: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    const ZOMBIE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
    const CONFIG: IdleConfig = IdleConfig {
        scanner: SCANNER,
        zombie: ZOMBIE,
        zombie_port: 80,
        target: TARGET,
        question_port: 50000,
        spoofed_port: 50001,
    };

    /// A zombie and a target on one link, a millisecond apart.
    struct World {
        /// The zombie's counter; `None` for a zombie that sends every packet with 0.
        counter: Option<u16>,
        open: Vec<u16>,
        /// Answers to the zombie's questions not sent (the zombie silent), by question number.
        silent_answers: Vec<u32>,
        /// Questions before whose answer the zombie sends a packet of its own (busy), by number.
        busy_before: Vec<u32>,
        questions: u32,
        spoofed_syns: u32,
    }

    impl World {
        fn new(open: &[u16]) -> World {
            World {
                counter: Some(1000),
                open: open.to_vec(),
                silent_answers: vec![],
                busy_before: vec![],
                questions: 0,
                spoofed_syns: 0,
            }
        }

        fn spend(&mut self) -> u16 {
            match &mut self.counter {
                Some(counter) => {
                    *counter = counter.wrapping_add(1);
                    *counter
                }
                None => 0,
            }
        }

        /// What reaches us for `packet`: the zombie's RST to a question.
        fn receive(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
            let ip = Ipv4Packet::new_checked(packet).unwrap();
            let segment = TcpPacket::new_checked(ip.payload()).unwrap();
            if ip.dst() == TARGET {
                assert_eq!(ip.src(), ZOMBIE, "nothing reaches the target from our own address");
                self.spoofed_syns += 1;
                if self.open.contains(&segment.dst_port()) {
                    self.spend(); // its RST to the target's SYN/ACK
                }
                return None;
            }
            assert_eq!((ip.dst(), segment.flags()), (ZOMBIE, flags::SYN | flags::ACK));
            self.questions += 1;
            if self.busy_before.contains(&self.questions) {
                self.spend();
            }
            let id = self.spend();
            if self.silent_answers.contains(&self.questions) {
                return None;
            }
            let rst = ProbeRepr {
                src_port: segment.dst_port(),
                dst_port: segment.src_port(),
                seq: segment.ack(),
                ack: 0,
                flags: flags::RST,
                window: 0,
                timestamp: 0,
            };
            let mut answer = vec![0u8; PROBE_LEN];
            let len = emit_probe_v4(ZOMBIE, SCANNER, id, &rst, &mut answer).unwrap();
            answer.truncate(len);
            Some(answer)
        }
    }

    /// Runs the scan of `ports` against `world` on a simulated clock.
    fn run(world: &mut World, ports: &[u16]) -> Result<Vec<u16>, IdleError> {
        let mut now = Instant::now();
        let mut scan = IdleScan::new(CONFIG, ports, 7, now);
        let mut in_flight: Vec<(Instant, Vec<u8>)> = Vec::new();
        for _ in 0..100_000 {
            if scan.is_finished() {
                return scan.into_result();
            }
            while let Some((_, packet)) = scan.poll_transmit(now) {
                if let Some(answer) = world.receive(&packet) {
                    in_flight.push((now + Duration::from_millis(1), answer));
                }
            }
            let arrived: Vec<Vec<u8>> =
                in_flight.iter().filter(|(at, _)| *at <= now).map(|(_, packet)| packet.clone()).collect();
            in_flight.retain(|(at, _)| *at > now);
            arrived.iter().for_each(|packet| scan.handle(packet, now));
            let next = [scan.next_wakeup(), in_flight.iter().map(|(at, _)| *at).min()].into_iter().flatten().min();
            now = next.map_or(now + Duration::from_millis(1), |next| next.max(now + Duration::from_micros(10)));
        }
        panic!("the scan did not end");
    }

    #[test]
    fn open_ports_are_found_by_halving_groups() {
        let mut world = World::new(&[22, 80, 81, 443]);
        let ports: Vec<u16> = (1..=1000).collect();
        assert_eq!(run(&mut world, &ports), Ok(vec![22, 80, 81, 443]));
        // 32 groups, each open port found in about five halvings: far fewer questions than
        // ports, and each open port's halvings send its group's SYNs again at most twice over.
        assert!(world.questions < 120, "{} questions", world.questions);
        assert!(world.spoofed_syns <= 1000 + 4 * 2 * GROUP_SIZE as u32, "{} SYNs", world.spoofed_syns);
    }

    #[test]
    fn a_zombie_without_an_incremental_counter_is_refused() {
        let mut world = World::new(&[22]);
        world.counter = None;
        let Err(IdleError::NotIncremental { ids, .. }) = run(&mut world, &[22]) else { panic!("accepted") };
        assert_eq!(ids, [0; QUALIFYING_QUESTIONS]);
        assert_eq!(world.spoofed_syns, 0, "nothing sent in its name");
    }

    #[test]
    fn a_busy_zombie_has_its_groups_tested_again() {
        let mut world = World::new(&[25, 700]);
        // Traffic of its own while groups were out: read as more open ports than there are.
        world.busy_before = vec![8, 9, 15, 30];
        let ports: Vec<u16> = (1..=1000).collect();
        assert_eq!(run(&mut world, &ports), Ok(vec![25, 700]));
    }

    #[test]
    fn a_lost_answer_does_not_read_as_an_open_port() {
        let mut world = World::new(&[25]);
        // The answers after the first and third groups' SYNs: the zombie spent their numbers.
        world.silent_answers = vec![7, 9];
        let ports: Vec<u16> = (1..=100).collect();
        assert_eq!(run(&mut world, &ports), Ok(vec![25]));
    }

    #[test]
    fn a_silent_zombie_is_given_up() {
        let mut world = World::new(&[22]);
        world.silent_answers = (1..=10).collect();
        assert_eq!(run(&mut world, &[22]), Err(IdleError::ZombieSilent(ZOMBIE, 80)));
    }
}
