//! End-to-end: how raw probes leave. On the lab's Ethernet link they go out as frames through
//! a link-layer socket, past the scanner's IP stack (proven by an nftables counter on the
//! scanner's IP output path, which such frames never pass); with --send-ip they take that path.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::*;
use lab::{Lab, TARGET_V4, TARGET_V6};

/// The port whose SYNs are counted: one of the standard lab's open ports.
const COUNTED_PORT: u16 = 443;

/// Counts the SYNs to `COUNTED_PORT` leaving the scanner through its IP stack (not the RSTs
/// the scanner's kernel sends to SYN/ACKs it knows nothing of).
fn count_ip_output(lab: &Lab) {
    let ruleset = format!(
        "table inet probes {{\n  counter sent {{}}\n  chain output {{\n    type filter hook output priority 0; policy accept;\n    tcp dport {COUNTED_PORT} tcp flags & (syn | ack) == syn counter name sent\n  }}\n}}\n"
    );
    let mut nft = lab.in_scanner("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().expect("run nft");
    nft.stdin.take().unwrap().write_all(ruleset.as_bytes()).unwrap();
    assert!(nft.wait().unwrap().success(), "nft refused the counter");
}

fn ip_output_counted(lab: &Lab) -> u64 {
    let output = lab.in_scanner("nft").args(["list", "counter", "inet", "probes", "sent"]).output().expect("run nft");
    let text = String::from_utf8_lossy(&output.stdout);
    let packets = text.split_whitespace().skip_while(|word| *word != "packets").nth(1);
    packets.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no packet count in:\n{text}"))
}

fn open_ports(report: &str) -> Vec<String> {
    report
        .lines()
        .filter(|line| line.contains(" open "))
        .map(|line| line.split('/').next().unwrap().to_string())
        .collect()
}

#[test]
fn probes_leave_as_ethernet_frames_unless_send_ip_and_the_table_is_the_same() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    count_ip_output(&lab.lab);
    for (family, target) in [("-4", TARGET_V4.to_string()), ("-6", TARGET_V6.to_string())] {
        let mut tables = Vec::new();
        for (via, through_ip) in [(None, false), (Some("--send-eth"), false), (Some("--send-ip"), true)] {
            let before = ip_output_counted(&lab.lab);
            let mut args = vec![family, "-sS", "-n", "-Pn", "--reason", "-p", PORTS, &target];
            args.extend(via);
            let report = stdout(&portolan(&lab.lab, &args));
            let counted = ip_output_counted(&lab.lab) - before;
            assert_eq!(counted > 0, through_ip, "{family} {via:?}: {counted} probes through the IP stack");
            tables.push(port_section(&report));
        }
        assert_eq!(open_ports(&tables[0].join("\n")), ["22", "80", "443", "8080"], "{family}: {:?}", tables[0]);
        assert_eq!(tables[0], tables[1], "{family}");
        assert_eq!(tables[0], tables[2], "{family}");
    }
}

#[test]
fn a_routed_block_is_reached_through_the_gateways_hardware_address() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    lab.lab.any_ip("198.18.200.0/29").unwrap();
    count_ip_output(&lab.lab);
    let report = stdout(&portolan(&lab.lab, &["-sS", "-n", "-Pn", "--send-eth", "-p", "443", "198.18.200.0/29"]));
    assert_eq!(report.matches("443/tcp open  https").count(), 8, "{report}");
    lab.lab.any_ip_v6("2001:2:0:200::/125").unwrap();
    let args = ["-6", "-sS", "-n", "-Pn", "--send-eth", "-p", "443", "2001:2:0:200::/125"];
    let report = stdout(&portolan(&lab.lab, &args));
    assert_eq!(report.matches("443/tcp open  https").count(), 8, "{report}");
    assert_eq!(ip_output_counted(&lab.lab), 0, "every probe of both families left as a frame");
}

#[test]
fn send_eth_where_there_is_no_ethernet_says_why() {
    if !lab::available() {
        return;
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_portolan"))
        .args(["-sS", "--send-eth", "-p", "80", "127.0.0.1"])
        .output()
        .expect("run portolan");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "portolan: --send-eth: the route to 127.0.0.1 does not leave through an Ethernet interface\n"
    );
}

#[test]
fn targets_behind_another_interface_are_still_heard_when_others_get_frames() {
    // Regression: with frames going to the lab target, the replies were read off the lab link
    // alone, so a target reached through loopback in the same scan had every port filtered.
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let target = TARGET_V4.to_string();
    let report = stdout(&portolan(&lab.lab, &["-sS", "-n", "-Pn", "-p", "22,23", &target, "127.0.0.1"]));
    let reports: Vec<&str> = report.split("portolan scan report for ").skip(1).collect();
    assert_eq!(reports.len(), 2, "{report}");
    assert!(reports[0].contains("22/tcp open   ssh\n23/tcp closed telnet\n"), "{report}");
    assert!(reports[1].contains("22/tcp closed ssh\n23/tcp closed telnet\n"), "{report}");
}

