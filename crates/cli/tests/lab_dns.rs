//! End-to-end: reverse DNS of scanned hosts, from a name server inside the lab (never a real
//! one: the lab's scanner namespace has its own resolv.conf, and no route out).

mod common;

use common::*;
use lab::{lab_name, Lab, Listeners, UdpService, ABSENT_V4, TARGET_V4};

struct DnsLab {
    lab: Lab,
    _name_server: Listeners,
}

/// The standard lab with the target also serving the lab's reverse zone on port 53, the
/// scanner's resolv.conf pointing at it.
fn dns_lab() -> DnsLab {
    let lab = Lab::new().expect("build lab");
    let name_server = lab.serve_udp(&[(53, UdpService::ReverseZone)]).expect("name server");
    DnsLab { lab, _name_server: name_server }
}

fn report(lab: &Lab, args: &[&str]) -> String {
    stdout(&portolan(lab, args))
}

#[test]
fn hosts_found_up_are_named_by_the_systems_name_server() {
    if !lab::available() {
        return;
    }
    let lab = dns_lab();
    let target = TARGET_V4.to_string();
    let absent = ABSENT_V4.to_string();
    let out = report(&lab.lab, &["-sn", "-v", &target, &absent]);
    assert!(out.contains(&format!("portolan scan report for {} ({target})\n", lab_name(TARGET_V4))), "{out}");
    // Only the host found up is looked up, as in Nmap.
    assert!(out.contains("Initiating Parallel DNS resolution of 1 host. at "), "{out}");
    assert!(out.contains(&format!("portolan scan report for {absent} [host down]")), "{out}");
}

#[test]
fn r_names_every_target_and_n_none() {
    if !lab::available() {
        return;
    }
    let lab = dns_lab();
    let target = TARGET_V4.to_string();
    let absent = ABSENT_V4.to_string();
    let every = report(&lab.lab, &["-sn", "-v", "-R", &target, &absent]);
    assert!(every.contains("Initiating Parallel DNS resolution of 2 hosts. at "), "{every}");
    let absent_named = format!("portolan scan report for {} ({absent}) [host down]", lab_name(ABSENT_V4));
    assert!(every.contains(&absent_named), "{every}");
    let none = report(&lab.lab, &["-sn", "-v", "-n", &target, &absent]);
    assert!(!none.contains("lab.test") && !none.contains("DNS resolution"), "{none}");
}

#[test]
fn dns_servers_replace_the_systems_and_system_dns_asks_the_c_library() {
    if !lab::available() {
        return;
    }
    let lab = dns_lab();
    // The system's name server is now one that does not exist.
    lab.lab.resolv_conf(&[ABSENT_V4.into()]).unwrap();
    let target = TARGET_V4.to_string();
    let named = format!("portolan scan report for {} ({target})", lab_name(TARGET_V4));
    let given = report(&lab.lab, &["-sn", "--dns-servers", &target, &target]);
    assert!(given.contains(&named), "{given}");
    let unnamed = report(&lab.lab, &["-sn", &target]);
    assert!(unnamed.contains(&format!("portolan scan report for {target}\n")), "{unnamed}");
    // The C library follows the namespace's resolv.conf: point it back at the lab's server.
    lab.lab.resolv_conf(&[TARGET_V4.into()]).unwrap();
    let system = report(&lab.lab, &["-sn", "--system-dns", &target]);
    assert!(system.contains(&named), "{system}");
}

#[test]
fn names_appear_in_the_port_scan_and_in_xml_as_ptr() {
    if !lab::available() {
        return;
    }
    let lab = dns_lab();
    let dir = scratch_dir("dns-xml");
    let xml = dir.join("named.xml");
    let target = TARGET_V4.to_string();
    let out = report(&lab.lab, &["-sS", "-p", "53", "-oX", xml.to_str().unwrap(), &target]);
    assert!(out.contains(&format!("portolan scan report for {} ({target})", lab_name(TARGET_V4))), "{out}");
    let document = std::fs::read_to_string(&xml).unwrap();
    assert!(document.contains(&format!("<hostname name=\"{}\" type=\"PTR\"/>", lab_name(TARGET_V4))), "{document}");
    assert_valid_against_nmap_dtd(&xml);
}

