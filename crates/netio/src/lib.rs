//! The operating-system seam: process limits, privileges, routes, raw sockets and the C
//! library's resolver. No other
//! crate makes system calls of its own, and no other crate holds `unsafe` code.

mod filter;
mod link;
mod names;
mod netlink;
mod packet;
mod privilege;
mod raw;
mod route;

pub use link::{ethernet_links, ArpSocket, Link};
pub use names::system_reverse_name;
pub use netlink::{neighbours, route_to, Route};
pub use packet::{FrameSender, LinkReceiver};
pub use privilege::has_cap_net_raw;
pub use raw::{RawReceiver, RawSender, RawSocketError};
pub use route::{bind_device, source_for};

/// Raises the soft limit on open files to the hard limit and returns the new soft limit.
/// A connect scan holds one descriptor per probe in flight, so this bounds its parallelism.
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}