#[test]
fn each_target_follows_its_own_route() {
    // Regression: a group's frames all went to its first target's gateway, so a block routed
    // through a second gateway had every port filtered.
    if !lab::available() {
        return;
    }
    let lab = Lab::new().unwrap();
    let second_gateway = lab.add_hosts(1).unwrap()[0];
    lab.any_ip("198.19.0.0/29").unwrap();
    lab.any_ip_behind(second_gateway, "198.19.1.0/29").unwrap();
    for blocks in [["198.19.0.0/29", "198.19.1.0/29"], ["198.19.1.0/29", "198.19.0.0/29"]] {
        let report = stdout(&portolan(&lab, &[&["-sS", "-n", "-Pn", "-p", "443"], &blocks[..]].concat()));
        assert_eq!(report.matches("443/tcp closed https").count(), 16, "{blocks:?}:\n{report}");
    }
}

#[test]
fn an_unroutable_target_is_reported_down_and_the_scan_goes_on() {
    // Regression: one target without a route (the lab's scanner has none to 198.19.255.0/24)
    // ended the whole scan.
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let target = TARGET_V4.to_string();
    let output = portolan(&lab.lab, &["-sS", "-n", "-Pn", "-p", "22", "198.19.255.1", &target]);
    let report = stdout(&output);
    assert!(report.contains("22/tcp open  ssh"), "{report}");
    assert!(report.contains("portolan done: 2 IP addresses (1 host up)"), "{report}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("WARNING: probes to 198.19.255.1 cannot be sent"), "{stderr}");
}

#[test]
fn a_local_firewall_refusing_probes_leaves_that_target_unanswered_and_the_scan_goes_on() {
    // Regression: the EPERM a local firewall gives a raw socket ended the whole scan.
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    lab.lab.add_target_address("198.18.0.3".parse::<std::net::IpAddr>().unwrap()).unwrap();
    lab.lab.scanner_output_rule("ip daddr 198.18.0.3 drop").unwrap();
    let target = TARGET_V4.to_string();
    let args = ["-sS", "-n", "-Pn", "--send-ip", "--max-retries", "1", "-p", "22,23", "198.18.0.3", &target];
    let output = portolan(&lab.lab, &args);
    let report = stdout(&output);
    let reports: Vec<&str> = report.split("portolan scan report for ").skip(1).collect();
    assert_eq!(reports.len(), 2, "{report}");
    assert!(reports[0].contains("22/tcp filtered ssh\n23/tcp filtered telnet\n"), "{report}");
    assert!(reports[1].contains("22/tcp open   ssh\n23/tcp closed telnet\n"), "{report}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("WARNING: probes to 198.18.0.3 cannot be sent (Operation not permitted"), "{stderr}");
}

#[test]
fn iflist_lists_the_interfaces_and_routes_nmap_lists() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let ours = stdout(&portolan(&lab.lab, &["--iflist"]));
    let tables = |text: &str| -> Vec<String> {
        text.lines().skip_while(|line| !line.starts_with("****")).map(|line| line.trim_end().to_string()).collect()
    };
    assert!(ours.contains("scan0 (scan0) 198.18.0.1/24"), "{ours}");
    assert!(ours.contains("198.18.0.0/24"), "{ours}");
    if has("nmap") {
        let theirs = lab.lab.in_scanner("nmap").arg("--iflist").output().unwrap();
        let theirs = String::from_utf8(theirs.stdout).unwrap();
        assert_eq!(tables(&ours), tables(&theirs), "portolan:\n{ours}\nnmap:\n{theirs}");
    }
}

#[test]
fn a_scan_whose_link_goes_down_ends_with_its_ports_filtered_and_one_warning() {
    // Regression: with the link's carrier lost, every send found the kernel's queue "full"
    // (ENOBUFS), and the scan waited for it to empty, retrying the same frame forever; then
    // each host group (two here) warned of the link anew.
    if !lab::available() {
        return;
    }
    let lab = Lab::new().expect("build lab");
    lab.route_to_nowhere("198.19.0.0/24").expect("a route to nowhere");
    lab.cut_link().expect("cut the link");
    let mut child = lab
        .in_scanner(env!("CARGO_BIN_EXE_portolan"))
        .args(["-sS", "-n", "-Pn", "-p1-16", "--max-retries", "1", "--max-hostgroup", "2", "198.19.0.0/30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start portolan");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().expect("kill");
            panic!("the scan was still running after 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    let report = stdout(&output);
    assert_eq!(report.matches("portolan scan report for ").count(), 4, "{report}");
    let filtered = report.lines().filter(|line| line.contains("/tcp") && line.contains(" filtered ")).count();
    assert_eq!(filtered, 4 * 16, "{report}");
    let warnings = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        warnings.matches("WARNING").count(),
        1,
        "one warning, for the link, not one per target or group: {warnings}"
    );
    assert!(warnings.contains("scan0") || warnings.contains("link"), "{warnings}");
}
