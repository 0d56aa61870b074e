//! Detector budgets and their text format (see data/detectors.txt, the presets).

use std::time::Duration;

/// The presets: every detector portolan knows, from its documented defaults.
const PRESETS: &str = include_str!("../data/detectors.txt");

/// One rule of one detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub detector: String,
    pub rule: Rule,
}

/// What a detector counts from one source, and the count at which it alerts.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Packets to one destination within the window.
    PacketsPerHost { threshold: u32, window: Duration },
    /// Distinct ports of one destination within the window.
    PortsPerHost { threshold: u32, window: Duration },
    /// Distinct destinations probed on one port within the window.
    HostsPerPort { threshold: u32, window: Duration },
    /// Distinct destinations within the window.
    HostsPerSource { threshold: u32, window: Duration },
    /// Any SYN to one of these ports alerts at once.
    AlertPorts(Vec<u16>),
    /// Signature rules on the probe's shape (window, DF, flags).
    ProbeShape,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("unknown detector '{0}': known are {1}")]
    UnknownDetector(String, String),
}

/// Reads budgets in the presets' format: `detector rule threshold window-seconds`,
/// `detector alert-ports p,p,…` or `detector probe-shape`; `#` starts a comment.
pub fn parse_budgets(text: &str) -> Result<Vec<Budget>, BudgetError> {
    let mut budgets = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split('#').next().unwrap_or("").split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let rule = parse_rule(&words[1..]).map_err(|message| BudgetError::Line { line: index + 1, message })?;
        budgets.push(Budget { detector: words[0].to_string(), rule });
    }
    Ok(budgets)
}

fn parse_rule(words: &[&str]) -> Result<Rule, String> {
    let counted = |make: fn(u32, Duration) -> Rule| -> Result<Rule, String> {
        let [_, threshold, window] = words else {
            return Err(format!("'{}' takes a threshold and a window in seconds", words[0]));
        };
        let threshold = threshold.parse().ok().filter(|&t| t >= 1).ok_or(format!("bad threshold '{threshold}'"))?;
        let window = window.parse().ok().filter(|&w| w > 0.0 && w < 1e9).ok_or(format!("bad window '{window}'"))?;
        Ok(make(threshold, Duration::from_secs_f64(window)))
    };
    match words.first().copied() {
        Some("packets-per-host") => counted(|threshold, window| Rule::PacketsPerHost { threshold, window }),
        Some("ports-per-host") => counted(|threshold, window| Rule::PortsPerHost { threshold, window }),
        Some("hosts-per-port") => counted(|threshold, window| Rule::HostsPerPort { threshold, window }),
        Some("hosts-per-source") => counted(|threshold, window| Rule::HostsPerSource { threshold, window }),
        Some("alert-ports") => {
            let [_, list] = words else { return Err("'alert-ports' takes a list of ports".into()) };
            let ports: Result<Vec<u16>, String> =
                list.split(',').map(|p| p.parse().map_err(|_| format!("bad port '{p}'"))).collect();
            ports.map(Rule::AlertPorts)
        }
        Some("probe-shape") if words.len() == 1 => Ok(Rule::ProbeShape),
        Some(other) => Err(format!("unknown rule '{other}'")),
        None => Err("a detector without a rule".into()),
    }
}

/// The presets' rules of the detectors named (`all` for every one).
pub fn presets(names: &[String]) -> Result<Vec<Budget>, BudgetError> {
    let every = parse_budgets(PRESETS).expect("the presets parse");
    let mut known: Vec<&str> = every.iter().map(|b| b.detector.as_str()).collect();
    known.dedup();
    if let Some(unknown) = names.iter().find(|n| *n != "all" && !known.contains(&n.as_str())) {
        return Err(BudgetError::UnknownDetector(unknown.clone(), known.join(", ")));
    }
    let wanted = |budget: &Budget| names.iter().any(|n| n == "all" || *n == budget.detector);
    Ok(every.iter().filter(|b| wanted(b)).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_presets_hold_each_detectors_documented_defaults() {
        let psad = presets(&["psad".into()]).unwrap();
        assert_eq!(psad[0].rule, Rule::PacketsPerHost { threshold: 5, window: Duration::from_secs(3600) });
        assert_eq!(psad[1].rule, Rule::HostsPerSource { threshold: 10, window: Duration::from_secs(5) });
        assert_eq!(psad[2].rule, Rule::AlertPorts(vec![1433, 1723, 3389, 5900]));
        let zeek = presets(&["zeek".into()]).unwrap();
        assert_eq!(zeek[1].rule, Rule::HostsPerPort { threshold: 25, window: Duration::from_secs(300) });
        let all = presets(&["all".into()]).unwrap();
        assert!(["psad", "zeek", "sfportscan-low", "sfportscan-medium", "sfportscan-high", "et"]
            .iter()
            .all(|name| all.iter().any(|b| b.detector == *name)));
    }

    #[test]
    fn a_bad_line_is_named() {
        let error = parse_budgets("# mine\nids  ports-per-host  3  60\nids  hosts-per-port  x  60\n").unwrap_err();
        assert_eq!(error.to_string(), "line 3: bad threshold 'x'");
        let error = parse_budgets("ids  portz  3  60").unwrap_err();
        assert_eq!(error.to_string(), "line 1: unknown rule 'portz'");
        let error = parse_budgets("ids  alert-ports  22,http").unwrap_err();
        assert_eq!(error.to_string(), "line 1: bad port 'http'");
        let error = presets(&["snort".into()]).unwrap_err();
        assert!(error.to_string().starts_with("unknown detector 'snort': known are psad, zeek, sfportscan-low"));
    }
}
