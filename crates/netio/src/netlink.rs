//! The kernel's routing and neighbour tables, asked over rtnetlink: which interface and
//! gateway reach a destination, and the hardware addresses the kernel has learnt on a link.
//! Frames sent on the link layer need both, since they bypass the kernel's own routing.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use socket2::{Domain, Protocol, Socket, Type};

/// How the kernel would send to a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The outgoing interface's index.
    pub interface: u32,
    /// The next hop, when the destination is not on the interface's own link.
    pub gateway: Option<IpAddr>,
    /// The address the kernel would send from.
    pub source: Option<IpAddr>,
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
const RTA_PREFSRC: u16 = 7;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
/// Neighbour states whose hardware address is usable (reachable, stale, delay, probe,
/// noarp, permanent): not incomplete or failed.
const NUD_USABLE: u16 = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;

const HEADER_LEN: usize = 16;
const RTMSG_LEN: usize = 12;
const NDMSG_LEN: usize = 12;

/// Route requests a lookup keeps in flight on its socket.
const ROUTES_IN_FLIGHT: usize = 256;

/// The route the kernel would take to `dst`, out of interface `through` when one is given (`-e`).
pub fn route_to(dst: IpAddr, through: Option<u32>) -> io::Result<Route> {
    let replies = ask(RTM_GETROUTE, NLM_F_REQUEST, &route_request(dst, through))?;
    replies
        .iter()
        .find_map(|(kind, body)| (*kind == RTM_NEWROUTE).then(|| parse_route(body)).flatten())
        .ok_or_else(|| io::Error::other(format!("the kernel gave no usable route to {dst}")))
}

/// The route the kernel would take to each of `dsts` (out of `through` when given), or why
/// there is none: a sweep of a /16 has 65,536 routes to look up, each target following its
/// own (policy routes, several gateways). The kernel answers each request on the asking
/// thread, so the lookups are shared among threads, one per core, each with its socket and
/// many requests in flight.
pub fn routes_to(dsts: &[IpAddr], through: Option<u32>) -> io::Result<Vec<io::Result<Route>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_ROUTE_THREADS);
    let share = dsts.len().div_ceil(threads).max(ROUTES_IN_FLIGHT);
    let looked_up: Vec<io::Result<Vec<io::Result<Route>>>> = std::thread::scope(|scope| {
        let lookups: Vec<_> =
            dsts.chunks(share).map(|part| scope.spawn(move || routes_over_one_socket(part, through))).collect();
        lookups.into_iter().map(|lookup| lookup.join().expect("a route lookup panicked")).collect()
    });
    let mut routes = Vec::with_capacity(dsts.len());
    for part in looked_up {
        routes.extend(part?);
    }
    Ok(routes)
}

/// Threads looking up routes at most.
const MAX_ROUTE_THREADS: usize = 4;

/// [`routes_to`] over one socket, many requests in flight.
fn routes_over_one_socket(dsts: &[IpAddr], through: Option<u32>) -> io::Result<Vec<io::Result<Route>>> {
    let socket = Socket::new(Domain::from(libc::AF_NETLINK), Type::RAW, Some(Protocol::from(libc::NETLINK_ROUTE)))?;
    let mut routes: Vec<Option<io::Result<Route>>> = (0..dsts.len()).map(|_| None).collect();
    let mut buf = vec![0u8; 64 << 10];
    for (chunk, chunk_dsts) in dsts.chunks(ROUTES_IN_FLIGHT).enumerate() {
        let first = chunk * ROUTES_IN_FLIGHT;
        // One datagram carries the whole chunk of requests: one system call, not hundreds.
        let mut requests = Vec::new();
        for (offset, &dst) in chunk_dsts.iter().enumerate() {
            // Sequence numbers start at one: the index of the destination, plus one.
            let seq = u32::try_from(first + offset + 1).map_err(|_| io::Error::other("too many routes"))?;
            requests.extend(request(RTM_GETROUTE, NLM_F_REQUEST, seq, &route_request(dst, through)));
        }
        socket.send(&requests)?;
        let mut answered = 0;
        while answered < chunk_dsts.len() {
            let received = (&socket).read(&mut buf)?;
            for message in messages(&buf[..received]) {
                let Some(slot) = (message.seq as usize).checked_sub(1).and_then(|index| routes.get_mut(index)) else {
                    continue;
                };
                let answer = match message.kind {
                    RTM_NEWROUTE => parse_route(message.payload).ok_or_else(|| io::Error::other("an unusable route")),
                    NLMSG_ERROR => match check_error(message.payload) {
                        Err(error) => Err(error),
                        Ok(()) => continue,
                    },
                    _ => continue,
                };
                if slot.replace(answer).is_none() {
                    answered += 1;
                }
            }
        }
    }
    Ok(routes.into_iter().map(|route| route.expect("every request was answered")).collect())
}

