//! Lab personalities: hosts that answer OS-detection probes (and port scans) the way one
//! reference fingerprint of Nmap's format describes a system, as honeyd's personalities do,
//! so that -O can be tried against Windows, BSDs, routers and printers in a lab whose
//! namespaces all run this machine's Linux.
//!
//! Each attribute takes a value its expression accepts (the middle of a range), and the
//! answers are made to show it: windows, options, TTLs, flags, sequence and acknowledgement
//! numbers, quirks; initial sequence numbers that grow at the ISR rate with the SP spread and
//! the GCD step; timestamps at the TS rate; IP IDs numbered as TI, CI and II say; the port
//! unreachable quoting U1 as its attributes say, and echo replies as IE says. This module is
//! sans IO; [`crate::Lab::personalities`] puts personalities on addresses of the target.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Instant;

use os::seq::{gcd, mod_diff};

use wire::ipv4::{Ipv4Packet, Ipv4Repr, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use wire::tcp::{SegmentRepr, TcpPacket};

/// Nmap's nmap-os-db as installed, for the tests that take Nmap as their oracle; `None`
/// without Nmap, which under CI (whose test script installs it) is a failure.
pub fn nmap_os_db() -> Option<os::OsDb> {
    let Ok(text) = std::fs::read_to_string("/usr/share/nmap/nmap-os-db") else {
        assert!(std::env::var_os("CI").is_none(), "the test script installs nmap under CI");
        eprintln!("skipped: Nmap's nmap-os-db is not installed");
        return None;
    };
    let (db, errors) = os::parse(&text);
    assert!(errors.is_empty(), "{} lines failed, first: {:?}", errors.len(), errors.first());
    Some(db)
}

/// Systems the lab cannot run, each the first reference of its name in Nmap 7.93's database:
/// desktops, servers, BSDs, a router, an embedded Linux, a printer. Tests and benchmarks
/// play them with [`Personality::playing`].
pub const SYSTEMS: [&str; 8] = [
    "Microsoft Windows 10 1703",
    "Microsoft Windows Server 2012",
    "Apple macOS 10.14 (Mojave) (Darwin 18.2.0 - 18.6.0)",
    "FreeBSD 12.1-RELEASE",
    "OpenBSD 6.3",
    "Cisco IOS 15.5",
    "OpenWrt Backfire 10.03.1 (Linux 2.4.37)",
    "HP LaserJet 1320 printer",
];

/// A test's attributes with the values chosen for them.
type Chosen = BTreeMap<String, String>;

/// One system's behaviour, from a reference fingerprint.
#[derive(Debug)]
pub struct Personality {
    pub addr: Ipv4Addr,
    open: Vec<u16>,
    tests: BTreeMap<String, Chosen>,
    started: Instant,
    isn: IsnClock,
    timestamp: Timestamps,
    open_ids: IdCounter,
    closed_ids: IdCounter,
    icmp_ids: IdCounter,
    /// SS=S: ICMP answers share the open port's counter.
    shared_ids: bool,
    rng: u64,
}

/// Identifies probes by the shapes Nmap's OS detection gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// A SYN to an open port: which of the six SEQ probes (0 for any other SYN).
    Syn(usize),
    Ecn,
    T(u8),
    /// Anything else TCP: no answer.
    Other,
}

impl Personality {
    /// A personality on `addr` with `open` TCP ports (the rest closed), from a reference's
    /// tests (`T1(R=Y%DF=Y%T=3B-45…)` parsed into names and expressions).
    pub fn new(addr: Ipv4Addr, open: &[u16], reference: &[(String, Vec<(String, String)>)], seed: u64) -> Personality {
        let tests: BTreeMap<String, Chosen> = reference
            .iter()
            .map(|(name, attributes)| {
                let chosen = attributes.iter().map(|(key, expr)| (key.clone(), os::satisfying(expr))).collect();
                (name.clone(), chosen)
            })
            .collect();
        let seq = tests.get("SEQ").cloned().unwrap_or_default();
        let hex = |key: &str| seq.get(key).and_then(|value| u64::from_str_radix(value, 16).ok());
        let class = |key: &str| seq.get(key).map_or("I", String::as_str).to_string();
        let mut rng = seed | 1;
        Personality {
            addr,
            open: open.to_vec(),
            isn: IsnClock::new(hex("ISR"), hex("SP"), hex("GCD"), next(&mut rng)),
            timestamp: Timestamps::new(seq.get("TS").map(String::as_str), next(&mut rng)),
            open_ids: IdCounter::new(&class("TI"), next(&mut rng)),
            closed_ids: IdCounter::new(&class("CI"), next(&mut rng)),
            icmp_ids: IdCounter::new(&class("II"), next(&mut rng)),
            shared_ids: seq.get("SS").is_some_and(|ss| ss == "S"),
            tests,
            started: Instant::now(),
            rng,
        }
    }

