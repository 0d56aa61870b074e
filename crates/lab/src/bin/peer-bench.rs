//! Peer benchmarks: portolan against Nmap, masscan and zmap on the same lab in the same run.
//!
//! Usage: peer-bench SCENARIO [RUNS], with SCENARIO one of
//!   connect  -sT of all 65535 ports of one host (10 open, 2 dropped, 2 rejected) vs nmap -sT -T4
//!   p1       -sS of all 65535 ports of one host, 10 open, the rest closed, vs nmap -sS -T5 and masscan
//!   p2       -sS of port 80 on a /16 of AnyIP hosts, all open, vs nmap -T5, zmap and masscan
//!   p3       p1 with 5 % of packets dropped at random in both directions
//!   p4       -sS of port 80 on the whole 198.18.0.0/15 with --max-rate: resident memory over time
//!   p5       -sS of all 65535 ports of one host, 10 open, 2 dropped, 2 rejected (admin-prohibited),
//!            vs nmap -sS -T5 and masscan; every port's state checked
//!   p6, p7   p2 with 5 % (p6) or 10 % (p7) of packets dropped at random in both directions
//!   u1       -sU --top-ports 100 of one host with Linux's default ICMP rate limit, vs nmap -sU -T4
//!   u0       u1 with the target's ICMP rate limit off
//!   u2       -sU --top-ports 20 of 245 hosts, each its own kernel with the default rate limit
//!   d1       -sn of a /16 of AnyIP hosts, all up, vs nmap -sn -T5 and zmap's ICMP echo scan
//!   d2       d1 with 1.6 % of the hosts up (the rest drop everything)
//!   v1       -sV of the daemon lab's 16 ports (see lab::Daemon; three behind TLS, three on
//!            unexpected ports), vs nmap -sV; found = ports whose version is the package's
//!   v2       -sV of port 80 on 1024 AnyIP hosts (one nginx answers for all), vs nmap -sV -T4:
//!            services identified a second, and each tool's peak resident memory
//!   o1       -O of one lab host (port 22 open, 23 closed), vs nmap -O; found = hosts whose best
//!            OS guess names Linux
//!   o2       -O of 256 hosts: 248 AnyIP hosts of the lab kernel and 8 personalities playing
//!            other systems (see lab::Personality), vs nmap -O; found = hosts whose best match
//!            is the system they are
//!   i1       p5 over IPv6 (-6), vs nmap -6 -sS -T5; every port's state checked
//!   i2       -6 -sS of port 80 on a /112 of AnyIP IPv6 hosts, all open, vs nmap -6 -sS -T5
//!   s1       a /24 of AnyIP hosts x the top 100 ports: which detectors (the stealth presets'
//!            rules, counted per source in sliding windows over the SYNs that reach the
//!            target) each scan trips and when, for nmap -T4/-T2/-T1, portolan, portolan
//!            --max-host-rate and the stealth schedule from one and from four addresses; slow
//!            scans are cut after a minute
//!   l1       line rate: 1,048,576 SYNs (a /16 x 16 ports, one try each, no rate limit) into a
//!            link whose kernel driver discards every frame (Lab::route_to_sink): probes per
//!            second sent (the sink's counter, sampled), on both cores and pinned to one, vs
//!            masscan and zmap (zmap 2 scans one port: 16 probes per host to port 80)
//! Needs root (it builds a netns lab). The portolan binary is $PORTOLAN or
//! target/release/portolan. Every run's findings are checked against the lab's ground truth.

#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use lab::{Daemon, Daemons, Lab, Listeners, UdpService, TARGET_V4, TARGET_V6};

const OPEN: [u16; 10] = [22, 80, 443, 3306, 5432, 6379, 8080, 9200, 27017, 50000];
const DROPPED: [u16; 2] = [25, 8443];
const REJECTED: [u16; 2] = [110, 3389];
const SWEEP: &str = "198.19.0.0/16";
const SWEEP_HOSTS: usize = 1 << 16;

struct Tool {
    label: String,
    program: String,
    args: Vec<String>,
    /// Stop the tool after this long (masscan lingers after its scan in a namespace).
    deadline: Option<Duration>,
}

struct Outcome {
    elapsed: Duration,
    found: usize,
}

fn tool(label: &str, program: &str, args: &[&str]) -> Tool {
    Tool {
        label: label.into(),
        program: program.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        deadline: None,
    }
}

/// Another portolan build (`PORTOLAN_BASELINE`, say the last commit's) run the same way, to
/// compare a change against what it changes in the same session (P1, P2, P3, U0, U1, L1).
fn baseline(args: &[&str]) -> Option<Tool> {
    let program = std::env::var("PORTOLAN_BASELINE").ok()?;
    Some(tool("portolan baseline", &program, args))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "p1".into());
    let runs: usize = args.next().map_or(3, |n| n.parse().expect("RUNS is a number"));
    let portolan = std::env::var("PORTOLAN").unwrap_or_else(|_| "target/release/portolan".into());
    match scenario.as_str() {
        "connect" => connect(&portolan, runs),
        "p1" => full_ports(&portolan, runs, false),
        "p2" => sweep(&portolan, runs, 0),
        "p3" => full_ports(&portolan, runs, true),
        "p4" => memory(&portolan),
        "p5" => firewalled_ports(&portolan, runs),
        "p6" => sweep(&portolan, runs, 5),
        "p7" => sweep(&portolan, runs, 10),
        "u1" => udp_one_host(&portolan, runs, true),
        "u0" => udp_one_host(&portolan, runs, false),
        "u2" => udp_many_hosts(&portolan, runs),
        "x1" => ip_protocols(&portolan, runs),
        "d1" => discovery_sweep(&portolan, runs, false),
        "d2" => discovery_sweep(&portolan, runs, true),
        "v1" => version_scan(&portolan, runs),
        "v2" => version_sweep(&portolan, runs),
        "o1" => os_one_host(&portolan, runs),
        "o2" => os_many_hosts(&portolan, runs),
        "i1" => firewalled_ports_v6(&portolan, runs),
        "i2" => sweep_v6(&portolan, runs),
        "s1" => detection(&portolan),
        "l1" => line_rate(&portolan, runs),
        other => {
            panic!("unknown scenario {other:?}: use connect, p1 to p7, u1, u0, u2, x1, d1, d2, v1, v2, o1, o2, i1, i2 or s1")
        }
    }
}

