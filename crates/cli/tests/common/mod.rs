//! Shared pieces of the end-to-end tests: the standard lab target and running portolan in it.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
    service_name_of(Protocol::Tcp, port)
}

pub fn service_name_of(protocol: Protocol, port: u16) -> String {
    let table = match services::find_nmap_services(&DataDirs::from_env(None)) {
        Some(path) => ServicesTable::load_nmap_services(&path).expect("load nmap-services"),
        None => ServicesTable::embedded(),
    };
    table.name(protocol, port).unwrap_or("unknown").to_string()
}

/// A port table row: port/protocol, state, service, reason.
pub type Row<'a> = (String, &'a str, String, &'a str);

/// The lines of a port table with a REASON column, each column as wide as its widest cell
/// plus one, as Nmap lays it out.
pub fn port_table(rows: &[Row]) -> Vec<String> {
    let width =
        |header: &str, cell: &dyn Fn(&Row) -> usize| rows.iter().map(cell).max().unwrap_or(0).max(header.len()) + 1;
    let port_width = width("PORT", &|r| r.0.len());
    let state_width = width("STATE", &|r| r.1.len());
    let service_width = width("SERVICE", &|r| r.2.len());
    let line = |port: &str, state: &str, service: &str, reason: &str| {
        format!("{port:<port_width$}{state:<state_width$}{service:<service_width$}{reason}")
    };
    let mut lines = vec![line("PORT", "STATE", "SERVICE", "REASON")];
    lines.extend(rows.iter().map(|(port, state, service, reason)| line(port, state, service, reason)));
    lines
}

pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portolan-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn has(tool: &str) -> bool {
    let present = Command::new(tool).arg("--version").output().is_ok();
    assert!(present || std::env::var_os("CI").is_none(), "the test script installs {tool} under CI");
    present
}

/// The XML validates against Nmap's own DTD (read from Nmap's installation, never copied).
pub fn assert_valid_against_nmap_dtd(xml: &Path) {
    let dtd = Path::new("/usr/share/nmap/nmap.dtd");
    let dtd_present = dtd.exists();
    assert!(dtd_present || std::env::var_os("CI").is_none(), "the test script installs nmap, and its DTD, under CI");
    if !has("xmllint") || !dtd_present {
        return;
    }
    let valid = Command::new("xmllint").arg("--noout").arg("--dtdvalid").arg(dtd).arg(xml).output().unwrap();
    assert!(valid.status.success(), "{}", String::from_utf8_lossy(&valid.stderr));
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

pub fn python_module_present(module: &str) -> bool {
    let present = Command::new("python3").args(["-c", &format!("import {module}")]).status().is_ok_and(|s| s.success());
    assert!(
        present || std::env::var_os("CI").is_none(),
        "the test script installs the python module {module} under CI"
    );
    present
}

/// Validates a JSON document (or, with `lines`, each NDJSON line) against docs/json.schema.json.
pub fn assert_matches_json_schema(file: &Path, lines: bool) {
    if !python_module_present("jsonschema") {
        return;
    }
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/json.schema.json");
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        if sys.argv[3] == 'lines':\n    schema['$ref'] = '#/$defs/line'\n    values = [json.loads(l) for l in open(sys.argv[2])]\n\
        else:\n    values = [json.load(open(sys.argv[2]))]\n\
        for value in values:\n    jsonschema.validate(value, schema)\n";
    let mode = if lines { "lines" } else { "document" };
    let checked = Command::new("python3").args(["-c", script, schema]).arg(file).arg(mode).output().unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
}

/// Whether the report says the host was found up by the default discovery: ARP (IPv6:
/// neighbour discovery) on the lab link, or (with --send-ip) one of the IP probes (ICMP echo,
/// TCP SYN to 443, TCP ACK to 80, ICMP timestamp), whichever answer came first.
pub fn found_up_by_default_discovery(report: &str) -> bool {
    ["arp-response", "nd-response", "echo-reply", "syn-ack", "reset", "timestamp-reply"]
        .iter()
        .any(|reason| report.contains(&format!("Host is up, received {reason} (")))
}
