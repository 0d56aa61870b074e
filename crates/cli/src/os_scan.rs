//! `-O`: after each batch of hosts is port-scanned (and version-scanned), the hosts that are up
//! are fingerprinted together, a round of probes to all of them at once, and matched against
//! Nmap's nmap-os-db (Nmap's "OS detection" phase).
//!
//! A host without a perfect match gets another round when probes are still unanswered, the
//! last round showed loss (answers that came only to a probe sent again, SEQ probes lost
//! among answered ones) and brought something new (an answer to a probe lost before, more SEQ
//! answers), up to `--max-os-tries`; its fingerprint is made of all its rounds (see
//! [`os::observe`]). A host that merely leaves some probes unanswered, as most stacks do, is
//! not probed again, where Nmap spends every try on it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use engine::drivers::exchange;
use model::{HostResult, OsDatabase, OsPortsUsed, OsReport, PortResult, PortState, Protocol, Uptime};
use os::probe::{HostProbes, PORTS_PER_ROUND};
use os::{Conditions, DistanceMethod, HostAnswers, Observation, OsDb, Round, RoundConfig};
use rand::Rng;
use rayon::prelude::*;
use services::DataDirs;

use crate::args::{OsOptions, ScanOptions};
use crate::error::{not_permitted, RunError};
use crate::outputs::terminal_output;
use crate::phases::Phase;
use crate::session::Discoveries;

/// The ports a random closed port is drawn from when the scan found none (as Nmap does).
const RANDOM_PORTS: std::ops::Range<u16> = 30_000..44_781;
/// Source ports of the rounds start at or above this.
const FIRST_SOURCE_PORT: u16 = 33_000;
/// The answer wait stays within these bounds whatever the round-trip estimate.
const MIN_REPLY_WAIT: Duration = Duration::from_millis(100);
const MAX_REPLY_WAIT: Duration = Duration::from_secs(2);

/// The database and how to probe.
pub(crate) struct OsScan {
    db: OsDb,
    database: OsDatabase,
    settings: OsOptions,
    device: Option<String>,
    source: Option<IpAddr>,
    udp_scanned: bool,
    timing_spoiled: Option<String>,
    verbose: bool,
}

