//! The scan engine.
//!
//! Timing rules (RTT estimation, congestion window, retransmission allowance, pacing, templates) are plain state
//! machines fed explicit instants, so every rule is unit-tested without sockets or sleeping. The
//! runners (today the TCP connect scan) wire them to real I/O.

pub mod arp;
pub mod connect;
mod cookie;
mod icmp_limit;
mod ledger;
mod pacer;
mod permutation;
pub mod raw;
mod retry;
mod rtt;
mod timing;
mod window;

pub use cookie::{CookieKey, ProbeCookie};
pub use icmp_limit::{IcmpLimit, Sending};
pub use ledger::LostTries;
pub use pacer::Pacer;
pub use permutation::Permutation;
pub use retry::{LossRate, RetryAllowance};
pub use rtt::RttEstimator;
pub use timing::{Timing, TimingTemplate};
pub use window::{CongestionWindow, Judgement};

/// Where probes leave from, when the user says (`-S`, `-e`, `-g`, `--send-eth`, `--send-ip`);
/// the routing table decides whatever is left unsaid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub addr: Option<std::net::IpAddr>,
    pub device: Option<String>,
    pub port: Option<u16>,
    pub via: SendVia,
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
