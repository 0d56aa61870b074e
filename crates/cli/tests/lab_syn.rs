//! End-to-end: the SYN scan against the standard lab target, with and without packet loss.

mod common;

use common::*;
use lab::{TARGET_V4, TARGET_V6};

/// Ground truth of the standard lab as a SYN scan sees it: (port, state, reason).
fn interesting_ports() -> Vec<(u16, &'static str, &'static str)> {
    // Linux targets answer with TTL 64; Nmap prints it beside raw-packet reasons.
    let mut rows: Vec<_> = OPEN.iter().map(|&p| (p, "open", "syn-ack ttl 64")).collect();
    rows.extend(DROPPED.iter().map(|&p| (p, "filtered", "no-response")));
    rows.extend(REJECTED.iter().map(|&p| (p, "filtered", "admin-prohibited ttl 64")));
    rows.sort();
    rows
}

fn expected_section() -> Vec<String> {
    let rows = interesting_ports();
    let names: Vec<String> = rows.iter().map(|&(port, ..)| service_name(port)).collect();
    let service_width = names.iter().map(String::len).max().unwrap().max("SERVICE".len()) + 1;
    let mut expected = vec![
        format!("Not shown: {} closed tcp ports (reset)", PORT_COUNT - rows.len()),
        format!("PORT     STATE    {:<service_width$}REASON", "SERVICE"),
    ];
    for ((port, state, reason), name) in rows.into_iter().zip(&names) {
        expected.push(format!("{:<9}{:<9}{:<service_width$}{reason}", format!("{port}/tcp"), state, name));
    }
    expected
}

#[test]
fn syn_scan_reports_the_known_mix_exactly() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let report = stdout(&portolan(&lab.lab, &["-sS", "-n", "--reason", "-p", PORTS, &TARGET_V4.to_string()]));
    assert_eq!(port_section(&report), expected_section(), "full report:\n{report}");
    assert!(found_up_by_default_discovery(&report), "{report}");
}

#[test]
fn root_defaults_to_the_syn_scan() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let report = stdout(&portolan(&lab.lab, &["-n", "--reason", "-p", PORTS, &TARGET_V4.to_string()]));
    assert_eq!(port_section(&report), expected_section(), "full report:\n{report}");
}

#[test]
fn five_percent_loss_both_ways_still_gives_the_exact_table() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    lab.lab.lose_packets(5).unwrap();
    let report = stdout(&portolan(&lab.lab, &["-sS", "-n", "--reason", "-p", PORTS, &TARGET_V4.to_string()]));
    assert_eq!(port_section(&report), expected_section(), "full report:\n{report}");
}

#[test]
fn ipv6_syn_scan_reports_the_known_mix_exactly_after_default_discovery() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    // Root's default over IPv6 too: the SYN scan, after ICMPv6 echo, SYN 443 and ACK 80.
    let report = stdout(&portolan(&lab.lab, &["-6", "-n", "--reason", "-p", PORTS, &TARGET_V6.to_string()]));
    assert_eq!(port_section(&report), expected_section(), "full report:\n{report}");
    assert!(found_up_by_default_discovery(&report), "{report}");
    assert!(report.contains(&format!("scan report for {TARGET_V6}\n")), "{report}");
}

#[test]
fn ipv6_under_five_percent_loss_both_ways_still_gives_the_exact_table() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    lab.lab.lose_packets(5).unwrap();
    let args = ["-6", "-sS", "-n", "--reason", "-p", PORTS, &TARGET_V6.to_string()];
    let report = stdout(&portolan(&lab.lab, &args));
    assert_eq!(port_section(&report), expected_section(), "full report:\n{report}");
}

