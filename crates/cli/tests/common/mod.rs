//! Shared pieces of the end-to-end tests: the standard lab target and running portolan in it.

#![allow(dead_code)] // each test file uses its own subset

use std::process::Output;

use lab::{Lab, Listeners};
use model::Protocol;
use services::{DataDirs, ServicesTable};

/// The standard lab target: a few listeners, ports dropped and rejected by its firewall, and
/// every other port closed (the kernel answers RST).
pub const OPEN: [u16; 4] = [22, 80, 443, 8080];
pub const DROPPED: [u16; 2] = [25, 3306];
pub const REJECTED: [u16; 2] = [110, 5432];
/// The ports the tests scan: 1027 in all.
pub const PORTS: &str = "1-1024,3306,5432,8080";
pub const PORT_COUNT: usize = 1027;

pub struct StandardLab {
    pub lab: Lab,
    _listeners: Listeners,
}

pub fn standard_lab() -> StandardLab {
    let lab = Lab::new().expect("build lab");
    let listeners = lab.listen_tcp(&OPEN).expect("start listeners");
    lab.filter_tcp(&DROPPED, &REJECTED).expect("load firewall");
    StandardLab { lab, _listeners: listeners }
}

/// Runs portolan inside the lab's scanner namespace.
pub fn portolan(lab: &Lab, args: &[&str]) -> Output {
    lab.in_scanner(env!("CARGO_BIN_EXE_portolan")).args(args).output().expect("run portolan")
}

pub fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "portolan failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

/// The services table portolan itself will use here (Nmap's when installed, else ours), so that
/// expected SERVICE columns follow the same source as the scanner.
pub fn service_name(port: u16) -> String {
    let table = match services::find_nmap_services(&DataDirs::from_env(None)) {
        Some(path) => ServicesTable::load_nmap_services(&path).expect("load nmap-services"),
        None => ServicesTable::embedded(),
    };
    table.name(Protocol::Tcp, port).unwrap_or("unknown").to_string()
}

/// Nmap as an oracle: the same scan of the same lab target must give the same port table.
/// Without nmap installed the comparison is skipped, except under CI, whose test script
/// installs it.
pub fn assert_same_table_as_nmap(lab: &Lab, args: &[&str], ours: &str) {
    if std::process::Command::new("nmap").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "the test script installs nmap under CI");
        eprintln!("skipping oracle comparison: nmap is not installed");
        return;
    }
    let nmap = lab.in_scanner("nmap").args(args).output().expect("run nmap");
    let theirs = String::from_utf8(nmap.stdout).expect("utf-8 output");
    assert_eq!(port_section(ours), port_section(&theirs), "{args:?}\nportolan:\n{ours}\nnmap:\n{theirs}");
}

/// The lines of the first host's report from "Not shown" (or the blank line that replaces it)
/// to the end of its port table (Nmap's "MAC Address:" line, which follows the table on
/// Ethernet, comes from ARP discovery and is not part of it).
pub fn port_section(report: &str) -> Vec<String> {
    report
        .lines()
        .skip_while(|line| !line.starts_with("Host is up"))
        .skip(1)
        .skip_while(|line| line.starts_with("Other addresses"))
        .take_while(|line| !line.is_empty() && !line.starts_with("MAC Address:"))
        .map(str::to_string)
        .collect()
}
