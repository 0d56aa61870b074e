//! Link-layer (AF_PACKET) sockets on one Ethernet interface: one that sends whole frames we
//! built, past the kernel's routing, neighbour lookup and queueing discipline; and one that
//! receives the IP packets arriving on the interface, filtered in the kernel to those that
//! can answer the scan.

use std::io;
use std::ops::RangeInclusive;
use std::os::fd::AsRawFd;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::raw::RECEIVE_BUFFER;
use crate::RawSocketError;

const ETH_P_IP: u16 = libc::ETH_P_IP as u16;
const ETH_P_IPV6: u16 = libc::ETH_P_IPV6 as u16;
/// Binding a packet socket to interface 0 receives from every interface.
const EVERY_INTERFACE: u32 = 0;

/// Sends complete Ethernet frames on one interface.
///
/// A frame a system call ([`FrameSender::send`]) or a batch of them ([`FrameSender::send_many`],
/// sendmmsg). Into a link that discards every frame (an ifb device, `lab::Lab::route_to_sink`),
/// where only the kernel's own part of sending counts, one core of a 2-core virtual machine
/// sent 0.85-0.97 M frames a second one a call, 1.1-1.23 M in batches of 64, and 1.2-1.56 M
/// from a transmit ring (PACKET_TX_RING). The ring is not used: each ring costs a network
/// grace period to set up (some 35 ms a scan group), and over veth the kernel copies every
/// ring frame into new pages, so lab scans whose targets answer ran 20 % slower. A real NIC
/// sends from the ring itself and may differ; not measured here.
pub struct FrameSender {
    socket: Socket,
}

impl FrameSender {
    pub fn open(interface: u32) -> Result<FrameSender, RawSocketError> {
        // Protocol 0: a socket that sends only, so the kernel queues it no copy of any frame.
        let socket =
            Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0))).map_err(RawSocketError::opening)?;
        socket.bind(&link_address(interface, 0)).map_err(RawSocketError::Io)?;
        // Straight to the driver: the queueing discipline adds work and, full, drops frames.
        // Older kernels lack the option; frames then take the usual way.
        let _ = set_option(&socket, libc::PACKET_QDISC_BYPASS, 1);
        Ok(FrameSender { socket })
    }

    /// Sends one frame, Ethernet header included.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        crate::sent_whole(self.socket.send(frame)?, frame.len())
    }

    /// Sends the first of `frames` and as many after it, in order, as one system call
    /// (sendmmsg) takes: at most [`FrameSender::MOST_AT_ONCE`]. Returns how many were sent,
    /// at least one of a non-empty list; an error is the first frame's, none of them sent.
    pub fn send_many(&self, frames: &[&[u8]]) -> io::Result<usize> {
        let frames = &frames[..frames.len().min(Self::MOST_AT_ONCE)];
        // SAFETY: all-zero is a valid iovec and mmsghdr (null pointers, zero lengths).
        let mut pieces: [libc::iovec; Self::MOST_AT_ONCE] = unsafe { std::mem::zeroed() };
        let mut messages: [libc::mmsghdr; Self::MOST_AT_ONCE] = unsafe { std::mem::zeroed() };
        for ((frame, piece), message) in frames.iter().zip(&mut pieces).zip(&mut messages) {
            // The kernel only reads through the pointer: sendmmsg sends, it does not fill.
            *piece = libc::iovec { iov_base: frame.as_ptr().cast_mut().cast(), iov_len: frame.len() };
            message.msg_hdr.msg_iov = piece;
            message.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `messages[..frames.len()]` each point at one iovec of a live frame; the
        // kernel reads them during the call and writes only each message's `msg_len`.
        let sent =
            unsafe { libc::sendmmsg(self.socket.as_raw_fd(), messages.as_mut_ptr(), frames.len() as libc::c_uint, 0) };
        let sent = usize::try_from(sent).map_err(|_| io::Error::last_os_error())?;
        for (message, frame) in messages.iter().zip(frames).take(sent) {
            crate::sent_whole(message.msg_len as usize, frame.len())?;
        }
        Ok(sent)
    }

    /// The most frames [`FrameSender::send_many`] sends in one call: enough that the call's
    /// own cost is spread thin, few enough for its tables to sit on the stack.
    pub const MOST_AT_ONCE: usize = 64;
}

/// Receives the IP packets arriving on one interface, or IPv6 packets on every interface (from
/// their IP header on), never the ones sent from this host.
pub struct LinkReceiver {
    socket: Socket,
}

impl LinkReceiver {
    /// A receiver keeping only TCP segments and UDP datagrams to `ports` (the scan's source
    /// ports) and the ICMP messages that answer probes.
    pub fn open(interface: u32, ports: RangeInclusive<u16>) -> Result<LinkReceiver, RawSocketError> {
        Self::open_filtered(interface, ETH_P_IP, &crate::filter::answers(ports))
    }

    /// A receiver of the IPv6 packets arriving on `interface` (on every one when `None`) that
    /// can answer probes from `ports`: TCP and UDP to those ports, ICMPv6 errors and echo
    /// replies, and packets with extension headers, which the parsers walk.
    pub fn open_ipv6(interface: Option<u32>, ports: RangeInclusive<u16>) -> Result<LinkReceiver, RawSocketError> {
        let interface = interface.unwrap_or(EVERY_INTERFACE);
        Self::open_filtered(interface, ETH_P_IPV6, &crate::filter::answers_v6(ports))
    }

    fn open_filtered(
        interface: u32,
        protocol: u16,
        filter: &[libc::sock_filter],
    ) -> Result<LinkReceiver, RawSocketError> {
        // Datagram mode strips the link header, so the filter and the parsers see what a raw
        // IP socket sees. Opened for protocol 0 the socket receives nothing; binding it to the
        // interface for the protocol starts reception, once the filter and options are on, so
        // nothing unfiltered or from another interface is ever queued.
        let socket =
            Socket::new(Domain::PACKET, Type::DGRAM, Some(Protocol::from(0))).map_err(RawSocketError::opening)?;
        crate::filter::attach(&socket, filter).map_err(RawSocketError::Io)?;
        set_option(&socket, libc::PACKET_IGNORE_OUTGOING, 1).map_err(RawSocketError::Io)?;
        socket.bind(&link_address(interface, protocol)).map_err(RawSocketError::Io)?;
        let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
        Ok(LinkReceiver { socket })
    }

    /// The next packet already queued, without waiting.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        crate::raw::try_recv(&self.socket, buf)
    }

    /// The next packet, waiting at most `timeout` for one.
    pub fn recv_timeout(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        crate::raw::recv_timeout(&self.socket, buf, timeout)
    }
}

/// A `sockaddr_ll` binding a packet socket to interface `index` for `protocol` (host order;
/// 0 binds the interface only).
fn link_address(index: u32, protocol: u16) -> SockAddr {
    crate::link::sockaddr_ll(index, protocol.to_be(), None)
}

/// Sets a packet-socket option that takes an int.
fn set_option(socket: &Socket, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the packet-socket options set here (PACKET_QDISC_BYPASS, PACKET_IGNORE_OUTGOING)
    // take an int.
    unsafe { crate::set_option(socket, libc::SOL_PACKET, option, &value) }
}
