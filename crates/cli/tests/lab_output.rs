//! End-to-end: -oN, -oX, -oG, -oJ and -oA files of a lab scan, read back by Nmap's own tools.

mod common;

use std::process::Command;

use common::*;
use lab::TARGET_V4;

/// The scan every test here runs: the standard target, SYN scan, with reasons.
fn scan_args(target: &str) -> Vec<String> {
    ["-sS", "-n", "-Pn", "--reason", "-p", PORTS, target].iter().map(|s| s.to_string()).collect()
}

#[test]
fn all_formats_of_one_scan_agree_with_the_terminal_and_with_nmap() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let dir = scratch_dir("oA");
    let base = dir.join("scan");
    let target = TARGET_V4.to_string();
    let mut args = scan_args(&target);
    args.extend(["-oA".to_string(), base.to_str().unwrap().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let terminal = stdout(&portolan(&lab.lab, &args));

    // The normal file is the terminal's text between its own first and last lines.
    let normal = std::fs::read_to_string(base.with_extension("nmap")).unwrap();
    let body = |text: &str| text.lines().skip(1).take(text.lines().count() - 2).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&normal), body(&terminal));
    assert!(
        normal.starts_with("# portolan ")
            && normal.contains(" scan initiated ")
            && normal.contains(" as: portolan -sS")
    );
    assert!(normal.trim_end().lines().last().unwrap().starts_with("# portolan done at "), "{normal}");

    let grepable = std::fs::read_to_string(base.with_extension("gnmap")).unwrap();
    assert!(grepable.contains(&format!("Host: {TARGET_V4} ()\tStatus: Up\n")), "{grepable}");
    assert!(grepable.contains("22/open/tcp//ssh///") && grepable.contains("25/filtered/tcp//smtp///"), "{grepable}");
    assert!(grepable.contains("\tIgnored State: closed (1019)\n"), "{grepable}");

    // The JSON document lists the same ports as the grepable file.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(base.with_extension("json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 2);
    let host = &json["hosts"][0];
    assert_eq!(host["address"], TARGET_V4.to_string());
    let json_ports: Vec<String> = host["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!("{}/{}/tcp//{}///", p["port"], p["state"].as_str().unwrap(), p["service"].as_str().unwrap_or(""))
        })
        .collect();
    let grepable_ports = grepable.split("Ports: ").nth(1).unwrap().split('\t').next().unwrap();
    assert_eq!(json_ports.join(", "), grepable_ports);
    assert_eq!(host["not_shown"], serde_json::json!([{"state": "closed", "count": 1019}]));
    assert_matches_json_schema(&base.with_extension("json"), false);

    let xml = base.with_extension("xml");
    assert_valid_against_nmap_dtd(&xml);
    if python_module_present("libnmap") {
        // python-libnmap, as users' tools read Nmap's XML: the same ports and states.
        let script = "import sys\nfrom libnmap.parser import NmapParser\nh = NmapParser.parse_fromfile(sys.argv[1]).hosts[0]\nprint(h.address, ', '.join(f'{s.port}/{s.state}' for s in h.services))";
        let parsed = Command::new("python3").args(["-c", script]).arg(&xml).output().unwrap();
        assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
        let expected: Vec<String> =
            grepable_ports.split(", ").map(|p| p.split('/').take(2).collect::<Vec<_>>().join("/")).collect();
        assert_eq!(String::from_utf8_lossy(&parsed.stdout).trim(), format!("{TARGET_V4} {}", expected.join(", ")));
    }
    if has("nmap") && has("ndiff") {
        let theirs = dir.join("nmap.xml");
        let mut nmap_args = scan_args(&target);
        nmap_args.extend(["-oX".to_string(), theirs.to_str().unwrap().to_string()]);
        let ran = lab.lab.in_scanner("nmap").args(&nmap_args).output().unwrap();
        assert!(ran.status.success());
        // Both learn the target's MAC address by ARP, -Pn or not, and record it.
        let diff = Command::new("ndiff").arg(&theirs).arg(&xml).output().unwrap();
        let text = String::from_utf8_lossy(&diff.stdout);
        assert_eq!(diff.status.code(), Some(0), "ndiff sees a difference:\n{text}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn xml_to_standard_output_replaces_the_terminal_text() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let target = TARGET_V4.to_string();
    let report = stdout(&portolan(&lab.lab, &["-sS", "-v", "-n", "-p", "22,23", "-oX", "-", &target]));
    assert!(report.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), "{report}");
    assert!(report.trim_end().ends_with("</nmaprun>"), "{report}");
    assert!(!report.contains("Discovered open port"), "no -v lines inside the XML");
}

