use std::fmt;

use serde::{Deserialize, Serialize};

/// A transport protocol whose ports can be scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    /// The IP protocol scan's "ports": protocol numbers (0-255).
    Ip,
}

impl Protocol {
    pub const ALL: [Protocol; 4] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp, Protocol::Ip];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
            Protocol::Ip => "ip",
        }
    }

    /// Parses the lowercase name used in services files and Nmap's XML ("tcp", "udp", "sctp",
    /// "ip").
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The states of Nmap's documentation ("The Six Port States").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PortState {
    #[serde(rename = "open")]
    Open,
    #[serde(rename = "closed")]
    Closed,
    #[serde(rename = "filtered")]
    Filtered,
    #[serde(rename = "unfiltered")]
    Unfiltered,
    #[serde(rename = "open|filtered")]
    OpenFiltered,
    #[serde(rename = "closed|filtered")]
    ClosedFiltered,
}

impl PortState {
    pub fn as_str(self) -> &'static str {
        match self {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
            PortState::Unfiltered => "unfiltered",
            PortState::OpenFiltered => "open|filtered",
            PortState::ClosedFiltered => "closed|filtered",
        }
    }

    /// Whether the port may be open; `--open` keeps only these.
    pub fn may_be_open(self) -> bool {
        matches!(self, PortState::Open | PortState::OpenFiltered | PortState::Unfiltered)
    }
}

impl fmt::Display for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a port or host got its state, in the words of Nmap's `--reason` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The handshake answer to a SYN (also a completed connect()).
    SynAck,
    /// A bare SYN answering a SYN: the target opens a split handshake (open, as in Nmap).
    SplitHandshakeSyn,
    /// Another TCP answer that shows the port: a bare ACK acknowledging an earlier SYN of the
    /// scan, which the port holds half-open.
    TcpResponse,
    /// connect() failed with ECONNREFUSED: the target answered with a RST.
    ConnRefused,
    /// A raw RST reply.
    Reset,
    /// A UDP datagram came back from the probed port.
    UdpResponse,
    /// The IP protocol scan: a packet of the probed protocol came back.
    ProtoResponse,
    /// SCTP: an INIT ACK (the port accepts associations) or an ABORT (it refuses them).
    InitAck,
    Abort,
    /// The idle scan: the zombie's IP identification moved for the port, or did not.
    IpIdChange,
    NoIpIdChange,
    /// Host discovery: an ARP reply on our own link.
    ArpResponse,
    /// Host discovery: an IPv6 neighbour advertisement on our own link.
    NdResponse,
    /// Host discovery: an ICMP echo, timestamp or address mask reply.
    EchoReply,
    TimestampReply,
    AddressMaskReply,
    /// Nothing came back after every allowed retransmission.
    NoResponse,
    HostUnreach,
    NetUnreach,
    PortUnreach,
    ProtoUnreach,
    AdminProhibited,
    HostProhibited,
    NetProhibited,
    /// ICMPv6: the source address is beyond the destination's scope (a link-local source).
    BeyondScope,
    /// ICMPv6: a reject route leads to the destination.
    RejectRoute,
    /// The user declared the state (e.g. `-Pn` marks hosts up).
    UserSet,
    /// No route leads to the target: nothing could be sent to it.
    NoRoute,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SynAck => "syn-ack",
            Reason::SplitHandshakeSyn => "split-handshake-syn",
            Reason::TcpResponse => "tcp-response",
            Reason::ConnRefused => "conn-refused",
            Reason::Reset => "reset",
            Reason::UdpResponse => "udp-response",
            Reason::ProtoResponse => "proto-response",
            Reason::InitAck => "init-ack",
            Reason::Abort => "abort",
            Reason::IpIdChange => "ipid-change",
            Reason::NoIpIdChange => "no-ipid-change",
            Reason::ArpResponse => "arp-response",
            Reason::NdResponse => "nd-response",
            Reason::EchoReply => "echo-reply",
            Reason::TimestampReply => "timestamp-reply",
            Reason::AddressMaskReply => "addressmask-reply",
            Reason::NoResponse => "no-response",
            Reason::HostUnreach => "host-unreach",
            Reason::NetUnreach => "net-unreach",
            Reason::PortUnreach => "port-unreach",
            Reason::ProtoUnreach => "proto-unreach",
            Reason::AdminProhibited => "admin-prohibited",
            Reason::HostProhibited => "host-prohibited",
            Reason::NetProhibited => "net-prohibited",
            Reason::BeyondScope => "beyond-scope",
            Reason::RejectRoute => "reject-route",
            Reason::UserSet => "user-set",
            Reason::NoRoute => "no-route",
        }
    }

    /// Whether the target (or a router on its path) sent something back.
    pub fn is_answer(self) -> bool {
        !matches!(self, Reason::NoResponse | Reason::UserSet | Reason::NoRoute)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one port on one host turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortResult {
    pub protocol: Protocol,
    pub port: u16,
    pub state: PortState,
    pub reason: Reason,
    /// The IP TTL of the packet that gave the reason (raw-packet scans; Nmap's "syn-ack ttl 64").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_ttl: Option<u8>,
    /// Who gave the reason, when not the target itself: a router answering for it (Nmap's
    /// "port-unreach from 198.18.0.254").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_ip: Option<std::net::IpAddr>,
    /// The service name: from the services table (Nmap's `method="table"`), or what version
    /// detection found (then `detail` says more).
    pub service: Option<String>,
    /// What version detection (`-sV`) learned, when it ran on this port. Boxed: most ports
    /// have none, and a scan of many hosts holds a result for every port it probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Box<ServiceDetail>>,
}

/// What version detection learned about a port's service (Nmap's `<service>` attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// CPE names, "cpe:/a:openbsd:openssh:9.2p1".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpe: Vec<String>,
    /// How sure: 10 for a rule's hard match, 8 for a soft one, 3 for the table's guess (Nmap's
    /// `conf`).
    pub confidence: u8,
    /// "ssl" when the service was found behind TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<String>,
    /// Nmap's service fingerprint of the responses when no rule named the service but it
    /// answered, for submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The TLS session a service behind TLS was reached through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsDetail>,
}

/// A TLS session's terms and its server's certificate, as version detection saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsDetail {
    /// "TLSv1.3"
    pub protocol: String,
    /// "TLS13_AES_256_GCM_SHA384"
    pub cipher: String,
    /// The application protocol the server chose from ours (h2, http/1.1), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// The certificate's subject and issuer as distinguished names ("CN=www.lab, O=Lab").
    pub subject: String,
    pub issuer: String,
    /// Its subject alternative names ("DNS:www.lab", "IP Address:198.18.0.2").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Its validity, in seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// "rsa", "ec", "dsa" or "other", and the key's size in bits.
    pub key_type: String,
    pub key_bits: u32,
}

impl ServiceDetail {
    /// The VERSION column of Nmap's port table: "OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)".
    pub fn version_column(&self) -> String {
        let parts =
            [self.product.clone(), self.version.clone(), self.extra_info.as_ref().map(|info| format!("({info})"))];
        parts.into_iter().flatten().filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" ")
    }
}

impl PortResult {
    /// A port's state and reason, with no TTL, router or service named.
    pub fn new(protocol: Protocol, port: u16, state: PortState, reason: Reason) -> PortResult {
        PortResult { protocol, port, state, reason, reason_ttl: None, reason_ip: None, service: None, detail: None }
    }
}