impl OsScan {
    /// Nmap's nmap-os-db where Nmap is installed (`--datadir`, `$NMAPDIR`, `~/.nmap`,
    /// `/usr/share/nmap`), else portolan's own coarse families.
    pub(crate) fn load(options: &ScanOptions) -> Result<OsScan, RunError> {
        if !options.raw_sockets() {
            return Err(not_permitted("-O"));
        }
        let verbose = options.verbosity > 0 && terminal_output(options);
        let (db, database) = match DataDirs::from_env(options.datadir.clone()).find("nmap-os-db") {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|error| RunError::Failed(format!("cannot read {}: {error}", path.display())))?;
                let (db, failed) = os::parse(&text);
                if verbose {
                    let count = db.references.len();
                    println!(
                        "OS detection: {count} fingerprints from {} ({} lines failed)",
                        path.display(),
                        failed.len()
                    );
                }
                (db, OsDatabase::Nmap)
            }
            None => {
                let db = os::coarse::embedded();
                if verbose {
                    println!("OS detection: {} families from portolan's own coarse database", db.references.len());
                }
                (db, OsDatabase::Coarse)
            }
        };
        let scan_delay = options.timing.scan_delay.unwrap_or_default();
        let timing_spoiled = if options.timing.template == Some(engine::TimingTemplate::Insane) {
            Some("Timing level 5 (Insane) used".to_string())
        } else if scan_delay > Duration::from_millis(500) {
            Some(format!("Scan delay ({}) is greater than 500", scan_delay.as_millis()))
        } else {
            None
        };
        Ok(OsScan {
            db,
            database,
            settings: options.os,
            device: options.source.device.clone(),
            source: options.source.addr,
            udp_scanned: options.udp,
            timing_spoiled,
            verbose,
        })
    }

    /// Fingerprints the hosts of the batch that are up (IPv4 ones: IPv6 fingerprinting is not
    /// built yet) and writes each one's report in.
    pub(crate) fn detect(&self, hosts: &mut [HostResult], observer: &Discoveries, stop: &AtomicBool) {
        if hosts.iter().any(|host| host.is_up() && host.target.ipv4().is_none()) {
            eprintln!("Note: OS detection of IPv6 hosts is not built yet; they are reported without it");
        }
        let chosen: Vec<(usize, Candidate)> = hosts
            .iter()
            .enumerate()
            .filter(|(_, host)| host.is_up())
            .filter_map(|(index, host)| Some((index, self.candidate(host)?)))
            .collect();
        if chosen.is_empty() {
            return;
        }
        let phase = Phase::announce(self.verbose, "OS detection".into());
        if self.verbose {
            println!("Fingerprinting {} host{}", chosen.len(), if chosen.len() == 1 { "" } else { "s" });
        }
        let (indices, candidates): (Vec<usize>, Vec<Candidate>) = chosen.into_iter().unzip();
        let reports = self.fingerprint(&candidates, observer, stop);
        for (index, report) in indices.into_iter().zip(reports) {
            hosts[index].os = report.map(Box::new);
        }
        phase.end_quietly();
    }

    /// The host's probe ports, unless `--osscan-limit` rules it out.
    fn candidate(&self, host: &HostResult) -> Option<Candidate> {
        let dst = host.target.ipv4()?;
        let first = |protocol: Protocol, states: &[PortState]| {
            states.iter().find_map(|&state| first_port(&host.ports, protocol, state))
        };
        let open_tcp = first(Protocol::Tcp, &[PortState::Open]);
        let closed_tcp = first(Protocol::Tcp, &[PortState::Closed, PortState::Unfiltered]);
        if self.settings.limit && (open_tcp.is_none() || closed_tcp.is_none()) {
            return None;
        }
        let closed_udp = first(Protocol::Udp, &[PortState::Closed]);
        let src = match self.source {
            Some(IpAddr::V4(source)) => source,
            _ => match netio::source_for(IpAddr::V4(dst), self.device.as_deref()) {
                Ok(IpAddr::V4(source)) => source,
                _ => return None,
            },
        };
        let wait =
            host.round_trip.map_or(MAX_REPLY_WAIT / 2, |trip| trip.timeout).clamp(MIN_REPLY_WAIT, MAX_REPLY_WAIT);
        Some(Candidate { src, dst, open_tcp, closed_tcp, closed_udp, wait, mac: host.target.mac })
    }

    /// Rounds of probes until every host has its verdict, and each host's report from all of
    /// its rounds.
    fn fingerprint(
        &self,
        candidates: &[Candidate],
        observer: &Discoveries,
        stop: &AtomicBool,
    ) -> Vec<Option<OsReport>> {
        let (rounds, observations) = self.probe(candidates, observer, stop);
        let now = jiff::Zoned::now();
        // Matching takes milliseconds a host: every core takes part.
        (candidates, observations, rounds)
            .into_par_iter()
            .map(|(candidate, observation, rounds)| {
                let observation = observation?;
                let conditions = self.conditions(candidate, &observation, &rounds);
                let mut report = os::report(&self.db, self.database, &observation, &conditions);
                report.uptime = observation.sequence.uptime.map(|uptime| boot_time(&now, uptime));
                Some(report)
            })
            .collect()
    }

    /// Each host's answers, round by round, and its fingerprint from all of them.
    fn probe(
        &self,
        candidates: &[Candidate],
        observer: &Discoveries,
        stop: &AtomicBool,
    ) -> (Vec<Vec<HostAnswers>>, Vec<Option<Observation>>) {
        let mut rng = rand::rng();
        let port_base = rng.random_range(FIRST_SOURCE_PORT..FIRST_SOURCE_PORT + 16_000);
        let probes: Vec<HostProbes> = candidates
            .iter()
            .map(|candidate| HostProbes {
                src: candidate.src,
                dst: candidate.dst,
                open_tcp: candidate.open_tcp,
                closed_tcp: Some(candidate.closed_tcp.unwrap_or_else(|| rng.random_range(RANDOM_PORTS))),
                closed_udp: Some(candidate.closed_udp.unwrap_or_else(|| rng.random_range(RANDOM_PORTS))),
                port_base,
                seq_base: rng.random(),
                ack: rng.random(),
                echo_id: rng.random(),
            })
            .collect();
        let mut rounds: Vec<Vec<HostAnswers>> = vec![Vec::new(); candidates.len()];
        let mut seen: Vec<Option<Observation>> = vec![None; candidates.len()];
        let mut pending: Vec<usize> = (0..candidates.len()).collect();
        for round in 0..self.settings.max_tries {
            if pending.is_empty() {
                break;
            }
            let base = port_base + (round as u16 % 64) * PORTS_PER_ROUND;
            let round_probes: Vec<HostProbes> =
                pending.iter().map(|&i| HostProbes { port_base: base, ..probes[i] }).collect();
            let wait = pending.iter().map(|&i| candidates[i].wait).max().unwrap_or(MIN_REPLY_WAIT);
            let config = RoundConfig { reply_timeout: wait, seed: rng.random(), ..RoundConfig::default() };
            let Some(answers) = self.run_round(round_probes, config, base, observer, stop) else { break };
            let mut next = Vec::new();
            for (&i, answers) in pending.iter().zip(answers) {
                rounds[i].push(answers);
                let observation = os::observe(&rounds[i]);
                if self.another_round(&candidates[i], &observation, seen[i].as_ref(), &rounds[i]) {
                    next.push(i);
                }
                seen[i] = Some(observation);
            }
            pending = next;
        }
        (rounds, seen)
    }

    /// Whether a host is worth another round: probes are still unanswered, the last round
    /// showed loss and brought something new, and no reference fits perfectly yet (checked
    /// last: matching costs milliseconds), or one does only for want of SEQ's rates.
    fn another_round(
        &self,
        candidate: &Candidate,
        observation: &Observation,
        before: Option<&Observation>,
        rounds: &[HostAnswers],
    ) -> bool {
        let progressed = before.is_none_or(|before| {
            without_seq(&before.tests) != without_seq(&observation.tests)
                || observation.sequence.isns.len() > before.sequence.isns.len()
        });
        let loss_seen = rounds.last().is_some_and(|round| round.loss_seen);
        loss_seen
            && progressed
            && left_unanswered(observation, &rounds[0])
            && (seq_rates_missing(observation, &rounds[0]) || !self.matches_exactly(candidate, observation, rounds))
    }

    fn matches_exactly(&self, candidate: &Candidate, observation: &Observation, rounds: &[HostAnswers]) -> bool {
        os::report(&self.db, self.database, observation, &self.conditions(candidate, observation, rounds)).exact
    }

    fn run_round(
        &self,
        probes: Vec<HostProbes>,
        config: RoundConfig,
        base: u16,
        observer: &Discoveries,
        stop: &AtomicBool,
    ) -> Option<Vec<HostAnswers>> {
        let mut round = Round::new(probes, config, std::time::Instant::now());
        let ports = base..=base + PORTS_PER_ROUND - 1;
        match exchange::run(&mut round, self.device.as_deref(), ports, observer, stop) {
            Ok(()) => Some(round.into_answers()),
            Err(error) => {
                eprintln!("OS detection stopped: {error}");
                None
            }
        }
    }

    /// How `candidate` was probed, over its `rounds`.
    fn conditions(&self, candidate: &Candidate, observation: &Observation, rounds: &[HostAnswers]) -> Conditions {
        let now = jiff::Zoned::now();
        let (distance, distance_method) = if is_local(candidate) {
            (Some(0), DistanceMethod::Localhost)
        } else if candidate.mac.is_some() {
            (Some(1), DistanceMethod::Direct)
        } else {
            match observation.hops {
                Some(hops) => (Some(hops), DistanceMethod::Icmp),
                None => (None, DistanceMethod::Unknown),
            }
        };
        // A port drawn at random counts as closed once it answered so.
        let udp_answered = rounds.iter().any(|round| round.answers.contains_key(&os::probe::Probe::Udp));
        let ports = OsPortsUsed {
            open_tcp: candidate.open_tcp,
            closed_tcp: candidate.closed_tcp,
            closed_udp: candidate
                .closed_udp
                .or(rounds.first().and_then(|round| round.probes.closed_udp).filter(|_| udp_answered)),
        };
        Conditions {
            version: env!("CARGO_PKG_VERSION").to_string(),
            month: now.month() as u8,
            day: now.day() as u8,
            unix_time: now.timestamp().as_second().max(0) as u64,
            ports,
            reserved_address: is_reserved(candidate.dst),
            distance,
            distance_method,
            mac_prefix: candidate.mac.map(|mac| [mac[0], mac[1], mac[2]]),
            timing_spoiled: self.timing_spoiled.clone(),
            udp_scanned: self.udp_scanned,
            timing_ratio: rounds.iter().map(timing_ratio).fold(0.0, f64::max),
            guess: self.settings.guess,
        }
    }
}

