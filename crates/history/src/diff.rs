//! What changed between two scans, host by host and port by port.

use serde::Serialize;

use crate::{PortLine, ScanRecord};

/// One difference. A port that a scan did not list (summarised among "Not shown") is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// Up in the second scan only.
    NewHost { address: String, name: Option<String> },
    /// Up in the first scan only.
    HostGone { address: String, name: Option<String> },
    /// A port listed in one scan and not the other, or with another state or service.
    Port { address: String, protocol: String, port: u16, before: Option<PortLine>, after: Option<PortLine> },
}

/// The changes from `before` to `after`, ordered by address, then protocol and port.
pub fn diff(before: &ScanRecord, after: &ScanRecord) -> Vec<Change> {
    let mut changes = Vec::new();
    let addresses: std::collections::BTreeSet<&String> = before.hosts.keys().chain(after.hosts.keys()).collect();
    for address in addresses {
        let (old, new) = (before.hosts.get(address), after.hosts.get(address));
        match (old, new) {
            (None, Some(host)) => changes.push(Change::NewHost { address: address.clone(), name: host.name.clone() }),
            (Some(host), None) => changes.push(Change::HostGone { address: address.clone(), name: host.name.clone() }),
            _ => {}
        }
        let empty = Default::default();
        let old_ports = old.map_or(&empty, |h| &h.ports);
        let new_ports = new.map_or(&empty, |h| &h.ports);
        let keys: std::collections::BTreeSet<&(String, u16)> = old_ports.keys().chain(new_ports.keys()).collect();
        for key in keys {
            let (was, is) = (old_ports.get(key), new_ports.get(key));
            if was != is {
                changes.push(Change::Port {
                    address: address.clone(),
                    protocol: key.0.clone(),
                    port: key.1,
                    before: was.cloned(),
                    after: is.cloned(),
                });
            }
        }
    }
    changes
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = |address: &str, name: &Option<String>| match name {
            Some(name) => format!("{address} ({name})"),
            None => address.to_string(),
        };
        let line = |line: &Option<PortLine>| match line {
            Some(PortLine { state, service, version }) => [Some(state), service.as_ref(), version.as_ref()]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
            None => "(not listed)".to_string(),
        };
        match self {
            Change::NewHost { address, name } => write!(f, "+{}: new host", host(address, name)),
            Change::HostGone { address, name } => write!(f, "-{}: no longer up", host(address, name)),
            Change::Port { address, protocol, port, before, after } => {
                write!(f, " {address} {port}/{protocol}: {} -> {}", line(before), line(after))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HostPorts;

    /// A port as the tests write it: number, state, service.
    type Port<'a> = (u16, &'a str, Option<&'a str>);

    fn record(hosts: &[(&str, &[Port])]) -> ScanRecord {
        let mut record = ScanRecord::default();
        for (address, ports) in hosts {
            let mut host = HostPorts::default();
            for &(port, state, service) in *ports {
                host.ports.insert(
                    ("tcp".into(), port),
                    PortLine { state: state.into(), service: service.map(String::from), version: None },
                );
            }
            record.hosts.insert(address.to_string(), host);
        }
        record
    }

    #[test]
    fn opened_closed_and_changed_ports_and_hosts() {
        let before = record(&[
            ("198.18.0.2", &[(22, "open", Some("ssh")), (80, "open", Some("http")), (443, "open", Some("https"))]),
            ("198.18.0.3", &[(22, "open", Some("ssh"))]),
        ]);
        let after = record(&[
            (
                "198.18.0.2",
                &[(22, "open", Some("ssh")), (53, "open", Some("domain")), (443, "filtered", Some("https"))],
            ),
            ("198.18.0.4", &[]),
        ]);
        let lines: Vec<String> = diff(&before, &after).iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                " 198.18.0.2 53/tcp: (not listed) -> open domain",
                " 198.18.0.2 80/tcp: open http -> (not listed)",
                " 198.18.0.2 443/tcp: open https -> filtered https",
                "-198.18.0.3: no longer up",
                " 198.18.0.3 22/tcp: open ssh -> (not listed)",
                "+198.18.0.4: new host",
            ]
        );
    }

    #[test]
    fn a_new_version_on_an_open_port_is_a_change() {
        let ssh = |version: &str| {
            let mut scan = record(&[("198.18.0.2", &[(22, "open", Some("ssh"))])]);
            let port = scan.hosts.get_mut("198.18.0.2").unwrap().ports.get_mut(&("tcp".into(), 22)).unwrap();
            port.version = Some(version.into());
            scan
        };
        let lines: Vec<String> =
            diff(&ssh("OpenSSH 9.2p1"), &ssh("OpenSSH 9.3p1")).iter().map(|c| c.to_string()).collect();
        assert_eq!(lines, [" 198.18.0.2 22/tcp: open ssh OpenSSH 9.2p1 -> open ssh OpenSSH 9.3p1"]);
    }

    #[test]
    fn identical_scans_have_no_changes() {
        let scan = record(&[("198.18.0.2", &[(22, "open", Some("ssh"))])]);
        assert!(diff(&scan, &scan).is_empty());
    }

    #[test]
    fn changes_serialise_for_json_output() {
        let before = record(&[("198.18.0.2", &[])]);
        let after = record(&[("198.18.0.2", &[(22, "open", Some("ssh"))])]);
        let json = serde_json::to_value(diff(&before, &after)).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{"change": "port", "address": "198.18.0.2", "protocol": "tcp", "port": 22,
                "before": null, "after": {"state": "open", "service": "ssh"}}])
        );
    }
}
