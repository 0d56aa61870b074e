//! The schedule under every budget: each rule "alerts at T events within W" is kept by
//! spacing its events more than W / (T - 1) apart, so that no window of W ever holds T of
//! them, however the window is placed.

use std::time::Duration;

use crate::{Budget, Rule};

/// How much wider than the bare minimum each spacing is: clocks drift, and a detector's
/// window may be measured from its own packet timestamps.
const MARGIN: f64 = 0.02;

/// What the scan will probe.
#[derive(Debug, Clone)]
pub struct ScanShape<'a> {
    pub hosts: u64,
    /// Hosts scanned at once: larger scans run in groups of this many, one after another.
    pub group_hosts: u64,
    /// Source addresses of ours the probes are dealt over: detectors count per source, so
    /// each has a budget of its own.
    pub sources: u64,
    pub ports: &'a [u16],
    /// Whether every probe is a plain SYN (or a connection's): signature rules on odd flags
    /// (FIN, NULL, Xmas, Maimon) cannot match it.
    pub plain_syn: bool,
}

/// The schedule: caps the engine enforces for each source address, and what it cannot avoid.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Probes per second to any one host.
    pub host_rate: Option<f64>,
    /// New hosts per second on any one port.
    pub sweep_rate: Option<f64>,
    /// Probes per second in all.
    pub rate: Option<f64>,
    /// Tries again of a silent port: one at most, so that losses cost little budget.
    pub max_retries: u8,
    /// The time the first tries take at these caps.
    pub eta: Duration,
    /// Every rule the schedule cannot stay under, as a sentence for the user.
    pub unavoidable: Vec<String>,
}

/// The schedule that stays under every one of `budgets` for a scan of `shape`.
pub fn plan(budgets: &[Budget], shape: &ScanShape) -> Plan {
    let mut plan = Plan {
        host_rate: None,
        sweep_rate: None,
        rate: None,
        max_retries: 1,
        eta: Duration::ZERO,
        unavoidable: Vec::new(),
    };
    for budget in budgets {
        let detector = &budget.detector;
        match &budget.rule {
            &Rule::PacketsPerHost { threshold, window }
            | &Rule::PortsPerHost { threshold, window }
            | &Rule::HostsPerPort { threshold, window }
            | &Rule::HostsPerSource { threshold, window } => {
                let (cap, first) = match budget.rule {
                    Rule::HostsPerPort { .. } => (&mut plan.sweep_rate, "host probed on a port"),
                    Rule::HostsPerSource { .. } => (&mut plan.rate, "host probed"),
                    _ => (&mut plan.host_rate, "probe to a host"),
                };
                match spacing_rate(threshold, window) {
                    Some(rate) => *cap = Some(cap.map_or(rate, |now| now.min(rate))),
                    None => plan.unavoidable.push(format!("{detector} alerts on the first {first}")),
                }
            }
            Rule::AlertPorts(alerting) => {
                for port in shape.ports.iter().filter(|p| alerting.contains(p)) {
                    plan.unavoidable.push(format!(
                        "port {port} alerts {detector} on the first SYN: leave it out of -p, or accept one alert per host"
                    ));
                }
            }
            Rule::ProbeShape if !shape.plain_syn => plan
                .unavoidable
                .push(format!("{detector} matches FIN, NULL, Xmas and Maimon probes by their flags: use -sS or -sT")),
            Rule::ProbeShape => {}
        }
    }
    plan.eta = eta(&plan, shape);
    plan
}

/// The rate that keeps fewer than `threshold` events in any `window`; none when even one
/// event alerts.
fn spacing_rate(threshold: u32, window: Duration) -> Option<f64> {
    let allowed = threshold.checked_sub(1).filter(|&n| n > 0)?;
    Some(f64::from(allowed) / (window.as_secs_f64() * (1.0 + MARGIN)))
}

