//! `--evade-detectors` and `--detector-budgets`: the schedule that keeps every named
//! detector's budget, computed from the targets and ports before anything is sent, printed
//! with its ETA and every rule it cannot keep, then enforced by the engine's caps
//! (`--dry-run` stops after printing).

use std::path::Path;

use stealth::{parse_budgets, plan, presets, Budget, Plan, ScanShape};

use crate::args::{ScanOptions, TcpScan};
use crate::error::RunError;
use crate::inputs::{target_walk, Ports};
use crate::progress::clock_duration;
use crate::raw_scan::raw_group_size;
use crate::session::stricter;

/// The schedule for `options`' detectors, its caps laid over the options (the stricter of
/// each wins), and the text that tells it; `None` when no detector is named.
pub(crate) fn schedule(
    options: &mut ScanOptions,
    technique: Option<TcpScan>,
    ports: &Ports,
) -> Result<Option<String>, RunError> {
    if !options.stealth.wanted() {
        if options.stealth.dry_run {
            return Err(RunError::Usage("--dry-run prints a stealth schedule: name --evade-detectors".into()));
        }
        return Ok(None);
    }
    if technique == Some(TcpScan::Connect) {
        return Err(RunError::Usage(
            "--evade-detectors needs a raw-packet scan (e.g. -sS): the connect scan cannot cap its rates per host yet"
                .into(),
        ));
    }
    if technique.is_some() && options.udp {
        return Err(RunError::Usage(
            "--evade-detectors schedules one protocol at a time: a TCP and a UDP scan together would each spend the budgets"
                .into(),
        ));
    }
    let budgets = budgets(options)?;
    let hosts = count_targets(options)?;
    let probed: Vec<u16> = ports.tcp.iter().chain(&ports.udp).copied().collect();
    let group_hosts = raw_group_size(&options.timing, probed.len()) as u64;
    let plain_syn = matches!(technique, None | Some(TcpScan::Syn)) && options.scan_flags.is_none();
    let sources = 1 + options.source.more_addrs.len() as u64;
    let mut plan = plan(&budgets, &ScanShape { hosts, group_hosts, sources, ports: &probed, plain_syn });
    if options.versions.is_some() || options.os.enabled || options.traceroute {
        plan.unavoidable.push("-sV, -O and --traceroute send their probes outside the schedule".into());
    }
    apply(options, &plan);
    Ok(Some(describe(&budgets, &plan, hosts, probed.len(), sources)))
}

fn budgets(options: &ScanOptions) -> Result<Vec<Budget>, RunError> {
    let stealth = &options.stealth;
    let mut budgets = presets(&stealth.detectors).map_err(|e| RunError::Usage(format!("--evade-detectors: {e}")))?;
    if let Some(path) = &stealth.budget_file {
        budgets.extend(read_budgets(path)?);
    }
    Ok(budgets)
}

fn read_budgets(path: &Path) -> Result<Vec<Budget>, RunError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| RunError::Failed(format!("cannot read {}: {e}", path.display())))?;
    parse_budgets(&text).map_err(|e| RunError::Usage(format!("{}: {e}", path.display())))
}

/// How many targets the scan has (this shard's), walked once before the scan.
fn count_targets(options: &ScanOptions) -> Result<u64, RunError> {
    if options.random_targets == Some(0) || options.input_list.as_deref() == Some(Path::new("-")) {
        return Err(RunError::Usage(
            "--evade-detectors counts the targets before the scan: give a finite list (not -iR 0 or -iL -)".into(),
        ));
    }
    Ok(target_walk(options)?.filter(Result::is_ok).count() as u64)
}

/// Lays the plan's caps over the user's: the stricter wins. Host discovery is left out, since
/// its probes would spend each host's budget before its ports are probed.
fn apply(options: &mut ScanOptions, plan: &Plan) {
    let timing = &mut options.timing;
    timing.max_host_rate = stricter(timing.max_host_rate, plan.host_rate);
    timing.max_sweep_rate = stricter(timing.max_sweep_rate, plan.sweep_rate);
    timing.max_source_rate = stricter(timing.max_source_rate, plan.rate);
    timing.max_retries =
        Some(timing.max_retries.map_or(u32::from(plan.max_retries), |n| n.min(u32::from(plan.max_retries))));
    options.assume_up = true;
}

fn describe(budgets: &[Budget], plan: &Plan, hosts: u64, ports: usize, sources: u64) -> String {
    let mut detectors: Vec<&str> = Vec::new();
    for budget in budgets {
        if !detectors.contains(&budget.detector.as_str()) {
            detectors.push(&budget.detector);
        }
    }
    let every = |rate: Option<f64>, what: &str| rate.map(|rate| format!("{what} every {:.2} s", 1.0 / rate));
    let caps: Vec<String> = [
        every(plan.host_rate, "one probe per host"),
        every(plan.sweep_rate, "one new host per port"),
        every(plan.rate, "one probe"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let from = if sources == 1 { "one source address".to_string() } else { format!("{sources} source addresses") };
    let mut text = format!(
        "Stealth schedule for {} ({hosts} hosts x {ports} ports, {from}): {}{}; at most one try again; no host discovery (-Pn)\n",
        detectors.join(", "),
        if caps.is_empty() { "no caps needed".to_string() } else { caps.join(", ") },
        if sources > 1 && !caps.is_empty() { ", from each address" } else { "" },
    );
    text.push_str(&format!("Stealth schedule ETA: {} for the first tries\n", clock_duration(plan.eta)));
    for rule in &plan.unavoidable {
        text.push_str(&format!("WARNING: {rule}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tcp_and_a_udp_scan_together_are_refused() {
        let mut options = ScanOptions { udp: true, ..ScanOptions::default() };
        options.stealth.detectors = vec!["zeek".into()];
        let ports = Ports { tcp: vec![22], udp: vec![53], sctp: vec![], protocols: vec![] };
        let Err(RunError::Usage(message)) = schedule(&mut options, Some(TcpScan::Syn), &ports) else {
            panic!("a schedule for two protocols at once")
        };
        assert!(message.starts_with("--evade-detectors schedules one protocol at a time"), "{message}");
    }
}
