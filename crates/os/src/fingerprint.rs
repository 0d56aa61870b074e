//! A host's fingerprint from what it answered in a round (Nmap's makeFP): the SEQ, OPS, WIN,
//! ECN, T1–T7, U1 and IE lines in Nmap's order, each test a probe drew no answer to written
//! `R=N`, and TTLs settled by the hop count U1 revealed.

use std::time::Duration;

use wire::ipv4::Ipv4Packet;
use wire::tcp::TcpPacket;

use crate::assemble::{ops_and_win, settle_ttls, SynReply};
use crate::db::Tests;
use crate::ipid::{ipid_attributes, IpIdClass};
use crate::probe::{HostProbes, Probe, UDP_DATA_LEN, UDP_FILL, UDP_IP_ID};
use crate::reply::{ecn_test, t_test, TcpReply};
use crate::round::HostAnswers;
use crate::seq::{seq_attributes, timestamp_rate, uptime, SeqReply};

/// What a round tells about a host.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub tests: Tests,
    /// Hops to the host, from the TTL U1 arrived with (as quoted in the port unreachable).
    pub hops: Option<u8>,
    pub sequence: Sequence,
}

/// The SEQ probes' answers as Nmap reports them beside the matches.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sequence {
    /// The SYN/ACKs' initial sequence numbers.
    pub isns: Vec<u32>,
    /// Their IP IDs, and how they go.
    pub ip_ids: Vec<u16>,
    pub ip_id_class: Option<IpIdClass>,
    /// Their timestamps (TSval), when each carried one.
    pub timestamps: Vec<u32>,
    /// How fast the timestamps tick, in hertz.
    pub timestamp_hz: Option<f64>,
    /// SP, when four or more were answered: the difficulty of predicting the next ISN.
    pub difficulty: Option<u32>,
    pub uptime: Option<Duration>,
}

/// The TTL probes leave with (see [`crate::probe`]), from which U1's quoted TTL counts hops.
const SENT_TTL: u8 = 64;

/// The fingerprint of one host's answers in one or more rounds, as a lossless network would
/// have given it in one: the SEQ line from the round with the most SEQ answers (its rates need
/// their own round's timing), with the IP ID classes it lacks from any other round; every
/// other test from the first round that drew an answer to it.
pub fn observe(rounds: &[HostAnswers]) -> Observation {
    let mut observations = rounds.iter().map(observe_round);
    let Some(first) = observations.next() else {
        return Observation { tests: Tests::new(), hops: None, sequence: Sequence::default() };
    };
    let all: Vec<Observation> = std::iter::once(first).chain(observations).collect();
    let mut best_seq = 0;
    for (index, round) in all.iter().enumerate() {
        if round.sequence.isns.len() > all[best_seq].sequence.isns.len() {
            best_seq = index;
        }
    }
    let mut merged = all[best_seq].clone();
    merged.hops = all.iter().find_map(|round| round.hops);
    merged.tests = TEST_ORDER
        .iter()
        .filter_map(|&name| {
            let attributes = if name == "SEQ" {
                let mut seq = test(&all[best_seq].tests, name).cloned().unwrap_or_default();
                fill_seq(&mut seq, &all);
                Some(seq).filter(|seq| !seq.is_empty())
            } else {
                let found: Vec<&Vec<(String, String)>> =
                    all.iter().filter_map(|round| test(&round.tests, name)).collect();
                found.iter().find(|found| !is_no_response(found)).or(found.first()).map(|found| (*found).clone())
            };
            attributes.map(|attributes| (name.to_string(), attributes))
        })
        .collect();
    settle_ttls(&mut merged.tests, merged.hops);
    merged
}

/// Nmap's order of the tests.
const TEST_ORDER: [&str; 13] = ["SEQ", "OPS", "WIN", "ECN", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "U1", "IE"];

/// SEQ's IP ID classes (TI, CI, II, SS) that `attributes` lacks, from the first round that
/// has them, in Nmap's order.
fn fill_seq(attributes: &mut Vec<(String, String)>, rounds: &[Observation]) {
    const ORDER: [&str; 8] = ["SP", "GCD", "ISR", "TI", "CI", "II", "SS", "TS"];
    for key in ["TI", "CI", "II", "SS"] {
        if attributes.iter().any(|(known, _)| known == key) {
            continue;
        }
        let found = rounds
            .iter()
            .filter_map(|round| test(&round.tests, "SEQ"))
            .find_map(|seq| seq.iter().find(|(other, _)| other == key).cloned());
        attributes.extend(found);
    }
    attributes.sort_by_key(|(key, _)| ORDER.iter().position(|known| known == key));
}

