//! Scan files into [`ScanRecord`]s. A port a scan did not list (one of those summarised as
//! "Not shown") is simply absent from the record.

use std::collections::BTreeMap;

use quick_xml::events::{BytesStart, Event};
use serde::Serialize;

/// The up hosts of one scan, by address, with the ports it listed; when the file says, when
/// the scan started and what command ran it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanRecord {
    pub started: Option<jiff::Timestamp>,
    pub command_line: Option<String>,
    pub hosts: BTreeMap<String, HostPorts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPorts {
    pub name: Option<String>,
    /// By (protocol, port).
    pub ports: BTreeMap<(String, u16), PortLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortLine {
    pub state: String,
    pub service: Option<String>,
    /// What version detection found, as Nmap's VERSION column prints it: product, version and
    /// (extra information).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Nmap's VERSION column from its parts; `None` when version detection named none of them.
fn version_column(product: Option<&str>, version: Option<&str>, extra_info: Option<&str>) -> Option<String> {
    let extra = extra_info.filter(|e| !e.is_empty()).map(|e| format!("({e})"));
    let words: Vec<&str> =
        [product, version, extra.as_deref()].into_iter().flatten().filter(|w| !w.is_empty()).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not XML: {0}")]
    Xml(#[from] quick_xml::Error),
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("neither Nmap XML nor portolan JSON")]
    UnknownFormat,
    #[error("malformed scan: {0}")]
    Malformed(&'static str),
}

/// Reads Nmap-format XML (Nmap's or portolan's) or a portolan JSON document.
pub fn read_scan(text: &str) -> Result<ScanRecord, ReadError> {
    match text.trim_start().chars().next() {
        Some('<') => from_xml(text),
        Some('{') => from_json(text),
        _ => Err(ReadError::UnknownFormat),
    }
}

fn from_json(text: &str) -> Result<ScanRecord, ReadError> {
    let document: serde_json::Value = serde_json::from_str(text)?;
    let hosts = document["hosts"].as_array().ok_or(ReadError::Malformed("no hosts array"))?;
    let mut record = ScanRecord {
        started: document["started"].as_str().and_then(|t| t.parse().ok()),
        command_line: document["command_line"].as_str().map(String::from),
        ..ScanRecord::default()
    };
    for host in hosts {
        let address = host["address"].as_str().ok_or(ReadError::Malformed("a host without an address"))?;
        let mut entry = HostPorts { name: host["name"].as_str().map(String::from), ..HostPorts::default() };
        for port in host["ports"].as_array().into_iter().flatten() {
            let number =
                port["port"].as_u64().and_then(|p| u16::try_from(p).ok()).ok_or(ReadError::Malformed("bad port"))?;
            let protocol = port["protocol"].as_str().unwrap_or("tcp").to_string();
            let state = port["state"].as_str().ok_or(ReadError::Malformed("a port without a state"))?.to_string();
            let service = port["service"].as_str().map(String::from);
            let detected = &port["version"];
            let version = version_column(
                detected["product"].as_str(),
                detected["version"].as_str(),
                detected["extra_info"].as_str(),
            );
            entry.ports.insert((protocol, number), PortLine { state, service, version });
        }
        record.hosts.insert(address.to_string(), entry);
    }
    Ok(record)
}

/// Nmap's layout: host > status, address, hostnames > hostname, ports > port > state, service.
/// A `<port>` always holds a `<state>`, so it ends with an end tag, where it is recorded.
fn from_xml(text: &str) -> Result<ScanRecord, ReadError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut record = ScanRecord::default();
    let mut host: Option<(Option<String>, bool, HostPorts)> = None;
    let mut port: Option<((String, u16), PortLine)> = None;
    loop {
        match reader.read_event()? {
            Event::Eof => return Ok(record),
            Event::Start(element) | Event::Empty(element) => {
                let attr = |name: &str| attribute(&element, name);
                match element.name().into_inner() {
                    "nmaprun" => {
                        record.started = attr("start")
                            .and_then(|s| s.parse().ok())
                            .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok());
                        record.command_line = attr("args");
                    }
                    "host" => host = Some((None, false, HostPorts::default())),
                    "status" => {
                        if let Some(current) = host.as_mut() {
                            current.1 = attr("state").as_deref() == Some("up");
                        }
                    }
                    "address" if attr("addrtype").as_deref() != Some("mac") => {
                        if let Some(current) = host.as_mut() {
                            current.0 = attr("addr");
                        }
                    }
                    "hostname" => {
                        if let Some(current) = host.as_mut() {
                            current.2.name = current.2.name.take().or_else(|| attr("name"));
                        }
                    }
                    "port" => {
                        let number =
                            attr("portid").and_then(|p| p.parse().ok()).ok_or(ReadError::Malformed("bad portid"))?;
                        let protocol = attr("protocol").unwrap_or_else(|| "tcp".into());
                        port =
                            Some(((protocol, number), PortLine { state: String::new(), service: None, version: None }));
                    }
                    "state" => {
                        if let Some((_, line)) = port.as_mut() {
                            line.state = attr("state").unwrap_or_default();
                        }
                    }
                    "service" => {
                        if let Some((_, line)) = port.as_mut() {
                            line.service = attr("name");
                            line.version = version_column(
                                attr("product").as_deref(),
                                attr("version").as_deref(),
                                attr("extrainfo").as_deref(),
                            );
                        }
                    }
                    _ => {}
                }
            }
            Event::End(element) => match element.name().into_inner() {
                "port" => {
                    if let (Some((key, line)), Some(current)) = (port.take(), host.as_mut()) {
                        current.2.ports.insert(key, line);
                    }
                }
                "host" => {
                    if let Some((Some(address), true, ports)) = host.take() {
                        record.hosts.insert(address, ports);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}

pub(crate) fn attribute(element: &BytesStart, name: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.into_inner() == name)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Explicit1_0).ok())
        .map(|v| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of Nmap's XML: a MAC address beside the IP, a down host, a port without service.
    const NMAP_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sS -sV 198.18.0.2" start="1764072000" version="7.93" xmloutputversion="1.05">
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="198.18.0.2" addrtype="ipv4"/>
<address addr="AA:BB:CC:DD:EE:FF" addrtype="mac"/>
<hostnames><hostname name="target.lab" type="user"/></hostnames>
<ports><extraports state="closed" count="998"><extrareasons reason="reset" count="998"/></extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="ssh" product="OpenSSH" version="9.2p1 Debian 2+deb12u3" extrainfo="protocol 2.0" method="probed" conf="10"/></port>
<port protocol="tcp" portid="4"><state state="filtered" reason="no-response" reason_ttl="0"/></port>
</ports>
</host>
<host><status state="down" reason="no-response" reason_ttl="0"/><address addr="198.18.0.9" addrtype="ipv4"/></host>
<runstats><finished time="2" elapsed="1.0"/><hosts up="1" down="1" total="2"/></runstats>
</nmaprun>"#;

    #[test]
    fn reads_nmap_xml_up_hosts_and_listed_ports() {
        let record = read_scan(NMAP_XML).unwrap();
        assert_eq!(record.hosts.keys().collect::<Vec<_>>(), ["198.18.0.2"]);
        let host = &record.hosts["198.18.0.2"];
        assert_eq!(host.name.as_deref(), Some("target.lab"));
        assert_eq!(
            host.ports[&("tcp".to_string(), 22)],
            PortLine {
                state: "open".into(),
                service: Some("ssh".into()),
                version: Some("OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)".into())
            }
        );
        assert_eq!(
            host.ports[&("tcp".to_string(), 4)],
            PortLine { state: "filtered".into(), service: None, version: None }
        );
        assert_eq!(record.started.unwrap().to_string(), "2025-11-25T12:00:00Z");
        assert_eq!(record.command_line.as_deref(), Some("nmap -sS -sV 198.18.0.2"));
        assert_eq!(host.ports.len(), 2);
    }

    #[test]
    fn reads_portolan_json() {
        let json = r#"{"schema_version":2,"started":"2026-11-25T12:00:00Z","command_line":"portolan -sV 198.18.0.2",
            "hosts":[{"address":"198.18.0.2","name":null,
            "ports":[{"protocol":"tcp","port":22,"state":"open","reason":"syn-ack","service":"ssh",
                      "version":{"product":"OpenSSH","version":"9.2p1"}},
                     {"protocol":"tcp","port":80,"state":"open","reason":"syn-ack","service":"http"}]}],"summary":{}}"#;
        let record = read_scan(json).unwrap();
        let host = &record.hosts["198.18.0.2"];
        assert_eq!(host.ports[&("tcp".to_string(), 22)].state, "open");
        assert_eq!(host.ports[&("tcp".to_string(), 22)].version.as_deref(), Some("OpenSSH 9.2p1"));
        assert_eq!(host.ports[&("tcp".to_string(), 80)].version, None);
        assert_eq!(record.started.unwrap().to_string(), "2026-11-25T12:00:00Z");
        assert_eq!(record.command_line.as_deref(), Some("portolan -sV 198.18.0.2"));
    }

    #[test]
    fn other_text_is_refused() {
        assert!(matches!(read_scan("Host: 198.18.0.2"), Err(ReadError::UnknownFormat)));
        assert!(read_scan("<nmaprun><host><ports><port protocol=\"tcp\" portid=\"x\">").is_err());
        assert!(read_scan("{\"hosts\": 3}").is_err());
    }
}
