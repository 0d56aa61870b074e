//! End-to-end: the connect scan against a lab target whose ground truth the test built.

mod common;

use common::*;
use lab::{ABSENT_V4, TARGET_V4, TARGET_V6};

fn target() -> String {
    TARGET_V4.to_string()
}

/// Ground truth of the standard lab: (port, state, reason), sorted by port.
fn interesting_ports() -> Vec<(u16, &'static str, &'static str)> {
    let mut rows: Vec<_> = OPEN.iter().map(|&p| (p, "open", "syn-ack")).collect();
    rows.extend(DROPPED.iter().map(|&p| (p, "filtered", "no-response")));
    // Linux reports admin-prohibited to connect() as EHOSTUNREACH: nmap -sT says host-unreach.
    rows.extend(REJECTED.iter().map(|&p| (p, "filtered", "host-unreach")));
    rows.sort();
    rows
}

#[test]
fn connect_scan_reports_the_known_mix_exactly() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let report = stdout(&portolan(&lab.lab, &["-sT", "-n", "-p", PORTS, &target()]));

    let closed = PORT_COUNT - interesting_ports().len();
    let mut expected =
        vec![format!("Not shown: {closed} closed tcp ports (conn-refused)"), "PORT     STATE    SERVICE".to_string()];
    for (port, state, _) in interesting_ports() {
        expected.push(format!("{:<9}{:<9}{}", format!("{port}/tcp"), state, service_name(port)));
    }
    assert_eq!(port_section(&report), expected, "full report:\n{report}");
    assert!(report.starts_with("Starting portolan "), "{report}");
    assert!(report.contains(&format!("portolan scan report for {TARGET_V4}\nHost is up (")), "{report}");
    assert!(report.contains("portolan done: 1 IP address (1 host up) scanned in "), "{report}");
}

#[test]
fn reason_column_names_why_each_port_has_its_state() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let report = stdout(&portolan(&lab.lab, &["-sT", "-n", "--reason", "-p", PORTS, &target()]));

    let names: Vec<String> = interesting_ports().iter().map(|&(port, ..)| service_name(port)).collect();
    let service_width = names.iter().map(String::len).max().unwrap().max("SERVICE".len()) + 1;
    let closed = PORT_COUNT - names.len();
    let mut expected = vec![
        format!("Not shown: {closed} closed tcp ports (conn-refused)"),
        format!("PORT     STATE    {:<service_width$}REASON", "SERVICE"),
    ];
    for ((port, state, reason), name) in interesting_ports().into_iter().zip(&names) {
        expected.push(format!("{:<9}{:<9}{:<service_width$}{reason}", format!("{port}/tcp"), state, name));
    }
    assert_eq!(port_section(&report), expected, "full report:\n{report}");
    assert!(report.contains("Host is up, received syn-ack ("), "{report}");
}

#[test]
fn open_lists_only_open_ports_and_summarises_every_other_state() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let report = stdout(&portolan(&lab.lab, &["-sT", "-n", "--open", "-p", PORTS, &target()]));
    let closed = PORT_COUNT - OPEN.len() - DROPPED.len() - REJECTED.len();
    let mut expected = vec![
        format!("Not shown: {closed} closed tcp ports (conn-refused), 2 filtered tcp ports (no-response), 2 filtered tcp ports (host-unreach)"),
        "PORT     STATE SERVICE".to_string(),
    ];
    for port in OPEN {
        expected.push(format!("{:<9}{:<6}{}", format!("{port}/tcp"), "open", service_name(port)));
    }
    assert_eq!(port_section(&report), expected, "full report:\n{report}");
}

#[test]
fn a_host_whose_ports_are_all_closed_is_all_in_ignored_states() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let report = stdout(&portolan(&lab.lab, &["-sT", "-n", "-p", "1000-1029", &target()]));
    assert!(
        report.contains(&format!(
            "All 30 scanned ports on {TARGET_V4} are in ignored states.\nNot shown: 30 closed tcp ports (conn-refused)\n\nportolan done"
        )),
        "{report}"
    );
}

#[test]
fn a_silent_address_is_down_unless_pn_says_otherwise() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let quick = ["-sT", "-n", "-p", "80,443", "--max-retries", "0", "--initial-rtt-timeout", "300ms"];
    let absent = ABSENT_V4.to_string();
    let report = stdout(&portolan(&lab.lab, &[&quick[..], &[absent.as_str()]].concat()));
    assert!(report.contains("Note: Host seems down."), "{report}");
    assert!(report.contains("portolan done: 1 IP address (0 hosts up)"), "{report}");
    assert!(!report.contains("scan report for"), "{report}");

    let report = stdout(&portolan(&lab.lab, &[&quick[..], &["-Pn", "--reason", absent.as_str()]].concat()));
    assert!(
        report.contains(&format!("portolan scan report for {ABSENT_V4}\nHost is up, received user-set.")),
        "{report}"
    );
    assert!(report.contains("portolan done: 1 IP address (1 host up)"), "{report}");
}

