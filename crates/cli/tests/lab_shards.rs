//! End-to-end: `--shards I/N` run as a Kubernetes Indexed Job runs them (N processes side by
//! side, each told its index), then `portolan merge`: the merged files equal one scan of the
//! whole network, host for host and port for port.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use lab::Lab;

const NETWORK: &str = "198.18.70.0/26";
const SHARDS: usize = 4;

/// The scan's arguments, writing XML and JSON beside `base`.
fn scan_args(base: &Path, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = ["-sS", "-n", "-p", "22,80,443"].map(String::from).to_vec();
    args.extend(extra.iter().cloned());
    args.extend(["-oX".into(), format!("{}.xml", base.display()), "-oJ".into(), format!("{}.json", base.display())]);
    args.push(NETWORK.into());
    args
}

fn merge(lab: &Lab, files: &[String], output: &Path) {
    let merged = portolan(
        lab,
        &[&["merge", "-o", output.to_str().unwrap()], &files.iter().map(String::as_str).collect::<Vec<_>>()[..]]
            .concat(),
    );
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
}

fn record(path: &Path) -> history::ScanRecord {
    history::read_scan(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn shards_run_side_by_side_and_merged_equal_one_scan() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().expect("build lab");
    lab.any_ip(NETWORK).expect("a /26 answered by the target");
    let _listeners = lab.listen_tcp(&[22, 80]).expect("listeners");
    // A quarter of the hosts are down, and another quarter's 443 is filtered.
    lab.input_rule("ip daddr 198.18.70.48/28 drop").unwrap();
    lab.input_rule("ip daddr 198.18.70.0/28 tcp dport 443 drop").unwrap();
    let dir = scratch_dir("shards");

    let whole = dir.join("whole");
    let single = portolan(&lab, &scan_args(&whole, &[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(single.status.success(), "{}", String::from_utf8_lossy(&single.stderr));

    // As the Job's pods: one argument list, with $(JOB_COMPLETION_INDEX) expanded from each
    // pod's index as Kubernetes expands it (docs/shards.md).
    let template = scan_args(
        &dir.join("shard-$(JOB_COMPLETION_INDEX)"),
        &["--shards".into(), format!("$(JOB_COMPLETION_INDEX)/{SHARDS}")],
    );
    let pods: Vec<_> = (0..SHARDS)
        .map(|index| {
            let args = template.iter().map(|arg| arg.replace("$(JOB_COMPLETION_INDEX)", &index.to_string()));
            Command::new("ip")
                .args(["netns", "exec", lab.scanner_namespace(), env!("CARGO_BIN_EXE_portolan")])
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a shard")
        })
        .collect();
    for pod in pods {
        let output = pod.wait_with_output().expect("shard ran");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }

    for format in ["xml", "json"] {
        let files: Vec<String> = (0..SHARDS).map(|i| format!("{}/shard-{i}.{format}", dir.display())).collect();
        let shard_hosts: Vec<usize> = files.iter().map(|f| record(Path::new(f)).hosts.len()).collect();
        assert!(
            shard_hosts.iter().all(|&n| (11..=13).contains(&n)),
            "12 hosts up each, dealt round-robin: {shard_hosts:?}"
        );
        let merged = dir.join(format!("merged.{format}"));
        merge(&lab, &files, &merged);
        let (one, joined) = (record(&dir.join(format!("whole.{format}"))), record(&merged));
        assert_eq!(one.hosts.len(), 48, "48 hosts up");
        // Host for host, port for port (the runs started at different times).
        assert_eq!(one.hosts, joined.hosts, "{format}: the merged shards differ from one scan");
    }
    assert_valid_against_nmap_dtd(&dir.join("merged.xml"));
    assert_matches_json_schema(&dir.join("merged.json"), false);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("merged.json")).unwrap()).unwrap();
    assert_eq!(
        (summary["summary"]["hosts_scanned"].as_u64(), summary["summary"]["hosts_up"].as_u64()),
        (Some(64), Some(48))
    );
    let xml = std::fs::read_to_string(dir.join("merged.xml")).unwrap();
    assert!(xml.contains("<hosts up=\"48\" down=\"16\" total=\"64\"/>"), "{xml}");
}