/// One lab host with the ten listeners, and with or without the firewalled ports.
fn full_port_lab(firewalled: bool) -> (Lab, Listeners) {
    let lab = Lab::new().expect("build lab (run as root)");
    let listeners = lab.listen_tcp(&OPEN).expect("listeners");
    if firewalled {
        lab.filter_tcp(&DROPPED, &REJECTED).expect("firewall");
    }
    (lab, listeners)
}

fn connect(portolan: &str, runs: usize) {
    let (lab, _listeners) = full_port_lab(true);
    let target = TARGET_V4.to_string();
    let common = ["-sT", "-n", "-Pn", "-p-", target.as_str()];
    let tools =
        [tool("portolan -sT", portolan, &common), tool("nmap -sT -T4", "nmap", &[&["-T4"], &common[..]].concat())];
    let title = "TCP connect scan of all 65535 ports of one lab host (10 open, 2 dropped, 2 rejected)";
    compare(&lab, title, &tools, runs, OPEN.len(), open_ports_found);
}

fn full_ports(portolan: &str, runs: usize, lossy: bool) {
    let (lab, _listeners) = full_port_lab(false);
    if lossy {
        lab.lose_packets(5).expect("loss");
    }
    let target = TARGET_V4.to_string();
    let common = ["-sS", "-n", "-Pn", "-p-", target.as_str()];
    let mut tools = vec![
        tool("portolan -sS", portolan, &common),
        tool("portolan -sS --send-ip", portolan, &[&common[..], &["--send-ip"]].concat()),
        tool("nmap -sS -T5", "nmap", &[&["-T5"], &common[..]].concat()),
    ];
    tools.extend(baseline(&common));
    let mac = lab.target_mac().expect("target MAC");
    for rate in [50_000u32, 100_000] {
        tools.push(masscan(&format!("masscan {}k pps", rate / 1000), &target, "0-65535", rate, &mac, 65536));
    }
    let title = if lossy {
        "P3: SYN scan of all 65535 ports of one lab host, 10 open, 5% loss both ways"
    } else {
        "P1: SYN scan of all 65535 ports of one lab host, 10 open, the rest closed"
    };
    compare(&lab, title, &tools, runs, OPEN.len(), open_ports_found);
}

/// zmap at its fastest (no rate limit, one second's cooldown) over the sweep, through the lab
/// link's gateway MAC, printing one address per line.
fn zmap(label: &str, probe: &[&str], gateway_mac: &str) -> Tool {
    zmap_through(label, probe, "scan0", gateway_mac)
}

/// zmap as [`zmap`] does, out of `interface`.
fn zmap_through(label: &str, probe: &[&str], interface: &str, gateway_mac: &str) -> Tool {
    let common =
        ["-i", interface, "-G", gateway_mac, "-b", "/dev/null", "--disable-syslog", "-q", "-r", "0", "-c", "1", SWEEP];
    tool(label, "zmap", &[probe, &common[..]].concat())
}

fn masscan(label: &str, target: &str, ports: &str, rate: u32, mac: &str, probes: u64) -> Tool {
    let rate_text = rate.to_string();
    let args = [
        "-p",
        ports,
        target,
        "--rate",
        &rate_text,
        "--wait",
        "1",
        "--adapter",
        "scan0",
        "--adapter-ip",
        "198.18.0.1",
        "--router-mac",
        mac,
    ];
    let scan_time = Duration::from_secs_f64(probes as f64 / f64::from(rate));
    Tool { deadline: Some(scan_time + Duration::from_secs(2)), ..tool(label, "masscan", &args) }
}

fn sweep(portolan: &str, runs: usize, loss_percent: u8) {
    let lab = Lab::new().expect("build lab (run as root)");
    lab.any_ip(SWEEP).expect("AnyIP");
    let _listener = lab.listen_tcp(&[80]).expect("listener");
    if loss_percent > 0 {
        lab.lose_packets(loss_percent).expect("loss");
    }
    let mac = lab.target_mac().expect("target MAC");
    let common = ["-sS", "-n", "-Pn", "-p80", SWEEP];
    let mut tools = vec![
        tool("portolan -sS", portolan, &common),
        tool("portolan -sS --send-ip", portolan, &[&common[..], &["--send-ip"]].concat()),
        tool("nmap -sS -T5", "nmap", &[&["-T5"], &common[..]].concat()),
        zmap("zmap -r 0 -c 1", &["-p", "80"], &mac),
        masscan("masscan 200k pps", SWEEP, "80", 200_000, &mac, SWEEP_HOSTS as u64),
    ];
    tools.extend(baseline(&common));
    let title = match loss_percent {
        0 => "P2: SYN scan of port 80 on a /16 of lab hosts (AnyIP), all open".to_string(),
        5 => "P6: P2 with 5% loss both ways".to_string(),
        percent => format!("P7: P2 with {percent}% loss both ways"),
    };
    compare(&lab, &title, &tools, runs, SWEEP_HOSTS, open_hosts_found);
}

/// What each TCP port of the firewalled lab host really is.
fn tcp_truth(port: u16) -> &'static str {
    if OPEN.contains(&port) {
        "open"
    } else if DROPPED.contains(&port) || REJECTED.contains(&port) {
        "filtered"
    } else {
        "closed"
    }
}

/// I1: P5 over IPv6, against Nmap (masscan's IPv6 is left out: it needs the router's MAC and
/// an IPv6 adapter address, and lists open ports only).
fn firewalled_ports_v6(portolan: &str, runs: usize) {
    let (lab, _listeners) = full_port_lab(true);
    let target = TARGET_V6.to_string();
    let common = ["-6", "-sS", "-n", "-Pn", "-p-", target.as_str()];
    let mut tools = vec![
        tool("portolan -6 -sS", portolan, &common),
        tool("portolan --send-ip", portolan, &[&common[..], &["--send-ip"]].concat()),
        tool("nmap -6 -sS -T5", "nmap", &[&["-T5"], &common[..]].concat()),
    ];
    tools.extend(baseline(&common));
    let title =
        "I1: IPv6 SYN scan of all 65535 ports of one lab host (10 open, 2 dropped, 2 rejected admin-prohibited)";
    compare_accuracy(&lab, title, &tools, runs, &|report| {
        let interesting: Vec<u16> = OPEN.iter().chain(&DROPPED).chain(&REJECTED).copied().collect();
        wrong_ports(report, "tcp", &interesting, &tcp_truth)
    });
}