/// An RTM_GETROUTE body for a host route to `dst`.
fn route_request(dst: IpAddr, through: Option<u32>) -> Vec<u8> {
    let mut body = vec![0u8; RTMSG_LEN];
    // rtm_family, and rtm_dst_len: a host route.
    match dst {
        IpAddr::V4(dst) => {
            (body[0], body[1]) = (libc::AF_INET as u8, 32);
            push_attribute(&mut body, RTA_DST, &dst.octets());
        }
        IpAddr::V6(dst) => {
            (body[0], body[1]) = (libc::AF_INET6 as u8, 128);
            push_attribute(&mut body, RTA_DST, &dst.octets());
        }
    }
    if let Some(index) = through {
        push_attribute(&mut body, RTA_OIF, &index.to_ne_bytes());
    }
    body
}

/// The neighbours of interface `interface`, of both families, with a usable hardware address.
pub fn neighbours(interface: u32) -> io::Result<HashMap<IpAddr, [u8; 6]>> {
    let body = vec![0u8; NDMSG_LEN]; // ndm_family AF_UNSPEC: ARP's and neighbour discovery's

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
    // An unconnected netlink socket sends to the kernel.
    socket.send(&request(kind, flags, 1, body))?;
    let dump = flags & NLM_F_DUMP != 0;
    let mut replies = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let received = (&socket).read(&mut buf)?;
        for message in messages(&buf[..received]) {
            match message.kind {
                NLMSG_DONE => return Ok(replies),
                NLMSG_ERROR => check_error(message.payload)?,
                _ => replies.push((message.kind, message.payload.to_vec())),
            }
        }
        if !dump && !replies.is_empty() {
            return Ok(replies);
        }
    }
}

/// A netlink request with sequence number `seq`.
fn request(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let len = HEADER_LEN + body.len();
    let mut request = Vec::with_capacity(len);
    request.extend_from_slice(&(len as u32).to_ne_bytes());
    request.extend_from_slice(&kind.to_ne_bytes());
    request.extend_from_slice(&flags.to_ne_bytes());
    request.extend_from_slice(&seq.to_ne_bytes());
    request.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel assigns ours
    request.extend_from_slice(body);
    request
}

/// A netlink message: its type, the sequence number of the request it answers, its payload.
struct Message<'a> {
    kind: u16,
    seq: u32,
    payload: &'a [u8],
}

/// The netlink messages in one datagram; a malformed tail is ignored.
fn messages(mut datagram: &[u8]) -> Vec<Message<'_>> {
    let mut found = Vec::new();
    while datagram.len() >= HEADER_LEN {
        let len = u32::from_ne_bytes(datagram[..4].try_into().expect("4 bytes")) as usize;
        if len < HEADER_LEN || len > datagram.len() {
            break;
        }
        let kind = u16::from_ne_bytes([datagram[4], datagram[5]]);
        let seq = u32::from_ne_bytes(datagram[8..12].try_into().expect("4 bytes"));
        found.push(Message { kind, seq, payload: &datagram[HEADER_LEN..len] });
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
    let (mut gateway, mut source) = (None, None);
    for (kind, value) in attributes(body, RTMSG_LEN) {
        match kind {
            RTA_OIF => interface = Some(u32::from_ne_bytes(value.try_into().ok()?)),
            RTA_GATEWAY => gateway = Some(address(value)?),
            RTA_PREFSRC => source = Some(address(value)?),
            _ => {}
        }
    }
    Some(Route { interface: interface?, gateway, source })
}

