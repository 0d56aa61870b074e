//! Peer benchmark: portolan against Nmap on the same lab host in the same run, as a ratio.
//!
//! Usage: peer-bench [PORTOLAN_BINARY] [RUNS]. Needs root (it builds a lab) and nmap. Runs the
//! tools alternately so that drift in the machine's load affects both alike, and checks every
//! port of every run against the lab's ground truth.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lab::{Lab, TARGET_V4};

const OPEN: [u16; 10] = [22, 80, 443, 3306, 5432, 6379, 8080, 9200, 27017, 50000];
const DROPPED: [u16; 2] = [25, 8443];
const REJECTED: [u16; 2] = [110, 3389];
const ALL_PORTS: usize = 65535;

struct Tool {
    label: String,
    program: String,
    args: Vec<String>,
}

struct Run {
    elapsed: Duration,
    correct: usize,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let portolan = args.next().unwrap_or_else(|| "target/release/portolan".into());
    let runs: usize = args.next().map_or(3, |n| n.parse().expect("RUNS is a number"));
    let lab = Lab::new().expect("build lab (run as root)");
    let _listeners = lab.listen_tcp(&OPEN).expect("listeners");
    lab.filter_tcp(&DROPPED, &REJECTED).expect("firewall");

    let target = TARGET_V4.to_string();
    let common = ["-sT", "-n", "-Pn", "-p-", target.as_str()];
    let tools = [tool("portolan -sT", &portolan, &common, &[]), tool("nmap -sT -T4", "nmap", &common, &["-T4"])];
    let mut results: Vec<Vec<Run>> = tools.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (tool, runs) in tools.iter().zip(&mut results) {
            runs.push(run(&lab, tool));
        }
    }
    report(&tools, &results, runs);
}

fn tool(label: &str, program: &str, common: &[&str], extra: &[&str]) -> Tool {
    let args = extra.iter().chain(common).map(|s| s.to_string()).collect();
    Tool { label: label.into(), program: program.into(), args }
}

fn run(lab: &Lab, tool: &Tool) -> Run {
    let started = Instant::now();
    let output = lab.in_scanner(&tool.program).args(&tool.args).output().expect("run tool");
    let elapsed = started.elapsed();
    assert!(output.status.success(), "{} failed: {}", tool.label, String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    Run { elapsed, correct: correct_ports(&text) }
}

fn truth(port: u16) -> &'static str {
    if OPEN.contains(&port) {
        "open"
    } else if DROPPED.contains(&port) || REJECTED.contains(&port) {
        "filtered"
    } else {
        "closed"
    }
}

/// Ports whose reported state equals the ground truth. Listed ports are checked one by one;
/// summarised ports count when the summary covers one state only (closed, here).
fn correct_ports(report: &str) -> usize {
    let listed: BTreeMap<u16, String> = report
        .lines()
        .filter_map(|line| {
            let (port, rest) = line.split_once("/tcp")?;
            Some((port.parse().ok()?, rest.split_whitespace().next()?.to_string()))
        })
        .collect();
    let listed_correct = listed.iter().filter(|(&port, state)| truth(port) == state.as_str()).count();
    let summary_closed = report
        .lines()
        .find_map(|line| line.strip_prefix("Not shown: "))
        .filter(|summary| !summary.contains(','))
        .and_then(|summary| summary.strip_suffix(" closed tcp ports (conn-refused)"))
        .and_then(|count| count.parse::<usize>().ok())
        .unwrap_or(0);
    let truly_closed = ALL_PORTS - OPEN.len() - DROPPED.len() - REJECTED.len();
    listed_correct + summary_closed.min(truly_closed)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn report(tools: &[Tool], results: &[Vec<Run>], runs: usize) {
    println!(
        "peer benchmark: TCP connect scan of all 65535 ports of one lab host ({} open, {} dropped, {} rejected), {runs} runs each",
        OPEN.len(),
        DROPPED.len(),
        REJECTED.len()
    );
    println!("{:<16} {:>9} {:>9} {:>9} {:>10}", "tool", "median", "min", "max", "accuracy");
    let medians: Vec<Duration> = results.iter().map(|r| median(r.iter().map(|run| run.elapsed).collect())).collect();
    for ((tool, runs), median) in tools.iter().zip(results).zip(&medians) {
        let min = runs.iter().map(|r| r.elapsed).min().unwrap();
        let max = runs.iter().map(|r| r.elapsed).max().unwrap();
        let worst = runs.iter().map(|r| r.correct).min().unwrap();
        let accuracy = 100.0 * worst as f64 / ALL_PORTS as f64;
        println!(
            "{:<16} {:>8.3}s {:>8.3}s {:>8.3}s {:>9.3}%",
            tool.label,
            median.as_secs_f64(),
            min.as_secs_f64(),
            max.as_secs_f64(),
            accuracy
        );
    }
    println!("ratio nmap/portolan (median): {:.2}x", medians[1].as_secs_f64() / medians[0].as_secs_f64());
}