/// I2: a sweep of port 80 over a /112 of AnyIP IPv6 hosts behind the target.
fn sweep_v6(portolan: &str, runs: usize) {
    const SWEEP_V6: &str = "2001:2:0:1::/112";
    let lab = Lab::new().expect("build lab (run as root)");
    lab.any_ip_v6(SWEEP_V6).expect("AnyIP");
    let _listener = lab.listen_tcp(&[80]).expect("listener");
    let common = ["-6", "-sS", "-n", "-Pn", "-p80", SWEEP_V6];
    let mut tools = vec![
        tool("portolan -6 -sS", portolan, &common),
        tool("nmap -6 -sS -T5", "nmap", &[&["-T5"], &common[..]].concat()),
    ];
    tools.extend(baseline(&common));
    let title = "I2: IPv6 SYN scan of port 80 on a /112 of lab hosts (AnyIP), all open";
    compare(&lab, title, &tools, runs, 1 << 16, open_hosts_found);
}

/// P5: the firewalled host, every port's state checked against the truth.
fn firewalled_ports(portolan: &str, runs: usize) {
    let (lab, _listeners) = full_port_lab(true);
    let target = TARGET_V4.to_string();
    let common = ["-sS", "-n", "-Pn", "-p-", target.as_str()];
    let mut tools =
        vec![tool("portolan -sS", portolan, &common), tool("nmap -sS -T5", "nmap", &[&["-T5"], &common[..]].concat())];
    tools.extend(baseline(&common));
    let mac = lab.target_mac().expect("target MAC");
    tools.push(masscan("masscan 100k (open)", &target, "0-65535", 100_000, &mac, 65536));
    let title = "P5: SYN scan of all 65535 ports of one lab host (10 open, 2 dropped, 2 rejected admin-prohibited)";
    compare_accuracy(&lab, title, &tools, runs, &|report| {
        if report.contains(" scan report for ") {
            let interesting: Vec<u16> = OPEN.iter().chain(&DROPPED).chain(&REJECTED).copied().collect();
            wrong_ports(report, "tcp", &interesting, &tcp_truth)
        } else {
            // masscan lists only the open ports it found: the other states go unchecked.
            OPEN.len() - open_ports_found(report)
        }
    });
}

const UDP_SERVICES: [(u16, UdpService); 4] =
    [(7, UdpService::Echo), (53, UdpService::Dns), (123, UdpService::Ntp), (161, UdpService::Snmp)];
const UDP_DROPPED: u16 = 500;
const UDP_REJECTED: u16 = 1434;
/// The UDP lab host's ports that are not closed.
const UDP_INTERESTING: [u16; 6] = [7, 53, 123, 161, UDP_DROPPED, UDP_REJECTED];

/// What each port of the UDP lab host really is.
fn udp_truth(port: u16) -> &'static str {
    match port {
        UDP_DROPPED => "open|filtered",
        UDP_REJECTED => "filtered",
        _ if UDP_SERVICES.iter().any(|&(p, _)| p == port) => "open",
        _ => "closed",
    }
}

fn udp_one_host(portolan: &str, runs: usize, rate_limited: bool) {
    let lab = Lab::new().expect("build lab (run as root)");
    let _services = lab.serve_udp(&UDP_SERVICES).expect("UDP services");
    lab.filter_udp(&[UDP_DROPPED], &[UDP_REJECTED]).expect("firewall");
    if rate_limited {
        lab.sysctl("net.ipv4.icmp_ratelimit", "1000").expect("Linux's default ICMP rate limit");
    }
    let target = TARGET_V4.to_string();
    let common = ["-sU", "-n", "-Pn", "--top-ports", "100", target.as_str()];
    let mut tools =
        vec![tool("portolan -sU", portolan, &common), tool("nmap -sU -T4", "nmap", &[&["-T4"], &common[..]].concat())];
    tools.extend(baseline(&common));
    let title = format!(
        "U{}: UDP scan of the top 100 ports of one lab host (4 services, 1 dropped, 1 rejected), ICMP rate limit {}",
        if rate_limited { 1 } else { 0 },
        if rate_limited { "at Linux's default (6, then 1/s)" } else { "off" },
    );
    compare_accuracy(&lab, &title, &tools, runs, &|report| wrong_ports(report, "udp", &UDP_INTERESTING, &udp_truth));
}

fn udp_many_hosts(portolan: &str, runs: usize) {
    let lab = Lab::new().expect("build lab (run as root)");
    let hosts = lab.add_hosts(245).expect("hosts");
    let (first, last) = (hosts[0], hosts[hosts.len() - 1]);
    let range = format!("{}-{}", first, last.octets()[3]);
    let common = ["-sU", "-n", "-Pn", "--top-ports", "20", range.as_str()];
    let tools =
        [tool("portolan -sU", portolan, &common), tool("nmap -sU -T4", "nmap", &[&["-T4"], &common[..]].concat())];
    let title =
        "U2: UDP scan of the top 20 ports of 245 lab hosts (each its own kernel, default ICMP rate limit, all closed)";
    let expected_hosts = hosts.len();
    compare_accuracy(&lab, title, &tools, runs, &|report| {
        let missing = expected_hosts.saturating_sub(report.matches(" scan report for ").count());
        wrong_ports(report, "udp", &UDP_INTERESTING, &|_| "closed") + missing * 20
    });
}