    /// One personality per system of [`SYSTEMS`], each on its address from `first` on, with
    /// port 22 open; `None` when `db` lacks one of them.
    pub fn playing(db: &os::OsDb, first: Ipv4Addr) -> Option<Vec<Personality>> {
        SYSTEMS
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let reference = db.references.iter().find(|reference| reference.name == *name)?;
                let addr = Ipv4Addr::from(u32::from(first) + index as u32);
                Some(Personality::new(addr, &[22], &reference.tests, index as u64 + 1))
            })
            .collect()
    }

    /// The answer to a packet addressed to this personality, if it gives one.
    pub fn answer(&mut self, packet: &[u8], now: Instant) -> Option<Vec<u8>> {
        let ip = Ipv4Packet::new_checked(packet).ok()?;
        if ip.dst() != self.addr {
            return None;
        }
        match ip.protocol() {
            PROTO_TCP => self.answer_tcp(&ip, now),
            PROTO_UDP => self.answer_udp(packet, &ip),
            PROTO_ICMP => self.answer_echo(&ip),
            _ => None,
        }
    }

    fn classify(&self, segment: &TcpPacket<&[u8]>) -> Asked {
        const SYN: u8 = 0x02;
        const ACK: u8 = 0x10;
        const RST: u8 = 0x04;
        const ECE_CWR_SYN: u8 = 0xc2;
        let open = self.open.contains(&segment.dst_port());
        let flags = segment.flags();
        if flags & RST != 0 {
            return Asked::Other;
        }
        match (flags, segment.window(), open) {
            (ECE_CWR_SYN, _, true) => Asked::Ecn,
            (SYN, window, true) => Asked::Syn(seq_probe(window, segment.options())),
            (0, _, true) => Asked::T(2),
            (0x2b, _, true) => Asked::T(3),
            (ACK, _, true) => Asked::T(4),
            (SYN, _, false) => Asked::T(5),
            (ACK, _, false) => Asked::T(6),
            (0x29, _, false) => Asked::T(7),
            _ => Asked::Other,
        }
    }

    fn answer_tcp(&mut self, ip: &Ipv4Packet<&[u8]>, now: Instant) -> Option<Vec<u8>> {
        let segment = TcpPacket::new_checked(ip.payload()).ok()?;
        let asked = self.classify(&segment);
        let (test, window, options) = match asked {
            Asked::Syn(n) => {
                ("T1".to_string(), self.value("WIN", &format!("W{}", n + 1)), self.value("OPS", &format!("O{}", n + 1)))
            }
            Asked::Ecn => ("ECN".to_string(), self.value("ECN", "W"), self.value("ECN", "O")),
            Asked::T(n) => {
                let test = format!("T{n}");
                let (window, options) = (self.value(&test, "W"), self.value(&test, "O"));
                (test, window, options)
            }
            Asked::Other => return None,
        };
        let test = test.as_str();
        if !self.answers(test) {
            return None;
        }
        let elapsed = now.saturating_duration_since(self.started);
        let mut flags = flags_of(&self.value(test, "F").unwrap_or_default());
        if asked == Asked::Ecn {
            flags = 0x12
                | match self.value("ECN", "CC").as_deref() {
                    Some("Y") => 0x40,
                    Some("S") => 0xc0,
                    Some("O") => 0x80,
                    _ => 0,
                };
        }
        let seq = match self.value(test, "S").as_deref() {
            Some("Z") => 0,
            Some("A") => segment.ack(),
            Some("A+") => segment.ack().wrapping_add(1),
            _ if matches!(asked, Asked::Syn(_) | Asked::Ecn) => self.isn.at(elapsed),
            _ => next(&mut self.rng) as u32,
        };
        let ack = match self.value(test, "A").as_deref() {
            Some("Z") => 0,
            Some("S") => segment.seq(),
            Some("O") => next(&mut self.rng) as u32,
            _ => segment.seq().wrapping_add(1),
        };
        let quirks = self.value(test, "Q").unwrap_or_default();
        let options = encode_options(&options.unwrap_or_default(), self.timestamp.at(elapsed), segment.options());
        let reply = SegmentRepr {
            src_port: segment.dst_port(),
            dst_port: segment.src_port(),
            seq,
            ack,
            reserved: if quirks.contains('R') { 1 } else { 0 },
            flags,
            window: window.and_then(|w| u16::from_str_radix(&w, 16).ok()).unwrap_or(0),
            urgent: if quirks.contains('U') { 0xbeef } else { 0 },
            options: &options,
        };
        let mut transport = [0u8; 60];
        let len = reply.emit(self.addr, ip.src(), &mut transport).ok()?;
        let closed = !self.open.contains(&segment.dst_port());
        let ident = if closed { self.closed_ids.next(&mut self.rng) } else { self.open_ids.next(&mut self.rng) };
        let dont_fragment = self.value(test, "DF").as_deref() == Some("Y");
        Some(self.ip_packet(ip.src(), PROTO_TCP, ident, dont_fragment, self.ttl(test), &transport[..len]))
    }

    /// A port unreachable for any UDP datagram (every UDP port is closed), shaped by U1.
    fn answer_udp(&mut self, packet: &[u8], ip: &Ipv4Packet<&[u8]>) -> Option<Vec<u8>> {
        if !self.answers("U1") {
            return None;
        }
        let hex = |value: Option<String>| value.and_then(|v| u32::from_str_radix(&v, 16).ok());
        let total = hex(self.value("U1", "IPL")).map_or(56, |len| len as usize).max(28 + 28);
        let mut quoted = packet[..packet.len().min(total - 28)].to_vec();
        if let Some(len) = hex(self.value("U1", "RIPL")) {
            quoted[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        }
        if let Some(id) = hex(self.value("U1", "RID")) {
            quoted[4..6].copy_from_slice(&(id as u16).to_be_bytes());
        }
        let header_len = ip.header_len();
        if quoted.len() >= header_len + 8 {
            if let Some(sum) = hex(self.value("U1", "RUCK")) {
                quoted[header_len + 6..header_len + 8].copy_from_slice(&(sum as u16).to_be_bytes());
            }
            if self.value("U1", "RUD").as_deref() == Some("I") && quoted.len() > header_len + 8 {
                quoted[header_len + 8] ^= 0xff;
            }
        }
        quoted[10..12].copy_from_slice(&[0, 0]);
        let checksum = wire::checksum::finish(wire::checksum::sum(&quoted[..header_len.min(quoted.len())]));
        let checksum = match self.value("U1", "RIPCK").as_deref() {
            Some("Z") => 0,
            Some("I") => checksum.wrapping_add(1),
            _ => checksum,
        };
        quoted[10..12].copy_from_slice(&checksum.to_be_bytes());
        let unused = hex(self.value("U1", "UN")).unwrap_or(0);
        let mut icmp = vec![3, 3, 0, 0];
        icmp.extend(unused.to_be_bytes());
        icmp.extend(&quoted);
        let sum = wire::checksum::finish(wire::checksum::sum(&icmp));
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        let ident = self.icmp_id();
        let dont_fragment = self.value("U1", "DF").as_deref() == Some("Y");
        Some(self.ip_packet(ip.src(), PROTO_ICMP, ident, dont_fragment, self.ttl("U1"), &icmp))
    }

    /// An echo reply, shaped by IE: its DF, its code, its TTL.
    fn answer_echo(&mut self, ip: &Ipv4Packet<&[u8]>) -> Option<Vec<u8>> {
        let request = ip.payload();
        if request.first() != Some(&8) || request.len() < 8 || !self.answers("IE") {
            return None;
        }
        let code = match self.value("IE", "CD").as_deref() {
            Some("Z") | None => 0,
            Some("S") => request[1],
            Some("O") => request[1].wrapping_add(1),
            Some(value) => u8::from_str_radix(value, 16).unwrap_or(0),
        };
        let dont_fragment = match self.value("IE", "DFI").as_deref() {
            Some("Y") => true,
            Some("S") => ip.dont_fragment(),
            Some("O") => !ip.dont_fragment(),
            _ => false,
        };
        let mut reply = request.to_vec();
        reply[0] = 0;
        reply[1] = code;
        reply[2..4].copy_from_slice(&[0, 0]);
        let sum = wire::checksum::finish(wire::checksum::sum(&reply));
        reply[2..4].copy_from_slice(&sum.to_be_bytes());
        let ident = self.icmp_id();
        Some(self.ip_packet(ip.src(), PROTO_ICMP, ident, dont_fragment, self.ttl("IE"), &reply))
    }

    fn icmp_id(&mut self) -> u16 {
        if self.shared_ids {
            self.open_ids.next(&mut self.rng)
        } else {
            self.icmp_ids.next(&mut self.rng)
        }
    }

    fn ip_packet(
        &self,
        dst: Ipv4Addr,
        protocol: u8,
        ident: u16,
        dont_fragment: bool,
        ttl: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut packet = vec![0u8; wire::ipv4::HEADER_LEN + payload.len()];
        let header =
            Ipv4Repr { src: self.addr, dst, protocol, ident, tos: 0, ttl, dont_fragment, payload_len: payload.len() };
        header.emit(&mut packet).expect("the buffer holds the header");
        packet[wire::ipv4::HEADER_LEN..].copy_from_slice(payload);
        packet
    }

    /// Whether the reference has the test answered (a test line without R=N).
    fn answers(&self, test: &str) -> bool {
        self.tests.get(test).is_some_and(|attributes| attributes.get("R").is_none_or(|r| r != "N"))
    }

    fn value(&self, test: &str, key: &str) -> Option<String> {
        self.tests.get(test)?.get(key).cloned()
    }

    /// The TTL a test's answers leave with: its T (whose range may run past 255 around an
    /// initial 255), else its TG, else 64.
    fn ttl(&self, test: &str) -> u8 {
        let parse = |key: &str| self.value(test, key).and_then(|ttl| u8::from_str_radix(&ttl, 16).ok());
        parse("T").or_else(|| parse("TG")).unwrap_or(64)
    }
}

