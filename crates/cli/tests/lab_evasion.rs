//! End-to-end: the evasion options change the packets really sent, checked on the wire by a
//! capture in the target namespace, and the results stay right where the option allows.

mod common;

use common::*;
use lab::{Capture, TARGET_V4, TARGET_V6};

/// Scans ports 22 (open) and 23 (closed) with `extra`, over IPv4 then IPv6, and returns each
/// family's report and what tcpdump printed of the packets to those ports (`flags` for it).
fn scan_captured(lab: &StandardLab, extra: &[&str], filter: &str, flags: &[&str]) -> Vec<(String, Vec<String>)> {
    let (v4, v6) = (TARGET_V4.to_string(), TARGET_V6.to_string());
    [["-4", v4.as_str()], ["-6", v6.as_str()]]
        .into_iter()
        .map(|[family, target]| {
            // Immediate mode: the scan is over in milliseconds, before a capture block fills.
            let flags = [flags, &["--immediate-mode"]].concat();
            let capture = Capture::start(lab.lab.target_namespace(), filter, &flags).unwrap();
            let args = [&[family, "-sS", "-n", "-Pn", "--reason", "-p", "22,23"][..], extra, &[target]].concat();
            let report = stdout(&portolan(&lab.lab, &args));
            (report, capture.stop())
        })
        .collect()
}

/// tcpdump's packets, each header line joined with the lines that continue it (-v prints
/// IPv4's transport header on a line of its own).
fn packets(lines: &[String]) -> Vec<String> {
    let mut joined: Vec<String> = Vec::new();
    for line in lines.iter().filter(|line| !line.trim().is_empty()) {
        match joined.last_mut() {
            Some(last) if line.starts_with(char::is_whitespace) => last.push_str(line),
            _ => joined.push(line.clone()),
        }
    }
    joined
}

/// The state and reason of `port` in a report.
fn verdict(report: &str, port: u16) -> Option<String> {
    let line = report.lines().find(|line| line.starts_with(&format!("{port}/tcp ")))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    Some(format!("{} {}", fields[1], fields[3..].join(" ")))
}

const PROBES: &str = "(tcp dst port 22 or tcp dst port 23) or (ip6 and tcp and (dst port 22 or dst port 23))";

#[test]
fn ttl_is_every_probes_ttl_and_hop_limit() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = standard_lab();
    for (report, lines) in scan_captured(&lab, &["--ttl", "7"], PROBES, &["-v"]) {
        // The probes, not the RSTs the scanner's own kernel sends to SYN/ACKs it never asked for.
        let probes: Vec<String> = packets(&lines).into_iter().filter(|packet| packet.contains("Flags [S]")).collect();
        assert!(probes.len() >= 2, "{lines:#?}");
        assert!(probes.iter().all(|probe| probe.contains("ttl 7,") || probe.contains("hlim 7,")), "{probes:#?}");
        assert_eq!(verdict(&report, 22).as_deref(), Some("open syn-ack ttl 64"), "{report}");
        assert_eq!(verdict(&report, 23).as_deref(), Some("closed reset ttl 64"), "{report}");
    }
}

#[test]
fn badsum_probes_arrive_with_a_wrong_checksum_and_the_host_drops_them() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = standard_lab();
    let extra = ["--badsum", "--max-retries", "1"];
    for (report, packets) in scan_captured(&lab, &extra, PROBES, &["-vv"]) {
        let checked: Vec<&String> = packets.iter().filter(|line| line.contains("cksum")).collect();
        assert!(!checked.is_empty(), "{packets:#?}");
        assert!(checked.iter().all(|line| line.contains("(incorrect ->")), "{packets:#?}");
        // Linux drops them: silence, as Nmap reports it.
        for port in [22, 23] {
            assert_eq!(verdict(&report, port).as_deref(), Some("filtered no-response"), "{report}");
        }
    }
}

