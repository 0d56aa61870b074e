//! The vocabulary every portolan crate shares.
//!
//! States and reasons carry the exact words Nmap prints, so every output sink renders them the
//! same way and users' parsers of Nmap output keep working.

#![forbid(unsafe_code)]

mod host;
mod os;
mod port;

pub use host::{alive_because, HostResult, HostStatus, RoundTrip, ScanSummary, Target};
pub use os::{
    percent, OsClass, OsClassMatch, OsDatabase, OsMatch, OsPortsUsed, OsReport, TcpSequence, Trace, TraceHop, Uptime,
    ValueSequence,
};
pub use port::{PortResult, PortState, Protocol, Reason, ServiceDetail, TlsDetail};
