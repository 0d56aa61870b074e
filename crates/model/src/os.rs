//! What OS detection (`-O`) concluded about a host, in the terms Nmap reports it: the
//! matching reference fingerprints and their classes, the fingerprint itself when nothing
//! matched exactly, and what the probes' answers showed on the way (hop count, uptime, how
//! sequence numbers and IP IDs go).

use serde::{Deserialize, Serialize};

/// A host's OS detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OsReport {
    /// The ports the probes went to (Nmap's `<portused>`).
    pub ports_used: OsPortsUsed,
    /// The references shown, best first: every perfect match, else the guesses within ten
    /// points of the best (at most ten).
    pub matches: Vec<OsMatch>,
    /// Whether `matches` fit perfectly.
    pub exact: bool,
    /// Whether guesses are printed (`--osscan-guess`, or a fingerprint that could not be
    /// submitted anyway).
    pub guessing: bool,
    /// The classes of every match, best first, each once, for "Device type" and "Running".
    pub classes: Vec<OsClassMatch>,
    /// The fingerprint as submitted to Nmap (SCAN line first), printed when nothing matched
    /// exactly.
    pub fingerprint: String,
    /// Why the fingerprint is not fit for submission, when it is not (Nmap's wording).
    pub unfit: Option<String>,
    /// Which database matched: Nmap's, or portolan's own coarse one (families only).
    pub database: OsDatabase,
    /// Hops to the host: 0 for this host, 1 for a neighbour, else from the UDP probe's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime: Option<Uptime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_sequence: Option<TcpSequence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_id_sequence: Option<ValueSequence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_ts_sequence: Option<ValueSequence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsDatabase {
    /// Nmap's nmap-os-db, read where Nmap is installed.
    Nmap,
    /// portolan's embedded families, which name a family and say that it is coarse.
    Coarse,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsPortsUsed {
    pub open_tcp: Option<u16>,
    pub closed_tcp: Option<u16>,
    pub closed_udp: Option<u16>,
}

/// A reference fingerprint that fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OsMatch {
    /// "Linux 5.0 - 5.14"
    pub name: String,
    /// The share of points earned, 0 to 1 (printed as a percentage rounded down).
    pub accuracy: f64,
    /// The reference's line in its database.
    pub line: usize,
    pub classes: Vec<OsClass>,
}

/// A `Class` of a reference: vendor, family, generation, device type, CPE names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsClass {
    pub vendor: String,
    pub family: String,
    pub generation: Option<String>,
    pub device_type: String,
    pub cpe: Vec<String>,
}

/// A class and the best accuracy any match of it reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OsClassMatch {
    pub class: OsClass,
    /// 0 to 1.
    pub accuracy: f64,
}

/// An accuracy as Nmap prints it: a percentage rounded down.
pub fn percent(accuracy: f64) -> u32 {
    (accuracy * 100.0).floor() as u32
}

/// How long the host has been up, from its TCP timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uptime {
    pub seconds: u64,
    /// The boot time in C's ctime layout, as Nmap prints it.
    pub lastboot: String,
}

/// The SEQ probes' initial sequence numbers and how hard the next is to predict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpSequence {
    pub index: u32,
    /// Nmap's word for the index: "Good luck!", "Trivial joke", …
    pub difficulty: String,
    /// The values, hexadecimal, comma-separated.
    pub values: String,
}

/// IP IDs or TCP timestamps of the SEQ answers and their class ("All zeros", "1000HZ", …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueSequence {
    pub class: String,
    /// The values, hexadecimal, comma-separated; none when they were not there to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
}

/// `--traceroute`: the hops to a host, as Nmap reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The probe sent: a port and protocol ("tcp", "udp"), or the protocol alone ("icmp");
    /// `None` for a host on our own link, traced without a probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    pub hops: Vec<TraceHop>,
    /// The first hops are the same as another host's (Nmap's "Hops 1-2 are the same as for
    /// …"): up to this TTL, as for that host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_with: Option<(u8, std::net::IpAddr)>,
}

/// One TTL of a trace; no address for a TTL nothing answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceHop {
    pub ttl: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<std::net::IpAddr>,
    /// Round-trip time in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
}