#[test]
fn fragments_arrive_in_pieces_of_the_size_asked_and_the_table_stays_exact() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = standard_lab();
    // Fragments other than the first carry no ports: capture every fragment.
    let fragments = "(ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] == 44)";
    for (option, size) in [(&["-f"][..], 8), (&["-ff"][..], 16), (&["--mtu", "24"][..], 24), (&["--mtu", "32"][..], 32)]
    {
        for (report, lines) in scan_captured(&lab, option, fragments, &["-v"]) {
            let v6 = report.contains("2001:2::2");
            let headers = packets(&lines);
            // A SYN's 40 bytes of TCP header and options, in pieces of `size` (the capture
            // may miss the last pieces of a busy machine's last probe).
            assert!(headers.len() >= 40usize.div_ceil(size), "{option:?}: {headers:#?}");
            let first_piece = |packet: &&String| {
                if v6 {
                    packet.contains(&format!(":0|{size})"))
                } else {
                    packet.contains("offset 0, flags [+]") && packet.contains(&format!("length {}", 20 + size))
                }
            };
            assert!(headers.iter().any(|packet| first_piece(&packet)), "{option:?}: {headers:#?}");
            // Linux, following RFC 7112, drops IPv6 first fragments that split the TCP header
            // (its 20 fixed bytes; the options may go on in the next fragment).
            let dropped = v6 && size < 20;
            let (open, closed) = if dropped {
                ("filtered no-response", "filtered no-response")
            } else {
                ("open syn-ack ttl 64", "closed reset ttl 64")
            };
            assert_eq!(verdict(&report, 22).as_deref(), Some(open), "{option:?}: {report}");
            assert_eq!(verdict(&report, 23).as_deref(), Some(closed), "{option:?}: {report}");
        }
    }
}

#[test]
fn decoys_send_each_probe_in_the_order_given_and_only_ours_is_answered_to_us() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = standard_lab();
    let cases = [
        (
            "-4",
            TARGET_V4.to_string(),
            "198.18.0.50,198.18.0.51,ME,198.18.0.52",
            ["198.18.0.50", "198.18.0.51", "198.18.0.1", "198.18.0.52"],
        ),
        (
            "-6",
            TARGET_V6.to_string(),
            "2001:2::50,2001:2::51,ME,2001:2::52",
            ["2001:2::50", "2001:2::51", "2001:2::1", "2001:2::52"],
        ),
    ];
    for (family, target, decoys, expected) in cases {
        let capture = Capture::start(lab.lab.target_namespace(), "tcp dst port 22", &["--immediate-mode"]).unwrap();
        let args = [family, "-sS", "-n", "-Pn", "--reason", "--max-retries", "0", "-p", "22", "-D", decoys, &target];
        let report = stdout(&portolan(&lab.lab, &args));
        let syns: Vec<String> = capture.stop().into_iter().filter(|line| line.contains("Flags [S]")).collect();
        // "… IP 198.18.0.50.41234 > 198.18.0.2.22: Flags [S], …": the source, without its port.
        let sources: Vec<&str> = syns
            .iter()
            .filter_map(|line| line.split_whitespace().skip_while(|word| !word.starts_with("IP")).nth(1))
            .map(|source| source.rsplit_once('.').map_or(source, |(addr, _)| addr))
            .collect();
        assert_eq!(sources, expected, "{family}: {syns:#?}");
        assert_eq!(verdict(&report, 22).as_deref(), Some("open syn-ack ttl 64"), "{report}");
    }
}

#[test]
fn data_rides_in_every_raw_probe_and_the_table_stays_exact() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = standard_lab();
    for (report, lines) in scan_captured(&lab, &["--data-string", "portolan!"], PROBES, &["-v"]) {
        let probes: Vec<String> = packets(&lines).into_iter().filter(|packet| packet.contains("Flags [S]")).collect();
        assert!(probes.len() >= 2, "{lines:#?}");
        assert!(probes.iter().all(|probe| probe.ends_with("length 9")), "{probes:#?}");
        assert!(
            probes
                .iter()
                .all(|probe| probe.contains("cksum") && probe.contains("(correct)") || !probe.contains("cksum")),
            "{probes:#?}"
        );
        assert_eq!(verdict(&report, 22).as_deref(), Some("open syn-ack ttl 64"), "{report}");
        assert_eq!(verdict(&report, 23).as_deref(), Some("closed reset ttl 64"), "{report}");
    }
}

