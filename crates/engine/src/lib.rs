//! The scan engine, in two halves that never mix.
//!
//! [`core`]: sans-IO state machines fed explicit instants and packets, that say what to send
//! and when, and what each port turned out to be: the raw-packet [`ProbeEngine`], the ARP
//! sweep, and the timing rules they share (RTT estimation, congestion window and its loss
//! ledger, retransmission allowance, ICMP rationing, pacing, templates). Their randomness is
//! injected, so a seeded simulation repeats exactly, and every rule is unit-tested without
//! sockets or sleeping.
//!
//! [`drivers`]: what runs them over real sockets, threads and clocks (the raw-packet runner,
//! the ARP runner), and the TCP connect scan, whose probes are the kernel's own connections.

#![forbid(unsafe_code)]

pub mod core;
pub mod drivers;
mod seed;

pub use crate::core::probe_engine::{DebugEvent, PeakRates, ProbeEngine, RawConfig, ScanGroup};
pub use crate::core::{
    CongestionWindow, CookieKey, IcmpLimit, IdleConfig, IdleError, IdleScan, Judgement, LossRate, LostTries,
    NeighbourFound, NeighbourSweep, Pacer, Permutation, ProbeCookie, RetryAllowance, RttEstimator, Sending, Timing,
    TimingTemplate,
};
pub use crate::seed::{host_seed, order_rng};
pub use wire::shape::Stack;

/// Where probes leave from, when the user says (`-S`, `-e`, `-g`, `--send-eth`, `--send-ip`);
/// the routing table decides whatever is left unsaid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub addr: Option<std::net::IpAddr>,
    /// `-S a,b,…`: further addresses of ours that raw port scans also send from, each target's
    /// ports dealt among them all (see [`ProbeEngine`]).
    pub more_addrs: Vec<std::net::Ipv4Addr>,
    pub device: Option<String>,
    pub port: Option<u16>,
    pub via: SendVia,
    /// `--spoof-mac`: the hardware address frames, ARP requests and neighbour solicitations
    /// carry instead of the interface's own.
    pub mac: Option<[u8; 6]>,
    /// `--proxies`: the chain connections are relayed through (the connect scan's).
    pub proxies: Vec<drivers::connect::Proxy>,
}

/// How probes are changed once built, to get past firewalls and detectors (`--mimic`,
/// `--ttl`, `--badsum`, `-f`, `-ff`, `--mtu`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shaping {
    /// The TTL (IPv6: hop limit) instead of an ordinary host's 64.
    pub ttl: Option<u8>,
    /// A wrong transport checksum: hosts drop such probes; what answers does not check them.
    pub bad_checksum: bool,
    /// Fragments carrying this many bytes of each probe's payload (a multiple of eight).
    pub fragment_size: Option<usize>,
    /// `--mimic`: the client system whose SYNs (and TTL) the probes copy.
    pub mimic: Option<wire::shape::Stack>,
}

/// `-D`: addresses that appear to send every probe too, and where among them the scanner's
/// own probe goes (a probe from each, in this order, with ours at `me_at`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoys {
    pub addrs: Vec<std::net::IpAddr>,
    pub me_at: usize,
}

/// Which sockets raw probes leave through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SendVia {
    /// Ethernet frames when the route leads out of an Ethernet interface and the next hops'
    /// hardware addresses can be learnt; raw IP otherwise.
    #[default]
    Auto,
    /// `--send-eth`: Ethernet frames, or an error saying why they cannot be sent.
    Ethernet,
    /// `--send-ip`: raw IP sockets; the kernel routes each probe.
    Ip,
}
