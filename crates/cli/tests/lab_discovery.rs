//! End-to-end: host discovery (-sn, -P*) against lab hosts that answer every probe, that drop
//! ICMP, and that are absent.

mod common;

use common::*;
use lab::{Lab, ABSENT_V4, ABSENT_V6, TARGET_V4, TARGET_V6};

/// A second address of the target that drops ICMP echo and timestamp requests: a host behind
/// a firewall that blocks pings, as the seed describes.
const PING_BLOCKED: &str = "198.18.0.3";

fn discovery_lab() -> StandardLab {
    let lab = standard_lab();
    lab.lab.add_target_address(PING_BLOCKED.parse::<std::net::IpAddr>().unwrap()).unwrap();
    lab.lab
        .input_rule(&format!("ip daddr {PING_BLOCKED} icmp type {{ echo-request, timestamp-request }} drop"))
        .unwrap();
    lab
}

/// A ping scan by IP probes: on the lab's own link ARP would answer first (as in Nmap).
fn ping_scan(lab: &Lab, args: &[&str]) -> String {
    let mut all = vec!["-sn", "-n", "--reason", "--send-ip"];
    all.extend(args);
    stdout(&portolan(lab, &all))
}

fn reason_for(report: &str, addr: &str) -> Option<String> {
    let section = report.split(&format!("portolan scan report for {addr}\n")).nth(1)?;
    let line = section.lines().next()?;
    let reason = line.strip_prefix("Host is up, received ")?;
    Some(reason.split(' ').next()?.to_string())
}

#[test]
fn each_probe_kind_finds_the_host_with_its_reason() {
    if !lab::available() {
        return;
    }
    let lab = discovery_lab();
    let target = TARGET_V4.to_string();
    // 22 listens and 23 is closed on the target; 40125 is closed, so -PU draws a port unreachable.
    for (probe, reason) in [
        ("-PE", "echo-reply"),
        ("-PP", "timestamp-reply"),
        ("-PS22", "syn-ack"),
        ("-PS23", "reset"),
        ("-PA80", "reset"),
        ("-PU", "port-unreach"),
    ] {
        let report = ping_scan(&lab.lab, &[probe, &target]);
        assert_eq!(reason_for(&report, &target).as_deref(), Some(reason), "{probe}:\n{report}");
        assert!(report.contains("(1 host up)"), "{probe}:\n{report}");
    }
}

#[test]
fn linux_ignores_address_mask_requests_so_the_host_is_down() {
    if !lab::available() {
        return;
    }
    let lab = discovery_lab();
    let report = ping_scan(&lab.lab, &["-PM", "-v", &TARGET_V4.to_string()]);
    assert!(
        report.contains(&format!("portolan scan report for {TARGET_V4} [host down, received no-response]")),
        "{report}"
    );
    assert!(report.contains("1 IP address (0 hosts up)"), "{report}");
}

#[test]
fn a_host_blocking_pings_is_found_by_the_tcp_probes_and_an_absent_one_is_down() {
    if !lab::available() {
        return;
    }
    let lab = discovery_lab();
    let target = TARGET_V4.to_string();
    let absent = ABSENT_V4.to_string();
    let report = ping_scan(&lab.lab, &["-v", &target, PING_BLOCKED, &absent]);
    let blocked = reason_for(&report, PING_BLOCKED);
    assert!(matches!(blocked.as_deref(), Some("syn-ack" | "reset")), "{report}");
    assert!(reason_for(&report, &target).is_some(), "{report}");
    assert!(
        report.contains(&format!("portolan scan report for {absent} [host down, received no-response]")),
        "{report}"
    );
    assert!(report.contains("3 IP addresses (2 hosts up)"), "{report}");
    // Only ICMP probes: the blocking host is not found.
    let icmp_only = ping_scan(&lab.lab, &["-PE", "-PP", &target, PING_BLOCKED]);
    assert!(icmp_only.contains("2 IP addresses (1 host up)"), "{icmp_only}");
}

