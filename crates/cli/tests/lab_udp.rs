//! End-to-end: the UDP scan against fixture services, firewalled ports and closed ports, with
//! the target's ICMP rate limit off and at Linux's default. Judged against the lab's ground
//! truth, which Nmap's own UDP scan misses under the default limit.

mod common;

use common::*;
use lab::{Lab, Listeners, UdpService, TARGET_V4, TARGET_V6};
use model::Protocol;

/// Fixture services that answer only their own protocol's requests.
const SERVICES: [(u16, UdpService); 4] =
    [(7, UdpService::Echo), (53, UdpService::Dns), (123, UdpService::Ntp), (161, UdpService::Snmp)];
const UDP_DROPPED: u16 = 500;
const UDP_REJECTED: u16 = 1434;

struct UdpLab {
    lab: Lab,
    _services: Listeners,
}

fn udp_lab() -> UdpLab {
    let lab = Lab::new().expect("build lab");
    let services = lab.serve_udp(&SERVICES).expect("start UDP services");
    lab.filter_udp(&[UDP_DROPPED], &[UDP_REJECTED]).expect("load firewall");
    UdpLab { lab, _services: services }
}

fn row(port: u16, state: &'static str, reason: &'static str) -> Row<'static> {
    (format!("{port}/udp"), state, service_name_of(Protocol::Udp, port), reason)
}

/// The expected report section when `scanned` ports were probed, every fixture answering and
/// the closed ports too many to list.
fn expected_section(scanned: usize) -> Vec<String> {
    let rows = interesting_rows();
    let mut section = vec![format!("Not shown: {} closed udp ports (port-unreach)", scanned - rows.len())];
    section.extend(port_table(&rows));
    section
}

fn interesting_rows() -> Vec<Row<'static>> {
    let mut rows: Vec<_> = SERVICES.iter().map(|&(port, _)| row(port, "open", "udp-response ttl 64")).collect();
    rows.push(row(UDP_DROPPED, "open|filtered", "no-response"));
    rows.push(row(UDP_REJECTED, "filtered", "admin-prohibited ttl 64"));
    rows
}

/// The host's "Not shown" line, if any, and its port table (which ARP's "MAC Address:" line
/// follows on the lab link).
fn section(report: &str) -> Vec<String> {
    report
        .lines()
        .skip_while(|line| !line.starts_with("Not shown") && !line.starts_with("PORT "))
        .take_while(|line| !line.is_empty() && !line.starts_with("MAC Address:"))
        .map(str::to_string)
        .collect()
}

fn scan(lab: &Lab, ports: &str, extra: &[&str]) -> String {
    scan_target(lab, &TARGET_V4.to_string(), ports, extra)
}

fn scan_target(lab: &Lab, target: &str, ports: &str, extra: &[&str]) -> String {
    let mut args = vec!["-sU", "-n", "--reason", "-p", ports];
    args.extend(extra);
    args.push(target);
    stdout(&portolan(lab, &args))
}

#[test]
fn udp_scan_reports_every_state_exactly() {
    if !lab::available() {
        return;
    }
    let lab = udp_lab();
    // 40125, where the engine's canaries go, is closed too (a scan holding it never ended).
    let report = scan(&lab.lab, "1-200,500,1434,40125", &["-v"]);
    assert_eq!(section(&report), expected_section(203), "full report:\n{report}");
    assert!(found_up_by_default_discovery(&report), "{report}");
    assert!(report.contains(&format!("Discovered open port 53/udp on {TARGET_V4}")), "{report}");
}

#[test]
fn closed_ports_behind_linuxs_icmp_rate_limit_come_out_closed() {
    if !lab::available() {
        return;
    }
    let lab = udp_lab();
    // Linux's default. 12 closed ports and one rejected: 13 ICMP errors, of which Linux sends
    // 6 at once and then one a second.
    lab.lab.sysctl("net.ipv4.icmp_ratelimit", "1000").unwrap();
    let ports = "7,53,123,161,500,1000-1011,1434";
    let report = scan(&lab.lab, ports, &[]);
    let mut rows = interesting_rows();
    rows.extend((1000..=1011).map(|port| row(port, "closed", "port-unreach ttl 64")));
    rows.sort_by_key(|(port, ..)| port.trim_end_matches("/udp").parse::<u16>().unwrap());
    assert_eq!(section(&report), port_table(&rows), "full report:\n{report}");
}

#[test]
fn ipv6_udp_scan_reports_every_state_exactly_as_nmap_does() {
    if !lab::available() {
        return;
    }
    let lab = udp_lab();
    let report = scan_target(&lab.lab, &TARGET_V6.to_string(), "1-200,500,1434", &["-6"]);
    assert_eq!(section(&report), expected_section(202), "full report:\n{report}");
    assert!(found_up_by_default_discovery(&report), "{report}");
    let target = TARGET_V6.to_string();
    let args = ["-6", "-sU", "-n", "-Pn", "--reason", "-p", "7,53,123,161,500,1000-1011,1434", &target];
    let ours = stdout(&portolan(&lab.lab, &args));
    assert_same_table_as_nmap(&lab.lab, &args, &ours);
}