#[test]
fn a_connect_scan_leaves_from_the_source_port_asked_for() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = standard_lab();
    let capture = Capture::start(
        lab.lab.target_namespace(),
        "tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0",
        &["--immediate-mode"],
    )
    .unwrap();
    let target = TARGET_V4.to_string();
    let report =
        stdout(&portolan(&lab.lab, &["-sT", "-n", "-Pn", "--reason", "-g", "5353", "-p", "22,23,80,443", &target]));
    let syns: Vec<String> = capture.stop().into_iter().filter(|line| !line.is_empty()).collect();
    assert!(syns.len() >= 4, "{syns:#?}");
    assert!(syns.iter().all(|syn| syn.contains("198.18.0.1.5353 >")), "{syns:#?}");
    for (port, verdict_text) in
        [(22, "open syn-ack"), (23, "closed conn-refused"), (80, "open syn-ack"), (443, "open syn-ack")]
    {
        assert_eq!(verdict(&report, port).as_deref(), Some(verdict_text), "{report}");
    }
}

#[test]
fn a_spoofed_mac_is_every_frames_source_and_the_answers_still_come_back() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = standard_lab();
    let spoofed = "02:11:22:33:44:55";
    for [family, target] in [["-4", &TARGET_V4.to_string()], ["-6", &TARGET_V6.to_string()]] {
        let capture = Capture::start(lab.lab.target_namespace(), PROBES, &["-e", "--immediate-mode"]).unwrap();
        let args = [family, "-sS", "-n", "-Pn", "--reason", "--spoof-mac", spoofed, "-p", "22,23", target];
        let report = stdout(&portolan(&lab.lab, &args));
        let syns: Vec<String> = capture.stop().into_iter().filter(|line| line.contains("Flags [S]")).collect();
        assert!(syns.len() >= 2, "{family}: {syns:#?}");
        assert!(syns.iter().all(|syn| syn.contains(&format!(" {spoofed} ethertype "))), "{family}: {syns:#?}");
        assert_eq!(verdict(&report, 22).as_deref(), Some("open syn-ack ttl 64"), "{family}: {report}");
        assert_eq!(verdict(&report, 23).as_deref(), Some("closed reset ttl 64"), "{family}: {report}");
    }
}

#[test]
fn ip_options_ride_in_every_ipv4_probe() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = standard_lab();
    let target = TARGET_V4.to_string();
    // Record route: the target takes it and answers; a loose source route through the target
    // itself: Linux drops source-routed packets (accept_source_route is 0), so silence.
    for (options, shown, accepted) in [("R", "options (RR", true), ("L 198.18.0.2", "options (LSRR", false)] {
        let capture = Capture::start(lab.lab.target_namespace(), PROBES, &["-v", "--immediate-mode"]).unwrap();
        let args =
            ["-sS", "-n", "-Pn", "--reason", "--max-retries", "1", "--ip-options", options, "-p", "22,23", &target];
        let report = stdout(&portolan(&lab.lab, &args));
        let probes: Vec<String> = packets(&capture.stop()).into_iter().filter(|p| p.contains("Flags [S]")).collect();
        assert!(!probes.is_empty() && probes.iter().all(|probe| probe.contains(shown)), "{options}: {probes:#?}");
        let (open, closed) = if accepted {
            ("open syn-ack ttl 64", "closed reset ttl 64")
        } else {
            ("filtered no-response", "filtered no-response")
        };
        assert_eq!(verdict(&report, 22).as_deref(), Some(open), "{options}: {report}");
        assert_eq!(verdict(&report, 23).as_deref(), Some(closed), "{options}: {report}");
    }
}