/// Which SEQ probe a SYN to an open port is, by its window (and options, for the two with a
/// window of 4); 0 for any other SYN.
fn seq_probe(window: u16, options: &[u8]) -> usize {
    match window {
        63 => 1,
        4 if options.first() == Some(&4) => 3,
        4 => 2,
        16 => 4,
        512 => 5,
        _ => 0,
    }
}

/// TCP flag bits from Nmap's letters (E U A P R S F).
fn flags_of(letters: &str) -> u8 {
    letters
        .chars()
        .map(|letter| match letter {
            'E' => 0x40,
            'U' => 0x20,
            'A' => 0x10,
            'P' => 0x08,
            'R' => 0x04,
            'S' => 0x02,
            'F' => 0x01,
            _ => 0,
        })
        .fold(0, |flags, bit| flags | bit)
}

/// Options from Nmap's shorthand ("M5B4ST11NW7"): `timestamp` as TSval where T1x asks for
/// one, the probe's TSval echoed where Tx1 does.
fn encode_options(text: &str, timestamp: Option<u32>, probe_options: &[u8]) -> Vec<u8> {
    let probe_tsval = probe_timestamp(probe_options).unwrap_or(0xffff_ffff);
    let mut options = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(kind) = chars.next() {
        let mut hex_digits = || {
            let mut digits = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_ascii_hexdigit()) {
                digits.push(c);
                chars.next();
            }
            u32::from_str_radix(&digits, 16).unwrap_or(0)
        };
        match kind {
            'L' => options.push(0),
            'N' => options.push(1),
            'S' => options.extend([4, 2]),
            'M' => {
                let mss = hex_digits() as u16;
                options.extend([2, 4]);
                options.extend(mss.to_be_bytes());
            }
            'W' => {
                let scale = hex_digits() as u8;
                options.extend([3, 3, scale]);
            }
            'T' => {
                let tsval_set = chars.next() == Some('1');
                let tsecr_set = chars.next() == Some('1');
                options.extend([8, 10]);
                options.extend(if tsval_set { timestamp.unwrap_or(1).max(1) } else { 0 }.to_be_bytes());
                options.extend(if tsecr_set { probe_tsval } else { 0 }.to_be_bytes());
            }
            _ => {}
        }
    }
    options.truncate(40);
    options
}

