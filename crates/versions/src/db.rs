//! The probe database both sources load into: probes to send, and the rules that name a service
//! from a response.

use std::time::Duration;

use model::Protocol;

use crate::template::Template;

/// Nmap's defaults for a probe that names no wait of its own (service_scan.h).
pub const DEFAULT_TOTAL_WAIT: Duration = Duration::from_millis(5000);
pub const DEFAULT_TCPWRAPPED_WAIT: Duration = Duration::from_millis(2000);
/// A probe without a `rarity` line is as rare as Nmap's default.
pub const DEFAULT_RARITY: u8 = 5;

/// Every probe, in the order they are tried, and the ports never to probe.
#[derive(Debug, Default)]
pub struct ProbeDb {
    pub probes: Vec<Probe>,
    /// Ports version detection leaves alone (Nmap's `Exclude`: printers print what they get).
    pub excluded: Vec<(Protocol, PortRanges)>,
}

/// One probe: what to send, when it is worth sending, and how to read what comes back.
#[derive(Debug)]
pub struct Probe {
    pub protocol: Protocol,
    pub name: String,
    /// The bytes sent; empty for the NULL probe, which only listens for a banner.
    pub payload: Vec<u8>,
    /// 1 (common) to 9 (rare): tried only at a `--version-intensity` this high or higher.
    pub rarity: u8,
    /// Ports where this probe's services usually live: tried first there, whatever its rarity.
    pub ports: PortRanges,
    /// The same, for services behind TLS.
    pub ssl_ports: PortRanges,
    /// How long Nmap waits for an answer to this probe.
    pub total_wait: Duration,
    /// A connection closed sooner than this with nothing said is a TCP wrapper's refusal.
    pub tcpwrapped_wait: Duration,
    /// Names of other probes whose rules also read this probe's responses (`fallback`).
    pub fallback: Vec<String>,
    pub rules: Vec<MatchRule>,
}

impl Probe {
    pub fn is_null(&self) -> bool {
        self.protocol == Protocol::Tcp && self.payload.is_empty()
    }

    /// Whether some hard or soft rule of this probe can name `service`.
    pub fn can_name(&self, service: &str) -> bool {
        self.rules.iter().any(|rule| rule.service == service)
    }
}

/// A rule: a pattern over the response and what a match says about the service.
#[derive(Debug)]
pub struct MatchRule {
    pub service: String,
    /// A soft match names the service but not its version; probing goes on for a hard one.
    pub soft: bool,
    pub pattern: pcre2::bytes::Regex,
    /// The pattern as written, for messages.
    pub source: String,
    pub template: Template,
}

/// A set of port ranges (a probe's `ports` line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortRanges(pub Vec<(u16, u16)>);

impl PortRanges {
    pub fn contains(&self, port: u16) -> bool {
        self.0.iter().any(|&(low, high)| (low..=high).contains(&port))
    }

    /// Parses "21,25,80-85": numbers and ranges separated by commas.
    pub fn parse(text: &str) -> Result<PortRanges, String> {
        let mut ranges = Vec::new();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let (low, high) = item.split_once('-').unwrap_or((item, item));
            let number = |text: &str| text.trim().parse::<u16>().map_err(|_| format!("bad port {item:?}"));
            let (low, high) = (number(low)?, number(high)?);
            if low > high {
                return Err(format!("bad port range {item:?}"));
            }
            ranges.push((low, high));
        }
        Ok(PortRanges(ranges))
    }
}

impl ProbeDb {
    /// Whether version detection must leave this port alone.
    pub fn is_excluded(&self, protocol: Protocol, port: u16) -> bool {
        self.excluded.iter().any(|(proto, ranges)| *proto == protocol && ranges.contains(port))
    }

    /// The probe with this name and protocol.
    pub fn probe(&self, protocol: Protocol, name: &str) -> Option<&Probe> {
        self.probes.iter().find(|probe| probe.protocol == protocol && probe.name == name)
    }

    /// The TCP NULL probe, when the database has one.
    pub fn null_probe(&self) -> Option<&Probe> {
        self.probes.iter().find(|probe| probe.is_null())
    }

    /// Appends `other`'s probes after this database's: its rules read responses only after ours
    /// found nothing, and a probe both have is sent once, with both sets of rules.
    pub fn extend(&mut self, other: ProbeDb) {
        for probe in other.probes {
            match self.probes.iter_mut().find(|mine| mine.protocol == probe.protocol && mine.name == probe.name) {
                Some(mine) => mine.rules.extend(probe.rules),
                None => self.probes.push(probe),
            }
        }
        self.excluded.extend(other.excluded);
    }

    /// Every match line loaded.
    pub fn rule_count(&self) -> usize {
        self.probes.iter().map(|probe| probe.rules.len()).sum()
    }
}

/// Compiles a pattern the way Nmap does: PCRE over bytes, `i` caseless, `s` dot-all.
///
/// Without PCRE2's JIT: Nmap's twelve thousand rules then load in half the time (0.13 s) and
/// 15 MiB less memory, and a version scan matches too few answers for the JIT's faster
/// matching to win that back.
pub fn compile_pattern(pattern: &str, flags: &str) -> Result<pcre2::bytes::Regex, String> {
    let mut builder = pcre2::bytes::RegexBuilder::new();
    builder.jit_if_available(false);
    for flag in flags.chars() {
        match flag {
            'i' => builder.caseless(true),
            's' => builder.dotall(true),
            other => return Err(format!("unknown pattern flag {other:?}")),
        };
    }
    builder.build(pattern).map_err(|error| error.to_string())
}