#[test]
fn host_timeout_skips_a_host_that_takes_too_long() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    // Two dropped ports, each waited for at least 800 ms, keep the scan past the host timeout.
    let args = ["-sT", "-n", "-p", "25,3306", "--min-rtt-timeout", "800ms", "--host-timeout", "500ms", &target()];
    let report = stdout(&portolan(&lab.lab, &args));
    assert!(report.contains(&format!("Skipping host {TARGET_V4} due to host timeout")), "{report}");
    assert!(!report.contains("PORT"), "{report}");
}

#[test]
fn host_names_resolve_once_and_list_their_other_addresses() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    lab.lab.hosts_file(&[(TARGET_V4.into(), "target.lab"), (TARGET_V6.into(), "target.lab")]).unwrap();
    let report = stdout(&portolan(&lab.lab, &["-sT", "-p", "22,23", "target.lab"]));
    assert!(report.contains(&format!("portolan scan report for target.lab ({TARGET_V4})\n")), "{report}");
    assert!(report.contains(&format!("Other addresses for target.lab (not scanned): {TARGET_V6}\n")), "{report}");
    assert!(report.contains("22/tcp open   ssh\n23/tcp closed telnet\n"), "{report}");

    let output = portolan(&lab.lab, &["-sT", "-p", "22", "nosuchhost.lab"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Failed to resolve \"nosuchhost.lab\"."), "{stderr}");
    assert!(stdout(&output).contains("portolan done: 0 IP addresses (0 hosts up)"));
}

#[test]
fn resolve_all_scans_every_address_of_a_name_of_both_families() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let second: std::net::IpAddr = "2001:2::3".parse().unwrap();
    lab.lab.add_target_address(second).unwrap();
    let entries = [(TARGET_V4.into(), "target.lab"), (TARGET_V6.into(), "target.lab"), (second, "target.lab")];
    lab.lab.hosts_file(&entries).unwrap();
    // A SYN scan after the default discovery: ARP and neighbour discovery on the lab link.
    let report = stdout(&portolan(&lab.lab, &["-sS", "-n", "--reason", "-p", "22", "--resolve-all", "target.lab"]));
    for addr in [TARGET_V4.to_string(), TARGET_V6.to_string(), second.to_string()] {
        let section = report.split(&format!("portolan scan report for target.lab ({addr})\n")).nth(1);
        let section = section.unwrap_or_else(|| panic!("{addr} not reported: {report}"));
        assert!(section.lines().any(|line| line.starts_with("22/tcp open")), "{addr}: {report}");
    }
    assert!(report.contains("received arp-response") && report.contains("received nd-response"), "{report}");
    assert!(!report.contains("Other addresses"), "{report}");
    assert!(report.contains("3 IP addresses (3 hosts up)"), "{report}");
    // Through routers, each family gets its own probes: ICMPv6 has no timestamp request.
    let report = stdout(&portolan(&lab.lab, &["-sn", "-n", "--send-ip", "-PE", "-PP", "--resolve-all", "target.lab"]));
    assert!(report.contains("3 IP addresses (3 hosts up)"), "{report}");
}

#[test]
fn target_lists_and_exclusions_choose_the_hosts() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let list = std::env::temp_dir().join(format!("portolan-targets-{}", std::process::id()));
    std::fs::write(&list, format!("# lab hosts\n{TARGET_V4}\n198.18.0.0/29 # whole segment\n")).unwrap();
    let exclude = "198.18.0.0,198.18.0.1,198.18.0.3-7";
    let list_arg = list.to_str().unwrap();
    let report = stdout(&portolan(&lab.lab, &["-sT", "-n", "-p", "22", "-iL", list_arg, "--exclude", exclude]));
    std::fs::remove_file(&list).unwrap();
    // The listed address, then the one address of the /29 that is not excluded: the same host.
    assert_eq!(report.matches(&format!("portolan scan report for {TARGET_V4}\n")).count(), 2, "{report}");
    assert!(report.contains("portolan done: 2 IP addresses (2 hosts up)"), "{report}");
}

#[test]
fn ipv6_targets_scan_with_dash_6() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let report = stdout(&portolan(&lab.lab, &["-6", "-sT", "-n", "-p", "20-23,80,110", &TARGET_V6.to_string()]));
    assert!(report.contains(&format!("portolan scan report for {TARGET_V6}\n")), "{report}");
    assert!(report.contains("22/tcp  open     ssh") || report.contains("22/tcp  open"), "{report}");
    assert!(report.contains("80/tcp  open"), "{report}");
    assert!(report.contains("110/tcp filtered"), "{report}");

    let output = portolan(&lab.lab, &["-sT", "-n", "-p", "22", &TARGET_V6.to_string()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("use -6 for IPv6 targets"), "{stderr}");
}

/// Nmap as an oracle: the same scan of the same lab target must give the same port table.
#[test]
fn port_table_matches_nmap_line_by_line() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let args = ["-sT", "-n", "-Pn", "--reason", "-p", PORTS, &target()];
    let ours = stdout(&portolan(&lab.lab, &args));
    assert_same_table_as_nmap(&lab.lab, &args, &ours);
}