fn probe_timestamp(options: &[u8]) -> Option<u32> {
    let at = options.windows(2).position(|pair| pair == [8, 10])?;
    let value = options.get(at + 2..at + 6)?;
    Some(u32::from_be_bytes([value[0], value[1], value[2], value[3]]))
}

/// Initial sequence numbers: growing at 2^(ISR/8) per second (modulo 2^32), in steps of
/// GCD, and spread so that the rates between samples 100 ms apart deviate by 2^(SP/8): each
/// number is off its line by the same amount, alternately up and down, so that the spread
/// shows in six samples as it would in many.
#[derive(Debug)]
struct IsnClock {
    rate: f64,
    /// How far each number is off its line.
    offset: f64,
    step: u64,
    base: u64,
    issued: u64,
    /// The last number issued.
    last: Option<u32>,
    /// How far it was from the one before, as Nmap measures it.
    last_distance: Option<u32>,
}

/// Above this step, Nmap measures the spread in units of the step.
const LARGE_STEP: u64 = os::seq::LARGE_GCD as u64;

/// A bound on the steps a number is moved on to keep the GCD (a few suffice).
const MOST_NUDGES: u32 = 256;

impl IsnClock {
    fn new(isr: Option<u64>, sp: Option<u64>, gcd: Option<u64>, base: u64) -> IsnClock {
        let power = |value: u64| 2f64.powf(value as f64 / 8.0);
        let step = gcd.filter(|&gcd| gcd > 0).unwrap_or(1);
        let unit = if step > LARGE_STEP { step as f64 } else { 1.0 };
        let deviation = sp.filter(|&sp| sp > 0).map_or(0.0, |sp| power(sp) * unit);
        // Offsets of ±d make rates over 0.1 s alternate by ±20·d, whose deviation over five
        // rates is about 21.9·d.
        // With a large step, the rate is a whole number of steps per 100 ms (rounded down,
        // so that a rate of about one step keeps the step its GCD), so that samples that far
        // apart show no spread the reference does not ask for.
        // A GCD of 0 is a number that never moves.
        let rate = if gcd == Some(0) { 0.0 } else { isr.map_or(0.0, power) };
        let rate =
            if step > LARGE_STEP { (rate * 0.1 / step as f64).floor().max(1.0) * step as f64 / 0.1 } else { rate };
        let offset = deviation / 21.9;
        IsnClock { rate, offset, step, base: base & 0xffff_ffff, issued: 0, last: None, last_distance: None }
    }

