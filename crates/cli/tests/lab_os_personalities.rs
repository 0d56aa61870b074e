//! End-to-end: OS detection of systems the lab cannot run, played by lab personalities (each
//! answers as one reference of Nmap's database describes), all fingerprinted in one scan:
//! portolan's best match for each must be Nmap's.

mod common;

use std::net::Ipv4Addr;

use lab::{Lab, Personality, SYSTEMS};

/// The first OS line of each host's report: "OS details: …" or the first guess.
fn best_per_host(report: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for section in report.split(" scan report for ").skip(1) {
        let host = section.lines().next().unwrap_or_default().to_string();
        let best = section.lines().find_map(|line| {
            line.strip_prefix("OS details: ")
                .map(|details| details.split(", ").next().unwrap_or_default().to_string())
                .or_else(|| line.strip_prefix("Aggressive OS guesses: ").map(first_guess))
        });
        found.push((host, best.unwrap_or_else(|| "(none)".into())));
    }
    found
}

fn first_guess(guesses: &str) -> String {
    let end = guesses.find("%)").map_or(guesses.len(), |at| at + 2);
    guesses[..end].to_string()
}

#[test]
fn every_personality_gets_nmaps_best_match() {
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
    let (ours_best, theirs_best) = (best_per_host(&ours), best_per_host(&theirs));
    assert_eq!(ours_best.len(), SYSTEMS.len(), "{ours}");
    assert_eq!(ours_best, theirs_best, "portolan:\n{ours}\nnmap:\n{theirs}");
}
