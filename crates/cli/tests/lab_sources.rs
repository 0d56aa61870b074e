//! End-to-end: -S with several addresses of ours. Linux rations its ICMP errors per peer, so
//! a UDP scan from four addresses learns closed ports at least four times as fast (18 ports:
//! 12.4 s from one address, 0.13 s from four, each bucket's burst covering its share), with
//! the same verdicts; a SYN scan dealt over three addresses reports the same table as from one.

mod common;

use std::time::{Duration, Instant};

use common::*;
use lab::{SCANNER_V4, TARGET_V4};

const MORE_SOURCES: [&str; 3] = ["198.18.0.11", "198.18.0.12", "198.18.0.13"];
const ONE_MORE: &str = "198.18.0.14";

fn timed(lab: &lab::Lab, args: &[&str]) -> (String, Duration) {
    let started = Instant::now();
    let report = stdout(&portolan(lab, args));
    (report, started.elapsed())
}

#[test]
fn four_sources_learn_closed_udp_ports_at_least_four_times_as_fast() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    for addr in MORE_SOURCES.iter().chain(&[ONE_MORE]) {
        lab.lab.add_scanner_address(addr.parse().unwrap()).unwrap();
    }
    // Linux's default: per peer, six errors at once, then one a second. Each scan sends from
    // addresses of its own, whose buckets no other scan has spent.
    lab.lab.sysctl("net.ipv4.icmp_ratelimit", "1000").unwrap();
    let target = TARGET_V4.to_string();
    let scan = ["-sU", "-n", "-Pn", "-p", "2000-2017", &target];
    let (one, one_took) = timed(&lab.lab, &[&["-S", ONE_MORE], &scan[..]].concat());
    let sources =
        [SCANNER_V4.to_string()].into_iter().chain(MORE_SOURCES.map(String::from)).collect::<Vec<_>>().join(",");
    let (four, four_took) = timed(&lab.lab, &[&["-S", &sources], &scan[..]].concat());
    for report in [&one, &four] {
        let closed = report.lines().filter(|line| line.contains("/udp ") && line.contains(" closed ")).count();
        assert_eq!(closed, 18, "{report}");
    }
    // One source: 18 errors, 6 at once and 12 more a second apart; four: 4 or 5 each, at once.
    assert!(one_took >= Duration::from_secs(11), "{one_took:?}");
    assert!(four_took * 4 < one_took, "four sources took {four_took:?}, one {one_took:?}");
}

#[test]
fn a_syn_scan_dealt_over_three_sources_reports_the_same_table() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    for addr in &MORE_SOURCES[..2] {
        lab.lab.add_scanner_address(addr.parse().unwrap()).unwrap();
    }
    let target = TARGET_V4.to_string();
    let scan = ["-sS", "-n", "--reason", "-p", PORTS, &target];
    let one = stdout(&portolan(&lab.lab, &scan));
    let sources = format!("{SCANNER_V4},{},{}", MORE_SOURCES[0], MORE_SOURCES[1]);
    let three = stdout(&portolan(&lab.lab, &[&["-S", &sources], &scan[..]].concat()));
    assert_eq!(port_section(&three), port_section(&one), "from three:\n{three}\nfrom one:\n{one}");
    assert!(one.contains("22/tcp"), "{one}");
}