    fn at(&mut self, elapsed: std::time::Duration) -> u32 {
        let sign = if self.issued.is_multiple_of(2) { 1.0 } else { -1.0 };
        self.issued += 1;
        // Whole steps along the line and off it, so that a large GCD stays the GCD.
        let step = self.step as f64;
        let along = (self.rate * elapsed.as_secs_f64() / step).round() * step;
        let off = (sign * self.offset / step).round() * step;
        let value = (self.base as f64 + along + off).rem_euclid(4_294_967_296.0) as u64;
        self.keeping_the_gcd_at_most_the_step(((value / self.step) * self.step) as u32)
    }

    /// `value`, moved on by whole steps until its distance from the last number and the
    /// distance before that have no common divisor above the step. Nmap's GCD of any three
    /// numbers in a row is then the step (or less, where the numbers wrapped), never a
    /// multiple of it that chance makes: with a step of 3, about one scan in 160 measured 9,
    /// out of its reference's range. Numbers in large steps keep their even pace, and a
    /// number that never moves stays put.
    fn keeping_the_gcd_at_most_the_step(&mut self, value: u32) -> u32 {
        let step = self.step as u32;
        let random_walk = self.step <= LARGE_STEP && self.rate > 0.0;
        let value = match (random_walk, self.last, self.last_distance.filter(|&distance| distance > 0)) {
            (true, Some(last), Some(before)) => (0..MOST_NUDGES)
                .map(|nudges| value.wrapping_add(nudges * step))
                .find(|&nudged| gcd(mod_diff(nudged, last).into(), before.into()) <= step.into())
                .unwrap_or(value),
            _ => value,
        };
        self.last_distance = self.last.map(|last| mod_diff(value, last));
        self.last = Some(value);
        value
    }
}

/// TCP timestamps: none (TS=U), zero, or ticking at the TS class's rate.
#[derive(Debug)]
enum Timestamps {
    Unsupported,
    Zero,
    Ticking { hz: f64, base: u32 },
}

impl Timestamps {
    fn new(class: Option<&str>, base: u64) -> Timestamps {
        match class {
            Some("U") => Timestamps::Unsupported,
            Some("0") => Timestamps::Zero,
            Some(class) => {
                let hz = match u32::from_str_radix(class, 16).unwrap_or(10) {
                    1 => 2.0,
                    7 => 100.0,
                    8 => 200.0,
                    value => 2f64.powi(value as i32),
                };
                Timestamps::Ticking { hz, base: (base as u32) >> 4 }
            }
            None => Timestamps::Ticking { hz: 1000.0, base: (base as u32) >> 4 },
        }
    }

