//! Host discovery (`-sn`, `-P*`): probes whose answers say a host is up, one file per kind.
//! [`HostDiscovery`] runs a set of them on the raw engine, which treats each probe as a "port"
//! of the host and stops probing a host at its first answer.

mod icmp_ping;
mod sctp_init_ping;
mod tcp_ack_ping;
mod tcp_syn_ping;
mod udp_ping;

pub use icmp_ping::IcmpPing;
pub use sctp_init_ping::SctpInitPing;
pub use tcp_ack_ping::AckPing;
pub use tcp_syn_ping::SynPing;
pub use udp_ping::UdpPing;

use std::net::IpAddr;
use std::sync::Arc;

use model::{PortState, Protocol, Reason};

use crate::{Answer, Echo, ErrorsAnswer, ProbeFields, Response, Technique, Transport};

/// One kind of discovery probe.
pub trait PingProbe: Send + Sync + std::fmt::Debug {
    /// The probe, carrying the engine's cookie fields (`fields.dst_port` is the probe's index,
    /// not a port; the probe knows its own port, if it has one).
    fn probe(&self, fields: ProbeFields) -> Transport;
    /// Whether `response` answers this kind of probe, and what it says.
    fn read(&self, response: &Response) -> Option<PingAnswer>;
    /// The transport protocol whose packets answer the probe; `None` when ICMP does.
    fn reply_protocol(&self) -> Option<Protocol>;
    /// Whether an ICMP error (which hosts ration) answers the probe.
    fn answered_by_errors(&self) -> bool {
        false
    }
}

/// An answer to a discovery probe, before its cookie is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingAnswer {
    pub scanner: IpAddr,
    /// The cookie's port: the probe's source port, or an ICMP query's identifier.
    pub scanner_port: u16,
    pub target: IpAddr,
    pub echo: Echo,
    pub ttl: u8,
    pub reason: Reason,
    /// The answer is an ICMP error.
    pub by_icmp: bool,
}

/// A set of discovery probes sent to every host; any answer means the host is up. Cloning
/// shares the probes.
#[derive(Debug, Clone)]
pub struct HostDiscovery {
    probes: Arc<[Box<dyn PingProbe>]>,
}

impl HostDiscovery {
    /// The most probes one discovery sends a host: each needs an index in a port number.
    pub const MAX_PROBES: usize = 1 << 16;

    /// # Panics
    /// With no probes, or more than [`HostDiscovery::MAX_PROBES`] (callers refuse such a set).
    pub fn new(probes: Vec<Box<dyn PingProbe>>) -> HostDiscovery {
        assert!(!probes.is_empty() && probes.len() <= Self::MAX_PROBES, "a discovery needs 1 to 65536 probes");
        HostDiscovery { probes: probes.into() }
    }

    /// Nmap's default as root: ICMP echo, TCP SYN to 443, TCP ACK to 80, ICMP timestamp.
    pub fn nmap_default() -> HostDiscovery {
        HostDiscovery::new(vec![
            Box::new(IcmpPing::ECHO),
            Box::new(SynPing::new(443)),
            Box::new(AckPing::new(80)),
            Box::new(IcmpPing::TIMESTAMP),
        ])
    }

    /// Nmap's default for IPv6 as root: ICMPv6 echo, TCP SYN to 443, TCP ACK to 80 (ICMPv6
    /// has no timestamp request).
    pub fn nmap_default_v6() -> HostDiscovery {
        HostDiscovery::new(vec![Box::new(IcmpPing::ECHO), Box::new(SynPing::new(443)), Box::new(AckPing::new(80))])
    }

    /// The engine's "ports": one index per probe.
    pub fn indices(&self) -> Vec<u16> {
        (0..=u16::MAX).take(self.probes.len()).collect()
    }
}

impl Technique for HostDiscovery {
    fn name(&self) -> &'static str {
        "Ping Scan"
    }

    /// Hosts, not ports, are what a discovery finds; its results carry no ports.
    fn protocol(&self) -> Protocol {
        Protocol::Tcp
    }

    fn probe(&self, fields: ProbeFields) -> Transport {
        self.probes[usize::from(fields.dst_port)].probe(fields)
    }

    fn read(&self, response: &Response) -> Option<Answer> {
        self.probes.iter().enumerate().find_map(|(index, probe)| {
            let answer = probe.read(response)?;
            Some(Answer {
                scanner: answer.scanner,
                scanner_port: answer.scanner_port,
                target: answer.target,
                target_port: index as u16,
                echo: answer.echo,
                ttl: answer.ttl,
                sender: answer.target,
                state: PortState::Open,
                reason: answer.reason,
                by_icmp: answer.by_icmp,
            })
        })
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        (PortState::Filtered, Reason::NoResponse)
    }

    fn finds_hosts(&self) -> bool {
        true
    }

    /// A host whose only answers are rationed errors (a UDP ping's port unreachable) may be
    /// up with its errors spent; otherwise answers are replies no host rations.
    fn errors_answer(&self) -> ErrorsAnswer {
        if self.probes.iter().any(|probe| probe.answered_by_errors()) {
            ErrorsAnswer::ClosedPorts
        } else {
            ErrorsAnswer::Never
        }
    }

    fn reply_protocols(&self) -> Vec<Protocol> {
        let mut protocols: Vec<Protocol> = self.probes.iter().filter_map(|p| p.reply_protocol()).collect();
        protocols.sort();
        protocols.dedup();
        protocols
    }
}
