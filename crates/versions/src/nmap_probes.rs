//! Reads Nmap's `nmap-service-probes`, installed with Nmap and loaded at run time (never copied
//! into this repository). Its grammar, from Nmap's documentation: `Probe TCP|UDP name q|bytes|`
//! opens a probe; `match` and `softmatch` lines (`service m|pcre|flags fields`), `ports`,
//! `sslports`, `rarity`, `totalwaitms`, `tcpwrappedms` and `fallback` describe it; `Exclude`
//! names ports never probed.

use std::time::Duration;

use model::Protocol;

use crate::db::{
    compile_pattern, MatchRule, PortRanges, Probe, ProbeDb, DEFAULT_RARITY, DEFAULT_TCPWRAPPED_WAIT, DEFAULT_TOTAL_WAIT,
};
use crate::template::{delimited, Template};

/// A line the loader could not use, and why. A bad match line costs that rule only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub problem: String,
}

/// What a load gave: the database, and the lines it had to leave out.
#[derive(Debug)]
pub struct Loaded {
    pub db: ProbeDb,
    pub failed: Vec<LineError>,
}

/// Parses the whole file. Lines that cannot be used are reported in `failed`, never fatal: one
/// pattern PCRE2 rejects must not cost every other service.
pub fn parse(text: &[u8]) -> Loaded {
    let mut db = ProbeDb::default();
    let mut failed = Vec::new();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Err(problem) = parse_line(&mut db, line) {
            failed.push(LineError { line: index + 1, problem });
        }
    }
    Loaded { db, failed }
}