fn test<'t>(tests: &'t Tests, name: &str) -> Option<&'t Vec<(String, String)>> {
    tests.iter().find(|(test, _)| test == name).map(|(_, attributes)| attributes)
}

fn is_no_response(attributes: &[(String, String)]) -> bool {
    attributes.first().is_some_and(|(key, value)| key == "R" && value == "N")
}

/// One round's fingerprint, its TTLs as received.
fn observe_round(host: &HostAnswers) -> Observation {
    let probes = &host.probes;
    let tcp = |probe: Probe| host.answers.get(&probe).and_then(|(packet, _)| TcpAnswer::parse(packet));
    let syn_acks: Vec<(usize, TcpAnswer<'_>)> = (0..6)
        .filter_map(|n| tcp(Probe::Seq(n)).filter(TcpAnswer::is_syn_ack).map(|answer| (usize::from(n), answer)))
        .collect();
    let mut tests = Tests::new();
    let mut sequence = Sequence::default();
    if probes.open_tcp.is_some() {
        let seq_replies: Vec<SeqReply> = syn_acks
            .iter()
            .filter_map(|(n, answer)| {
                Some(SeqReply { sent: host.seq_sent[*n]?, isn: answer.tcp.seq, timestamp: answer.timestamp() })
            })
            .collect();
        let ids = |probes: &[Probe]| -> Vec<u16> {
            probes
                .iter()
                .filter_map(|&probe| host.answers.get(&probe))
                .filter_map(|(packet, _)| ip_id(packet))
                .collect()
        };
        sequence.ip_ids = syn_acks.iter().map(|(_, answer)| answer.ip_id).collect();
        let closed_ids = ids(&[Probe::T(5), Probe::T(6), Probe::T(7)]);
        let echo_ids = if host.answers.contains_key(&Probe::Echo(0)) && host.answers.contains_key(&Probe::Echo(1)) {
            ids(&[Probe::Echo(0), Probe::Echo(1)])
        } else {
            Vec::new()
        };
        let mut attributes = seq_attributes(&seq_replies);
        let timestamp_at = attributes.iter().position(|(key, _)| key == "TS").unwrap_or(attributes.len());
        let ipid = ipid_attributes(&sequence.ip_ids, &closed_ids, &echo_ids);
        attributes.splice(timestamp_at..timestamp_at, ipid);
        if !attributes.is_empty() {
            tests.push(("SEQ".into(), attributes));
        }
        sequence.isns = seq_replies.iter().map(|reply| reply.isn).collect();
        sequence.timestamps = seq_replies.iter().filter_map(|reply| reply.timestamp).collect();
        sequence.ip_id_class = (sequence.ip_ids.len() >= 3).then(|| IpIdClass::of(&sequence.ip_ids));
        sequence.difficulty = (seq_replies.len() >= 4).then(|| sp(&tests)).flatten();
        sequence.uptime = uptime(&seq_replies);
        sequence.timestamp_hz = timestamp_rate(&seq_replies);
        // OPS and WIN: each SEQ probe's answer, or its OPS stand-in's.
        let syn_replies: Vec<TcpAnswer<'_>> = (0..6)
            .filter_map(|n| {
                let syn_ack = syn_acks.iter().find(|(index, _)| *index == usize::from(n)).map(|(_, a)| *a);
                syn_ack.or_else(|| tcp(Probe::Ops(n)).filter(TcpAnswer::is_syn_ack))
            })
            .collect();
        let replies: Vec<SynReply<'_>> = syn_replies
            .iter()
            .map(|answer| SynReply { options: answer.tcp.options, window: answer.tcp.window })
            .collect();
        tests.extend(ops_and_win(&replies).into_iter().flatten());
        let ecn = tcp(Probe::Ecn).map_or_else(no_response, |answer| ecn_test(&answer.tcp));
        tests.push(("ECN".into(), ecn));
        let first = tcp(Probe::Seq(0)).or_else(|| tcp(Probe::Ops(0)));
        let t1 = first.map_or_else(no_response, |answer| {
            t_test(&answer.tcp, Probe::Seq(0).seq(probes), Probe::Seq(0).ack(probes), true)
        });
        tests.push(("T1".into(), t1));
    }
    for n in 2..=7u8 {
        let probe = Probe::T(n);
        if probe.dst_port(probes).is_none() {
            continue;
        }
        let attributes = tcp(probe)
            .map_or_else(no_response, |answer| t_test(&answer.tcp, probe.seq(probes), probe.ack(probes), false));
        tests.push((format!("T{n}"), attributes));
    }
    let mut hops = None;
    if probes.closed_udp.is_some() {
        let u1 = host.answers.get(&Probe::Udp).and_then(|(packet, _)| u1_test(packet, probes));
        hops = u1.as_ref().map(|(_, hops)| *hops);
        tests.push(("U1".into(), u1.map_or_else(no_response, |(attributes, _)| attributes)));
    }
    let echoes = [Probe::Echo(0), Probe::Echo(1)].map(|probe| host.answers.get(&probe));
    let ie = match echoes {
        [Some(first), Some(second)] => ie_test(first, second),
        _ => None,
    };
    tests.push(("IE".into(), ie.unwrap_or_else(no_response)));
    Observation { tests, hops, sequence }
}

fn no_response() -> Vec<(String, String)> {
    vec![("R".into(), "N".into())]
}

fn sp(tests: &Tests) -> Option<u32> {
    let (_, seq) = tests.iter().find(|(name, _)| name == "SEQ")?;
    let (_, value) = seq.iter().find(|(key, _)| key == "SP")?;
    u32::from_str_radix(value, 16).ok()
}

fn ip_id(packet: &[u8]) -> Option<u16> {
    Ipv4Packet::new_checked(packet).ok().map(|ip| ip.ident())
}

/// A TCP answer's headers, as [`crate::reply`] reads them.
#[derive(Debug, Clone, Copy)]
struct TcpAnswer<'a> {
    tcp: TcpReply<'a>,
    ip_id: u16,
}

