use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{PortResult, PortState, Reason};

/// One address to scan, with the name the user gave for it when there was one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub addr: IpAddr,
    /// The host name as the user wrote it; `None` for address literals and ranges.
    pub name: Option<String>,
    /// The name's other addresses, reported but not scanned (Nmap's "Other addresses for").
    pub other_addrs: Vec<IpAddr>,
    /// The name reverse DNS gave the address (its PTR record), when looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse_name: Option<String>,
    /// The hardware address an ARP reply gave, for a host on our own Ethernet link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<[u8; 6]>,
    /// Who made the network card, from the hardware address's prefix, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_vendor: Option<String>,
}

impl Target {
    pub fn from_addr(addr: IpAddr) -> Target {
        Target { addr, name: None, other_addrs: Vec::new(), reverse_name: None, mac: None, mac_vendor: None }
    }

    /// The address, if it is IPv4 (the raw engine and ARP work on IPv4 only).
    pub fn ipv4(&self) -> Option<std::net::Ipv4Addr> {
        match self.addr {
            IpAddr::V4(addr) => Some(addr),
            IpAddr::V6(_) => None,
        }
    }

    /// The hardware address as Nmap prints it: "02:00:5E:10:00:01".
    pub fn mac_text(&self) -> Option<String> {
        let mac = self.mac?;
        Some(mac.iter().map(|byte| format!("{byte:02X}")).collect::<Vec<_>>().join(":"))
    }

    /// The name a report gives the host: the user's, else reverse DNS's.
    pub fn display_name(&self) -> Option<&str> {
        self.name.as_deref().or(self.reverse_name.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum HostStatus {
    Up {
        reason: Reason,
    },
    /// Not found up: nothing answered (no-response), or no route leads to it (no-route).
    Down {
        reason: Reason,
    },
    /// `--host-timeout` expired; like Nmap, no port table is reported.
    TimedOut,
    /// `-sL`: listed, never probed (Nmap's state "unknown").
    Listed,
}

/// Everything learned about one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostResult {
    pub target: Target,
    pub status: HostStatus,
    /// The round-trip estimate of the answers, when any came.
    pub round_trip: Option<RoundTrip>,
    /// Every scanned port, sorted by protocol and port number.
    pub ports: Vec<PortResult>,
    /// What OS detection (`-O`) concluded, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Box<crate::OsReport>>,
    /// The route to it (`--traceroute`), when traced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Box<crate::Trace>>,
}

impl HostStatus {
    /// Down because nothing answered.
    pub const SILENT: HostStatus = HostStatus::Down { reason: Reason::NoResponse };
}

impl HostResult {
    pub fn is_up(&self) -> bool {
        matches!(self.status, HostStatus::Up { .. })
    }

    /// The latency Nmap prints: the smoothed round-trip time.
    pub fn latency(&self) -> Option<Duration> {
        self.round_trip.map(|r| r.srtt)
    }
}

/// A host's round-trip estimate when its scan ended (Nmap's `<times srtt rttvar to>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTrip {
    /// Smoothed round-trip time.
    pub srtt: Duration,
    /// Its variation.
    pub rttvar: Duration,
    /// The probe timeout they gave.
    pub timeout: Duration,
}

impl RoundTrip {
    /// The estimate after a single sample (RFC 6298: variation half the sample, timeout the
    /// sample plus four variations).
    pub fn from_sample(rtt: Duration) -> RoundTrip {
        RoundTrip { srtt: rtt, rttvar: rtt / 2, timeout: rtt * 3 }
    }
}

/// The totals Nmap prints on its last line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScanSummary {
    pub hosts_scanned: u64,
    pub hosts_up: u64,
    pub elapsed: Duration,
    /// The scan was stopped (Ctrl-C, SIGTERM) before every target was scanned.
    pub interrupted: bool,
}

/// The evidence that a host is alive from its port answers: an open port's answer, else any
/// other answer from the host itself (a closed port's RST or port unreachable, an ACK scan's
/// RST; not a router's error answering for it). Chosen by strength
/// rather than arrival, so a report does not vary between runs.
pub fn alive_because(ports: &[PortResult]) -> Option<Reason> {
    let from_the_host = |p: &&PortResult| {
        p.reason_ip.is_none()
            && matches!(
                p.reason,
                Reason::SynAck
                    | Reason::SplitHandshakeSyn
                    | Reason::TcpResponse
                    | Reason::Reset
                    | Reason::ConnRefused
                    | Reason::UdpResponse
                    | Reason::PortUnreach
            )
    };
    let open = ports.iter().filter(from_the_host).find(|p| p.state == PortState::Open);
    open.or_else(|| ports.iter().find(from_the_host)).map(|p| p.reason)
}