fn parse_line(db: &mut ProbeDb, line: &str) -> Result<(), String> {
    let (directive, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    if directive == "Probe" {
        db.probes.push(parse_probe(rest)?);
        return Ok(());
    }
    if directive == "Exclude" {
        db.excluded.extend(parse_exclude(rest)?);
        return Ok(());
    }
    let probe = db.probes.last_mut().ok_or_else(|| format!("{directive} before any Probe"))?;
    match directive {
        "match" | "softmatch" => probe.rules.push(parse_rule(rest, directive == "softmatch")?),
        "ports" => probe.ports = PortRanges::parse(rest)?,
        "sslports" => probe.ssl_ports = PortRanges::parse(rest)?,
        "rarity" => probe.rarity = rest.parse().ok().filter(|r| (1..=9).contains(r)).ok_or("bad rarity")?,
        "totalwaitms" => probe.total_wait = millis(rest)?,
        "tcpwrappedms" => probe.tcpwrapped_wait = millis(rest)?,
        "fallback" => probe.fallback = rest.split(',').map(|name| name.trim().to_string()).collect(),
        other => return Err(format!("unknown directive {other:?}")),
    }
    Ok(())
}

fn millis(text: &str) -> Result<Duration, String> {
    text.parse().map(Duration::from_millis).map_err(|_| format!("bad milliseconds {text:?}"))
}

/// `TCP GetRequest q|GET / HTTP/1.0\r\n\r\n| [no-payload]`
fn parse_probe(text: &str) -> Result<Probe, String> {
    let mut words = text.splitn(3, char::is_whitespace);
    let protocol = match words.next() {
        Some("TCP") => Protocol::Tcp,
        Some("UDP") => Protocol::Udp,
        other => return Err(format!("bad probe protocol {other:?}")),
    };
    let name = words.next().ok_or("probe without a name")?.to_string();
    let quoted = words.next().and_then(|rest| rest.trim().strip_prefix('q')).ok_or("probe without q|…|")?;
    let (payload, _) = delimited(quoted).ok_or("unterminated probe string")?;
    Ok(Probe {
        protocol,
        name,
        payload: unescape(payload)?,
        rarity: DEFAULT_RARITY,
        ports: PortRanges::default(),
        ssl_ports: PortRanges::default(),
        total_wait: DEFAULT_TOTAL_WAIT,
        tcpwrapped_wait: DEFAULT_TCPWRAPPED_WAIT,
        fallback: Vec::new(),
        rules: Vec::new(),
    })
}

/// `ssh m|^SSH-([\d.]+)-OpenSSH_(\S+)|s p/OpenSSH/ v/$2/`
fn parse_rule(text: &str, soft: bool) -> Result<MatchRule, String> {
    let (service, rest) = text.split_once(char::is_whitespace).ok_or("match without a pattern")?;
    let rest = rest.trim_start().strip_prefix('m').ok_or("pattern must start with m")?;
    let (pattern, rest) = delimited(rest).ok_or("unterminated pattern")?;
    let flags_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (flags, fields) = rest.split_at(flags_end);
    Ok(MatchRule {
        service: service.to_string(),
        soft,
        pattern: compile_pattern(pattern, flags)?,
        source: pattern.to_string(),
        template: Template::parse(fields)?,
    })
}

/// `T:9100-9107,U:30000-30001,9999`: a port without a protocol is excluded for both.
fn parse_exclude(text: &str) -> Result<Vec<(Protocol, PortRanges)>, String> {
    let mut excluded = Vec::new();
    let mut protocols = vec![Protocol::Tcp, Protocol::Udp];
    for item in text.split(',').map(str::trim) {
        let item = match item.split_once(':') {
            Some(("T", ports)) => {
                protocols = vec![Protocol::Tcp];
                ports
            }
            Some(("U", ports)) => {
                protocols = vec![Protocol::Udp];
                ports
            }
            Some(_) => return Err(format!("bad Exclude item {item:?}")),
            None => item,
        };
        let ranges = PortRanges::parse(item)?;
        excluded.extend(protocols.iter().map(|&protocol| (protocol, ranges.clone())));
    }
    Ok(excluded)
}

/// A probe string's escapes, as Nmap reads them: `\\ \0 \n \r \t \xHH`, and nothing else.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut chars = text.bytes();
    while let Some(byte) = chars.next() {
        if byte != b'\\' {
            bytes.push(byte);
            continue;
        }
        bytes.push(match chars.next() {
            Some(b'\\') => b'\\',
            Some(b'0') => 0,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'x') => {
                let hex = [chars.next().ok_or("short \\x escape")?, chars.next().ok_or("short \\x escape")?];
                let hex = std::str::from_utf8(&hex).map_err(|_| "bad \\x escape")?;
                u8::from_str_radix(hex, 16).map_err(|_| format!("bad \\x escape {hex:?}"))?
            }
            other => return Err(format!("unknown escape \\{}", other.map_or('?', char::from))),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# A database in Nmap's grammar, written for this test.
Exclude T:9100-9102,U:7
Probe TCP NULL q||
totalwaitms 6000
tcpwrappedms 3000
match ssh m|^SSH-([\d.]+)-Example_(\S+)\r?\n| p/Example SSH/ v/$2/ i/protocol $1/
softmatch ftp m|^220[ -]|
Probe TCP Hello q|HELLO\r\n\x00|
rarity 3
ports 80,8000-8010
sslports 443
fallback NULL
match http m|^HTTP/1\.[01] \d\d\d .*\r\nServer: Example/([\d.]+)|s p/Example httpd/ v/$1/
match broken m|(unclosed| p/x/
Probe UDP Ping q|ping| no-payload
rarity 9
match echo m|^ping$|
"#;

    #[test]
    fn a_database_in_nmaps_grammar_loads_every_directive() {
        let Loaded { db, failed } = parse(SAMPLE.as_bytes());
        assert_eq!(failed.len(), 1, "the unclosed group is the one bad line: {failed:?}");
        assert_eq!(failed[0].line, 15);
        assert_eq!(db.probes.len(), 3);
        let null = db.null_probe().unwrap();
        assert_eq!((null.total_wait, null.tcpwrapped_wait), (Duration::from_secs(6), Duration::from_secs(3)));
        assert_eq!(null.rules.len(), 2);
        assert!(null.rules[1].soft);
        let hello = db.probe(Protocol::Tcp, "Hello").unwrap();
        assert_eq!(hello.payload, b"HELLO\r\n\0");
        assert_eq!((hello.rarity, hello.fallback.as_slice()), (3, ["NULL".to_string()].as_slice()));
        assert!(hello.ports.contains(8005) && !hello.ports.contains(443) && hello.ssl_ports.contains(443));
        assert_eq!(db.probe(Protocol::Udp, "Ping").unwrap().rarity, 9);
        assert!(db.is_excluded(Protocol::Tcp, 9101) && !db.is_excluded(Protocol::Udp, 9101));
        assert!(db.is_excluded(Protocol::Udp, 7));
        assert_eq!(db.rule_count(), 4);
    }

    #[test]
    fn probe_strings_take_only_nmaps_escapes() {
        assert_eq!(unescape(r"a\\b\0\n\r\t\x41").unwrap(), b"a\\b\0\n\r\tA");
        assert!(unescape(r"\q").is_err());
        assert!(unescape(r"\x4").is_err());
    }

    #[test]
    fn directives_before_any_probe_or_unknown_are_reported_with_their_line() {
        let Loaded { failed, .. } = parse(b"rarity 3\nProbe TCP NULL q||\nbogus 1\nrarity 10\n");
        let lines: Vec<usize> = failed.iter().map(|error| error.line).collect();
        assert_eq!(lines, [1, 3, 4]);
    }
}

#[cfg(test)]
mod installed {
    /// Nmap's own file, when this machine has Nmap: every line must load.
    #[test]
    fn the_installed_nmap_service_probes_loads_every_line() {
        let Ok(text) = std::fs::read("/usr/share/nmap/nmap-service-probes") else {
            assert!(std::env::var_os("CI").is_none(), "the test script installs nmap under CI");
            eprintln!("skipped: Nmap is not installed");
            return;
        };
        let loaded = super::parse(&text);
        assert!(
            loaded.failed.is_empty(),
            "{} lines failed, first: {:?}",
            loaded.failed.len(),
            &loaded.failed[..loaded.failed.len().min(5)]
        );
        assert!(loaded.db.rule_count() > 10_000, "{} rules", loaded.db.rule_count());
        assert!(loaded.db.null_probe().is_some());
    }
}