/// X1: the IP protocol scan of every protocol of one lab host behind Linux's default ICMP
/// limit (closed protocols answer with rationed protocol unreachables); the truth is the
/// host's answer with its limits lifted, read first.
fn ip_protocols(portolan: &str, runs: usize) {
    let lab = Lab::new().expect("build lab (run as root)");
    let target = TARGET_V4.to_string();
    let common = ["-sO", "-n", "-Pn", target.as_str()];
    let limits = [
        ("net.ipv4.icmp_ratelimit", "1000"),
        ("net.ipv4.icmp_msgs_per_sec", "1000"),
        ("net.ipv4.icmp_msgs_burst", "50"),
    ];
    for (key, _) in limits {
        lab.sysctl(key, "100000").expect("lift the ICMP limits");
    }
    lab.sysctl("net.ipv4.icmp_ratelimit", "0").expect("lift the per-peer limit");
    let truth = protocol_states(&run(&lab, &tool("truth", portolan, &common)).1);
    assert_eq!(truth.len(), 256, "the unlimited run reports every protocol");
    for (key, default) in limits {
        lab.sysctl(key, default).expect("Linux's default ICMP limits");
    }
    let tools =
        [tool("portolan -sO", portolan, &common), tool("nmap -sO -T4", "nmap", &[&["-T4"], &common[..]].concat())];
    let title = "X1: IP protocol scan of one lab host, all 256 protocols, Linux's default ICMP limit (6, then 1/s)";
    compare_accuracy(&lab, title, &tools, runs, &|report| {
        let states = protocol_states(report);
        (0..=255u16).filter(|protocol| states.get(protocol) != truth.get(protocol)).count()
    });
}

/// Each protocol's state in an IP protocol scan's report: its row, or the state the "Not
/// shown" line gives the protocols it summarises.
fn protocol_states(report: &str) -> BTreeMap<u16, String> {
    let mut listed = BTreeMap::new();
    let mut hidden = None;
    for line in report.lines() {
        if let Some(groups) = line.strip_prefix("Not shown: ") {
            hidden = groups.split_whitespace().nth(1).map(str::to_string);
        } else if let Some((number, rest)) = line.split_once(' ') {
            if let (Ok(protocol), Some(state)) = (number.parse::<u16>(), rest.split_whitespace().next()) {
                listed.insert(protocol, state.to_string());
            }
        }
    }
    (0..=255).filter_map(|p| listed.get(&p).or(hidden.as_ref()).map(|state| (p, state.clone()))).collect()
}

/// V1: version detection of real daemons, with portolan's own database alone, with Nmap's
/// added, and Nmap's -sV.
fn version_scan(portolan: &str, runs: usize) {
    let lab = Lab::new().expect("build lab (run as root)");
    let scratch = std::env::temp_dir().join(format!("portolan-v1-{}", std::process::id()));
    let _daemons = Daemons::start(lab.target_namespace(), TARGET_V4, &scratch).expect("start the daemons");
    let empty_db = scratch.join("empty-service-probes");
    std::fs::write(&empty_db, "").expect("scratch file");
    let ports: Vec<String> = Daemon::ALL.iter().flat_map(|d| d.ports()).map(u16::to_string).collect();
    let (ports, target) = (ports.join(","), TARGET_V4.to_string());
    let common = ["-sV", "-n", "-Pn", "-p", ports.as_str(), target.as_str()];
    let own_only = [&common[..], &["--versiondb", empty_db.to_str().expect("utf-8 path")]].concat();
    let tools = [
        tool("portolan -sV", portolan, &common),
        tool("portolan, own db", portolan, &own_only),
        tool("nmap -sV", "nmap", &common),
    ];
    let title = "V1: -sV of 16 ports of real daemons (3 behind TLS, 3 on unexpected ports)";
    compare(&lab, title, &tools, runs, ports.split(',').count(), versions_right);
    let _ = std::fs::remove_dir_all(&scratch);
}

