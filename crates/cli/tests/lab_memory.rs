//! End-to-end: resident memory stays flat however many hosts a sweep covers, because hosts
//! are scanned in bounded groups whose results stream to the outputs. (A sweep of 98,304
//! hosts peaked at 97 MB when a group was 65,536 hosts and each port result held its
//! version detail inline.)

use std::process::Stdio;
use std::time::Duration;

use lab::Lab;

/// The most resident memory `pid` had while it ran, sampled every 10 ms.
fn peak_resident_kib(child: &mut std::process::Child) -> u64 {
    let mut peak = 0;
    while child.try_wait().expect("wait").is_none() {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        let rss = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next());
        peak = peak.max(rss.and_then(|kib| kib.parse().ok()).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(10));
    }
    peak
}

#[test]
fn a_sweep_of_65536_hosts_stays_under_64_mb() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().expect("build lab");
    lab.any_ip("198.19.0.0/16").expect("AnyIP");
    let _listener = lab.listen_tcp(&[80]).expect("listener");
    let mut child = lab
        .in_scanner(env!("CARGO_BIN_EXE_portolan"))
        .args(["-sS", "-n", "-Pn", "-p80", "--open", "198.19.0.0/16"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start portolan");
    let stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let peak = peak_resident_kib(&mut child);
    let report = reader.join().unwrap();
    assert_eq!(report.matches("80/tcp open").count(), 65536, "every host found");
    assert!(peak < 64 * 1024, "peak resident memory {peak} KiB");
}
