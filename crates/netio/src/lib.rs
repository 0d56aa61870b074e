//! The operating-system seam: process limits, privileges, routes, raw sockets, the C
//! library's resolver, and huge pages for large tables. No other
//! crate makes system calls of its own, and no other crate holds `unsafe` code.

mod filter;
mod iflist;
mod link;
mod memory;
mod names;
mod netlink;
mod packet;
mod privilege;
mod raw;
mod route;

pub use iflist::{interface_addresses, route_table, InterfaceAddress, InterfaceKind, RouteEntry};
pub use link::{ethernet_links, ethernet_links_v6, ArpSocket, Ipv6Link, Link, NeighbourSocket};
pub use memory::HugePageAlloc;
pub use names::system_reverse_name;
#[cfg(feature = "fuzzing")]
pub use netlink::parse_any_datagram as parse_any_netlink_datagram;
pub use netlink::{neighbours, route_to, routes_to, Route};
pub use packet::{FrameSender, LinkReceiver};
pub use privilege::has_cap_net_raw;
pub use raw::{RawReceiver, RawSender, RawSocketError};
pub use route::{bind_device, interface_index, source_for};

/// Sets a socket option whose value is a `T` (setsockopt).
///
/// # Safety
/// `T` must be the type the kernel expects for `level`/`name`, and anything it points at
/// must stay valid for the call (the kernel copies what it needs before returning).
unsafe fn set_option<T>(
    socket: &impl std::os::fd::AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> std::io::Result<()> {
    // SAFETY: `value` is a live `T` of the size passed; the caller vouches for its type.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A send that wrote `sent` bytes of `len`: anything less than all of them is an error.
fn sent_whole(sent: usize, len: usize) -> std::io::Result<()> {
    if sent == len {
        Ok(())
    } else {
        Err(std::io::Error::new(std::io::ErrorKind::WriteZero, format!("sent {sent} bytes of {len}")))
    }
}

/// Raises the soft limit on open files to the hard limit and returns the new soft limit.
/// A connect scan holds one descriptor per probe in flight, so this bounds its parallelism.
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Makes a write to a closed pipe end the process quietly, as it does every Unix filter
/// (`portolan … | head`): Rust ignores SIGPIPE, so the write fails and printing panics instead.
pub fn end_quietly_on_closed_pipe() {
    // SAFETY: setting a signal's disposition to the default has no preconditions; it is called
    // once, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
