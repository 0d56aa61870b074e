//! End-to-end: OS detection of systems the lab cannot run, played by lab personalities (each
//! answers as one reference of Nmap's database describes), all fingerprinted in one scan:
//! portolan's verdict for each must be Nmap's.

mod common;

use std::net::Ipv4Addr;

use lab::{Lab, Personality, SYSTEMS};

/// What each host's report says: the perfect matches ("OS details"), else the guesses, each
/// name without its accuracy.
fn verdicts(report: &str) -> Vec<(String, Verdict)> {
    report
        .split(" scan report for ")
        .skip(1)
        .map(|section| {
            let host = section.lines().next().unwrap_or_default().to_string();
            let names = |list: &str| -> Vec<String> {
                list.split("%), ").map(|guess| guess[..guess.rfind(" (").unwrap_or(guess.len())].to_string()).collect()
            };
            let verdict = section
                .lines()
                .find_map(|line| {
                    let exact = line.strip_prefix("OS details: ").map(|details| Verdict::Exact(details.to_string()));
                    exact.or_else(|| {
                        line.strip_prefix("Aggressive OS guesses: ").map(|list| Verdict::Guesses(names(list)))
                    })
                })
                .unwrap_or(Verdict::None);
            (host, verdict)
        })
        .collect()
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Exact(String),
    Guesses(Vec<String>),
    None,
}

/// The same verdict: the same perfect matches; or guesses whose best, in each tool, is among
/// the other's (guesses within a point of each other trade places from run to run with the
/// timing of the SEQ probes).
fn agree(ours: &Verdict, theirs: &Verdict) -> bool {
    match (ours, theirs) {
        (Verdict::Guesses(ours), Verdict::Guesses(theirs)) => {
            ours.first().is_some_and(|best| theirs.contains(best))
                && theirs.first().is_some_and(|best| ours.contains(best))
        }
        _ => ours == theirs,
    }
}

#[test]
fn every_personality_gets_nmaps_verdict() {
    if !lab::available() {
        return;
    }
    let Some(db) = lab::nmap_os_db() else { return };
    let lab = Lab::new().expect("build lab");
    let personalities = Personality::playing(&db, Ipv4Addr::new(198, 18, 0, 20)).expect("in Nmap's database");
    let addrs: Vec<String> = personalities.iter().map(|p| p.addr.to_string()).collect();
    let _answering = lab.personalities(personalities).expect("start the personalities");
    let mut args = vec!["-O", "--osscan-guess", "-n", "-Pn", "-p", "22,23"];
    args.extend(addrs.iter().map(String::as_str));
    let ours = common::stdout(&common::portolan(&lab, &args));
    let nmap = lab.in_scanner("nmap").args(&args).output().expect("run nmap");
    let theirs = String::from_utf8(nmap.stdout).expect("utf-8");
    let (our_verdicts, their_verdicts) = (verdicts(&ours), verdicts(&theirs));
    assert_eq!(our_verdicts.len(), SYSTEMS.len(), "{ours}");
    for ((host, ours_said), (their_host, they_said)) in our_verdicts.iter().zip(&their_verdicts) {
        assert_eq!(host, their_host);
        assert!(
            agree(ours_said, they_said),
            "{host}: {ours_said:?} vs Nmap's {they_said:?}\nportolan:\n{ours}\nnmap:\n{theirs}"
        );
    }
    // Played faithfully, most systems are matched perfectly, by both.
    let exact = our_verdicts.iter().filter(|(_, verdict)| matches!(verdict, Verdict::Exact(_))).count();
    assert!(exact >= 6, "{ours}");
}
