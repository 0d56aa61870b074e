//! The kernel's routing and neighbour tables, asked over rtnetlink: which interface and
//! gateway reach a destination, and the hardware addresses the kernel has learnt on a link.
//! Frames sent on the link layer need both, since they bypass the kernel's own routing.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::Ipv4Addr;

use socket2::{Domain, Protocol, Socket, Type};

/// How the kernel would send to a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The outgoing interface's index.
    pub interface: u32,
    /// The next hop, when the destination is not on the interface's own link.
    pub gateway: Option<Ipv4Addr>,
}

// rtnetlink message types and flags (linux/rtnetlink.h, linux/netlink.h).
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const RTM_NEWNEIGH: u16 = 28;
const RTM_GETNEIGH: u16 = 30;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
/// Neighbour states whose hardware address is usable (reachable, stale, delay, probe,
/// noarp, permanent): not incomplete or failed.
const NUD_USABLE: u16 = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;

const HEADER_LEN: usize = 16;
const RTMSG_LEN: usize = 12;
const NDMSG_LEN: usize = 12;

/// The route the kernel would take to `dst`, out of interface `through` when one is given (`-e`).
pub fn route_to(dst: Ipv4Addr, through: Option<u32>) -> io::Result<Route> {
    let mut body = vec![0u8; RTMSG_LEN];
    body[0] = libc::AF_INET as u8;
    body[1] = 32; // rtm_dst_len: a host route
    push_attribute(&mut body, RTA_DST, &dst.octets());
    if let Some(index) = through {
        push_attribute(&mut body, RTA_OIF, &index.to_ne_bytes());
    }
    let replies = ask(RTM_GETROUTE, NLM_F_REQUEST, &body)?;
    replies
        .iter()
        .find_map(|(kind, body)| (*kind == RTM_NEWROUTE).then(|| parse_route(body)).flatten())
        .ok_or_else(|| io::Error::other(format!("the kernel gave no usable route to {dst}")))
}

/// The IPv4 neighbours of interface `interface` with a usable hardware address.
pub fn neighbours(interface: u32) -> io::Result<HashMap<Ipv4Addr, [u8; 6]>> {
    let mut body = vec![0u8; NDMSG_LEN];
    body[0] = libc::AF_INET as u8;
    let replies = ask(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, &body)?;
    Ok(replies
        .iter()
        .filter(|(kind, _)| *kind == RTM_NEWNEIGH)
        .filter_map(|(_, body)| parse_neighbour(body))
        .filter(|neighbour| neighbour.interface == interface)
        .map(|neighbour| (neighbour.addr, neighbour.mac))
        .collect())
}

/// Sends one request and gathers the bodies of the replies (type and payload), up to the
/// end of a dump or the single answer of a plain request.
fn ask(kind: u16, flags: u16, body: &[u8]) -> io::Result<Vec<(u16, Vec<u8>)>> {
    let socket = Socket::new(Domain::from(libc::AF_NETLINK), Type::RAW, Some(Protocol::from(libc::NETLINK_ROUTE)))?;
    let len = HEADER_LEN + body.len();
    let mut request = Vec::with_capacity(len);
    request.extend_from_slice(&(len as u32).to_ne_bytes());
    request.extend_from_slice(&kind.to_ne_bytes());
    request.extend_from_slice(&flags.to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
    request.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel assigns ours
    request.extend_from_slice(body);
    // An unconnected netlink socket sends to the kernel.
    socket.send(&request)?;
    let dump = flags & NLM_F_DUMP != 0;
    let mut replies = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let received = (&socket).read(&mut buf)?;
        for (reply_kind, payload) in messages(&buf[..received]) {
            match reply_kind {
                NLMSG_DONE => return Ok(replies),
                NLMSG_ERROR => check_error(payload)?,
                _ => replies.push((reply_kind, payload.to_vec())),
            }
        }
        if !dump && !replies.is_empty() {
            return Ok(replies);
        }
    }
}

/// The netlink messages in one datagram, as (type, payload); a malformed tail is ignored.
fn messages(mut datagram: &[u8]) -> Vec<(u16, &[u8])> {
    let mut found = Vec::new();
    while datagram.len() >= HEADER_LEN {
        let len = u32::from_ne_bytes(datagram[..4].try_into().expect("4 bytes")) as usize;
        if len < HEADER_LEN || len > datagram.len() {
            break;
        }
        let kind = u16::from_ne_bytes([datagram[4], datagram[5]]);
        found.push((kind, &datagram[HEADER_LEN..len]));
        datagram = &datagram[align(len).min(datagram.len())..];
    }
    found
}