/// An address attribute: four bytes for IPv4, sixteen for IPv6.
fn address(value: &[u8]) -> Option<IpAddr> {
    match value.len() {
        4 => Some(Ipv4Addr::from(<[u8; 4]>::try_from(value).ok()?).into()),
        16 => Some(Ipv6Addr::from(<[u8; 16]>::try_from(value).ok()?).into()),
        _ => None,
    }
}

struct Neighbour {
    interface: u32,
    addr: IpAddr,
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
            NDA_DST => addr = address(value),
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

/// The netlink reply parsers run over any bytes, for the fuzz targets.
#[cfg(feature = "fuzzing")]
pub fn parse_any_datagram(bytes: &[u8]) {
    for message in messages(bytes) {
        let _ = parse_route(message.payload);
        let _ = parse_neighbour(message.payload);
        let _ = check_error(message.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn loopback_is_routed_through_the_loopback_interface_without_a_gateway() {
        let route = route_to(Ipv4Addr::LOCALHOST.into(), None).expect("a route to 127.0.0.1");
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
        push_attribute(&mut body, RTA_PREFSRC, &[198, 18, 0, 1]);
        let (gateway, source) = (Some([198, 18, 0, 2].into()), Some([198, 18, 0, 1].into()));
        assert_eq!(parse_route(&body), Some(Route { interface: 7, gateway, source }));
        let mut body = vec![0u8; RTMSG_LEN];
        let router: Ipv6Addr = "2001:2::2".parse().unwrap();
        push_attribute(&mut body, RTA_GATEWAY, &router.octets());
        push_attribute(&mut body, RTA_OIF, &7u32.to_ne_bytes());
        assert_eq!(parse_route(&body), Some(Route { interface: 7, gateway: Some(router.into()), source: None }));
    }

    #[test]
    fn routes_to_many_destinations_come_back_in_order_with_the_unroutable_ones_said_so() {
        // Loopback everywhere; an unroutable class-E address among them (first of the second
        // thread's share on two cores), and more than one round of requests in flight.
        let mut dsts: Vec<IpAddr> = (0..600).map(|i| Ipv4Addr::from(0x7f00_0001 + i).into()).collect();
        dsts[300] = Ipv4Addr::new(240, 0, 0, 1).into();
        dsts[301] = Ipv6Addr::LOCALHOST.into();
        let routes = routes_to(&dsts, None).expect("a netlink socket");
        assert_eq!(routes.len(), 600);
        let lo = nix::net::if_::if_nametoindex("lo").expect("lo");
        assert!(routes.iter().enumerate().filter(|&(i, _)| i != 300).all(|(_, r)| r.as_ref().unwrap().interface == lo));
        assert!(routes[300].is_err() || routes[300].as_ref().is_ok_and(|route| route.interface != lo));
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
        assert_eq!(neighbour(0x02), Some((3, IpAddr::from([198, 18, 0, 2]), [2, 0, 0, 0, 0, 2])));
        assert_eq!(neighbour(0x01), None, "incomplete");
        assert_eq!(neighbour(0x20), None, "failed");
    }

    proptest! {
        #[test]
        fn replies_of_any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            for message in messages(&bytes) {
                let _ = parse_route(message.payload);
                let _ = parse_neighbour(message.payload);
                let _ = check_error(message.payload);
            }
            let _ = parse_route(&bytes);
            let _ = parse_neighbour(&bytes);
        }
    }
}