#[test]
fn a_link_local_target_is_scanned_through_the_interface_its_zone_names() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let target = format!("{}%scan0", lab.lab.target_link_local().unwrap());
    for technique in ["-sS", "-sT"] {
        let report = stdout(&portolan(&lab.lab, &["-6", technique, "-n", "--reason", "-p", "22,23,25,110", &target]));
        let row = |port: u16| -> Option<(String, String)> {
            let line = report.lines().find(|line| line.starts_with(&format!("{port}/tcp ")))?;
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some((fields[1].to_string(), fields[3..].join(" ")))
        };
        let reasons = if technique == "-sS" {
            ["syn-ack ttl 64", "reset ttl 64", "no-response", "admin-prohibited ttl 64"]
        } else {
            // Linux keeps trying a connection an ICMPv6 admin-prohibited answers, until the
            // timeout: nmap -6 -sT reads the same silence.
            ["syn-ack", "conn-refused", "no-response", "no-response"]
        };
        let states = [(22, "open"), (23, "closed"), (25, "filtered"), (110, "filtered")];
        for ((port, state), reason) in states.into_iter().zip(reasons) {
            assert_eq!(row(port), Some((state.to_string(), reason.to_string())), "{technique} {port}: {report}");
        }
        if technique == "-sS" {
            assert!(report.contains("Host is up, received nd-response"), "{report}");
        }
    }
}

#[test]
fn syn_port_table_matches_nmap_line_by_line() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let target = TARGET_V4.to_string();
    let args = ["-sS", "-n", "-Pn", "--reason", "-p", PORTS, &target];
    let ours = stdout(&portolan(&lab.lab, &args));
    assert_same_table_as_nmap(&lab.lab, &args, &ours);
}

#[test]
fn syn_scan_without_cap_net_raw_says_what_it_needs() {
    if !lab::available() {
        return;
    }
    // Drop every privilege: run as nobody with no capabilities.
    let output = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"])
        .arg(env!("CARGO_BIN_EXE_portolan"))
        .args(["-sS", "-p", "80", "127.0.0.1"])
        .output()
        .expect("run setpriv");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "portolan: -sS needs CAP_NET_RAW (run as root, or use -sT)\n");
}

#[test]
fn privileged_without_the_capability_tries_raw_sockets_as_nmap_does() {
    if !lab::available() {
        return;
    }
    // --privileged (or NMAP_PRIVILEGED) says to assume raw sockets: the default becomes the
    // SYN scan, whose socket the kernel then refuses.
    for (option, variable) in [(Some("--privileged"), None), (None, Some("NMAP_PRIVILEGED"))] {
        let mut command = std::process::Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"])
            .arg(env!("CARGO_BIN_EXE_portolan"))
            .args(option)
            .args(["-Pn", "-p", "80", "127.0.0.1"]);
        if let Some(variable) = variable {
            command.env(variable, "1");
        }
        let output = command.output().expect("run setpriv");
        assert_eq!(output.status.code(), Some(1), "{option:?} {variable:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr, "portolan: -sS needs CAP_NET_RAW (run as root, or use -sT)\n", "{option:?} {variable:?}");
    }
}

#[test]
fn a_target_listed_twice_is_scanned_twice() {
    // Regression: replies were matched to one occurrence of a repeated address, leaving the
    // other's ports silent (filtered).
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let target = TARGET_V4.to_string();
    let report = stdout(&portolan(&lab.lab, &["-sS", "-n", "-p", "22,23", &target, "198.18.0.2/32"]));
    let reports: Vec<&str> = report.split("portolan scan report for ").skip(1).collect();
    assert_eq!(reports.len(), 2, "{report}");
    for host in reports {
        assert!(host.contains("22/tcp open   ssh\n23/tcp closed telnet\n"), "{report}");
    }
}

#[test]
fn stats_every_prints_nmaps_progress_lines() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    // 200 ports 10 ms apart: two seconds, long enough for a few reports.
    let target = TARGET_V4.to_string();
    let args = ["-sS", "-n", "-Pn", "-p", "1-200", "--scan-delay", "10ms", "--stats-every", "300ms", &target];
    let report = stdout(&portolan(&lab.lab, &args));
    let stats: Vec<&str> = report.lines().filter(|l| l.starts_with("Stats: ")).collect();
    assert!(stats.len() >= 3, "{report}");
    assert!(stats.iter().all(|l| l.contains(" elapsed; 0 hosts completed (0 up), 1 undergoing SYN Stealth Scan")));
    let timing = report.lines().find(|l| l.starts_with("SYN Stealth Scan Timing: About ")).expect(&report);
    assert!(timing.contains("% done; ETC: ") && timing.ends_with(" remaining)"), "{timing}");
}

