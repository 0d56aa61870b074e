//! End-to-end: Debian's psad, fed as in production (an nftables log rule, ulogd2, the kernel's
//! iptables-style lines), rates scans as the psad preset behind --evade-detectors says it
//! does: a source that sends one destination DANGER_LEVEL1's packets is rated, one packet
//! fewer is not; a SYN to a signature port is named; Nmap's and portolan's default scans are
//! both rated. psad's analysis mode counts every packet logged, whenever it came, so the
//! schedule's timing is checked against psad's daemon, reading the same log in real time with
//! its hour scaled down to seconds.

mod common;

use common::*;
use std::time::{Duration, Instant};

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

#[test]
fn psads_daemon_does_not_rate_the_stealth_schedule_and_rates_the_same_scan_at_full_speed() {
    if !lab::available() || !has("psad") || !has("ulogd") {
        return;
    }
    let lab = Lab::new().unwrap();
    let log = PsadLog::start(&lab).unwrap();
    // psad's hour as 10 s. A record starts when psad reads a pair's first packet (up to a
    // check interval after it came) and goes at the first check 10 s on, holding what psad
    // read meanwhile: packets that came up to 12 s apart can share it. The budget says so.
    let psad = log.watch(&lab, 10).unwrap();
    let (threshold, _) = psad_preset();
    let dir = scratch_dir("psad-daemon");
    let budgets = dir.join("psad-scaled.txt");
    std::fs::write(&budgets, format!("psad  packets-per-host  {threshold}  12\n")).unwrap();
    let target = TARGET_V4.to_string();
    let ports = format!("1001-{}", 1000 + threshold + 3);
    let all_closed = |report: &str| report.matches("/tcp closed").count() == threshold as usize + 3;

    let started = Instant::now();
    let scheduled = ["-sS", "-n", "--detector-budgets", budgets.to_str().unwrap(), "-p", &ports, &target];
    let report = stdout(&portolan(&lab, &scheduled));
    assert!(all_closed(&report), "{report}");
    assert!(started.elapsed() > Duration::from_secs(12), "the schedule spread the SYNs: {:?}", started.elapsed());
    assert_eq!(log.lines().unwrap(), threshold as usize + 3, "every SYN logged");
    std::thread::sleep(Duration::from_secs(3)); // psad reads the log every second
    assert_eq!(psad.danger_level(SCANNER_V4), None, "psad rated the stealth schedule");

    let report = stdout(&portolan(&lab, &["-sS", "-n", "-Pn", "-p", &ports, &target]));
    assert!(all_closed(&report), "{report}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while psad.danger_level(SCANNER_V4).is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(psad.danger_level(SCANNER_V4) >= Some(1), "psad did not rate the same scan at full speed");
}
