//! End-to-end: scans saved with --save, listed by `portolan history`, and what changed between
//! two lab scans where one listener was removed and another added — by scan number, as XML files,
//! and against Nmap's own XML.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use lab::{Lab, TARGET_V4};

fn with_history(mut command: Command, data: &Path) -> Output {
    command.env("XDG_DATA_HOME", data).output().expect("run portolan")
}

fn portolan_here(args: &[&str], data: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_portolan"));
    command.args(args);
    with_history(command, data)
}

fn scan_and_save(lab: &Lab, xml: &Path, data: &Path) -> String {
    let target = TARGET_V4.to_string();
    let mut command = lab.in_scanner(env!("CARGO_BIN_EXE_portolan"));
    command.args(["-sS", "-n", "-Pn", "-p", "20-90", "--save", "-oX", xml.to_str().unwrap(), &target]);
    stdout(&with_history(command, data))
}

#[test]
fn diff_shows_what_opened_and_closed_between_saved_scans() {
    if !lab::available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("portolan-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lab = Lab::new().unwrap();

    let before = lab.listen_tcp(&[22, 80]).unwrap();
    let first = scan_and_save(&lab, &dir.join("first.xml"), &dir);
    assert!(first.contains("Saved as scan 1 "), "{first}");
    drop(before);
    let _after = lab.listen_tcp(&[22, 53]).unwrap();
    let second = scan_and_save(&lab, &dir.join("second.xml"), &dir);
    assert!(second.contains("Saved as scan 2 "), "{second}");

    let listed = String::from_utf8(portolan_here(&["history"], &dir).stdout).unwrap();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.lines().all(|l| l.contains("1 up  portolan -sS -n -Pn -p 20-90 --save")), "{listed}");

    let expected = format!(
        " {TARGET_V4} 53/tcp: (not listed) -> open {}\n {TARGET_V4} 80/tcp: open {} -> (not listed)\n",
        service_name(53),
        service_name(80)
    );
    let by_number = portolan_here(&["diff", "1", "2"], &dir);
    assert_eq!(by_number.status.code(), Some(1), "changes found");
    assert_eq!(String::from_utf8(by_number.stdout).unwrap(), expected);
    let xml_files = [dir.join("first.xml"), dir.join("second.xml")].map(|p| p.to_str().unwrap().to_string());
    let by_file = portolan_here(&["diff", &xml_files[0], &xml_files[1]], &dir);
    assert_eq!(String::from_utf8(by_file.stdout).unwrap(), expected);

    let json = portolan_here(&["diff", "--json", "1", "2"], &dir);
    let changes: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(changes[0]["port"], 53);
    assert_eq!(changes[0]["after"]["state"], "open");

    if std::process::Command::new("nmap").arg("--version").output().is_ok() {
        let theirs = dir.join("nmap.xml");
        let target = TARGET_V4.to_string();
        let ran = lab
            .in_scanner("nmap")
            .args(["-sS", "-n", "-Pn", "-p", "20-90", "-oX", theirs.to_str().unwrap(), &target])
            .output()
            .unwrap();
        assert!(ran.status.success());
        let same = portolan_here(&["diff", &xml_files[1], theirs.to_str().unwrap()], &dir);
        assert_eq!(String::from_utf8_lossy(&same.stdout), "", "nmap saw what portolan saw");
        assert_eq!(same.status.code(), Some(0));
    }

    let missing = portolan_here(&["diff", "1", "9"], &dir);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&missing.stderr), "portolan: no saved scan 9\n");
    std::fs::remove_dir_all(dir).unwrap();
}