/// The time the first tries take: in each group of hosts, the slowest of each host's ports
/// at the host's rate, each port's hosts at the sweep rate, and every probe at the overall
/// rate, each source doing its share side by side (n events spaced at a rate span n - 1
/// gaps); the groups one after another.
fn eta(plan: &Plan, shape: &ScanShape) -> Duration {
    let sources = shape.sources.max(1) as f64;
    let ports = (shape.ports.len() as f64 / sources).ceil();
    let hosts = (shape.hosts.min(shape.group_hosts) as f64 / sources).ceil();
    let groups = shape.hosts.div_ceil(shape.group_hosts.max(1)) as f64;
    let gaps = |events: f64| (events - 1.0).max(0.0);
    let spans = [
        plan.host_rate.map(|rate| gaps(ports) / rate),
        plan.sweep_rate.map(|rate| gaps(hosts) / rate),
        plan.rate.map(|rate| gaps(hosts * ports * sources) / rate),
    ];
    let seconds = groups * spans.into_iter().flatten().fold(0.0, f64::max);
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_budgets, presets};

    fn shape(hosts: u64, ports: &[u16]) -> ScanShape<'_> {
        ScanShape { hosts, group_hosts: hosts, sources: 1, ports, plain_syn: true }
    }

    /// Whether `times` (seconds) ever put `threshold` events within one `window`.
    fn breaks(times: &[f64], threshold: usize, window: f64) -> bool {
        times.windows(threshold).any(|w| w[threshold - 1] - w[0] <= window)
    }

    #[test]
    fn each_spacing_keeps_every_window_under_its_threshold() {
        let budgets =
            parse_budgets("ids ports-per-host 5 60\nids hosts-per-port 3 10\nids hosts-per-source 10 5").unwrap();
        let plan = plan(&budgets, &shape(4, &[22, 80]));
        for (rate, threshold, window) in [(plan.host_rate, 5, 60.0), (plan.sweep_rate, 3, 10.0), (plan.rate, 10, 5.0)] {
            let spacing = 1.0 / rate.unwrap();
            let times: Vec<f64> = (0..100).map(|n| n as f64 * spacing).collect();
            assert!(!breaks(&times, threshold, window), "{threshold} within {window} s at {spacing} s apart");
            let tighter: Vec<f64> = (0..100).map(|n| n as f64 * spacing * 0.95).collect();
            assert!(breaks(&tighter, threshold, window), "the spacing is not wider than it needs to be");
        }
    }

    #[test]
    fn the_strictest_rule_wins_and_sets_the_eta() {
        // psad: 4 packets per host per hour; zeek: 24 hosts per port per 5 minutes.
        let budgets = presets(&["psad".into(), "zeek".into()]).unwrap();
        let ports: Vec<u16> = (1..=100).collect();
        let plan = plan(&budgets, &shape(256, &ports));
        let per_host = plan.host_rate.unwrap();
        assert!((per_host - 4.0 / (3600.0 * 1.02)).abs() < 1e-9, "{per_host}");
        assert!((plan.sweep_rate.unwrap() - 24.0 / (300.0 * 1.02)).abs() < 1e-9);
        assert!((plan.rate.unwrap() - 9.0 / (5.0 * 1.02)).abs() < 1e-9);
        // 100 ports a host at 4 an hour (plus the margin): 99 gaps of 918 s, 25.2 hours.
        assert_eq!(plan.eta.as_secs(), 90_882);
        assert_eq!(plan.max_retries, 1);
        let in_two_groups = ScanShape { group_hosts: 128, ..shape(256, &ports) };
        assert_eq!(super::plan(&budgets, &in_two_groups).eta.as_secs(), 2 * 90_882, "groups run one after another");
        // From four sources, each probes 25 ports of a host: 24 gaps of 918 s.
        let from_four = ScanShape { sources: 4, ..shape(256, &ports) };
        assert_eq!(super::plan(&budgets, &from_four).eta.as_secs(), 24 * 918);
    }

    #[test]
    fn rules_it_cannot_keep_are_named_before_the_scan() {
        let budgets = presets(&["psad".into(), "et".into()]).unwrap();
        let plan = plan(
            &budgets,
            &ScanShape { hosts: 1, group_hosts: 1, sources: 1, ports: &[22, 3389, 5900], plain_syn: false },
        );
        assert_eq!(
            plan.unavoidable,
            [
                "port 3389 alerts psad on the first SYN: leave it out of -p, or accept one alert per host",
                "port 5900 alerts psad on the first SYN: leave it out of -p, or accept one alert per host",
                "et matches FIN, NULL, Xmas and Maimon probes by their flags: use -sS or -sT",
            ]
        );
        let strict = parse_budgets("paranoid packets-per-host 1 60").unwrap();
        let plan = super::plan(&strict, &shape(1, &[22]));
        assert_eq!(plan.unavoidable, ["paranoid alerts on the first probe to a host"]);
        assert_eq!(plan.host_rate, None);
    }
}
