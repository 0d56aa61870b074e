//! End-to-end: --traceroute over the lab's router, as Nmap traces it: a neighbour is one hop
//! and costs no probe; a host behind the target is two hops, the target's address first; hosts
//! that share their first hop say so. Nmap is the oracle for the whole TRACEROUTE section,
//! round-trip times aside.

mod common;

use common::*;
use lab::{Lab, ROUTED_V4, TARGET_V4};

/// Each host's TRACEROUTE section, the RTT column blanked (its numbers vary).
fn traces(report: &str) -> Vec<(String, Vec<String>)> {
    report
        .split(" scan report for ")
        .skip(1)
        .map(|section| {
            let host = section.lines().next().unwrap_or_default().to_string();
            let lines = section
                .lines()
                .skip_while(|line| !line.starts_with("TRACEROUTE"))
                .take_while(|line| !line.is_empty())
                .map(without_rtt)
                .collect();
            (host, lines)
        })
        .collect()
}

/// A hop line without its "0.25 ms".
fn without_rtt(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let rtt = |at: usize| words.get(at + 1) == Some(&"ms") && words[at].parse::<f64>().is_ok();
    let unit = |at: usize| words[at] == "ms" && at > 0 && rtt(at - 1);
    let kept = (0..words.len()).filter(|&at| !rtt(at) && !unit(at));
    kept.map(|at| words[at]).collect::<Vec<_>>().join(" ")
}

fn shared_lines(traces: &[(String, Vec<String>)]) -> usize {
    traces.iter().flat_map(|(_, lines)| lines).filter(|line| line.starts_with("- ")).count()
}

/// Each host's hop lines, "- Hop 1 is the same as for X" (or "Hops 1-N are") replaced by X's
/// first hops.
fn expanded(traces: &[(String, Vec<String>)]) -> Vec<(String, Vec<String>)> {
    let hops_of = |host: &str| traces.iter().find(|(name, _)| name == host).map(|(_, lines)| lines.clone());
    traces
        .iter()
        .map(|(host, lines)| {
            let mut out = Vec::new();
            for line in lines {
                let Some(rest) = line.strip_prefix("- ") else {
                    out.push(line.clone());
                    continue;
                };
                let last: u8 = match rest.strip_prefix("Hops 1-") {
                    Some(range) => range.split_whitespace().next().and_then(|n| n.parse().ok()).expect("a TTL"),
                    None => 1,
                };
                let peer = rest.rsplit(' ').next().expect("a host");
                let theirs = hops_of(peer).unwrap_or_else(|| panic!("no trace for {peer}"));
                out.extend(theirs.into_iter().filter(|hop| {
                    hop.split(' ').next().and_then(|ttl| ttl.parse::<u8>().ok()).is_some_and(|ttl| ttl <= last)
                }));
            }
            out.sort();
            (host.clone(), out)
        })
        .collect()
}

#[test]
fn traceroute_reports_nmaps_hops_for_neighbours_routed_hosts_and_shared_first_hops() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().expect("build lab");
    let _listener = lab.listen_tcp(&[22]).expect("listener");
    lab.add_routed_host().expect("routed host");
    lab.any_ip_behind_router("198.18.3.0/24").expect("addresses behind the router");
    let dir = std::env::temp_dir().join(format!("portolan-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let xml = dir.join("trace.xml");
    let json = dir.join("trace.json");
    let (target, routed) = (TARGET_V4.to_string(), ROUTED_V4.to_string());
    let args = ["--traceroute", "-n", "-Pn", "-p", "22", &target, &routed, "198.18.3.5", "198.18.3.6"];
    let outputs = ["-oX", xml.to_str().unwrap(), "-oJ", json.to_str().unwrap()];
    let ours = stdout(&portolan(&lab, &[&args[..], &outputs[..]].concat()));
    let found = traces(&ours);
    assert_eq!(found[0].1, ["TRACEROUTE", "HOP RTT ADDRESS", "1 198.18.0.2"], "{ours}");
    assert_eq!(
        found[1].1,
        ["TRACEROUTE (using port 22/tcp)", "HOP RTT ADDRESS", "1 198.18.0.2", "2 198.18.2.2"],
        "{ours}"
    );
    assert_eq!(found[3].1[2], "- Hop 1 is the same as for 198.18.2.2", "{ours}");
    assert_valid_against_nmap_dtd(&xml);
    assert_matches_json_schema(&json, false);
    let xml_text = std::fs::read_to_string(&xml).expect("xml");
    assert!(xml_text.contains("<trace port=\"22\" proto=\"tcp\">"), "{xml_text}");
    if has("nmap") {
        let nmap = lab.in_scanner("nmap").args(args).output().expect("run nmap");
        let theirs = String::from_utf8(nmap.stdout).expect("utf-8");
        let nmaps = traces(&theirs);
        // Which host a shared hop is credited to depends on which answer came first: the
        // hops each host has, shared lines expanded, and how many lines are shared, agree.
        assert_eq!(expanded(&found), expanded(&nmaps), "portolan:\n{ours}\nnmap:\n{theirs}");
        assert_eq!(shared_lines(&found), shared_lines(&nmaps), "portolan:\n{ours}\nnmap:\n{theirs}");
    }
    std::fs::remove_dir_all(&dir).expect("remove the temporary directory");
}