#[test]
fn stats_every_goes_to_standard_error_when_standard_output_carries_a_format() {
    // Regression: with -oX - the Stats lines were dropped rather than kept off the XML.
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let target = TARGET_V4.to_string();
    let args =
        ["-sS", "-n", "-Pn", "-p", "1-100", "--scan-delay", "10ms", "--stats-every", "300ms", "-oX", "-", &target];
    let output = portolan(&lab.lab, &args);
    let xml = stdout(&output);
    assert!(xml.starts_with("<?xml") && xml.trim_end().ends_with("</nmaprun>"), "{xml}");
    assert!(!xml.contains("Stats: "), "{xml}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.lines().filter(|line| line.starts_with("Stats: ")).count() >= 2, "{stderr}");
}

#[test]
fn packet_trace_shows_every_probe_and_answer_as_nmap_does() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let target = TARGET_V4.to_string();
    let report = stdout(&portolan(&lab.lab, &["-sS", "-n", "-Pn", "--packet-trace", "-p", "22,23", &target]));
    let line = |prefix: &str, needle: &str| report.lines().any(|l| l.starts_with(prefix) && l.contains(needle));
    for port in [22, 23] {
        assert!(line("SENT (", &format!("> 198.18.0.2:{port} S ttl=64 id=")), "{port}: {report}");
    }
    assert!(line("RCVD (", "TCP 198.18.0.2:22 > 198.18.0.1:"), "{report}");
    assert!(line("RCVD (", " SA ttl=64 "), "{report}");
    assert!(line("RCVD (", " RA ttl=64 "), "{report}");
    assert!(report.contains("22/tcp open"), "{report}");
}

#[test]
fn debugging_output_tells_retransmissions_and_final_times_under_loss() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    lab.lab.lose_packets(10).unwrap();
    let target = TARGET_V4.to_string();
    let debug = stdout(&portolan(&lab.lab, &["-sS", "-n", "-Pn", "-dd", "-p", PORTS, &target]));
    assert!(debug.lines().any(|line| line.starts_with(&format!("Retransmitting probe to {target}:"))), "{debug}");
    let final_times = format!("Final times for host {target}: srtt: ");
    assert!(debug.lines().any(|line| line.starts_with(&final_times) && line.contains(" to: ")), "{debug}");
    assert_eq!(port_section(&debug).iter().filter(|line| line.contains(" open ")).count(), OPEN.len(), "{debug}");
    let one_level = stdout(&portolan(&lab.lab, &["-sS", "-n", "-Pn", "-d", "-p", PORTS, &target]));
    assert!(!one_level.contains("Retransmitting probe"), "-d alone leaves retransmissions to -dd: {one_level}");
    assert!(one_level.contains(&final_times), "{one_level}");
    let quiet = stdout(&portolan(&lab.lab, &["-sS", "-n", "-Pn", "-p", PORTS, &target]));
    assert!(!quiet.contains("Final times"), "{quiet}");
}

#[test]
fn a_split_handshake_port_is_open_as_nmap_says() {
    if !lab::available() {
        return;
    }
    // A host that answers a SYN to port 80 with a bare SYN of its own; every other port closed.
    let lab = lab::Lab::new().expect("build lab");
    let (host, _answering) = lab.split_handshake_host(&[80]).expect("start the host");
    let target = host.to_string();
    let args = ["-sS", "-n", "-Pn", "--reason", "-p", "79-81", &target];
    let ours = stdout(&portolan(&lab, &args));
    let row = ours.lines().find(|line| line.starts_with("80/tcp")).unwrap_or_default();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["80/tcp", "open", "http", "split-handshake-syn", "ttl", "64"]
    );
    assert_same_table_as_nmap(&lab, &args, &ours);
}