#[test]
fn json_lines_stream_to_standard_output() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let target = TARGET_V4.to_string();
    let report = stdout(&portolan(&lab.lab, &["-sS", "-n", "-p", "22,23", "-oJ", "-", &target]));
    let lines: Vec<serde_json::Value> = report.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let streamed = std::env::temp_dir().join(format!("portolan-ndjson-{}", std::process::id()));
    std::fs::write(&streamed, &report).unwrap();
    assert_matches_json_schema(&streamed, true);
    std::fs::remove_file(&streamed).unwrap();
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["start", "host", "summary"]);
    assert_eq!(lines[1]["ports"][0]["port"], 22);
    assert_eq!(lines[1]["ports"][0]["state"], "open");
}

#[test]
fn an_unwritable_output_path_stops_before_the_scan() {
    let output = Command::new(env!("CARGO_BIN_EXE_portolan"))
        .args(["-sT", "-p", "9", "-oX", "/nonexistent/dir/scan.xml", "127.0.0.1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("portolan: cannot write /nonexistent/dir/scan.xml: "), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing printed, nothing scanned");
}

/// Runs a connect scan of one loopback port writing `-oX`/`-oN` files; no lab needed.
fn loopback_scan(extra: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_portolan"))
        .args(["-sT", "-n", "-p", "9"])
        .args(extra)
        .arg("127.0.0.1")
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
}

#[test]
fn the_xml_names_the_stylesheet_asked_for() {
    let dir = scratch_dir("xsl");
    let stylesheet_line = |extra: &[&str]| {
        let file = dir.join("scan.xml");
        loopback_scan(&[extra, &["-oX", file.to_str().unwrap()]].concat());
        std::fs::read_to_string(&file).unwrap().lines().find(|l| l.starts_with("<?xml-stylesheet")).map(str::to_string)
    };
    assert_eq!(
        stylesheet_line(&["--webxml"]).as_deref(),
        Some("<?xml-stylesheet href=\"https://nmap.org/svn/docs/nmap.xsl\" type=\"text/xsl\"?>")
    );
    assert_eq!(
        stylesheet_line(&["--stylesheet", "/srv/scan.xsl"]).as_deref(),
        Some("<?xml-stylesheet href=\"/srv/scan.xsl\" type=\"text/xsl\"?>")
    );
    assert_eq!(stylesheet_line(&["--no-stylesheet"]), None);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn append_output_adds_to_the_file() {
    let dir = scratch_dir("append");
    let file = dir.join("scan.nmap");
    let path = file.to_str().unwrap();
    loopback_scan(&["-oN", path]);
    loopback_scan(&["-oN", path]);
    assert_eq!(std::fs::read_to_string(&file).unwrap().matches(" scan initiated ").count(), 1, "replaced");
    loopback_scan(&["--append-output", "-oN", path]);
    assert_eq!(std::fs::read_to_string(&file).unwrap().matches(" scan initiated ").count(), 2, "appended");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_interrupted_scan_leaves_valid_xml_and_json() {
    if !lab::available() {
        return;
    }
    let lab = standard_lab();
    let dir = scratch_dir("interrupt");
    let (xml, json) = (dir.join("scan.xml"), dir.join("scan.json"));
    // One host per group: the target completes at once, the absent address waits 30 s.
    let child = lab
        .lab
        .in_scanner(env!("CARGO_BIN_EXE_portolan"))
        .args(["-sS", "-n", "-Pn", "-p", "22", "--max-hostgroup", "1", "--min-rtt-timeout", "30s"])
        .args(["-oX", xml.to_str().unwrap(), "-oJ", json.to_str().unwrap()])
        .args([TARGET_V4.to_string(), lab::ABSENT_V4.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&xml).unwrap_or_default().contains("</host>") {
        assert!(std::time::Instant::now() < deadline, "the first host never reached the file");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let resume = format!("'portolan --resume {}' goes on from there", xml.display());
    assert_eq!(stderr, format!("portolan: interrupted: the output holds the 1 host completed; {resume}\n"));

    let text = std::fs::read_to_string(&xml).unwrap();
    assert_eq!(text.matches("<host>").count(), 1);
    assert!(text.contains("exit=\"error\" errormsg=\"interrupted\""), "{text}");
    assert!(text.trim_end().ends_with("</nmaprun>"));
    assert_valid_against_nmap_dtd(&xml);
    let document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(document["hosts"].as_array().unwrap().len(), 1);
    assert_eq!(document["summary"]["interrupted"], true);
    std::fs::remove_dir_all(dir).unwrap();
}