/// V2: version detection of one port on many hosts; memory must stay flat as hosts grow.
fn version_sweep(portolan: &str, runs: usize) {
    const HOSTS: &str = "198.19.0.0/22";
    let lab = Lab::new().expect("build lab (run as root)");
    lab.any_ip(HOSTS).expect("AnyIP");
    let scratch = std::env::temp_dir().join(format!("portolan-v2-{}", std::process::id()));
    let _daemons = Daemons::start(lab.target_namespace(), TARGET_V4, &scratch).expect("start the daemons");
    let common = ["-sV", "-n", "-Pn", "-p80", HOSTS];
    let tools =
        [tool("portolan -sV", portolan, &common), tool("nmap -sV -T4", "nmap", &[&["-T4"], &common[..]].concat())];
    let (truth_service, truth_version) = Daemon::Nginx.truth(80).expect("installed nginx");
    let expected = format!("80/tcp open {truth_service} {truth_version}");
    println!("V2: -sV of port 80 on 1024 AnyIP hosts (one nginx); {runs} runs each, alternating");
    println!("{:<14} {:>9} {:>11} {:>14} {:>10}", "tool", "time", "identified", "identified/s", "peak RSS");
    let rss_file = scratch.join("peak-rss");
    for _ in 0..runs {
        for measured in &tools {
            let (elapsed, output, peak_kib) = run_measuring_memory(&lab, measured, &rss_file);
            let identified = output.lines().filter(|line| same_words(line, &expected)).count();
            println!(
                "{:<14} {:>8.2}s {:>6}/1024 {:>14.0} {:>7} MiB",
                measured.label,
                elapsed.as_secs_f64(),
                identified,
                identified as f64 / elapsed.as_secs_f64(),
                peak_kib / 1024
            );
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

/// O1: OS detection of the lab kernel, which Nmap 7.93's database matches only by guessing.
fn os_one_host(portolan: &str, runs: usize) {
    let lab = Lab::new().expect("build lab (run as root)");
    let _listener = lab.listen_tcp(&[22]).expect("listener");
    let target = TARGET_V4.to_string();
    let common = ["-O", "--osscan-guess", "-n", "-Pn", "-p", "22,23", target.as_str()];
    let tools = [tool("portolan -O", portolan, &common), tool("nmap -O", "nmap", &common)];
    compare(&lab, "O1: -O of one lab host", &tools, runs, 1, os_verdicts_right);
}

/// O2's personalities (lab::SYSTEMS) are on 198.18.0.20 onwards.
const FIRST_PERSONALITY: u8 = 20;

/// O2: OS detection of 256 hosts at once.
fn os_many_hosts(portolan: &str, runs: usize) {
    let db = lab::nmap_os_db().expect("Nmap's nmap-os-db (install nmap)");
    let lab = Lab::new().expect("build lab (run as root)");
    lab.any_ip("198.19.1.0/24").expect("AnyIP");
    let _listener = lab.listen_tcp(&[22]).expect("listener");
    let first = Ipv4Addr::new(198, 18, 0, FIRST_PERSONALITY);
    let personalities = lab::Personality::playing(&db, first).expect("in Nmap's database");
    let _answering = lab.personalities(personalities).expect("personalities");
    let last = FIRST_PERSONALITY as usize + lab::SYSTEMS.len() - 1;
    let personas = format!("198.18.0.{FIRST_PERSONALITY}-{last}");
    let common = ["-O", "--osscan-guess", "-n", "-Pn", "-p", "22,23", "198.19.1.0-247", personas.as_str()];
    let tools = [tool("portolan -O", portolan, &common), tool("nmap -O", "nmap", &common)];
    compare(&lab, "O2: -O of 248 AnyIP hosts and 8 personalities", &tools, runs, 256, os_verdicts_right);
}

/// Hosts whose best OS line (OS details, else the first guess) is right: a personality's own
/// system, Linux for the lab kernel's hosts.
fn os_verdicts_right(output: &str) -> usize {
    output
        .split(" scan report for ")
        .skip(1)
        .filter(|report| {
            let addr: Option<Ipv4Addr> = report.lines().next().and_then(|line| line.trim().parse().ok());
            let best = report.lines().find_map(|line| {
                line.strip_prefix("OS details: ").or_else(|| line.strip_prefix("Aggressive OS guesses: "))
            });
            let Some(best) = best else { return false };
            let persona = addr.and_then(|addr| {
                let [a, b, c, d] = addr.octets();
                let index = d.checked_sub(FIRST_PERSONALITY)?;
                ((a, b, c) == (198, 18, 0)).then(|| lab::SYSTEMS.get(usize::from(index))).flatten()
            });
            match persona {
                Some(name) => best.starts_with(name),
                None => best.starts_with("Linux"),
            }
        })
        .count()
}

/// Runs `measured` under GNU time, which writes its peak resident set size (KiB) to `rss_file`.
fn run_measuring_memory(lab: &Lab, measured: &Tool, rss_file: &std::path::Path) -> (Duration, String, u64) {
    let mut args = vec!["-f".to_string(), "%M".into(), "-o".into(), rss_file.display().to_string()];
    args.push(measured.program.clone());
    args.extend(measured.args.iter().cloned());
    let timed = Tool { program: "/usr/bin/time".into(), args, label: measured.label.clone(), deadline: None };
    let (elapsed, output) = run(lab, &timed);
    let peak_kib = std::fs::read_to_string(rss_file).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0);
    (elapsed, output, peak_kib)
}

/// Whether two lines hold the same words, whatever the spacing between them.
fn same_words(line: &str, expected: &str) -> bool {
    line.split_whitespace().eq(expected.split_whitespace())
}

/// Ports whose VERSION column starts with what the installed package says.
fn versions_right(output: &str) -> usize {
    let truth: BTreeMap<u16, String> = Daemon::ALL
        .iter()
        .flat_map(|daemon| {
            daemon.ports().iter().map(move |&port| {
                let (service, version) = daemon.truth(port).expect("installed daemons");
                (port, format!("{service} {version}"))
            })
        })
        .collect();
    lab::service_columns(output)
        .into_iter()
        .filter(|(port, (service, version))| {
            let cells = format!("{service} {version}").split_whitespace().collect::<Vec<_>>().join(" ");
            truth.get(port).is_some_and(|expected| cells.starts_with(expected))
        })
        .count()
}

/// Runs each tool `runs` times, alternating, and prints median times and the worst count of
/// ports reported in a state other than the lab's ground truth.
fn compare_accuracy(lab: &Lab, title: &str, tools: &[Tool], runs: usize, wrong: &dyn Fn(&str) -> usize) {
    let mut outcomes: Vec<Vec<(Duration, usize)>> = tools.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (tool, outcomes) in tools.iter().zip(&mut outcomes) {
            let (elapsed, stdout) = run(lab, tool);
            let wrong = wrong(&stdout);
            keep_if_portolans_is_wrong(tool, outcomes.len(), &stdout, wrong > 0);
            outcomes.push((elapsed, wrong));
        }
    }
    println!("{title}; {runs} runs each, alternating");
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>22} {:>12}",
        "tool", "median", "min", "max", "wrong ports (worst)", "vs portolan"
    );
    let medians: Vec<Duration> = outcomes.iter().map(|o| median(o.iter().map(|r| r.0).collect())).collect();
    for ((tool, outcomes), median) in tools.iter().zip(&outcomes).zip(&medians) {
        let min = outcomes.iter().map(|r| r.0).min().unwrap();
        let max = outcomes.iter().map(|r| r.0).max().unwrap();
        let worst = outcomes.iter().map(|r| r.1).max().unwrap();
        println!(
            "{:<18} {:>8.3}s {:>8.3}s {:>8.3}s {:>22} {:>11.2}x",
            tool.label,
            median.as_secs_f64(),
            min.as_secs_f64(),
            max.as_secs_f64(),
            worst,
            median.as_secs_f64() / medians[0].as_secs_f64(),
        );
    }
}

