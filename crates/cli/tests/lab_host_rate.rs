//! End-to-end: --max-host-rate and --max-sweep-rate, checked where the probes arrive. The
//! target's firewall counts the probes that come faster than the cap allows (nftables' own
//! token bucket, a burst of a few packets of slack): none under the cap, many without it.

mod common;

use common::*;
use lab::{Lab, TARGET_V4};

/// Runs a SYN scan with `args` and returns the report and how many of the probes that
/// `matching` (an nftables match) picks out came faster than 50 a second.
fn probes_over_50_a_second(lab: &Lab, matching: &str, args: &[&str]) -> (String, u64) {
    let _ = lab.nft("flush table inet first");
    lab.input_rule(&format!("{matching} limit rate over 50/second burst 5 packets counter")).expect("counting rule");
    let report = stdout(&portolan(lab, &[&["-sS", "-v", "-n", "-Pn"], args].concat()));
    let listing = lab.in_target("nft").args(["list", "table", "inet", "first"]).output().expect("nft");
    let listing = String::from_utf8_lossy(&listing.stdout).to_string();
    let over = listing
        .split("counter packets ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no counter in:\n{listing}"));
    (report, over)
}

/// The number `-v` reports after `prefix`.
fn peak(report: &str, prefix: &str) -> u32 {
    let line = report.lines().find_map(|line| line.strip_prefix(prefix)).expect("-v reports it");
    line.split_whitespace().next().and_then(|n| n.parse().ok()).expect("a number")
}

#[test]
fn max_host_rate_holds_where_the_probes_arrive() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().expect("build lab");
    let target = TARGET_V4.to_string();
    let ports = "tcp dport 1-200";
    let (uncapped, over) = probes_over_50_a_second(&lab, ports, &["-p", "1-200", &target]);
    assert!(over > 50, "without a cap, the 200 probes come at once: {over} over the rate\n{uncapped}");
    assert!(!uncapped.contains("Highest rate"), "no cap asked for, Nmap's -v lines only:\n{uncapped}");
    let started = std::time::Instant::now();
    let (capped, over) = probes_over_50_a_second(&lab, ports, &["-p", "1-200", "--max-host-rate", "40", &target]);
    assert_eq!(over, 0, "{capped}");
    // 200 probes at 40 a second take five seconds.
    assert!(started.elapsed() >= std::time::Duration::from_millis(4900), "{:?}", started.elapsed());
    assert!((38..=40).contains(&peak(&capped, "Highest rate to one host: ")), "{capped}");
    assert!(capped.contains("200 closed tcp ports"), "{capped}");
}

#[test]
fn max_sweep_rate_holds_where_the_probes_arrive() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().expect("build lab");
    lab.any_ip("198.18.60.0/25").expect("a /25 answered by the target");
    let sweep = ["-p", "80", "198.18.60.0/25"];
    let (uncapped, over) = probes_over_50_a_second(&lab, "tcp dport 80", &sweep);
    assert!(over > 50, "without a cap, the 128 hosts are tried at once: {over} over the rate\n{uncapped}");
    let started = std::time::Instant::now();
    let (capped, over) =
        probes_over_50_a_second(&lab, "tcp dport 80", &[&["--max-sweep-rate", "40"], &sweep[..]].concat());
    assert_eq!(over, 0, "{capped}");
    // 128 new hosts at 40 a second take over three seconds.
    assert!(started.elapsed() >= std::time::Duration::from_millis(3100), "{:?}", started.elapsed());
    assert!((38..=40).contains(&peak(&capped, "Highest sweep rate on one port: ")), "{capped}");
    assert_eq!(capped.matches("80/tcp closed").count(), 128, "{capped}");
}
