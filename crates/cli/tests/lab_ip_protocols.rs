//! End-to-end: the IP protocol scan (-sO) of the lab target's own kernel. With the target's
//! ICMP error limits lifted, every closed protocol answers at once: portolan's table equals
//! Nmap's, in the normal and grepable outputs, with XML valid against Nmap's DTD and JSON
//! against our schema. With Linux's default limit (after a burst of six, one protocol
//! unreachable a second), run back to back so that the second scan meets an empty bucket,
//! portolan's verdicts stay those of the unlimited run.

mod common;

use common::*;
use lab::{Lab, TARGET_V4};

/// Lifts the target's ICMP error limits (per destination, and the host's total).
fn errors_unlimited(lab: &Lab) {
    lab.sysctl("net.ipv4.icmp_ratelimit", "0").unwrap();
    lab.sysctl("net.ipv4.icmp_msgs_per_sec", "100000").unwrap();
    lab.sysctl("net.ipv4.icmp_msgs_burst", "100000").unwrap();
}

/// Linux's defaults.
fn errors_limited(lab: &Lab) {
    lab.sysctl("net.ipv4.icmp_ratelimit", "1000").unwrap();
    lab.sysctl("net.ipv4.icmp_msgs_per_sec", "1000").unwrap();
    lab.sysctl("net.ipv4.icmp_msgs_burst", "50").unwrap();
}

/// The rows of a protocol table: number, state, name, as printed.
fn protocol_rows(report: &str) -> Vec<String> {
    report.lines().filter(|line| line.starts_with(|c: char| c.is_ascii_digit())).map(str::to_string).collect()
}

fn grepable_protocols(text: &str) -> String {
    text.lines().find(|line| line.contains("Protocols: ")).expect("a Protocols line").to_string()
}

#[test]
fn ip_protocol_scan_equals_nmap_where_errors_flow_freely() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().unwrap();
    errors_unlimited(&lab);
    let dir = scratch_dir("ip-protocols");
    let (xml, json, grepable) = (dir.join("scan.xml"), dir.join("scan.json"), dir.join("scan.gnmap"));
    let target = TARGET_V4.to_string();
    let ours = stdout(&portolan(
        &lab,
        &[
            "-sO",
            "-n",
            "-Pn",
            "-oX",
            xml.to_str().unwrap(),
            "-oJ",
            json.to_str().unwrap(),
            "-oG",
            grepable.to_str().unwrap(),
            &target,
        ],
    ));
    assert!(ours.contains("PROTOCOL STATE"), "{ours}");
    assert!(ours.contains("closed n/a protocols (proto-unreach)"), "{ours}");
    for (protocol, name) in [(1, "icmp"), (6, "tcp"), (17, "udp")] {
        assert!(
            ours.lines().any(|l| l.starts_with(&format!("{protocol} ")) && l.contains(" open ") && l.ends_with(name)),
            "{ours}"
        );
    }
    assert_same_table_as_nmap(&lab, &["-sO", "-n", "-Pn", &target], &ours);
    if has("nmap") {
        let theirs = dir.join("nmap.gnmap");
        let ran = lab
            .in_scanner("nmap")
            .args(["-sO", "-n", "-Pn", "-oG", theirs.to_str().unwrap(), &target])
            .output()
            .unwrap();
        assert!(ran.status.success());
        let read = |path: &std::path::Path| grepable_protocols(&std::fs::read_to_string(path).unwrap());
        assert_eq!(read(&grepable), read(&theirs), "grepable output as Nmap's");
    }
    let document = std::fs::read_to_string(&xml).unwrap();
    assert!(
        document.contains("<scaninfo type=\"ipproto\" protocol=\"ip\" numservices=\"256\" services=\"0-255\"/>"),
        "{document}"
    );
    assert!(
        document.contains("<port protocol=\"ip\" portid=\"6\"><state state=\"open\" reason=\"proto-response\""),
        "{document}"
    );
    assert_valid_against_nmap_dtd(&xml);
    assert_matches_json_schema(&json, false);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ip_protocol_scan_holds_behind_linuxs_error_limit_back_to_back() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().unwrap();
    let target = TARGET_V4.to_string();
    let args = ["-sO", "-n", "-Pn", "-p", "0-15,41,47,132", &target];
    errors_unlimited(&lab);
    let truth = protocol_rows(&stdout(&portolan(&lab, &args)));
    assert!(truth.iter().any(|line| line.contains(" closed ")), "{truth:?}");
    errors_limited(&lab);
    for run in ["first", "second, back to back"] {
        let limited = protocol_rows(&stdout(&portolan(&lab, &args)));
        assert_eq!(limited, truth, "{run} run behind the limit");
    }
}
