//! Service and version detection (`-sV`): which program answers on an open port, and its
//! version, by Nmap's method: a banner wait (the NULL probe), then probes in the order
//! Nmap's rules give, each response read by PCRE rules that fill product, version and CPE.
//!
//! Two databases of one shape ([`ProbeDb`]): portolan's own (`data/version-probes.toml`,
//! embedded) and Nmap's `nmap-service-probes`, read at run time when Nmap is installed and never
//! copied into this repository.

#![forbid(unsafe_code)]

mod db;
mod fingerprint;
mod matcher;
pub mod nmap_probes;
pub mod own_db;
mod plan;
mod prober;
mod template;
mod tls;

pub use db::{MatchRule, PortRanges, Probe, ProbeDb};
pub use fingerprint::Fingerprint;
pub use matcher::{identify, Identified, HARD_CONFIDENCE, SOFT_CONFIDENCE};
pub use plan::{Plan, ALL_INTENSITY, DEFAULT_INTENSITY};
pub use prober::{probe_all, probe_port, Outcome, PortJob, ProberConfig, Tracer, DEFAULT_MIN_WAIT, MAX_RESPONSE};
pub use template::Template;