/// Ports of `protocol` in an Nmap-style report whose state differs from `truth(host, port)`.
/// Listed ports are checked one by one; ports summarised in "Not shown" are counted as wrong
/// where a state other than closed holds more of them than the `interesting` ports (those not
/// closed) the report left unlisted.
fn wrong_ports(report: &str, protocol: &str, interesting: &[u16], truth: &dyn Fn(u16) -> &'static str) -> usize {
    let suffix = format!("/{protocol}");
    let mut wrong = 0;
    for host_report in report.split(" scan report for ").skip(1) {
        if host_report.split_whitespace().next().and_then(|h| h.parse::<std::net::IpAddr>().ok()).is_none() {
            continue;
        }
        let mut listed = BTreeMap::new();
        let mut hidden: BTreeMap<String, usize> = BTreeMap::new();
        for line in host_report.lines() {
            if let Some(groups) = line.strip_prefix("Not shown: ") {
                for group in groups.split(", ") {
                    let mut words = group.split_whitespace();
                    let count: usize = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                    *hidden.entry(words.next().unwrap_or_default().to_string()).or_default() += count;
                }
            } else if let Some((port, rest)) = line.split_once(suffix.as_str()) {
                if let (Ok(port), Some(state)) = (port.parse::<u16>(), rest.split_whitespace().next()) {
                    listed.insert(port, state.to_string());
                }
            }
        }
        wrong += listed.iter().filter(|&(&port, state)| truth(port) != state).count();
        // Interesting ports of the truth that the report did not list may hide in "Not shown".
        let unlisted_truth =
            |state: &str| interesting.iter().filter(|p| !listed.contains_key(p) && truth(**p) == state).count();
        wrong += hidden
            .iter()
            .filter(|(state, _)| state.as_str() != "closed")
            .map(|(state, &count)| count.saturating_sub(unlisted_truth(state)))
            .sum::<usize>();
    }
    wrong
}

/// Host discovery of a /16; with `sparse`, only addresses whose last octet is 0 to 3 answer.
fn discovery_sweep(portolan: &str, runs: usize, sparse: bool) {
    let lab = Lab::new().expect("build lab (run as root)");
    lab.any_ip(SWEEP).expect("AnyIP");
    if sparse {
        lab.input_rule(&format!("ip daddr {SWEEP} ip daddr & 0.0.0.252 != 0.0.0.0 drop")).expect("firewall");
    }
    let mac = lab.target_mac().expect("target MAC");
    let common = ["-sn", "-n", SWEEP];
    let tools = [
        tool("portolan -sn", portolan, &common),
        tool("portolan -sn -PE", portolan, &[&["-PE"], &common[..]].concat()),
        tool("nmap -sn -T5", "nmap", &[&["-T5"], &common[..]].concat()),
        zmap("zmap icmp_echoscan", &["--probe-module=icmp_echoscan"], &mac),
    ];
    let (title, expected) = if sparse {
        ("D2: host discovery of a /16 of lab hosts (AnyIP), 1024 of them (1.6 %) up", 1024)
    } else {
        ("D1: host discovery of a /16 of lab hosts (AnyIP), all up", SWEEP_HOSTS)
    };
    compare(&lab, title, &tools, runs, expected, hosts_up_found);
}

/// Hosts found up: Nmap's "(N hosts up)" summary, or zmap's one address per line.
fn hosts_up_found(output: &str) -> usize {
    let summary = output.lines().find_map(|line| {
        let (_, rest) = line.split_once(" IP address")?;
        let up = rest.split_once('(')?.1.split_whitespace().next()?;
        up.parse().ok()
    });
    summary.unwrap_or_else(|| output.lines().filter(|line| line.parse::<std::net::Ipv4Addr>().is_ok()).count())
}

/// Runs each tool `runs` times, alternating, and prints median times, findings and ratios.
fn compare(lab: &Lab, title: &str, tools: &[Tool], runs: usize, expected: usize, found: fn(&str) -> usize) {
    let mut outcomes: Vec<Vec<Outcome>> = tools.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (tool, outcomes) in tools.iter().zip(&mut outcomes) {
            let (elapsed, stdout) = run(lab, tool);
            let found = found(&stdout);
            keep_if_portolans_is_wrong(tool, outcomes.len(), &stdout, found < expected);
            outcomes.push(Outcome { elapsed, found });
        }
    }
    println!("{title}; {runs} runs each, alternating");
    println!("{:<18} {:>9} {:>9} {:>9} {:>16} {:>14}", "tool", "median", "min", "max", "found (worst)", "vs portolan");
    let medians: Vec<Duration> = outcomes.iter().map(|o| median(o.iter().map(|r| r.elapsed).collect())).collect();
    for ((tool, outcomes), median) in tools.iter().zip(&outcomes).zip(&medians) {
        let min = outcomes.iter().map(|r| r.elapsed).min().unwrap();
        let max = outcomes.iter().map(|r| r.elapsed).max().unwrap();
        let worst = outcomes.iter().map(|r| r.found).min().unwrap();
        let limit = if tool.deadline.is_some() { " (cut)" } else { "" };
        println!(
            "{:<18} {:>8.3}s {:>8.3}s {:>8.3}s {:>8}/{:<7} {:>12.2}x{limit}",
            tool.label,
            median.as_secs_f64(),
            min.as_secs_f64(),
            max.as_secs_f64(),
            worst,
            expected,
            median.as_secs_f64() / medians[0].as_secs_f64(),
        );
    }
}