#[test]
fn ipv6_closed_ports_behind_linuxs_icmpv6_rate_limit_come_out_closed() {
    if !lab::available() {
        return;
    }
    let lab = udp_lab();
    // Linux's default for ICMPv6 errors too: 6 at once, then one a second.
    lab.lab.sysctl("net.ipv6.icmp.ratelimit", "1000").unwrap();
    let ports = "7,53,123,161,500,1000-1011,1434";
    let report = scan_target(&lab.lab, &TARGET_V6.to_string(), ports, &["-6"]);
    let mut rows = interesting_rows();
    rows.extend((1000..=1011).map(|port| row(port, "closed", "port-unreach ttl 64")));
    rows.sort_by_key(|(port, ..)| port.trim_end_matches("/udp").parse::<u16>().unwrap());
    assert_eq!(section(&report), port_table(&rows), "full report:\n{report}");
}

#[test]
fn services_stay_silent_without_their_protocols_payload() {
    if !lab::available() {
        return;
    }
    let lab = udp_lab();
    let report = scan(&lab.lab, "7,53,123,161", &["-Pn", "--data-length", "0"]);
    let rows = vec![
        row(7, "open", "udp-response ttl 64"),
        row(53, "open|filtered", "no-response"),
        row(123, "open|filtered", "no-response"),
        row(161, "open|filtered", "no-response"),
    ];
    assert_eq!(section(&report), port_table(&rows), "full report:\n{report}");
}

#[test]
fn nmap_payloads_in_the_datadir_serve_ports_our_table_lacks() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().unwrap();
    let _dns = lab.serve_udp(&[(5300, UdpService::Dns)]).unwrap();
    let datadir = scratch_dir("payloads");
    let query = r#"udp 5300 "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01""#;
    std::fs::write(datadir.join("nmap-payloads"), format!("# a test's own table\n{query}\n")).unwrap();
    let datadir_arg = datadir.to_str().unwrap();
    let with = scan(&lab, "5300", &["-Pn", "--datadir", datadir_arg]);
    assert!(with.contains("5300/udp open"), "{with}");
    let without = scan(&lab, "5300", &["-Pn", "--data-string", "not a query"]);
    assert!(without.contains("5300/udp open|filtered"), "{without}");
}

#[test]
fn syn_and_udp_scans_run_together_and_list_tcp_first() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let _services = lab.lab.serve_udp(&SERVICES).unwrap();
    let dir = scratch_dir("mixed");
    let (xml, json) = (dir.join("mixed.xml"), dir.join("mixed.json"));
    let target = TARGET_V4.to_string();
    let (xml_arg, json_arg) = (xml.to_str().unwrap(), json.to_str().unwrap());
    let args = ["-sS", "-sU", "-n", "--reason", "-p", "T:22,25,113,U:53,113", "-oX", xml_arg, "-oJ", json_arg, &target];
    let report = stdout(&portolan(&lab.lab, &args));
    let rows = vec![
        (String::from("22/tcp"), "open", service_name(22), "syn-ack ttl 64"),
        (String::from("25/tcp"), "filtered", service_name(25), "no-response"),
        (String::from("113/tcp"), "closed", service_name(113), "reset ttl 64"),
        row(53, "open", "udp-response ttl 64"),
        row(113, "closed", "port-unreach ttl 64"),
    ];
    assert_eq!(section(&report), port_table(&rows), "full report:\n{report}");
    let document = std::fs::read_to_string(&xml).unwrap();
    assert!(document.contains(r#"<scaninfo type="syn" protocol="tcp" numservices="3" services="22,25,113"/>"#));
    assert!(document.contains(r#"<scaninfo type="udp" protocol="udp" numservices="2" services="53,113"/>"#));
    assert_valid_against_nmap_dtd(&xml);
    assert_matches_json_schema(&json, false);
    let document = std::fs::read_to_string(&json).unwrap();
    assert!(document.contains(
        r#""scans":[{"scan_type":"syn","protocol":"tcp","ports":3},{"scan_type":"udp","protocol":"udp","ports":2}]"#
    ));
}

#[test]
fn nmap_reads_the_same_udp_table_when_nothing_is_rate_limited() {
    if !lab::available() {
        return;
    }
    let lab = udp_lab();
    let target = TARGET_V4.to_string();
    let args = ["-sU", "-n", "-Pn", "--reason", "-p", "7,53,123,161,500,1000-1011,1434", &target];
    let ours = stdout(&portolan(&lab.lab, &args));
    assert_same_table_as_nmap(&lab.lab, &args, &ours);
}

#[test]
fn a_port_unreachable_from_a_router_means_filtered() {
    // Regression: a router rejecting UDP for the host behind it, with port unreachable from
    // its own address, made those ports closed. Only the target itself says a port is closed
    // (as Nmap reads it); the router's answer is filtered, and named.
    if !lab::available() {
        return;
    }
    let lab = Lab::new().unwrap();
    let host = lab.add_routed_host().unwrap();
    lab.forward_rule("udp dport { 53, 161 } reject with icmp type port-unreachable").unwrap();
    let target = host.to_string();
    let args = ["-sU", "-n", "-Pn", "--reason", "-p", "53,161,500", &target];
    let report = stdout(&portolan(&lab, &args));
    let by_router = format!("port-unreach from {TARGET_V4} ttl 64");
    let rows = vec![
        (String::from("53/udp"), "filtered", service_name_of(Protocol::Udp, 53), by_router.as_str()),
        (String::from("161/udp"), "filtered", service_name_of(Protocol::Udp, 161), by_router.as_str()),
        // Two hops away, the host's own answer arrives with its TTL one lower.
        row(500, "closed", "port-unreach ttl 63"),
    ];
    assert_eq!(section(&report), port_table(&rows), "full report:\n{report}");
    assert_same_table_as_nmap(&lab, &args, &report);
}
