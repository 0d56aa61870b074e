//! End-to-end: a scan interrupted (SIGINT) at several points and resumed with `--resume`
//! from each kind of output file ends with the same files an uninterrupted scan writes, host
//! for host and port for port, and probes again at most the host group it was in.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use lab::{Lab, SynCapture};

const NETWORK: &str = "198.18.75.0/25";
const HOSTS: usize = 128;
const GROUP: usize = 16;

/// The scan: 8 groups of 16 hosts, 2 ports each, at 100 probes a second (some 2.6 s), writing
/// every format beside `base`.
fn scan_args(base: &Path) -> Vec<String> {
    let base = base.display().to_string();
    [
        "-sS",
        "-n",
        "-Pn",
        "-p",
        "22,80",
        "--max-rate",
        "100",
        "--max-hostgroup",
        &GROUP.to_string(),
        "-oA",
        &base,
        NETWORK,
    ]
    .map(String::from)
    .to_vec()
}

fn record(path: &Path) -> history::ScanRecord {
    history::read_scan(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The up hosts a normal-output file reports, over every run appended to it.
fn normal_hosts(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut hosts: Vec<String> =
        text.lines().filter_map(|l| l.strip_prefix("portolan scan report for ")).map(String::from).collect();
    hosts.sort();
    hosts
}

#[test]
fn a_scan_interrupted_anywhere_and_resumed_equals_one_uninterrupted_scan() {
    if !lab::available() || !has("tcpdump") {
        return;
    }
    let lab = Lab::new().expect("build lab");
    lab.any_ip(NETWORK).expect("AnyIP");
    let _listeners = lab.listen_tcp(&[22]).expect("listener");
    let dir = scratch_dir("resume");

    let whole = dir.join("whole");
    let args = scan_args(&whole);
    let output = portolan(&lab, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // Interrupted early, midway and late; resumed from each kind of file in turn.
    for (run, (after, resume_from)) in
        [(400, "nmap"), (1300, "xml"), (2100, "json"), (900, "gnmap")].into_iter().enumerate()
    {
        let base = dir.join(format!("part{run}"));
        let capture = SynCapture::start(lab.target_namespace()).expect("tcpdump");
        let first = Command::new("ip")
            .args(["netns", "exec", lab.scanner_namespace(), env!("CARGO_BIN_EXE_portolan")])
            .args(scan_args(&base))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(after));
        Command::new("kill").args(["-INT", &first.id().to_string()]).status().unwrap();
        let first = first.wait_with_output().unwrap();
        let told = String::from_utf8_lossy(&first.stderr);
        assert!(told.contains("portolan --resume"), "the interruption says how to go on: {told}");

        let file = format!("{}.{resume_from}", base.display());
        let resumed = portolan(&lab, &["--resume", &file]);
        assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
        std::thread::sleep(Duration::from_millis(200));
        let probes = capture.stop().len();
        assert!(probes <= 2 * (HOSTS + GROUP), "run {run}: {probes} SYNs: finished groups were probed again");

        for format in ["xml", "json"] {
            let one = record(&dir.join(format!("whole.{format}")));
            let parts = record(&dir.join(format!("part{run}.{format}")));
            assert_eq!(one.hosts.len(), HOSTS);
            // Host for host, port for port (the runs started at different times).
            assert_eq!(
                one.hosts, parts.hosts,
                "run {run} (interrupted after {after} ms, resumed from .{resume_from}): {format} differs"
            );
        }
        assert_valid_against_nmap_dtd(&dir.join(format!("part{run}.xml")));
        assert_matches_json_schema(&dir.join(format!("part{run}.json")), false);
        assert_eq!(normal_hosts(&dir.join(format!("part{run}.nmap"))), normal_hosts(&dir.join("whole.nmap")));
    }
}

#[test]
fn nmaps_own_interrupted_file_is_resumed_after_its_last_host() {
    if !lab::available() || !has("nmap") {
        return;
    }
    let lab = Lab::new().expect("build lab");
    lab.any_ip("198.18.76.0/28").expect("AnyIP");
    let _listeners = lab.listen_tcp(&[22]).expect("listener");
    let dir = scratch_dir("resume-nmap");
    let file = dir.join("scan.nmap");
    let nmap = lab
        .in_scanner("nmap")
        .args(["-sS", "-n", "-Pn", "-p", "22,80", "-oN", file.to_str().unwrap(), "198.18.76.0/28"])
        .output()
        .unwrap();
    assert!(nmap.status.success(), "{}", String::from_utf8_lossy(&nmap.stderr));
    // As Nmap leaves it when interrupted: six hosts reported, no end line.
    let whole = std::fs::read_to_string(&file).unwrap();
    let seventh = whole.match_indices("Nmap scan report for ").nth(6).expect("16 hosts").0;
    std::fs::write(&file, &whole[..seventh]).unwrap();

    let resumed = portolan(&lab, &["--resume", file.to_str().unwrap()]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let text = std::fs::read_to_string(&file).unwrap();
    let mut reported: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Nmap scan report for ").or(l.strip_prefix("portolan scan report for ")))
        .collect();
    assert_eq!(text.matches("Nmap scan report for ").count(), 6, "Nmap's six hosts kept:\n{text}");
    reported.sort_by_key(|addr| addr.parse::<std::net::Ipv4Addr>().unwrap());
    let every: Vec<String> = (0..16).map(|i| format!("198.18.76.{i}")).collect();
    assert_eq!(reported, every, "every host once, the last ten by portolan:\n{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("22/tcp") && l.contains(" open ")).count(), 16, "{text}");

    // Resumed again, the file says both runs together completed every target.
    let again = portolan(&lab, &["--resume", file.to_str().unwrap()]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(after.matches("scan report for ").count(), 16, "nothing scanned twice:\n{after}");
}