#[test]
fn the_port_scan_probes_only_hosts_found_up() {
    if !lab::available() {
        return;
    }
    let lab = discovery_lab();
    let target = TARGET_V4.to_string();
    let absent = ABSENT_V4.to_string();
    let report = stdout(&portolan(&lab.lab, &["-n", "-v", "--send-ip", "-p", "22", &target, &absent]));
    assert!(report.contains("Initiating Ping Scan at "), "{report}");
    assert!(report.contains("Scanning 2 hosts [4 ports/host]"), "{report}");
    assert!(report.contains("Completed Ping Scan at "), "{report}");
    assert!(report.contains(&format!("Scanning {target} [1 port]")), "{report}");
    assert!(report.contains("elapsed (1 total ports)"), "{report}");
    assert!(report.contains(&format!("Discovered open port 22/tcp on {target}")), "{report}");
    assert!(report.contains("2 IP addresses (1 host up)"), "{report}");
}

#[test]
fn without_privileges_discovery_connects_to_80_and_443() {
    if !lab::available() {
        return;
    }
    let lab = discovery_lab();
    let target = TARGET_V4.to_string();
    let absent = ABSENT_V4.to_string();
    let output = lab
        .lab
        .in_scanner("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"])
        .arg(env!("CARGO_BIN_EXE_portolan"))
        .args(["-sn", "-n", "--reason", &target, &absent])
        .output()
        .unwrap();
    let report = stdout(&output);
    // 80 listens on the target: the connection is accepted.
    assert_eq!(reason_for(&report, &target).as_deref(), Some("syn-ack"), "{report}");
    assert!(report.contains("2 IP addresses (1 host up)"), "{report}");
}

#[test]
fn ping_scan_files_are_valid_and_agree_with_nmap() {
    if !lab::available() {
        return;
    }
    let lab = discovery_lab();
    let dir = scratch_dir("ping-scan");
    let (xml, json) = (dir.join("ping.xml"), dir.join("ping.json"));
    let target = TARGET_V4.to_string();
    let absent = ABSENT_V4.to_string();
    let hosts = [target.as_str(), PING_BLOCKED, absent.as_str()];
    let mut args = vec!["-sn", "-n", "--send-ip", "-oX", xml.to_str().unwrap(), "-oJ", json.to_str().unwrap()];
    args.extend(hosts);
    let ours = stdout(&portolan(&lab.lab, &args));
    assert_valid_against_nmap_dtd(&xml);
    assert_matches_json_schema(&json, false);
    let document = std::fs::read_to_string(&xml).unwrap();
    assert!(!document.contains("<ports>"), "a ping scan lists no ports:\n{document}");
    if !has("nmap") {
        return;
    }
    // Nmap would ask the lab link's ARP first; --send-ip makes it use the same IP probes.
    let mut nmap_args = vec!["-sn", "-n", "--send-ip"];
    nmap_args.extend(hosts);
    let theirs = String::from_utf8(lab.lab.in_scanner("nmap").args(&nmap_args).output().unwrap().stdout).unwrap();
    let up_hosts = |report: &str, prefix: &str| -> Vec<String> {
        report.lines().filter_map(|l| l.strip_prefix(prefix)).map(str::to_string).collect()
    };
    assert_eq!(up_hosts(&ours, "portolan scan report for "), up_hosts(&theirs, "Nmap scan report for "), "{theirs}");
}

#[test]
fn arp_finds_hosts_on_the_link_with_their_hardware_address_as_nmap_does() {
    if !lab::available() {
        return;
    }
    let lab = discovery_lab();
    // Even a host dropping every IP packet answers ARP.
    lab.lab.input_rule(&format!("ip daddr {PING_BLOCKED} drop")).unwrap();
    let dir = scratch_dir("arp");
    let xml = dir.join("arp.xml");
    let target = TARGET_V4.to_string();
    let absent = ABSENT_V4.to_string();
    let hosts = [target.as_str(), PING_BLOCKED, absent.as_str()];
    let mut args = vec!["-sn", "-n", "--reason", "-oX", xml.to_str().unwrap()];
    args.extend(hosts);
    let report = stdout(&portolan(&lab.lab, &args));
    let mac = lab.lab.target_mac().unwrap().to_uppercase();
    for host in [target.as_str(), PING_BLOCKED] {
        assert_eq!(reason_for(&report, host).as_deref(), Some("arp-response"), "{report}");
    }
    assert!(report.contains(&format!("MAC Address: {mac} (Unknown)")), "{report}");
    assert!(report.contains("3 IP addresses (2 hosts up)"), "{report}");
    assert_valid_against_nmap_dtd(&xml);
    assert!(std::fs::read_to_string(&xml).unwrap().contains(&format!("<address addr=\"{mac}\" addrtype=\"mac\"/>")));
    if has("nmap") {
        let theirs = lab.lab.in_scanner("nmap").args(["-sn", "-n"]).args(hosts).output().unwrap();
        let theirs = String::from_utf8(theirs.stdout).unwrap();
        assert!(theirs.contains("3 IP addresses (2 hosts up)"), "{theirs}");
        assert!(theirs.contains(&format!("MAC Address: {mac} ")), "{theirs}");
    }
}

