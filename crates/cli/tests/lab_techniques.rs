//! End-to-end: every raw TCP technique of Nmap's documentation against the standard lab
//! target, checked against what the Linux target really does, and against Nmap itself.

mod common;

use common::*;
use lab::{TARGET_V4, TARGET_V6};

/// The open port whose RSTs carry a non-zero window (see `Lab::rst_window`).
const WINDOWED: u16 = 22;
/// A closed port behind a stateful rule: new connections must start with a bare SYN, so
/// unsolicited ACKs, FINs and the like are dropped (the firewall an ACK scan maps).
const STATEFUL: u16 = 1000;

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Open,
    Closed,
    Dropped,
    Rejected,
    Stateful,
}

fn class(port: u16) -> Class {
    if port == STATEFUL {
        Class::Stateful
    } else if OPEN.contains(&port) {
        Class::Open
    } else if DROPPED.contains(&port) {
        Class::Dropped
    } else if REJECTED.contains(&port) {
        Class::Rejected
    } else {
        Class::Closed
    }
}

/// What Nmap's tables make of what Linux does, per technique: (state, reason) for a port.
fn truth(flags: &[&str], port: u16) -> (&'static str, &'static str) {
    const RESET: &str = "reset ttl 64";
    const PROHIBITED: (&str, &str) = ("filtered", "admin-prohibited ttl 64");
    match (flags, class(port)) {
        (_, Class::Rejected) => PROHIBITED,
        (["-sS"], Class::Open) => ("open", "syn-ack ttl 64"),
        (["-sS"], Class::Closed | Class::Stateful) => ("closed", RESET),
        (["-sS"], Class::Dropped) => ("filtered", "no-response"),
        // Every probe here but a bare SYN opens no connection the stateful rule admits.
        (["-sF"] | ["-sN"] | ["-sX"] | ["-sM"] | ["-sF", "--scanflags", "FINPSH"], Class::Stateful) => {
            ("open|filtered", "no-response")
        }
        (["-sA"] | ["-sW"] | ["--scanflags", "SYNFIN"], Class::Stateful) => ("filtered", "no-response"),
        // Linux drops a segment without SYN, RST or ACK to an open port, and answers a closed
        // port with a RST.
        (["-sF"] | ["-sN"] | ["-sX"], Class::Open | Class::Dropped) => ("open|filtered", "no-response"),
        (["-sF"] | ["-sN"] | ["-sX"], Class::Closed) => ("closed", RESET),
        // Linux answers FIN/ACK with a RST even on a listening port.
        (["-sM"], Class::Open | Class::Closed) => ("closed", RESET),
        (["-sM"], Class::Dropped) => ("open|filtered", "no-response"),
        (["-sA"], Class::Open | Class::Closed) => ("unfiltered", RESET),
        (["-sA"], Class::Dropped) => ("filtered", "no-response"),
        (["-sW"], Class::Open) if port == WINDOWED => ("open", RESET),
        (["-sW"], Class::Open | Class::Closed) => ("closed", RESET),
        (["-sW"], Class::Dropped) => ("filtered", "no-response"),
        // SYN+FIN read as a SYN scan (Nmap's default base type): Linux drops it at a listening port.
        (["--scanflags", "SYNFIN"], Class::Open | Class::Dropped) => ("filtered", "no-response"),
        (["--scanflags", "SYNFIN"], Class::Closed) => ("closed", RESET),
        // FIN+PSH read as a FIN scan.
        (["-sF", "--scanflags", "FINPSH"], Class::Open | Class::Dropped) => ("open|filtered", "no-response"),
        (["-sF", "--scanflags", "FINPSH"], Class::Closed) => ("closed", RESET),
        _ => unreachable!("no ground truth for {flags:?}"),
    }
}

fn all_ports() -> Vec<u16> {
    let mut ports: Vec<u16> = (1..=1024).collect();
    ports.extend([3306, 5432, 8080]);
    ports
}

/// The report's "Not shown" line and its rows as (port, state, reason), service names aside.
fn rows(report: &str) -> (Option<String>, Vec<(u16, String, String)>) {
    let section = port_section(report);
    let not_shown = section.iter().find(|l| l.starts_with("Not shown: ")).cloned();
    let rows = section
        .iter()
        .skip_while(|l| !l.starts_with("PORT"))
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields[0].trim_end_matches("/tcp").parse().unwrap();
            (port, fields[1].to_string(), fields[3..].join(" "))
        })
        .collect();
    (not_shown, rows)
}