#[test]
fn a_listing_names_every_target_and_probes_none_as_nmap_does() {
    if !lab::available() {
        return;
    }
    let lab = dns_lab();
    let dir = scratch_dir("list-scan");
    let (xml, json) = (dir.join("list.xml"), dir.join("list.json"));
    let (xml_arg, json_arg) = (xml.to_str().unwrap(), json.to_str().unwrap());
    let out = report(&lab.lab, &["-sL", "-oX", xml_arg, "-oJ", json_arg, "198.18.0.2-3"]);
    let reports: Vec<&str> = out.lines().filter(|l| l.starts_with("portolan scan report for ")).collect();
    let expected: Vec<String> = ["198.18.0.2", "198.18.0.3"]
        .iter()
        .map(|a| format!("portolan scan report for {} ({a})", lab_name(a.parse().unwrap())))
        .collect();
    assert_eq!(reports, expected, "{out}");
    assert!(out.contains("2 IP addresses (0 hosts up)"), "{out}");
    assert_valid_against_nmap_dtd(&xml);
    assert_matches_json_schema(&json, false);
    assert!(std::fs::read_to_string(&xml).unwrap().contains("<status state=\"unknown\" reason=\"user-set\""));
    let unnamed = report(&lab.lab, &["-sL", "-n", "198.18.0.2"]);
    assert!(unnamed.contains("portolan scan report for 198.18.0.2\n"), "{unnamed}");
    if has("nmap") {
        let nmap = lab.lab.in_scanner("nmap").args(["-sL", "198.18.0.2-3"]).output().unwrap();
        let theirs = String::from_utf8(nmap.stdout).unwrap();
        let theirs: Vec<String> =
            theirs.lines().filter_map(|l| l.strip_prefix("Nmap scan report for ")).map(str::to_string).collect();
        let ours: Vec<String> =
            reports.iter().map(|l| l.trim_start_matches("portolan scan report for ").to_string()).collect();
        assert_eq!(ours, theirs);
    }
}

#[test]
fn a_hostile_reverse_name_leaves_the_terminal_and_every_file_sound() {
    // A name server may answer with any bytes in a label: control characters, a terminal
    // escape, bytes that are not UTF-8, XML's specials. They come out escaped (\DDD, as the
    // resolver writes them), and every file stays valid.
    if !lab::available() {
        return;
    }
    let lab = dns_lab();
    let dir = scratch_dir("hostile");
    let base = dir.join("hostile");
    let target = lab::HOSTILE_V4.to_string();
    let output = portolan(&lab.lab, &["-sL", "-R", &target, "-oA", base.to_str().unwrap()]);
    let terminal = stdout(&output);
    let escaped = r#"evil\001\007\033\[2J\377\<\&\"\'\>.lab.test"#;
    assert!(terminal.contains(&format!("portolan scan report for {escaped} ({target})")), "{terminal}");
    assert!(!terminal.contains("Host seems down"), "a listing probes nothing:\n{terminal}");
    for (name, text) in [("terminal", terminal)].into_iter().chain(
        ["nmap", "gnmap", "xml", "json"].map(|ext| (ext, std::fs::read_to_string(base.with_extension(ext)).unwrap())),
    ) {
        let controls: Vec<char> = text.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\t')).collect();
        assert!(controls.is_empty(), "{name}: {controls:?} in\n{text}");
    }
    assert_valid_against_nmap_dtd(&base.with_extension("xml"));
    assert_matches_json_schema(&base.with_extension("json"), false);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(base.with_extension("json")).unwrap()).unwrap();
    assert_eq!(json["hosts"][0]["reverse_name"], escaped);
    std::fs::remove_dir_all(dir).unwrap();
}