/// p0f in the target namespace, logging what it makes of each connection's SYN.
fn p0f_names(lab: &StandardLab, log: &std::path::Path, scan: &[&str]) -> Vec<String> {
    use std::io::BufRead;
    let _ = std::fs::remove_file(log);
    let mut p0f = lab
        .lab
        .in_target("p0f")
        .args(["-i", "tgt0", "-o", log.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run p0f");
    let mut output = std::io::BufReader::new(p0f.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("Entered main event loop") {
        line.clear();
        assert!(output.read_line(&mut line).unwrap() > 0, "p0f ended before it listened");
    }
    stdout(&portolan(&lab.lab, scan));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = p0f.kill();
    let _ = p0f.wait();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    // "[…] mod=syn|cli=198.18.0.1/41000|srv=198.18.0.2/22|subj=cli|os=Linux 2.2.x-3.x|…"
    text.lines()
        .filter(|record| record.contains("mod=syn|") && record.contains("|subj=cli|"))
        .filter_map(|record| record.split('|').find_map(|field| field.strip_prefix("os=")).map(String::from))
        .collect()
}

#[test]
fn p0f_names_the_mimicked_system_and_never_a_scanner() {
    if !lab::available() || !has("p0f") {
        return;
    }
    let lab = standard_lab();
    let log = scratch_dir("p0f").join("p0f.log");
    let target = TARGET_V4.to_string();
    for (stack, named) in [("linux", "Linux"), ("windows", "Windows"), ("macos", "Mac OS X")] {
        let scan = ["-sS", "-n", "-Pn", "--mimic", stack, "-p", "22,23,80", target.as_str()];
        let names = p0f_names(&lab, &log, &scan);
        assert!(!names.is_empty(), "{stack}: p0f saw no SYN");
        assert!(names.iter().all(|name| name.starts_with(named)), "{stack}: {names:?}");
    }
}

#[test]
fn sneaky_timing_spaces_probes_fifteen_seconds_apart_on_the_wire() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = standard_lab();
    let capture = Capture::start(lab.lab.target_namespace(), PROBES, &["--immediate-mode"]).unwrap();
    let target = TARGET_V4.to_string();
    let report = stdout(&portolan(&lab.lab, &["-T1", "-sS", "-n", "-Pn", "--reason", "-p", "22,23", &target]));
    let arrivals: Vec<f64> = capture
        .stop()
        .iter()
        .filter(|line| line.contains("Flags [S]"))
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(arrivals.len(), 2, "{arrivals:?}");
    let gap = arrivals[1] - arrivals[0];
    assert!((15.0..17.0).contains(&gap), "-T1 waits 15 s between probes: {gap} s");
    assert_eq!(verdict(&report, 22).as_deref(), Some("open syn-ack ttl 64"), "{report}");
    assert_eq!(verdict(&report, 23).as_deref(), Some("closed reset ttl 64"), "{report}");
}

#[test]
fn proxies_relay_the_connect_scan_and_the_target_sees_only_them() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = standard_lab();
    let _proxies = lab
        .lab
        .proxies(&[(1080, lab::ProxyKind::Socks5), (1081, lab::ProxyKind::Socks4), (3128, lab::ProxyKind::Http)])
        .unwrap();
    let target = TARGET_V4.to_string();
    let chains = [
        "socks5://198.18.0.2:1080",
        "http://198.18.0.2:3128",
        "socks4://198.18.0.2:1081",
        "socks5://198.18.0.2:1080,http://198.18.0.2:3128",
    ];
    for chain in chains {
        let direct = "tcp dst port 22 or tcp dst port 23 or tcp dst port 25";
        let capture = Capture::start(
            lab.lab.target_namespace(),
            &format!("src host 198.18.0.1 and ({direct})"),
            &["--immediate-mode"],
        )
        .unwrap();
        let args =
            ["-sT", "-n", "-Pn", "--reason", "--max-retries", "1", "--proxies", chain, "-p", "22,23,25", &target];
        let report = stdout(&portolan(&lab.lab, &args));
        let straight: Vec<String> = capture.stop().into_iter().filter(|line| !line.is_empty()).collect();
        assert_eq!(straight, Vec::<String>::new(), "{chain}: the scanner reached the target itself");
        let state = |port| verdict(&report, port).map(|v| v.split_whitespace().next().unwrap().to_string());
        assert_eq!(state(22).as_deref(), Some("open"), "{chain}: {report}");
        assert_eq!(state(23).as_deref(), Some("closed"), "{chain}: {report}");
        // Behind the target's firewall the proxy waits in vain, and so does the scan.
        assert_eq!(state(25).as_deref(), Some("filtered"), "{chain}: {report}");
    }
}
