//! End-to-end: --max-host-rate, checked where the probes arrive. The target's firewall counts
//! the probes that come faster than the cap allows (nftables' own token bucket, a burst of a
//! few packets of slack): none under the cap, many without it.

mod common;

use common::*;
use lab::{Lab, TARGET_V4};

/// Runs a SYN scan of ports 1-200 and returns the report and how many probes the target's
/// firewall found over 50 a second.
fn probes_over_50_a_second(lab: &Lab, extra: &[&str]) -> (String, u64) {
    let _ = lab.nft("flush table inet first");
    lab.input_rule("tcp dport 1-200 limit rate over 50/second burst 5 packets counter").expect("counting rule");
    let target = TARGET_V4.to_string();
    let args = [&["-sS", "-v", "-n", "-Pn", "-p", "1-200"], extra, &[target.as_str()]].concat();
    let report = stdout(&portolan(lab, &args));
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

#[test]
fn max_host_rate_holds_where_the_probes_arrive() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().expect("build lab");
    let (uncapped, over) = probes_over_50_a_second(&lab, &[]);
    assert!(over > 50, "without a cap, the 200 probes come at once: {over} over the rate\n{uncapped}");
    let started = std::time::Instant::now();
    let (capped, over) = probes_over_50_a_second(&lab, &["--max-host-rate", "40"]);
    assert_eq!(over, 0, "{capped}");
    // 200 probes at 40 a second take five seconds.
    assert!(started.elapsed() >= std::time::Duration::from_millis(4900), "{:?}", started.elapsed());
    let peak = capped.lines().find_map(|line| line.strip_prefix("Highest rate to one host: ")).expect("-v reports it");
    let probes: u32 = peak.split_whitespace().next().and_then(|n| n.parse().ok()).expect("a number");
    assert!((38..=40).contains(&probes), "{peak}");
    assert!(capped.contains("200 closed tcp ports"), "{capped}");
}
