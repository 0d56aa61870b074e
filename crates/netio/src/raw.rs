//! Raw IP sockets: one to send whole packets we built, and for IPv4 one per protocol to
//! receive.
//!
//! Sending uses IPPROTO_RAW, of either family (the kernel routes the packet and resolves the
//! next hop, by ARP or neighbour discovery, so the same code serves Ethernet, loopback and
//! tunnels; an IPv6 IPPROTO_RAW socket takes the IPv6 header from us as the IPv4 one does).
//! Receiving IPv4 uses a raw socket per protocol, which gets a copy of every incoming TCP (or
//! ICMP) packet and never our own outgoing ones. A raw IPv6 socket delivers no IPv6 header,
//! so IPv6 replies are read by a link-layer socket instead (see `packet.rs`).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

#[derive(Debug, thiserror::Error)]
pub enum RawSocketError {
    #[error("raw sockets need CAP_NET_RAW")]
    NotPermitted,
    #[error("cannot open a raw socket: {0}")]
    Io(io::Error),
}

impl RawSocketError {
    /// Why opening a raw or link-layer socket failed: a missing privilege is worth its own words.
    pub(crate) fn opening(error: io::Error) -> RawSocketError {
        if error.kind() == io::ErrorKind::PermissionDenied {
            RawSocketError::NotPermitted
        } else {
            RawSocketError::Io(error)
        }
    }
}

fn open(domain: Domain, protocol: i32) -> Result<Socket, RawSocketError> {
    Socket::new(domain, Type::RAW, Some(Protocol::from(protocol))).map_err(RawSocketError::opening)
}

const IPPROTO_RAW: i32 = 255;
/// Receive buffers large enough to absorb a burst of replies at line rate.
pub(crate) const RECEIVE_BUFFER: usize = 8 << 20;

pub struct RawSender {
    socket: Socket,
}

impl RawSender {
    /// A sender of IPv4 packets (of IPv6 ones when `ipv6`), tied to `device` when one is
    /// named (`-e`).
    pub fn open(ipv6: bool, device: Option<&str>) -> Result<RawSender, RawSocketError> {
        let socket = open(if ipv6 { Domain::IPV6 } else { Domain::IPV4 }, IPPROTO_RAW)?;
        crate::bind_device(&socket, device).map_err(RawSocketError::Io)?;
        Ok(RawSender { socket })
    }

    /// Sends a complete IP packet (header included, of the sender's family) to `dst`.
    pub fn send(&self, packet: &[u8], dst: IpAddr) -> io::Result<()> {
        crate::sent_whole(self.socket.send_to(packet, &SocketAddr::from((dst, 0)).into())?, packet.len())
    }
}

pub struct RawReceiver {
    socket: Socket,
}

impl RawReceiver {
    /// Receives every incoming IPv4 packet of `protocol` (6 for TCP, 17 for UDP, 1 for ICMP).
    pub fn open(protocol: u8) -> Result<RawReceiver, RawSocketError> {
        let socket = open(Domain::IPV4, i32::from(protocol))?;
        // A smaller buffer than asked for still works; only the burst it absorbs shrinks.
        let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
        Ok(RawReceiver { socket })
    }

    /// Has the kernel pass on only TCP segments or UDP datagrams addressed to `ports` (the
    /// scan's source ports).
    pub fn keep_to_ports(&self, ports: std::ops::RangeInclusive<u16>) -> io::Result<()> {
        crate::filter::attach(&self.socket, &crate::filter::to_ports(ports))
    }

    /// Has the kernel pass on only the ICMP messages that answer probes: destination
    /// unreachable, time exceeded, and echo, timestamp and address mask replies.
    pub fn keep_icmp_answers(&self) -> io::Result<()> {
        crate::filter::attach(&self.socket, &crate::filter::icmp_answers())
    }

    /// The next packet already queued (IPv4 header included), without waiting.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        try_recv(&self.socket, buf)
    }

    /// The next packet, waiting at most `timeout` for one.
    pub fn recv_timeout(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        recv_timeout(&self.socket, buf, timeout)
    }
}

/// The next packet on `socket`, waiting at most `timeout` for one.
///
/// The wait is ppoll(2)'s, precise to the microsecond: a socket's receive timeout counts in
/// the kernel's ticks (4 ms at 250 Hz) and rounds up, which put OS detection's SEQ probes,
/// meant 100 ms apart, 104 to 108 ms apart.
pub(crate) fn recv_timeout(socket: &Socket, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
    if wait_readable(socket, timeout)? {
        try_recv(socket, buf)
    } else {
        Ok(None)
    }
}

/// Whether something can be read from `socket` within `timeout`.
fn wait_readable(socket: &Socket, timeout: Duration) -> io::Result<bool> {
    let mut watched = libc::pollfd { fd: socket.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    let limit = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: one pollfd and one timespec, both valid for the call; no signal mask.
    let ready = unsafe { libc::ppoll(&mut watched, 1, &limit, std::ptr::null()) };
    match ready {
        -1 => match io::Error::last_os_error() {
            interrupted if interrupted.kind() == io::ErrorKind::Interrupted => Ok(false),
            error => Err(error),
        },
        ready => Ok(ready > 0),
    }
}

/// The next packet already queued on `socket`, without waiting.
pub(crate) fn try_recv(socket: &Socket, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and recv() only writes initialised
    // bytes into the slice, so viewing initialised bytes as possibly-uninitialised is sound.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
    quiet(socket.recv_with_flags(uninit, libc::MSG_DONTWAIT))
}

/// No packet (nothing queued, the wait ran out, or a signal came) is not an error.
pub(crate) fn quiet(result: io::Result<usize>) -> io::Result<Option<usize>> {
    match result {
        Ok(len) => Ok(Some(len)),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}
