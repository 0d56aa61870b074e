//! From a host's observation to what is reported (Nmap's match_fingerprint, its
//! classification, and the submission fingerprint): the matches shown, their classes, the
//! fingerprint wrapped as Nmap prints it, and why it is unfit for submission when it is.

use model::{OsClassMatch, OsDatabase, OsMatch, OsPortsUsed, OsReport, TcpSequence, ValueSequence};

use crate::db::{OsDb, Tests};
use crate::fingerprint::Observation;
use crate::ipid::IpIdClass;
use crate::matcher::{best_matches, Match};

/// Nmap's threshold for a guess.
pub const GUESS_THRESHOLD: f64 = 0.85;
/// Perfect matches beyond this many say nothing specific.
const MAX_PERFECT_SHOWN: usize = 8;
/// Guesses shown at most, and how far under the best they may be.
const MAX_GUESSES_SHOWN: usize = 10;
const GUESS_SPREAD: f64 = 0.10;
/// Nmap wraps fingerprint lines after this many characters (the "OS:" prefix included).
const WRAP: usize = 75;

/// How the host was probed, for the fingerprint's SCAN line and its fitness.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions {
    /// portolan's version.
    pub version: String,
    /// Local date (month, day) and Unix time of the scan.
    pub month: u8,
    pub day: u8,
    pub unix_time: u64,
    pub ports: OsPortsUsed,
    /// The address is in a reserved range (private, benchmarking, …).
    pub reserved_address: bool,
    pub distance: Option<u8>,
    pub distance_method: DistanceMethod,
    /// The first three bytes of the host's hardware address, when it is a neighbour.
    pub mac_prefix: Option<[u8; 3]>,
    /// What spoilt the sequence timings, if anything did, in Nmap's words: `-T5` ("Timing
    /// level 5 (Insane) used"), or a scan delay over 500 ms.
    pub timing_spoiled: Option<String>,
    /// Whether a UDP scan ran (without one, a missing U1 answer may be for want of a closed
    /// port rather than the host's nature).
    pub udp_scanned: bool,
    /// The SEQ probes left more than 1.4 times as far apart as meant.
    pub timing_ratio: f64,
    /// `--osscan-guess` / `--fuzzy`.
    pub guess: bool,
}

/// How the hop count was learnt (Nmap's DC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistanceMethod {
    Unknown,
    /// The host is this one.
    Localhost,
    /// A neighbour on the link.
    Direct,
    /// From the TTL the UDP probe arrived with.
    Icmp,
}

/// The report of one host's observation against `db`.
pub fn report(db: &OsDb, database: OsDatabase, observation: &Observation, conditions: &Conditions) -> OsReport {
    let found = best_matches(db, &observation.tests, GUESS_THRESHOLD);
    let perfect = found.iter().take_while(|found| found.accuracy >= 1.0).count();
    let unfit = unfit_because(conditions);
    let shown: Vec<&Match<'_>> = if perfect > 0 {
        found[..perfect].iter().collect()
    } else {
        let best = found.first().map_or(0.0, |found| found.accuracy);
        found.iter().take(MAX_GUESSES_SHOWN).take_while(|found| found.accuracy > best - GUESS_SPREAD).collect()
    };
    OsReport {
        ports_used: conditions.ports,
        matches: shown.iter().map(|found| os_match(found)).collect(),
        exact: perfect > 0,
        guessing: conditions.guess || unfit.is_some(),
        classes: classes(&found, perfect),
        fingerprint: wrapped(&format!("{}{}", scan_line(conditions, unfit.is_none()), tests_text(&observation.tests))),
        unfit,
        database,
        distance: conditions.distance,
        uptime: None,
        tcp_sequence: tcp_sequence(observation),
        ip_id_sequence: ip_id_sequence(observation),
        tcp_ts_sequence: ts_sequence(observation),
    }
}

/// Whether perfect matches are too many to name.
pub fn too_many(report: &OsReport) -> bool {
    report.exact && report.matches.len() > MAX_PERFECT_SHOWN
}

fn os_match(found: &Match<'_>) -> OsMatch {
    OsMatch {
        name: found.reference.name.clone(),
        accuracy: found.accuracy,
        line: found.reference.line,
        classes: found.reference.classes.clone(),
    }
}

