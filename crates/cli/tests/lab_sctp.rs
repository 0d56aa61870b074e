//! End-to-end: the SCTP INIT (-sY) and COOKIE ECHO (-sZ) scans of a lab SCTP host (answering
//! from user space, crates/lab/src/sctp.rs, which drops any packet whose CRC32c is wrong):
//! open, closed, dropped and rejected ports, each table equal to Nmap's for the same scan, the
//! XML valid against Nmap's DTD and the JSON against our schema; and the SCTP INIT ping (-PY)
//! finding the host, by an open port and by a closed one, where nothing else would.

mod common;

use common::*;
use lab::{Lab, TARGET_V4};

const OPEN: [u16; 2] = [80, 2905];
const DROPPED: [u16; 1] = [5060];
const REJECTED: [u16; 1] = [3868];
const PORTS: &str = "7,9,80,2905,3868,5060";

#[test]
fn sctp_init_and_cookie_echo_scans_equal_nmaps() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().unwrap();
    let _host = lab.serve_sctp(&OPEN).unwrap();
    lab.filter_sctp(&DROPPED, &REJECTED).unwrap();
    let target = TARGET_V4.to_string();
    let dir = scratch_dir("sctp");
    for (flag, open_state) in [("-sY", "open"), ("-sZ", "open|filtered")] {
        let (xml, json) = (dir.join(format!("{flag}.xml")), dir.join(format!("{flag}.json")));
        let args = [flag, "-n", "-Pn", "--reason", "-p", PORTS, &target];
        let mut with_files = args.to_vec();
        with_files.extend(["-oX", xml.to_str().unwrap(), "-oJ", json.to_str().unwrap()]);
        let report = stdout(&portolan(&lab, &with_files));
        for port in OPEN {
            assert!(
                report
                    .lines()
                    .any(|l| l.starts_with(&format!("{port}/sctp")) && l.contains(&format!(" {open_state} "))),
                "{flag}: {report}"
            );
        }
        for port in [7, 9] {
            assert!(
                report
                    .lines()
                    .any(|l| l.starts_with(&format!("{port}/sctp")) && l.contains(" closed ") && l.contains("abort")),
                "{flag}: {report}"
            );
        }
        assert!(
            report
                .lines()
                .any(|l| l.starts_with("3868/sctp") && l.contains(" filtered ") && l.contains("admin-prohibited")),
            "{flag}: {report}"
        );
        assert_same_table_as_nmap(&lab, &args, &report);
        assert_valid_against_nmap_dtd(&xml);
        assert_matches_json_schema(&json, false);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sctp_init_ping_finds_a_host_that_answers_nothing_else() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().unwrap();
    let _host = lab.serve_sctp(&OPEN).unwrap();
    // The host drops every other probe the default discovery sends (and answers no ARP from
    // user space: discovery over IP, as to a routed host).
    lab.nft(
        "table ip quiet {\n  chain input {\n    type filter hook input priority -10; policy accept;\n    \
             meta l4proto != sctp drop\n  }\n}\n",
    )
    .unwrap();
    let target = TARGET_V4.to_string();
    let down = stdout(&portolan(&lab, &["-sn", "-n", "--send-ip", &target]));
    assert!(down.contains("0 hosts up"), "no probe but SCTP's is answered: {down}");
    for port in ["80", "7"] {
        let ping = format!("-PY{port}");
        let up = stdout(&portolan(&lab, &["-sn", "-n", "--send-ip", "--reason", &ping, &target]));
        let reason = if port == "80" { "init-ack" } else { "abort" };
        assert!(up.contains(&format!("Host is up, received {reason}")), "{ping}: {up}");
    }
}