/// An NLMSG_ERROR payload: errno 0 acknowledges, anything else is the request's failure.
fn check_error(payload: &[u8]) -> io::Result<()> {
    let Some(code) = payload.get(..4) else { return Err(io::Error::other("truncated netlink error")) };
    match i32::from_ne_bytes(code.try_into().expect("4 bytes")) {
        0 => Ok(()),
        errno => Err(io::Error::from_raw_os_error(-errno)),
    }
}

/// The attributes after a fixed-size header, as (type, value).
fn attributes(body: &[u8], fixed: usize) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = body.get(fixed..).unwrap_or(&[]);
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff; // without the nested/byte-order bits
        if len < 4 || len > rest.len() {
            return None;
        }
        let value = &rest[4..len];
        rest = &rest[align(len).min(rest.len())..];
        Some((kind, value))
    })
}

fn parse_route(body: &[u8]) -> Option<Route> {
    let mut interface = None;
    let mut gateway = None;
    for (kind, value) in attributes(body, RTMSG_LEN) {
        match kind {
            RTA_OIF => interface = Some(u32::from_ne_bytes(value.try_into().ok()?)),
            RTA_GATEWAY => gateway = Some(Ipv4Addr::from(<[u8; 4]>::try_from(value).ok()?)),
            _ => {}
        }
    }
    Some(Route { interface: interface?, gateway })
}

struct Neighbour {
    interface: u32,
    addr: Ipv4Addr,
    mac: [u8; 6],
}

fn parse_neighbour(body: &[u8]) -> Option<Neighbour> {
    let interface = u32::try_from(i32::from_ne_bytes(body.get(4..8)?.try_into().ok()?)).ok()?;
    let state = u16::from_ne_bytes(body.get(8..10)?.try_into().ok()?);
    if state & NUD_USABLE == 0 {
        return None;
    }
    let (mut addr, mut mac) = (None, None);
    for (kind, value) in attributes(body, NDMSG_LEN) {
        match kind {
            NDA_DST => addr = <[u8; 4]>::try_from(value).ok().map(Ipv4Addr::from),
            NDA_LLADDR => mac = <[u8; 6]>::try_from(value).ok(),
            _ => {}
        }
    }
    Some(Neighbour { interface, addr: addr?, mac: mac? })
}

fn push_attribute(body: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    body.extend_from_slice(&(len as u16).to_ne_bytes());
    body.extend_from_slice(&kind.to_ne_bytes());
    body.extend_from_slice(value);
    body.resize(align(body.len()), 0);
}

/// Netlink aligns messages and attributes to four bytes.
fn align(len: usize) -> usize {
    (len + 3) & !3
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn loopback_is_routed_through_the_loopback_interface_without_a_gateway() {
        let route = route_to(Ipv4Addr::LOCALHOST, None).expect("a route to 127.0.0.1");
        assert_eq!(route.gateway, None);
        let lo = nix::net::if_::if_nametoindex("lo").expect("lo");
        assert_eq!(route.interface, lo);
    }

    #[test]
    fn the_neighbour_table_can_be_read() {
        let lo = nix::net::if_::if_nametoindex("lo").expect("lo");
        neighbours(lo).expect("a dump of the neighbour table");
    }

    #[test]
    fn a_route_reply_gives_its_interface_and_gateway() {
        let mut body = vec![0u8; RTMSG_LEN];
        push_attribute(&mut body, RTA_DST, &[198, 18, 5, 1]);
        push_attribute(&mut body, RTA_GATEWAY, &[198, 18, 0, 2]);
        push_attribute(&mut body, RTA_OIF, &7u32.to_ne_bytes());
        assert_eq!(parse_route(&body), Some(Route { interface: 7, gateway: Some(Ipv4Addr::new(198, 18, 0, 2)) }));
    }

    #[test]
    fn incomplete_and_failed_neighbours_are_not_usable() {
        let neighbour = |state: u16| {
            let mut body = vec![0u8; NDMSG_LEN];
            body[4..8].copy_from_slice(&3i32.to_ne_bytes());
            body[8..10].copy_from_slice(&state.to_ne_bytes());
            push_attribute(&mut body, NDA_DST, &[198, 18, 0, 2]);
            push_attribute(&mut body, NDA_LLADDR, &[2, 0, 0, 0, 0, 2]);
            parse_neighbour(&body).map(|n| (n.interface, n.addr, n.mac))
        };
        assert_eq!(neighbour(0x02), Some((3, Ipv4Addr::new(198, 18, 0, 2), [2, 0, 0, 0, 0, 2])));
        assert_eq!(neighbour(0x01), None, "incomplete");
        assert_eq!(neighbour(0x20), None, "failed");
    }

    proptest! {
        #[test]
        fn replies_of_any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            for (_, payload) in messages(&bytes) {
                let _ = parse_route(payload);
                let _ = parse_neighbour(payload);
                let _ = check_error(payload);
            }
            let _ = parse_route(&bytes);
            let _ = parse_neighbour(&bytes);
        }
    }
}
