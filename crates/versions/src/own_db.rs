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

/// Our rules against answers written from the protocols' specifications, one per service the
/// lab has no daemon for: each must be named, with its version where the answer carries one.
#[cfg(test)]
mod answers {
    use model::Protocol;

    use crate::identify;

    /// (probe, answer, service, VERSION column)
    const ANSWERS: &[(&str, &[u8], &str, &str)] = &[
        ("NULL", b"Z\x00\x00\x00\x0a5.5.5-10.11.6-MariaDB-0+deb12u1\x00\x08\x00\x00\x00abcdefgh\x00", "mysql", "MariaDB 10.11.6-0+deb12u1"),
        ("NULL", b"J\x00\x00\x00\x0a8.0.36\x00\x08\x00\x00\x00abcdefgh\x00", "mysql", "MySQL 8.0.36"),
        ("NULL", b"220 mail.lab ESMTP Exim 4.96 Thu, 03 Dec 2026 10:00:00 +0000\r\n", "smtp", "Exim smtpd 4.96"),
        ("NULL", b"220 mail.lab ESMTP Postfix (Debian/GNU)\r\n", "smtp", "Postfix smtpd"),
        ("NULL", b"RFB 003.008\n", "vnc", "VNC (protocol 3.8)"),
        ("NULL", b"SSH-2.0-dropbear_2022.83\r\n", "ssh", "Dropbear sshd 2022.83 (protocol 2.0)"),
        ("HttpGet", b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.62 (Debian)\r\n\r\n", "http", "Apache httpd 2.4.62 ((Debian))"),
        ("HttpGet", b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"cluster_name\" : \"lab\", \"version\" : {\"number\" : \"8.11.1\"}}", "http", "Elasticsearch REST API 8.11.1"),
        ("MongoBuildInfo", b"\x40\x00\x00\x00\x09\x00\x00\x00\x01\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00\x1b\x00\x00\x00\x02version\x00\x06\x00\x00\x007.0.4\x00\x00", "mongodb", "MongoDB 7.0.4"),
        ("PgProtocol4", b"E\x00\x00\x00\x83SFATAL\x00VFATAL\x00C0A000\x00Munsupported frontend protocol 4.0: server supports 2.0 to 3.0\x00Fpostmaster.c\x00L2096\x00\x00", "postgresql", "PostgreSQL DB 9.6 - 13"),
        ("PgProtocol4", b"E\x00\x00\x00\x83SFATAL\x00VFATAL\x00C0A000\x00Munsupported frontend protocol 4.0: server supports 3.0 to 3.2\x00\x00", "postgresql", "PostgreSQL DB 18 or later"),
        ("PgProtocol4", b"E\x00\x00\x00\x83SFATAL\x00VFATAL\x00C0A000\x00Mnicht unterst\xc3\xbctztes Frontend-Protokoll\x00\x00", "postgresql", "PostgreSQL DB 9.6.0 or later"),
        ("PgProtocol4", b"E\x00\x00\x00\x50SFATAL\x00C0A000\x00Munsupported frontend protocol 4.0: server supports 1.0 to 3.0\x00\x00", "postgresql", "PostgreSQL DB"),
        ("MqttConnect", b"\x20\x02\x00\x00", "mqtt", "MQTT broker"),
        ("AmqpHeader", b"\x01\x00\x00\x00\x00\x01\x00\x00\x0a\x00\x0a\x00\x09\x00\x00\x00\x40\x07productS\x00\x00\x00\x08RabbitMQ\x07versionS\x00\x00\x00\x063.12.1", "amqp", "RabbitMQ 3.12.1 (AMQP 0-9-1)"),
        ("RdpConnect", b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x02\x00\x00\x00", "ms-wbt-server", ""),
        ("SmbNegotiate", b"\x00\x00\x00\x40\xfeSMB\x40\x00", "microsoft-ds", "(SMB 2 or later)"),
        ("LdapBind", b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00", "ldap", ""),
        ("SipOptions", b"SIP/2.0 200 OK\r\nVia: x\r\nServer: Asterisk PBX 20.5.0\r\n\r\n", "sip", "Asterisk PBX 20.5.0"),
        ("TlsClientHello", b"\x16\x03\x03\x00\x31\x02\x00\x00\x2d\x03\x03", "ssl", ""),
    ];

    #[test]
    fn every_service_without_a_lab_daemon_is_named_from_its_answer() {
        let db = super::embedded();
        for &(probe, answer, service, version) in ANSWERS {
            let probe = db.probe(Protocol::Tcp, probe).expect("the probe exists");
            let found = identify(&db, probe, answer).unwrap_or_else(|| panic!("{service}: no rule matched"));
            assert_eq!((found.service.as_str(), found.detail.version_column().as_str()), (service, version));
        }
    }
}