#[test]
fn an_arp_sweep_of_245_hosts_behind_one_bridge_finds_every_one_every_time() {
    // Regression: each host its own namespace behind one software bridge, which copies every
    // broadcast to all 245 ports; at 10,000 requests a second the copies overflowed the
    // kernel's backlog, and sweeps reported 106 to 241 hosts up (one in eight on an idle
    // machine, every one with both cores busy).
    if !lab::available() {
        return;
    }
    let lab = Lab::new().expect("build lab");
    let hosts = lab.add_hosts(245).expect("add the hosts");
    let range = format!("{}-{}", hosts[0], hosts[hosts.len() - 1].octets()[3]);
    for run in 0..8 {
        let report = stdout(&portolan(&lab, &["-sn", "-n", &range]));
        assert!(report.contains("245 IP addresses (245 hosts up)"), "run {run}:\n{report}");
    }
}

#[test]
fn neighbour_discovery_finds_ipv6_hosts_on_the_link_with_their_hardware_address_as_nmap_does() {
    if !lab::available() {
        return;
    }
    let lab = discovery_lab();
    // A second IPv6 address of the target that drops every IP packet: it still answers
    // neighbour solicitations, as a host dropping IPv4 still answers ARP.
    let blocked = "2001:2::3";
    lab.lab.add_target_address(blocked.parse::<std::net::IpAddr>().unwrap()).unwrap();
    lab.lab.input_rule(&format!("ip6 daddr {blocked} meta l4proto != ipv6-icmp drop")).unwrap();
    lab.lab.input_rule(&format!("ip6 daddr {blocked} icmpv6 type echo-request drop")).unwrap();
    let dir = scratch_dir("nd");
    let (xml, grepable, json) = (dir.join("nd.xml"), dir.join("nd.gnmap"), dir.join("nd.json"));
    let (target, absent) = (TARGET_V6.to_string(), ABSENT_V6.to_string());
    let hosts = [target.as_str(), blocked, absent.as_str()];
    let files = ["-oX", xml.to_str().unwrap(), "-oG", grepable.to_str().unwrap(), "-oJ", json.to_str().unwrap()];
    let mut args = [&["-6", "-sn", "-n", "--reason"][..], &files[..]].concat();
    args.extend(hosts);
    let report = stdout(&portolan(&lab.lab, &args));
    let mac = lab.lab.target_mac().unwrap().to_uppercase();
    for host in [target.as_str(), blocked] {
        assert_eq!(reason_for(&report, host).as_deref(), Some("nd-response"), "{report}");
    }
    assert!(report.contains(&format!("MAC Address: {mac} (Unknown)")), "{report}");
    assert!(report.contains("3 IP addresses (2 hosts up)"), "{report}");
    assert_valid_against_nmap_dtd(&xml);
    let document = std::fs::read_to_string(&xml).unwrap();
    assert!(document.contains(&format!("<address addr=\"{target}\" addrtype=\"ipv6\"/>")), "{document}");
    assert!(document.contains(&format!("<address addr=\"{mac}\" addrtype=\"mac\"/>")), "{document}");
    let grepable = std::fs::read_to_string(&grepable).unwrap();
    assert!(grepable.contains(&format!("Host: {target} ()\tStatus: Up")), "{grepable}");
    assert_matches_json_schema(&json, false);
    assert!(std::fs::read_to_string(&json).unwrap().contains(&format!("\"{target}\"")));
    if has("nmap") {
        let theirs = lab.lab.in_scanner("nmap").args(["-6", "-sn", "-n", "--reason"]).args(hosts).output().unwrap();
        let theirs = String::from_utf8(theirs.stdout).unwrap();
        assert!(theirs.contains("3 IP addresses (2 hosts up)"), "{theirs}");
        assert!(theirs.contains("Host is up, received nd-response"), "{theirs}");
        assert!(theirs.contains(&format!("MAC Address: {mac} ")), "{theirs}");
    }
}