/// Keeps the report of a portolan run whose findings are wrong, and says where: the counts
/// alone do not say what went wrong (whole hosts missing, or ports).
fn keep_if_portolans_is_wrong(tool: &Tool, run: usize, report: &str, wrong: bool) {
    if !wrong || !tool.label.starts_with("portolan") {
        return;
    }
    let name = format!("peer-bench-{}-run{run}.txt", tool.label.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    let path = std::env::temp_dir().join(name);
    match std::fs::write(&path, report) {
        Ok(()) => eprintln!("{} run {run} was wrong; its report: {}", tool.label, path.display()),
        Err(error) => eprintln!("{} run {run} was wrong; its report could not be kept: {error}", tool.label),
    }
}

/// Starts `tool` in the lab's scanner namespace, its output to `stdout`.
fn start(lab: &Lab, tool: &Tool, stdout: Stdio) -> std::process::Child {
    (lab.in_scanner(&tool.program).args(&tool.args).stdout(stdout).stderr(Stdio::null()).spawn())
        .unwrap_or_else(|e| panic!("{} did not start: {e}", tool.program))
}

fn run(lab: &Lab, tool: &Tool) -> (Duration, String) {
    let started = Instant::now();
    let mut child = start(lab, tool, Stdio::piped());
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    if let Some(deadline) = tool.deadline {
        while child.try_wait().expect("wait").is_none() && started.elapsed() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
    }
    child.wait().expect("wait");
    let elapsed = started.elapsed();
    (elapsed, reader.join().expect("reader"))
}

/// Open ports of the single target in Nmap-style or masscan output.
fn open_ports_found(output: &str) -> usize {
    let mut ports = BTreeSet::new();
    for line in output.lines() {
        let line = line.trim_start_matches("Discovered open port ");
        if let Some((port, rest)) = line.split_once("/tcp") {
            let nmap_style_open = rest.split_whitespace().next() == Some("open");
            if nmap_style_open || rest.starts_with(" on ") {
                ports.extend(port.trim().parse::<u16>().ok().filter(|p| OPEN.contains(p)));
            }
        }
    }
    ports.len()
}

/// Distinct hosts reported with port 80 open: Nmap-style reports, masscan lines, or zmap's
/// one address per line.
fn open_hosts_found(output: &str) -> usize {
    let mut hosts = BTreeSet::new();
    let mut current: Option<&str> = None;
    for line in output.lines() {
        if let Some(rest) =
            line.strip_prefix("portolan scan report for ").or(line.strip_prefix("Nmap scan report for "))
        {
            current = Some(rest);
        } else if line.starts_with("80/tcp") && line.contains(" open ") {
            hosts.extend(current);
        } else if let Some(host) = line.strip_prefix("Discovered open port 80/tcp on ") {
            hosts.insert(host.trim());
        } else if line.parse::<std::net::IpAddr>().is_ok() {
            hosts.insert(line);
        }
    }
    hosts.len()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// L1: how fast each tool puts probes on the wire when nothing answers and nothing limits it,
/// into a link that discards every frame (the receiving side costs the sender nothing).
fn line_rate(portolan: &str, runs: usize) {
    let lab = Lab::new().expect("build lab (run as root)");
    lab.route_to_sink(SWEEP).expect("a route into the sink");
    let nowhere = lab::NOWHERE_MAC.map(|byte| format!("{byte:02x}")).join(":");
    let (sink_mac, sink_address) = (lab.sink_mac().expect("sink MAC"), lab::SINK_V4.to_string());
    let probes = SWEEP_HOSTS as u64 * 16;
    // One group of every host, so that the scan is one stretch of sending.
    let args = ["-sS", "-n", "-Pn", "-p1-16", "--max-retries", "0", "--min-rate", "100000000"];
    let args = [&args[..], &["--min-hostgroup", "65536", SWEEP]].concat();
    let on_one_core = [&["-c", "0", portolan][..], &args].concat();
    let masscan_args = [
        "-p1-16",
        SWEEP,
        "--rate",
        "100000000",
        "--wait",
        "0",
        "--adapter",
        lab::SINK_DEVICE,
        "--adapter-ip",
        &sink_address,
        "--adapter-mac",
        &sink_mac,
        "--router-mac",
        &nowhere,
    ];
    let mut tools = vec![
        tool("portolan -sS", portolan, &args),
        // A worker per core: pinned to one, the scan has one worker.
        tool("portolan, 1 core", "taskset", &on_one_core),
        tool("masscan", "masscan", &masscan_args),
        zmap_through("zmap -T 2", &["-p", "80", "-P", "16", "-T", "2"], lab::SINK_DEVICE, &nowhere),
    ];
    tools.extend(baseline(&args));
    println!(
        "L1: {probes} SYNs (a /16 x 16 ports) into a link that discards every frame; {runs} runs each, alternating"
    );
    println!("{:<18} {:>18} {:>12} {:>12}", "tool", "probes/s (median)", "best", "vs portolan");
    let mut rates: Vec<Vec<f64>> = tools.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (tool, rates) in tools.iter().zip(&mut rates) {
            rates.push(wire_rate(&lab, tool));
        }
    }
    let mut medians = Vec::new();
    for (tool, mut rates) in tools.iter().zip(rates) {
        rates.sort_by(f64::total_cmp);
        let typical = rates[rates.len() / 2];
        medians.push(typical);
        let best = rates[rates.len() - 1];
        println!("{:<18} {:>18.0} {:>12.0} {:>11.2}x", tool.label, typical, best, typical / medians[0]);
    }
}

/// Runs `tool` and samples the sink's counter as it does: the probes per second between a
/// tenth and nine tenths of what it sent, its steady pace without start-up and end (the whole
/// run is no measure: masscan lingers, portolan waits out its timeouts). The counter is read
/// from the tool's own view of its namespace (`/proc/PID/net/dev`), so that sampling starts no
/// process beside it on the same cores.
fn wire_rate(lab: &Lab, tool: &Tool) -> f64 {
    // None while the tool is not yet in the scanner's namespace (its table has no sink).
    let read_counters = |path: &str| lab::frames_into_sink(&std::fs::read_to_string(path).ok()?);
    let started = Instant::now();
    let mut child = start(lab, tool, Stdio::null());
    let counters = format!("/proc/{}/net/dev", child.id());
    let mut samples = Vec::new();
    while child.try_wait().expect("wait").is_none() {
        samples.extend(read_counters(&counters).map(|count| (started.elapsed(), count)));
        std::thread::sleep(Duration::from_millis(2));
    }
    let Some(&(_, first)) = samples.first() else { return 0.0 };
    let last = samples.last().map_or(first, |&(_, count)| count) - first;
    let crossing = |share: f64| {
        samples.iter().map(|&(at, count)| (at, count - first)).find(|&(_, count)| count as f64 >= share * last as f64)
    };
    match (crossing(0.1), crossing(0.9)) {
        (Some((t1, c1)), Some((t2, c2))) if t2 > t1 => (c2 - c1) as f64 / (t2 - t1).as_secs_f64(),
        _ => 0.0,
    }
}

/// P4: resident memory of a rate-limited scan of 131072 hosts, sampled as it runs.
fn memory(portolan: &str) {
    let lab = Lab::new().expect("build lab (run as root)");
    lab.any_ip("198.18.128.0/17").expect("AnyIP");
    lab.any_ip("198.19.0.0/16").expect("AnyIP");
    let _listener = lab.listen_tcp(&[80]).expect("listener");
    let args = ["-sS", "-n", "-Pn", "-p80", "--max-rate", "50000", "198.18.128.0/17", "198.19.0.0/16"];
    let mut child = lab.in_scanner(portolan).args(args).stdout(Stdio::null()).spawn().expect("start portolan");
    let started = Instant::now();
    let mut samples = Vec::new();
    while child.try_wait().expect("wait").is_none() {
        if let Some(rss) = resident_kib(child.id()) {
            samples.push((started.elapsed(), rss));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("P4: SYN scan of port 80 on 98304 lab hosts (AnyIP; 198.18.128.0/17 + 198.19.0.0/16) at --max-rate 50000: resident memory");
    for (at, rss) in samples.iter().step_by((samples.len() / 10).max(1)) {
        println!("  {:>6.2}s  {:>7} KiB", at.as_secs_f64(), rss);
    }
    let peak = samples.iter().map(|(_, rss)| *rss).max().unwrap_or(0);
    println!("  peak {peak} KiB over {:.2}s", started.elapsed().as_secs_f64());
}

fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()
}

/// S1: which detectors each scan trips, and how long into it.
fn detection(portolan: &str) {
    const NETWORK: &str = "198.18.90.0/24";
    let lab = Lab::new().expect("build lab (run as root)");
    lab.any_ip(NETWORK).expect("AnyIP");
    let _listeners = lab.listen_tcp(&[22, 80, 443]).expect("listeners");
    for more in ["198.18.0.11", "198.18.0.12", "198.18.0.13"] {
        lab.add_scanner_address(more.parse().expect("an address")).expect("a scanner address");
    }
    let four = ["-S", "198.18.0.1,198.18.0.11,198.18.0.12,198.18.0.13"];
    let common = ["-sS", "-n", "--top-ports", "100", NETWORK];
    let minute = Some(Duration::from_secs(60));
    let cut = |tool: Tool| Tool { deadline: minute, ..tool };
    let tools = [
        tool("nmap -T4", "nmap", &[&["-T4"], &common[..]].concat()),
        cut(tool("nmap -T2", "nmap", &[&["-T2"], &common[..]].concat())),
        cut(tool("nmap -T1", "nmap", &[&["-T1"], &common[..]].concat())),
        tool("portolan", portolan, &common),
        cut(tool("portolan --max-host-rate 10", portolan, &[&["--max-host-rate", "10"], &common[..]].concat())),
        cut(tool("portolan --evade-detectors all", portolan, &[&["--evade-detectors", "all"], &common[..]].concat())),
        cut(tool(
            "  the same from four addresses",
            portolan,
            &[&["--evade-detectors", "all"], &four[..], &common[..]].concat(),
        )),
    ];
    let budgets = stealth::presets(&["all".into()]).expect("presets");
    println!("S1: a /24 of lab hosts x the top 100 ports: the first alert of each detector rule (seconds into the scan; - for none)");
    let rules: Vec<String> = budgets.iter().filter_map(rule_label).collect();
    println!("{:<32} {:>8} {:>6}  {}", "tool", "time", "SYNs", rules.join("  "));
    for tool in &tools {
        let capture = lab::SynCapture::start(lab.target_namespace()).expect("tcpdump in the target");
        let (elapsed, stdout) = run(&lab, tool);
        std::thread::sleep(Duration::from_millis(200));
        let arrivals = capture.stop();
        let start = arrivals.iter().map(|a| a.at).fold(f64::INFINITY, f64::min);
        let firsts: Vec<String> = budgets
            .iter()
            .filter(|b| rule_label(b).is_some())
            .map(|budget| match first_alert(&budget.rule, &arrivals) {
                Some(at) => format!("{:>w$.1}", at - start, w = rule_label(budget).unwrap().len()),
                None => format!("{:>w$}", "-", w = rule_label(budget).unwrap().len()),
            })
            .collect();
        let cut = if tool.deadline.is_some_and(|d| elapsed >= d) { " (cut)" } else { "" };
        println!(
            "{:<32} {:>7.1}s {:>6}  {}{cut}",
            tool.label,
            elapsed.as_secs_f64(),
            arrivals.len(),
            firsts.join("  ")
        );
        for schedule in stdout.lines().filter(|l| l.starts_with("Stealth schedule")) {
            println!("    {schedule}");
        }
    }
}

/// A column name for each counted rule ("zeek:hosts-per-port"); none for probe shapes.
fn rule_label(budget: &stealth::Budget) -> Option<String> {
    let rule = match budget.rule {
        stealth::Rule::PacketsPerHost { .. } => "packets/host",
        stealth::Rule::PortsPerHost { .. } => "ports/host",
        stealth::Rule::HostsPerPort { .. } => "hosts/port",
        stealth::Rule::HostsPerSource { .. } => "hosts",
        stealth::Rule::AlertPorts(_) => "sig-ports",
        stealth::Rule::ProbeShape => return None,
    };
    Some(format!("{}:{rule}", budget.detector))
}

/// When a detector counting as `rule` first alerts on `arrivals`.
fn first_alert(rule: &stealth::Rule, arrivals: &[lab::Arrival]) -> Option<f64> {
    use lab::Counting;
    use stealth::Rule;
    let (what, threshold, window) = match rule {
        Rule::PacketsPerHost { threshold, window } => (Counting::PacketsPerHost, threshold, window),
        Rule::PortsPerHost { threshold, window } => (Counting::PortsPerHost, threshold, window),
        Rule::HostsPerPort { threshold, window } => (Counting::HostsPerPort, threshold, window),
        Rule::HostsPerSource { threshold, window } => (Counting::HostsPerSource, threshold, window),
        Rule::AlertPorts(ports) => {
            return arrivals.iter().filter(|a| ports.contains(&a.port)).map(|a| a.at).reduce(f64::min);
        }
        Rule::ProbeShape => return None,
    };
    lab::alerts(arrivals, what, *threshold as usize, window.as_secs_f64()).first().copied()
}
