//! End-to-end: Debian's psad, fed as in production (an nftables log rule, ulogd2, the kernel's
//! iptables-style lines), rates scans as the psad preset behind --evade-detectors says it
//! does: a source that sends one destination DANGER_LEVEL1's packets is rated, one packet
//! fewer is not; a SYN to a signature port is named; Nmap's and portolan's default scans are
//! both rated. (psad's analysis mode counts every packet logged, whenever it came: this checks
//! the preset's counting, the detection lab's models check the schedule's timing.)

mod common;

use common::*;
use lab::{Lab, PsadLog, SCANNER_V4, TARGET_V4};
use stealth::{presets, Rule};

/// The preset's psad rules: packets to one destination that alert, and the signature ports.
fn psad_preset() -> (u32, Vec<u16>) {
    let budgets = presets(&["psad".to_string()]).unwrap();
    let threshold = budgets.iter().find_map(|b| match b.rule {
        Rule::PacketsPerHost { threshold, .. } => Some(threshold),
        _ => None,
    });
    let ports = budgets.iter().find_map(|b| match &b.rule {
        Rule::AlertPorts(ports) => Some(ports.clone()),
        _ => None,
    });
    (threshold.expect("a packets-per-host rule"), ports.expect("signature ports"))
}

#[test]
fn psad_rates_scans_as_the_preset_counts_them() {
    if !lab::available() || !has("psad") || !has("ulogd") {
        return;
    }
    let lab = Lab::new().unwrap();
    let log = PsadLog::start(&lab).unwrap();
    let target = TARGET_V4.to_string();
    let (threshold, signature_ports) = psad_preset();
    let scan = |ports: String| stdout(&portolan(&lab, &["-sS", "-n", "-Pn", "-p", &ports, &target]));

    // Closed ports, one SYN each (a RST answers, nothing is sent again).
    scan(format!("1001-{}", 1000 + threshold - 1));
    assert_eq!(log.lines().unwrap(), threshold as usize - 1, "one logged SYN per port");
    let below = log.analyse().unwrap();
    assert_eq!(below.danger_levels.get(&SCANNER_V4), None, "one packet short of the preset's threshold: {below:?}");

    scan(format!("1001-{}", 1000 + threshold));
    let at = log.analyse().unwrap();
    assert_eq!(at.danger_levels.get(&SCANNER_V4), Some(&1), "the preset's threshold: {at:?}");
    assert!(at.signatures.is_empty());

    for port in &signature_ports {
        scan(port.to_string());
        let signature = log.analyse().unwrap();
        assert_eq!(signature.signatures.len(), 1, "one SYN to {port}: {signature:?}");
    }

    stdout(&portolan(&lab, &["-sS", "-n", "-Pn", &target]));
    let default_scan = log.analyse().unwrap();
    assert!(default_scan.danger_levels[&SCANNER_V4] >= 2, "{default_scan:?}");
    if has("nmap") {
        let ran = lab.in_scanner("nmap").args(["-sS", "-n", "-Pn", "-T4", &target]).output().unwrap();
        assert!(ran.status.success());
        let nmap_scan = log.analyse().unwrap();
        assert!(nmap_scan.danger_levels[&SCANNER_V4] >= 2, "{nmap_scan:?}");
    }
}
