//! portolan's own probe database (`data/version-probes.toml`), written by us from the protocols'
//! specifications and the banners of the servers we run in the lab, embedded in the binary so
//! -sV works without Nmap. TOML: a `[[probe]]` table per probe with its `[[probe.rule]]`s.

use std::time::Duration;

use model::Protocol;
use serde::Deserialize;

use crate::db::{
    compile_pattern, MatchRule, PortRanges, Probe, ProbeDb, DEFAULT_RARITY, DEFAULT_TCPWRAPPED_WAIT, DEFAULT_TOTAL_WAIT,
};
use crate::nmap_probes::unescape;
use crate::template::Template;

/// The embedded database's text.
pub const EMBEDDED: &str = include_str!("../../../data/version-probes.toml");

#[derive(Debug, thiserror::Error)]
pub enum OwnDbError {
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("probe {probe}: {problem}")]
    Probe { probe: String, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    probe: Vec<ProbeEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeEntry {
    name: String,
    protocol: String,
    /// The bytes to send, with `\r \n \t \0 \\ \xHH` escapes; empty for a banner wait.
    #[serde(default)]
    send: String,
    rarity: Option<u8>,
    #[serde(default)]
    ports: String,
    #[serde(default)]
    ssl_ports: String,
    total_wait_ms: Option<u64>,
    #[serde(default)]
    fallback: Vec<String>,
    #[serde(default)]
    rule: Vec<RuleEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    service: String,
    /// PCRE over the response's bytes.
    pattern: String,
    /// `i` caseless, `s` dot-all.
    #[serde(default)]
    flags: String,
    #[serde(default)]
    soft: bool,
    product: Option<String>,
    version: Option<String>,
    info: Option<String>,
    hostname: Option<String>,
    os: Option<String>,
    device: Option<String>,
    /// Without "cpe:/": "a:openbsd:openssh:$2".
    #[serde(default)]
    cpe: Vec<String>,
}

/// The database built into portolan.
pub fn embedded() -> ProbeDb {
    parse(EMBEDDED).expect("data/version-probes.toml is checked by a test")
}

/// Parses a database in portolan's format.
pub fn parse(text: &str) -> Result<ProbeDb, OwnDbError> {
    let file: File = toml::from_str(text)?;
    let probes = file.probe.into_iter().map(probe).collect::<Result<_, _>>()?;
    Ok(ProbeDb { probes, excluded: Vec::new() })
}

fn probe(entry: ProbeEntry) -> Result<Probe, OwnDbError> {
    let name = entry.name.clone();
    let problem = |problem: String| OwnDbError::Probe { probe: name.clone(), problem };
    let protocol = match entry.protocol.as_str() {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        other => return Err(problem(format!("protocol {other:?} is neither tcp nor udp"))),
    };
    let rules = entry.rule.into_iter().map(rule).collect::<Result<_, _>>().map_err(problem)?;
    Ok(Probe {
        protocol,
        payload: unescape(&entry.send).map_err(problem)?,
        rarity: entry.rarity.unwrap_or(DEFAULT_RARITY),
        ports: PortRanges::parse(&entry.ports).map_err(problem)?,
        ssl_ports: PortRanges::parse(&entry.ssl_ports).map_err(problem)?,
        total_wait: entry.total_wait_ms.map_or(DEFAULT_TOTAL_WAIT, Duration::from_millis),
        tcpwrapped_wait: DEFAULT_TCPWRAPPED_WAIT,
        fallback: entry.fallback,
        rules,
        name: entry.name,
    })
}

fn rule(entry: RuleEntry) -> Result<MatchRule, String> {
    let pattern =
        compile_pattern(&entry.pattern, &entry.flags).map_err(|error| format!("{:?}: {error}", entry.pattern))?;
    Ok(MatchRule {
        service: entry.service,
        soft: entry.soft,
        pattern,
        source: entry.pattern,
        template: Template {
            product: entry.product,
            version: entry.version,
            info: entry.info,
            hostname: entry.hostname,
            os_type: entry.os,
            device_type: entry.device,
            cpe: entry.cpe,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_database_loads_and_has_a_null_probe() {
        let db = parse(EMBEDDED).unwrap();
        assert!(db.null_probe().is_some());
        assert!(db.rule_count() > 20);
    }

    #[test]
    fn a_bad_pattern_names_its_probe() {
        let text = "[[probe]]\nname = \"Bad\"\nprotocol = \"tcp\"\n[[probe.rule]]\nservice = \"x\"\npattern = \"(\"\n";
        let error = parse(text).unwrap_err().to_string();
        assert!(error.starts_with("probe Bad: \"(\""), "{error}");
    }

    #[test]
    fn an_unknown_key_is_an_error_not_ignored() {
        let text = "[[probe]]\nname = \"A\"\nprotocol = \"tcp\"\nrarty = 3\n";
        assert!(parse(text).is_err());
    }
}
