//! The sans-IO half of the engine: state machines fed instants and packets, with no socket,
//! thread or clock of their own (see the crate's documentation).

mod cookie;
mod icmp_limit;
mod idle_scan;
mod ledger;
mod neighbour_sweep;
mod pacer;
mod permutation;
pub mod probe_engine;
mod retry;
mod rtt;
mod timer_queue;
mod timing;
mod window;

pub use cookie::{CookieKey, ProbeCookie};
pub use icmp_limit::{IcmpLimit, Sending};
pub use idle_scan::{IdleConfig, IdleError, IdleScan};
pub use ledger::LostTries;
pub use neighbour_sweep::{NeighbourFound, NeighbourSweep};
pub use pacer::Pacer;
pub use permutation::Permutation;
pub use retry::{LossRate, RetryAllowance};
pub use rtt::RttEstimator;
pub use timer_queue::TimerQueue;
pub use timing::{Timing, TimingTemplate};
pub use window::{CongestionWindow, Judgement};