impl<'a> TcpAnswer<'a> {
    fn parse(packet: &'a [u8]) -> Option<TcpAnswer<'a>> {
        let ip = Ipv4Packet::new_checked(packet).ok()?;
        let ip_id = ip.ident();
        let (ttl, dont_fragment) = (ip.ttl(), ip.dont_fragment());
        let header_len = ip.header_len();
        let end = ip.total_len().min(packet.len());
        let segment = TcpPacket::new_checked(packet.get(header_len..end)?).ok()?;
        let tcp = TcpReply {
            ttl,
            dont_fragment,
            window: segment.window(),
            seq: segment.seq(),
            ack: segment.ack(),
            flags: segment.flags(),
            reserved: segment.reserved(),
            urgent_pointer: segment.urgent_pointer(),
            options: &packet[header_len + 20..header_len + segment.header_len()],
            data: &packet[header_len + segment.header_len()..end],
        };
        Some(TcpAnswer { tcp, ip_id })
    }

    fn is_syn_ack(answer: &TcpAnswer<'_>) -> bool {
        const SYN_ACK: u8 = 0x12;
        answer.tcp.flags & SYN_ACK == SYN_ACK
    }

    /// The TSval of its timestamp option.
    fn timestamp(&self) -> Option<u32> {
        let mut rest = self.tcp.options;
        while let Some(&kind) = rest.first() {
            match kind {
                0 => return None,
                1 => rest = &rest[1..],
                _ => {
                    let len = usize::from(*rest.get(1)?);
                    if len < 2 || len > rest.len() {
                        return None;
                    }
                    if kind == 8 && len == 10 {
                        return Some(u32::from_be_bytes([rest[2], rest[3], rest[4], rest[5]]));
                    }
                    rest = &rest[len..];
                }
            }
        }
        None
    }
}

/// U1's attributes (Nmap's processTUdpResp) and the hop count, from the port unreachable
/// quoting the probe: what came back of the probe's IP length, ID, checksums and data.
fn u1_test(packet: &[u8], probes: &HostProbes) -> Option<(Vec<(String, String)>, u8)> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    let icmp = ip.payload();
    let quoted = icmp.get(8..)?;
    let quoted_header_len = usize::from(quoted.first()? & 0x0f) * 4;
    let quoted_header = quoted.get(..quoted_header_len.max(20))?;
    let udp = quoted.get(quoted_header_len..quoted_header_len + 8)?;
    let be16 = |bytes: &[u8], at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
    let quoted_len = be16(quoted_header, 2);
    let quoted_id = be16(quoted_header, 4);
    let quoted_ttl = quoted_header[8];
    let quoted_checksum = be16(quoted_header, 10);
    let ip_checksum = if quoted_checksum == 0 {
        "Z".to_string()
    } else {
        let mut header = quoted_header[..20].to_vec();
        header[10..12].copy_from_slice(&[0, 0]);
        let good = wire::checksum::finish(wire::checksum::sum(&header)) == quoted_checksum;
        if good { "G" } else { "I" }.to_string()
    };
    let udp_checksum = be16(udp, 6);
    let sent_checksum = sent_udp_checksum(probes)?;
    let data = &quoted[quoted_header_len + 8..];
    let data_intact = data.iter().take(UDP_DATA_LEN).all(|&byte| byte == UDP_FILL);
    let good_or_hex = |good: bool, value: u16| if good { "G".to_string() } else { format!("{value:X}") };
    let attributes = [
        ("R", "Y".to_string()),
        ("DF", if ip.dont_fragment() { "Y" } else { "N" }.to_string()),
        ("T", format!("{:X}", ip.ttl())),
        ("IPL", format!("{:X}", ip.total_len())),
        ("UN", format!("{:X}", u32::from_be_bytes([icmp[4], icmp[5], icmp[6], icmp[7]]))),
        ("RIPL", good_or_hex(quoted_len == 328, quoted_len)),
        ("RID", good_or_hex(quoted_id == UDP_IP_ID, quoted_id)),
        ("RIPCK", ip_checksum),
        ("RUCK", good_or_hex(udp_checksum == sent_checksum, udp_checksum)),
        ("RUD", if data_intact { "G" } else { "I" }.to_string()),
    ];
    let hops = SENT_TTL.checked_sub(quoted_ttl)?.checked_add(1)?;
    Some((attributes.into_iter().map(|(key, value)| (key.to_string(), value)).collect(), hops))
}