    fn at(&self, elapsed: std::time::Duration) -> Option<u32> {
        match self {
            Timestamps::Unsupported => None,
            Timestamps::Zero => Some(0),
            Timestamps::Ticking { hz, base } => Some(base.wrapping_add((hz * elapsed.as_secs_f64()) as u64 as u32)),
        }
    }
}

/// IP IDs as an Nmap class describes them.
#[derive(Debug)]
enum IdCounter {
    Zero,
    Random,
    RandomPositive(u16),
    BrokenIncrement(u16),
    Increment(u16),
    Constant(u16),
}

impl IdCounter {
    fn new(class: &str, seed: u64) -> IdCounter {
        let start = (seed >> 16) as u16 & 0x7fff;
        match class {
            "Z" => IdCounter::Zero,
            "RD" => IdCounter::Random,
            "RI" => IdCounter::RandomPositive(start),
            "BI" => IdCounter::BrokenIncrement(start & 0xff00),
            "I" => IdCounter::Increment(start),
            value => u16::from_str_radix(value, 16).map_or(IdCounter::Increment(start), IdCounter::Constant),
        }
    }

    fn next(&mut self, rng: &mut u64) -> u16 {
        match self {
            IdCounter::Zero => 0,
            IdCounter::Random => next(rng) as u16,
            IdCounter::Constant(id) => *id,
            IdCounter::RandomPositive(id) => {
                *id = id.wrapping_add(1001 + (next(rng) % 8000) as u16) | 1;
                *id
            }
            IdCounter::BrokenIncrement(id) => {
                *id = id.wrapping_add(256);
                *id
            }
            IdCounter::Increment(id) => {
                *id = id.wrapping_add(1);
                *id
            }
        }
    }
}

/// A xorshift step: the personalities' randomness, repeatable with their seed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use os::seq::{seq_attributes, SeqReply};

    use super::*;

    /// The SEQ attributes Nmap computes from six SYNs sent 100 ms apart to `clock`, each
    /// arriving up to a millisecond late as `jitter` draws it.
    fn measured(clock: &mut IsnClock, jitter: &mut u64) -> BTreeMap<String, String> {
        let replies: Vec<SeqReply> = (0..6)
            .map(|probe| {
                let sent = Duration::from_millis(100 * probe) + Duration::from_micros(next(jitter) % 1000);
                SeqReply { sent, isn: clock.at(sent), timestamp: None }
            })
            .collect();
        seq_attributes(&replies).into_iter().collect()
    }

    #[test]
    fn isns_in_steps_of_three_never_show_a_gcd_above_three() {
        // OpenWrt Backfire's SEQ(SP=C5-CF%GCD=1-6%ISR=C6-D0), played with GCD 3, SP CA and
        // ISR CB; and FreeBSD 12.1's (SP=101-10B%GCD=1-6%ISR=104-10E), whose numbers wrap
        // several times a second (and so may show a GCD below the step).
        let references = [("C5-CF", "C6-D0", 0xCA, 0xCB), ("101-10B", "104-10E", 0x106, 0x109)];
        let mut seed = 1;
        for (sp_range, isr_range, sp, isr) in references {
            for _ in 0..2000 {
                let mut clock = IsnClock::new(Some(isr), Some(sp), Some(3), next(&mut seed));
                let seq = measured(&mut clock, &mut seed);
                assert!(os::matches(&seq["GCD"], "1-3", false), "{seq:?}");
                assert!(os::matches(&seq["SP"], sp_range, false), "{seq:?}");
                assert!(os::matches(&seq["ISR"], isr_range, false), "{seq:?}");
            }
        }
    }

    #[test]
    fn a_constant_isn_stays_constant_and_a_large_step_keeps_its_pace() {
        let mut constant = IsnClock::new(Some(0), Some(0), Some(0), 12345);
        let mut jitter = 1;
        assert_eq!(measured(&mut constant, &mut jitter)["GCD"], "0");
        // 64000 a step, about one step per 100 ms.
        let mut large = IsnClock::new(Some(0x4D), Some(0), Some(64000), 12345);
        let seq = measured(&mut large, &mut jitter);
        assert_eq!((seq["GCD"].as_str(), seq["SP"].as_str()), ("FA00", "0"), "{seq:?}");
    }
}