/// A host to fingerprint and how.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    open_tcp: Option<u16>,
    closed_tcp: Option<u16>,
    closed_udp: Option<u16>,
    /// How long its answers are waited for.
    wait: Duration,
    mac: Option<[u8; 6]>,
}

fn first_port(ports: &[PortResult], protocol: Protocol, state: PortState) -> Option<u16> {
    let mut matching = ports.iter().filter(|port| port.protocol == protocol && port.state == state);
    let first = matching.next()?;
    // Port 0 is a poor probe target; another is taken when there is one.
    match first.port {
        0 => matching.next().map(|port| port.port).or(Some(0)),
        port => Some(port),
    }
}

fn is_local(candidate: &Candidate) -> bool {
    candidate.dst.is_loopback() || candidate.dst == candidate.src
}

/// IANA's special-purpose IPv4 ranges (Nmap's PV): private, shared, loopback, link-local,
/// documentation, benchmarking, reserved and broadcast.
fn is_reserved(addr: Ipv4Addr) -> bool {
    const RANGES: [([u8; 4], u32); 14] = [
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24),
        ([192, 0, 2, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        ([240, 0, 0, 0], 4),
        ([255, 255, 255, 255], 32),
    ];
    let addr = u32::from(addr);
    RANGES.iter().any(|&(base, len)| (addr ^ u32::from(Ipv4Addr::from(base))) >> (32 - len) == 0)
}

/// Whether a probe that may have been lost went unanswered: a test written R=N, or fewer
/// than six SEQ answers.
fn left_unanswered(observation: &Observation, answers: &HostAnswers) -> bool {
    let no_response =
        observation.tests.iter().any(|(_, attributes)| attributes.first().is_some_and(|(k, v)| k == "R" && v == "N"));
    let seq_missing = answers.probes.open_tcp.is_some() && observation.sequence.isns.len() < 6;
    no_response || seq_missing
}

/// Whether SEQ lacks its rates (SP, GCD, ISR; TS too with fewer than two) for want of
/// answers. A reference may then fit perfectly only because what sets the host apart is
/// missing: this lab's Linux, whose randomised timestamps no reference has, fit Linux 5.3 -
/// 5.4 perfectly when loss left one SEQ answer.
fn seq_rates_missing(observation: &Observation, answers: &HostAnswers) -> bool {
    answers.probes.open_tcp.is_some() && observation.sequence.isns.len() < os::seq::MIN_ISN_REPLIES
}

/// The tests but SEQ, whose rates vary from round to round.
fn without_seq(tests: &os::Tests) -> Vec<&os::Test> {
    tests.iter().filter(|(name, _)| name != "SEQ").collect()
}

/// How much longer than meant the SEQ probes took to leave (Nmap's timing ratio).
fn timing_ratio(answers: &HostAnswers) -> f64 {
    match (answers.seq_sent[0], answers.seq_sent[5]) {
        (Some(first), Some(last)) => (last - first).as_secs_f64() / 0.5,
        _ => 0.0,
    }
}

fn boot_time(now: &jiff::Zoned, uptime: Duration) -> Uptime {
    let span = jiff::SignedDuration::try_from(uptime).unwrap_or(jiff::SignedDuration::ZERO);
    let booted = now.checked_sub(span).unwrap_or_else(|_| now.clone());
    Uptime { seconds: uptime.as_secs(), lastboot: booted.strftime("%a %b %e %H:%M:%S %Y").to_string() }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A made-up reference whose SEQ line alone could tell a host apart from it, every
    /// attribute worth ten points.
    const REFERENCE: &str = "\
MatchPoints
SEQ(SP=10%GCD=10%ISR=10%CI=10%II=10%TS=10)
T1(R=10%DF=10%T=10%S=10%A=10%F=10%RD=10%Q=10)
T2(R=10)

Fingerprint Made-up stack 1.0
Class Made-up | Stack | 1.X | general purpose
SEQ(SP=FE-108%GCD=1-6%ISR=104-10E%CI=Z%II=I%TS=A)
T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)
T2(R=N)
";

    fn scan() -> OsScan {
        let (db, errors) = os::parse(REFERENCE);
        assert!(errors.is_empty(), "{errors:?}");
        OsScan {
            db,
            database: OsDatabase::Nmap,
            settings: OsOptions::default(),
            device: None,
            source: None,
            udp_scanned: false,
            timing_spoiled: None,
            verbose: false,
        }
    }

    /// What was observed: the reference's T1 and T2, and SEQ with `seq` (as Nmap prints its
    /// attributes) and `isns` answers.
    fn observation(seq: &str, isns: usize) -> Observation {
        let printed = format!("OS:SEQ({seq})T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)T2(R=N)");
        let tests = os::parse_printed(&printed).expect("a printed fingerprint");
        let sequence = os::Sequence { isns: vec![1; isns], ..os::Sequence::default() };
        Observation { tests, hops: None, sequence }
    }

    #[test]
    fn a_perfect_match_for_want_of_seqs_rates_under_loss_gets_another_round() {
        // Regression: with one SEQ answer left by 20 % loss, this lab's Linux (timestamps no
        // reference has) fit a reference perfectly, no round followed, and -O named it.
        let scan = scan();
        let (src, dst) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        let candidate = Candidate {
            src,
            dst,
            open_tcp: Some(22),
            closed_tcp: Some(23),
            closed_udp: None,
            wait: MIN_REPLY_WAIT,
            mac: None,
        };
        let probes = HostProbes {
            src,
            dst,
            open_tcp: Some(22),
            closed_tcp: Some(23),
            closed_udp: None,
            port_base: FIRST_SOURCE_PORT,
            seq_base: 1,
            ack: 2,
            echo_id: 3,
        };
        let rounds = [HostAnswers { probes, seq_sent: [None; 6], answers: BTreeMap::new(), loss_seen: true }];
        let short = observation("CI=Z%II=I", 1);
        assert!(scan.matches_exactly(&candidate, &short, &rounds), "the reference fits what is left");
        assert!(scan.another_round(&candidate, &short, None, &rounds));
        let complete = observation("SP=100%GCD=1%ISR=108%CI=Z%II=I%TS=A", 6);
        assert!(scan.matches_exactly(&candidate, &complete, &rounds));
        assert!(!scan.another_round(&candidate, &complete, None, &rounds), "a perfect match on a whole SEQ is final");
    }
}