/// The checksum U1 left with.
fn sent_udp_checksum(probes: &HostProbes) -> Option<u16> {
    let mut buf = [0u8; crate::probe::LONGEST];
    let len = Probe::Udp.emit(probes, 0, &mut buf)?;
    let udp = &buf[20..len];
    Some(u16::from_be_bytes([udp[6], udp[7]]))
}

/// IE's attributes (Nmap's processTIcmpResp) from both echo replies: DFI, whether they set
/// DF (Y both, S as each probe did, N neither, O otherwise), the TTL of the later one, and CD,
/// their codes (Z both zero, S as each probe's, a shared value, or O).
fn ie_test(first: &(Vec<u8>, Duration), second: &(Vec<u8>, Duration)) -> Option<Vec<(String, String)>> {
    let [a, b] = [&first.0, &second.0].map(|packet| Ipv4Packet::new_checked(&packet[..]).ok());
    let (a, b) = (a?, b?);
    let code = |ip: &Ipv4Packet<&[u8]>| ip.payload().get(1).copied();
    let (code_a, code_b) = (code(&a)?, code(&b)?);
    let dfi = match (a.dont_fragment(), b.dont_fragment()) {
        (true, true) => "Y",
        (true, false) => "S",
        (false, false) => "N",
        (false, true) => "O",
    };
    let later = if second.1 >= first.1 { &b } else { &a };
    let cd = match (code_a, code_b) {
        (0, 0) => "Z".to_string(),
        (same, other) if same == other => format!("{same:X}"),
        (9, 0) => "S".to_string(),
        _ => "O".to_string(),
    };
    let attributes =
        [("R", "Y".to_string()), ("DFI", dfi.to_string()), ("T", format!("{:X}", later.ttl())), ("CD", cd)];
    Some(attributes.into_iter().map(|(key, value)| (key.to_string(), value)).collect())
}
