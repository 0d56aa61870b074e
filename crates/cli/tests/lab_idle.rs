//! End-to-end: the idle scan (-sI) through a lab zombie (a host numbering every packet from
//! one counter, crates/lab/src/tcp_host.rs): the target's open ports found, equal to nmap -sI
//! through the same zombie; the target never sees a packet from the scanner's own address; a
//! Linux host, whose identification is not incremental, is refused as a zombie.

mod common;

use common::*;
use lab::{Capture, TARGET_V4};

#[test]
fn idle_scan_finds_open_ports_through_a_zombie_without_showing_our_address() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let (zombie, _zombie) = lab.lab.zombie().unwrap();
    let target = TARGET_V4.to_string();
    let zombie_spec = format!("{zombie}:80");
    let capture = Capture::start(
        lab.lab.target_namespace(),
        "tcp and src host 198.18.0.1 and dst host 198.18.0.2",
        &["--immediate-mode"],
    )
    .unwrap();
    let args = ["-sI", &zombie_spec, "-Pn", "-n", "-p", "1-1024,8080", &target];
    let report = stdout(&portolan(&lab.lab, &args));
    let from_us: Vec<String> = capture.stop().into_iter().filter(|line| !line.is_empty()).collect();
    assert_eq!(from_us, Vec::<String>::new(), "the target saw TCP from the scanner itself");
    let open: Vec<String> = report
        .lines()
        .filter(|line| line.contains(" open "))
        .map(|line| line.split('/').next().unwrap().to_string())
        .collect();
    assert_eq!(open, OPEN.map(|port| port.to_string()), "{report}");
    assert!(report.contains("Not shown: 1021 closed|filtered tcp ports"), "{report}");
    assert_same_table_as_nmap(&lab.lab, &args, &report);

    // The XML describes the scan as Nmap's does (which writes no scaninfo for it), and is
    // valid against Nmap's DTD.
    if has("nmap") {
        let dir = scratch_dir("idle");
        let scaninfo = |program: &str| {
            let xml = dir.join(format!("{program}.xml"));
            let binary = if program == "nmap" { "nmap" } else { env!("CARGO_BIN_EXE_portolan") };
            let ran = (lab.lab.in_scanner(binary))
                .args(["-sI", &zombie_spec, "-Pn", "-n", "-p", "22,25", "-oX", xml.to_str().unwrap(), &target])
                .output()
                .unwrap();
            assert!(ran.status.success(), "{program}: {}", String::from_utf8_lossy(&ran.stderr));
            let text = std::fs::read_to_string(&xml).unwrap();
            let scaninfo: Vec<String> = text.lines().filter(|l| l.starts_with("<scaninfo")).map(String::from).collect();
            scaninfo
        };
        assert_eq!(scaninfo("portolan"), scaninfo("nmap"));
        assert_valid_against_nmap_dtd(&dir.join("portolan.xml"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_linux_host_is_refused_as_a_zombie() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let hosts = lab.lab.add_hosts(1).unwrap();
    let zombie = format!("{}:22", hosts[0]);
    let target = TARGET_V4.to_string();
    let output = portolan(&lab.lab, &["-sI", &zombie, "-Pn", "-n", "-p", "22", &target]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not incremental"), "{stderr}");
}
