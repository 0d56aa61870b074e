//! End-to-end: --evade-detectors / --detector-budgets. The target namespace records every SYN
//! that arrives (tcpdump, kernel timestamps), and models of the detectors count them in
//! sliding windows: the default scan trips every budget, the stealth schedule none, finds
//! every open port, and ends within its printed ETA. The budgets are scaled from hours to
//! seconds so that the test runs in seconds; the presets' own numbers are unit-tested.

mod common;

use std::time::{Duration, Instant};

use common::*;
use lab::{alerts, per_host, Arrival, Counting, Lab, SynCapture};

const NETWORK: &str = "198.18.80.0/28";
const HOSTS: usize = 16;
const PORTS: &str = "22,80,443,8080,25";

/// The budgets of the test, in the presets' format, and the same rules for the models.
const BUDGETS: &str = "\
lab-psad  packets-per-host  4  2
lab-zeek  ports-per-host    5  3
lab-zeek  hosts-per-port    5  1
lab-psad  hosts-per-source  20 1
";
const RULES: [(Counting, usize, f64); 4] = [
    (Counting::PacketsPerHost, 4, 2.0),
    (Counting::PortsPerHost, 5, 3.0),
    (Counting::HostsPerPort, 5, 1.0),
    (Counting::HostsPerSource, 20, 1.0),
];

/// Runs portolan with `args` while the target records the SYNs that arrive.
fn scan_recorded(lab: &Lab, args: &[&str]) -> (String, Vec<Arrival>, Duration) {
    let capture = SynCapture::start(lab.target_namespace()).expect("tcpdump in the target");
    let started = Instant::now();
    let report = stdout(&portolan(lab, args));
    let took = started.elapsed();
    // The last SYNs reach tcpdump's output a moment after the scan ends.
    std::thread::sleep(Duration::from_millis(200));
    (report, capture.stop(), took)
}

/// The rules each model finds broken, with the first alert's time from the first SYN.
fn broken(arrivals: &[Arrival]) -> Vec<(Counting, f64)> {
    let start = arrivals.iter().map(|a| a.at).fold(f64::INFINITY, f64::min);
    RULES
        .iter()
        .filter_map(|&(what, threshold, window)| {
            alerts(arrivals, what, threshold, window).first().map(|t| (what, t - start))
        })
        .collect()
}

/// "Stealth schedule ETA: 0:00:04 for the first tries" as a duration.
fn printed_eta(report: &str) -> Duration {
    let line = report.lines().find_map(|l| l.strip_prefix("Stealth schedule ETA: ")).expect("the ETA is printed");
    let clock: Vec<u64> = line.split_whitespace().next().unwrap().split(':').map(|n| n.parse().unwrap()).collect();
    Duration::from_secs(clock[0] * 3600 + clock[1] * 60 + clock[2])
}

#[test]
fn the_stealth_schedule_stays_under_every_budget_and_finds_every_open_port() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = Lab::new().expect("build lab");
    lab.any_ip(NETWORK).expect("a /28 answered by the target");
    let _listeners = lab.listen_tcp(&[22, 80]).expect("listeners");
    let dir = scratch_dir("stealth");
    let budgets = dir.join("budgets");
    std::fs::write(&budgets, BUDGETS).unwrap();
    let budgets = budgets.to_str().unwrap();

    let (_, arrivals, _) =
        scan_recorded(&lab, &["-sS", "-n", "--detector-budgets", budgets, "--dry-run", "-p", PORTS, NETWORK]);
    assert!(arrivals.is_empty(), "--dry-run sends nothing: {arrivals:?}");

    let (plain, arrivals, _) = scan_recorded(&lab, &["-sS", "-n", "-Pn", "-p", PORTS, NETWORK]);
    assert_eq!(arrivals.len(), HOSTS * 5, "{plain}");
    let tripped: Vec<Counting> = broken(&arrivals).into_iter().map(|(what, _)| what).collect();
    assert_eq!(tripped, [Counting::PacketsPerHost, Counting::PortsPerHost, Counting::HostsPerPort], "{arrivals:?}");

    let (stealthy, arrivals, took) =
        scan_recorded(&lab, &["-sS", "-n", "--detector-budgets", budgets, "-p", PORTS, NETWORK]);
    assert_eq!(broken(&arrivals), [], "per host: {:?}\n{stealthy}", per_host(&arrivals));
    assert_eq!(arrivals.len(), HOSTS * 5, "one SYN per port, none lost here\n{stealthy}");
    for port in ["22/tcp", "80/tcp"] {
        let open = stealthy.lines().filter(|l| l.starts_with(port) && l.contains(" open ")).count();
        assert_eq!(open, HOSTS, "{port} open on every host:\n{stealthy}");
    }
    // 80 probes at one every 0.054 s take 4.2 s; the engine's pacing and the last answers'
    // wait add under a second and a half.
    let eta = printed_eta(&stealthy);
    assert_eq!(eta, Duration::from_secs(4), "{stealthy}");
    assert!(took >= eta && took < eta + Duration::from_millis(2500), "took {took:?} against an ETA of {eta:?}");

    // From four addresses, each with its own budget (detectors count per source): a quarter
    // of the work each, side by side.
    for addr in ["198.18.0.11", "198.18.0.12", "198.18.0.13"] {
        lab.add_scanner_address(addr.parse().unwrap()).unwrap();
    }
    let sources = "198.18.0.1,198.18.0.11,198.18.0.12,198.18.0.13";
    let (from_four, arrivals, took_four) =
        scan_recorded(&lab, &["-sS", "-n", "--detector-budgets", budgets, "-S", sources, "-p", PORTS, NETWORK]);
    assert_eq!(broken(&arrivals), [], "{from_four}");
    assert_eq!(arrivals.len(), HOSTS * 5, "{from_four}");
    let senders: std::collections::HashSet<_> = arrivals.iter().map(|a| a.src).collect();
    assert_eq!(senders.len(), 4, "every address sent its share");
    assert_eq!(from_four.matches(" open ").count(), 2 * HOSTS, "{from_four}");
    let eta_four = printed_eta(&from_four);
    assert!(eta_four <= Duration::from_secs(1), "{from_four}");
    assert!(took_four < took / 2, "four addresses took {took_four:?}, one {took:?}");
}