/// Every match's classes in match order, each once at its first (best) accuracy; with perfect
/// matches, theirs only.
fn classes(found: &[Match<'_>], perfect: usize) -> Vec<OsClassMatch> {
    let considered = if perfect > 0 { &found[..perfect] } else { found };
    let mut classes: Vec<OsClassMatch> = Vec::new();
    for found in considered {
        for class in &found.reference.classes {
            let class = class.clone();
            let known = classes.iter().any(|seen| {
                (&seen.class.vendor, &seen.class.family, &seen.class.device_type, &seen.class.generation)
                    == (&class.vendor, &class.family, &class.device_type, &class.generation)
            });
            if !known {
                classes.push(OsClassMatch { class, accuracy: found.accuracy });
            }
        }
    }
    classes
}

/// Nmap's reasons for not asking that a fingerprint be submitted.
fn unfit_because(conditions: &Conditions) -> Option<String> {
    let reason = if let Some(spoiled) = &conditions.timing_spoiled {
        spoiled.clone()
    } else if conditions.ports.open_tcp.is_none() {
        "Missing an open TCP port so results incomplete".to_string()
    } else if conditions.ports.closed_tcp.is_none() {
        "Missing a closed TCP port so results incomplete".to_string()
    } else if let Some(hops) = conditions.distance.filter(|&hops| hops > 5) {
        format!("Host distance ({hops} network hops) is greater than five")
    } else if conditions.timing_ratio > 1.4 {
        format!("maxTimingRatio ({:e}) is greater than 1.4", conditions.timing_ratio)
    } else if conditions.ports.closed_udp.is_none() && !conditions.udp_scanned {
        "Didn't receive UDP response. Please try again with -sSU".to_string()
    } else {
        return None;
    };
    Some(reason)
}

/// The SCAN test that heads a submitted fingerprint: who probed, when, through which ports,
/// how far away the host is, and whether the fingerprint is fit (G).
fn scan_line(conditions: &Conditions, good: bool) -> String {
    let port = |port: Option<u16>| port.map(|port| port.to_string()).unwrap_or_default();
    let yes_no = |flag: bool| if flag { 'Y' } else { 'N' };
    let mut line = format!(
        "SCAN(V={}%E=4%D={}/{}%OT={}%CT={}%CU={}%PV={}",
        conditions.version,
        conditions.month,
        conditions.day,
        port(conditions.ports.open_tcp),
        port(conditions.ports.closed_tcp),
        port(conditions.ports.closed_udp),
        yes_no(conditions.reserved_address)
    );
    if let Some(distance) = conditions.distance {
        line += &format!("%DS={distance}");
    }
    let method = match conditions.distance_method {
        DistanceMethod::Unknown => None,
        DistanceMethod::Localhost => Some('L'),
        DistanceMethod::Direct => Some('D'),
        DistanceMethod::Icmp => Some('I'),
    };
    if let Some(method) = method {
        line += &format!("%DC={method}");
    }
    line += &format!("%G={}", yes_no(good));
    if let Some([a, b, c]) = conditions.mac_prefix {
        line += &format!("%M={a:02X}{b:02X}{c:02X}");
    }
    line + &format!("%TM={:X}%P={}-unknown-linux-gnu)", conditions.unix_time, std::env::consts::ARCH)
}

/// The tests as one string: `SEQ(SP=…%GCD=…)OPS(…)…`.
pub fn tests_text(tests: &Tests) -> String {
    tests
        .iter()
        .map(|(name, attributes)| {
            let values: Vec<String> = attributes.iter().map(|(key, value)| format!("{key}={value}")).collect();
            format!("{name}({})", values.join("%"))
        })
        .collect()
}

/// Lines of `OS:` and at most 72 characters of the fingerprint, as Nmap prints it.
fn wrapped(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(WRAP - 3).map(|chunk| format!("OS:{}\n", chunk.iter().collect::<String>())).collect()
}

fn tcp_sequence(observation: &Observation) -> Option<TcpSequence> {
    let sequence = &observation.sequence;
    let index = sequence.difficulty?;
    Some(TcpSequence {
        index,
        difficulty: difficulty(index).to_string(),
        values: hex_list(sequence.isns.iter().map(|&isn| u64::from(isn))),
    })
}

/// Nmap's words for how hard the next initial sequence number is to predict.
fn difficulty(index: u32) -> &'static str {
    match index {
        0..=2 => "Trivial joke",
        3..=5 => "Easy",
        6..=10 => "Medium",
        11 => "Formidable",
        12..=15 => "Worthy challenge",
        _ => "Good luck!",
    }
}

fn ip_id_sequence(observation: &Observation) -> Option<ValueSequence> {
    let sequence = &observation.sequence;
    let class = sequence.ip_id_class?;
    let words = match class {
        IpIdClass::Constant(_) => "Duplicated ipid (!)",
        IpIdClass::Increment => "Incremental",
        IpIdClass::IncrementByTwo => "Incrementing by 2",
        IpIdClass::BrokenIncrement => "Broken little-endian incremental",
        IpIdClass::Random => "Randomized",
        IpIdClass::RandomPositive => "Random positive increments",
        IpIdClass::Zero => "All zeros",
        IpIdClass::Unknown => "Busy server or unknown class",
    };
    Some(ValueSequence {
        class: words.to_string(),
        values: Some(hex_list(sequence.ip_ids.iter().map(|&id| u64::from(id)))),
    })
}

