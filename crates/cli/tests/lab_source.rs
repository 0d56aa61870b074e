//! End-to-end: -S, -e and -g change the packets, proven by target firewalls that admit a port
//! only from the address or source port the option names.

mod common;

use std::net::Ipv4Addr;

use common::*;
use lab::TARGET_V4;

const SECOND_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 5);

fn state_of(report: &str, port: u16) -> String {
    let prefix = format!("{port}/tcp ");
    let line = report.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {port}/tcp in:\n{report}"));
    line.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn dash_s_sends_from_the_given_address() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    lab.lab.add_scanner_address(SECOND_ADDRESS).unwrap();
    lab.lab.input_rule(&format!("tcp dport 22 ip saddr != {SECOND_ADDRESS} drop")).unwrap();
    let target = TARGET_V4.to_string();
    let source = SECOND_ADDRESS.to_string();
    for technique in ["-sS", "-sT"] {
        let quick = [technique, "-n", "-Pn", "-p", "22", "--max-retries", "1"];
        let without = stdout(&portolan(&lab.lab, &[&quick[..], &[target.as_str()]].concat()));
        assert_eq!(state_of(&without, 22), "filtered", "{technique} from the scanner's own address");
        let with = stdout(&portolan(&lab.lab, &[&quick[..], &["-S", source.as_str(), target.as_str()]].concat()));
        assert_eq!(state_of(&with, 22), "open", "{technique} -S {source}");
    }
}

#[test]
fn dash_g_sends_from_the_given_port() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    lab.lab.input_rule("tcp dport 80 tcp sport != 53 drop").unwrap();
    let target = TARGET_V4.to_string();
    let quick = ["-sS", "-n", "-Pn", "-p", "80,443", "--max-retries", "1"];
    let without = stdout(&portolan(&lab.lab, &[&quick[..], &[target.as_str()]].concat()));
    assert_eq!(state_of(&without, 80), "filtered");
    for option in [&["-g", "53"][..], &["--source-port", "53"][..]] {
        let report = stdout(&portolan(&lab.lab, &[&quick[..], option, &[target.as_str()]].concat()));
        assert_eq!(state_of(&report, 80), "open", "{option:?}");
        assert_eq!(state_of(&report, 443), "open", "{option:?}: other ports unaffected");
    }
}

#[test]
fn dash_e_sends_through_the_named_interface() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let target = TARGET_V4.to_string();
    for technique in ["-sS", "-sT"] {
        let report = stdout(&portolan(&lab.lab, &[technique, "-n", "-e", "scan0", "-p", "22", &target]));
        assert_eq!(state_of(&report, 22), "open", "{technique} -e scan0");
        let output = portolan(&lab.lab, &[technique, "-n", "-e", "nosuch0", "-p", "22", &target]);
        assert_eq!(output.status.code(), Some(1), "{technique}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("portolan: ") && stderr.contains("interface 'nosuch0'"), "{technique}: {stderr}");
    }
}