/// The table the ground truth calls for: the most common state summarised, the rest listed.
fn expected(flags: &[&str]) -> (Option<String>, Vec<(u16, String, String)>) {
    let truths: Vec<(u16, &str, &str)> =
        all_ports().into_iter().map(|p| (p, truth(flags, p).0, truth(flags, p).1)).collect();
    let (common_state, common_reason) = (truths[1000].1, truths[1000].2); // port 1001: a closed port
    let summarised = truths.iter().filter(|t| t.1 == common_state).count();
    let not_shown =
        format!("Not shown: {summarised} {common_state} tcp ports ({})", common_reason.trim_end_matches(" ttl 64"));
    let listed =
        truths.into_iter().filter(|t| t.1 != common_state).map(|(p, s, r)| (p, s.to_string(), r.to_string())).collect();
    (Some(not_shown), listed)
}

fn technique_lab() -> StandardLab {
    let lab = standard_lab();
    lab.lab.rst_window(WINDOWED, 4096).unwrap();
    lab.lab
        .input_rule(&format!(
            "tcp dport {STATEFUL} ct state {{ new, invalid }} tcp flags & (fin|syn|rst|ack) != syn drop"
        ))
        .unwrap();
    lab
}

/// Runs the technique over IPv4 and over IPv6 against the same target (its firewall rules
/// hold for both families), each against the ground truth and against Nmap.
fn check_technique(flags: &[&str]) {
    if !lab::available() {
        return;
    }
    let lab = technique_lab();
    let (v4, v6) = (TARGET_V4.to_string(), TARGET_V6.to_string());
    for [family, target] in [["-4", v4.as_str()], ["-6", v6.as_str()]] {
        let args = [flags, &["-n", "-Pn", "--reason", "-p", PORTS, family, target]].concat();
        let report = stdout(&portolan(&lab.lab, &args));
        assert_eq!(rows(&report), expected(flags), "{args:?}, full report:\n{report}");
        assert_same_table_as_nmap(&lab.lab, &args, &report);
    }
}

#[test]
fn fin_scan() {
    check_technique(&["-sF"]);
}

#[test]
fn null_scan() {
    check_technique(&["-sN"]);
}

#[test]
fn xmas_scan() {
    check_technique(&["-sX"]);
}

#[test]
fn maimon_scan() {
    check_technique(&["-sM"]);
}

#[test]
fn ack_scan() {
    check_technique(&["-sA"]);
}

#[test]
fn window_scan() {
    check_technique(&["-sW"]);
}

#[test]
fn scanflags_read_by_the_default_syn_table() {
    check_technique(&["--scanflags", "SYNFIN"]);
}

#[test]
fn scanflags_read_by_the_fin_table() {
    check_technique(&["-sF", "--scanflags", "FINPSH"]);
}

#[test]
fn every_technique_is_exact_back_to_back_under_linuxs_icmp_limit() {
    // Regression: with Linux's default ICMP limit (6 errors at once, then one a second), a
    // scan right after another found the host's errors spent, and its rejected ports came out
    // open|filtered or filtered (no-response) in 7 to 10 runs of 10, as in Nmap. Each scan here
    // follows the last at once, so each starts with the errors it left spent.
    if !lab::available() {
        return;
    }
    let lab = technique_lab();
    lab.lab.sysctl("net.ipv4.icmp_ratelimit", "1000").unwrap();
    let target = TARGET_V4.to_string();
    let techniques: [&[&str]; 9] =
        [&["-sS"], &["-sF"], &["-sN"], &["-sX"], &["-sM"], &["-sA"], &["-sW"], &["--scanflags", "SYNFIN"], &["-sS"]];
    for flags in techniques {
        let args = [flags, &["-n", "-Pn", "--reason", "-p", PORTS, &target]].concat();
        let report = stdout(&portolan(&lab.lab, &args));
        assert_eq!(rows(&report), expected(flags), "{flags:?}, full report:\n{report}");
    }
}