/// The TCP timestamps' class as Nmap names it: "zero timestamp", "2HZ", "100HZ", "1000HZ",
/// "other", or "none returned (unsupported)".
fn ts_sequence(observation: &Observation) -> Option<ValueSequence> {
    let sequence = &observation.sequence;
    if sequence.ip_ids.len() < 3 {
        return None;
    }
    if sequence.timestamps.len() < sequence.ip_ids.len() {
        return Some(ValueSequence { class: "none returned (unsupported)".into(), values: None });
    }
    let class = match sequence.timestamp_hz {
        None if sequence.timestamps.contains(&0) => "zero timestamp",
        None => "unknown class",
        Some(hz) if hz < 5.66 => "2HZ",
        Some(hz) if hz > 70.0 && hz < 150.0 => "100HZ",
        Some(hz) if hz > 724.0 && hz < 1448.0 => "1000HZ",
        Some(_) => "other",
    };
    Some(ValueSequence {
        class: class.to_string(),
        values: Some(hex_list(sequence.timestamps.iter().map(|&ts| u64::from(ts)))),
    })
}

fn hex_list(values: impl Iterator<Item = u64>) -> String {
    values.map(|value| format!("{value:X}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::Sequence;

    fn conditions() -> Conditions {
        Conditions {
            version: "0.1.0".into(),
            month: 12,
            day: 3,
            unix_time: 0x6B11_9C77,
            ports: OsPortsUsed { open_tcp: Some(22), closed_tcp: Some(23), closed_udp: Some(40000) },
            reserved_address: true,
            distance: Some(1),
            distance_method: DistanceMethod::Direct,
            mac_prefix: Some([0xDA, 0xDB, 0x96]),
            timing_spoiled: None,
            udp_scanned: false,
            timing_ratio: 1.0,
            guess: false,
        }
    }

    fn observation(text: &str) -> Observation {
        let tests = crate::parse_printed(text).expect("a printed fingerprint");
        Observation { tests, hops: Some(1), sequence: Sequence::default() }
    }

    const LINUX: &str = "OS:SEQ(TI=Z%CI=Z%II=I)OPS(O1=M5B4ST11NWA)WIN(W1=FE88)ECN(R=Y%DF=Y)T1(R=Y%DF=Y%T=40)\
        T2(R=N)T3(R=N)T4(R=Y%W=0)U1(R=Y%DF=N%RID=G)IE(R=Y%DFI=N%CD=S)";

    #[test]
    fn an_exact_family_match_names_it_and_its_class() {
        let db = crate::coarse::embedded();
        let report = report(&db, OsDatabase::Coarse, &observation(LINUX), &conditions());
        assert!(report.exact && report.unfit.is_none());
        assert_eq!(report.matches[0].name, "Linux (family guess, no version)");
        assert_eq!(report.classes[0].class.cpe, ["cpe:/o:linux:linux_kernel"]);
    }

    #[test]
    fn the_fingerprint_wraps_as_nmap_prints_it_after_the_scan_line() {
        let db = crate::coarse::embedded();
        let report = report(&db, OsDatabase::Coarse, &observation(LINUX), &conditions());
        let lines: Vec<&str> = report.fingerprint.lines().collect();
        assert!(lines.iter().all(|line| line.starts_with("OS:") && line.len() <= 75), "{lines:?}");
        assert!(lines[..lines.len() - 1].iter().all(|line| line.len() == 75));
        assert!(lines[0].starts_with("OS:SCAN(V=0.1.0%E=4%D=12/3%OT=22%CT=23%CU=40000%PV=Y%DS=1%DC=D%G=Y%M=DADB96"));
        let joined: String = lines.iter().map(|line| &line[3..]).collect();
        assert!(joined.contains(")SEQ(TI=Z%CI=Z%II=I)OPS(O1=M5B4ST11NWA)"), "{joined}");
    }

    #[test]
    fn unfit_fingerprints_say_why_in_nmaps_order() {
        let reason = |change: &dyn Fn(&mut Conditions)| {
            let mut conditions = conditions();
            change(&mut conditions);
            unfit_because(&conditions)
        };
        assert_eq!(reason(&|_| {}), None);
        assert_eq!(
            reason(&|c| c.ports.closed_tcp = None).as_deref(),
            Some("Missing a closed TCP port so results incomplete")
        );
        assert_eq!(
            reason(&|c| c.ports.closed_udp = None).as_deref(),
            Some("Didn't receive UDP response. Please try again with -sSU")
        );
        assert_eq!(
            reason(&|c| c.distance = Some(6)).as_deref(),
            Some("Host distance (6 network hops) is greater than five")
        );
        let spoiled = reason(&|c| {
            c.timing_spoiled = Some("Timing level 5 (Insane) used".into());
            c.ports.open_tcp = None;
        });
        assert_eq!(spoiled.as_deref(), Some("Timing level 5 (Insane) used"), "timing is told first");
    }

    #[test]
    fn difficulty_words_follow_nmaps_bands() {
        assert_eq!(
            [0, 3, 6, 11, 12, 16, 262].map(difficulty),
            ["Trivial joke", "Easy", "Medium", "Formidable", "Worthy challenge", "Good luck!", "Good luck!"]
        );
    }
}