#[test]
fn a_routed_ipv6_prefix_of_256_hosts_is_found_up_as_nmap_finds_it() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().unwrap();
    lab.any_ip_v6("2001:2:0:1::/120").unwrap();
    let report = stdout(&portolan(&lab, &["-6", "-sn", "-n", "2001:2:0:1::/120"]));
    assert!(report.contains("256 IP addresses (256 hosts up)"), "{report}");
    assert!(report.contains("portolan scan report for 2001:2:0:1::ff\n"), "{report}");
    if has("nmap") {
        let theirs = lab.in_scanner("nmap").args(["-6", "-sn", "-n", "2001:2:0:1::/120"]).output().unwrap();
        let theirs = String::from_utf8(theirs.stdout).unwrap();
        assert!(theirs.contains("256 IP addresses (256 hosts up)"), "{theirs}");
    }
}

/// Replaces what varies between runs (clock times, durations, latencies) with placeholders.
fn mask_timings(report: &str) -> String {
    report
        .lines()
        .map(|line| {
            let line = match line.split_once(" at ") {
                Some((before, after)) if after.starts_with(|c: char| c.is_ascii_digit()) => {
                    let rest = after.split_once(", ").map(|(_, rest)| format!(", {rest}")).unwrap_or_default();
                    format!("{before} at <time>{rest}")
                }
                _ => line.to_string(),
            };
            let line = match line.split_once("s elapsed") {
                Some((before, after)) => {
                    format!("{}<elapsed>{after}", before.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.'))
                }
                None => line,
            };
            let line = match line.split_once(" (") {
                Some((before, after)) if after.ends_with("s latency).") => format!("{before} (<latency>)."),
                _ => line,
            };
            match line.split_once(" scanned in ") {
                Some((before, _)) => format!("{before} scanned in <duration>"),
                None => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn verbose_phase_lines_read_as_nmaps() {
    if !lab::available() {
        return;
    }
    let lab = discovery_lab();
    let target = TARGET_V4.to_string();
    let absent = ABSENT_V4.to_string();
    let args = ["-v", "-n", "--send-ip", "-PE", "-p", "22,23", "--reason", &target, &absent];
    let report = stdout(&portolan(&lab.lab, &args));
    // The services table's line names a path that depends on whether Nmap is installed.
    let report: String = report.lines().filter(|l| !l.starts_with("Service names")).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(mask_timings(&report));
}

#[test]
fn pn_still_asks_arp_on_our_own_link_as_nmap_does() {
    // Regression: -Pn skipped ARP, so hosts on our own link lost their hardware address and
    // absent ones were scanned; Nmap asks ARP whatever the ping options (--disable-arp-ping
    // turns it off).
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let quick = ["-sS", "-n", "-Pn", "--reason", "-p", "22", "--max-retries", "0"];
    let (target, absent_addr) = (TARGET_V4.to_string(), ABSENT_V4.to_string());
    let present = stdout(&portolan(&lab.lab, &[&quick[..], &[&target]].concat()));
    assert!(present.contains("Host is up, received arp-response ("), "{present}");
    assert!(present.contains("MAC Address: "), "{present}");
    let absent = stdout(&portolan(&lab.lab, &[&quick[..], &[&absent_addr]].concat()));
    assert!(absent.contains("(0 hosts up)"), "{absent}");
    assert!(absent.contains("try --disable-arp-ping"), "{absent}");
    let without_arp = [&quick[..], &["--disable-arp-ping", &absent_addr]].concat();
    let assumed = stdout(&portolan(&lab.lab, &without_arp));
    assert!(assumed.contains("Host is up, received user-set."), "{assumed}");
}

#[test]
fn a_udp_ping_carries_the_users_data() {
    // Regression: --data was taken with -PU and the UDP ping sent its own payload anyway.
    // The lab's DNS service answers a DNS query and nothing else; its port is open, so a
    // datagram it ignores draws no port unreachable either.
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let _dns = lab.lab.serve_udp(&[(53, lab::UdpService::Dns)]).unwrap();
    let target = TARGET_V4.to_string();
    let query = ping_scan(&lab.lab, &["-PU53", &target]);
    assert_eq!(reason_for(&query, &target).as_deref(), Some("udp-response"), "{query}");
    let junk = ping_scan(&lab.lab, &["-PU53", "--data-string", "not a query", &target]);
    assert!(junk.contains("(0 hosts up)"), "{junk}");
}
