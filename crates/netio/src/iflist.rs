//! This host's interfaces and routes, for `--iflist`: addresses from getifaddrs(3), kinds,
//! MTUs and hardware addresses from sysfs, routes from procfs (`/proc/net/route` and
//! `/proc/net/ipv6_route`, as Nmap reads them).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One address of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    pub name: String,
    pub addr: IpAddr,
    pub prefix_len: u32,
    pub kind: InterfaceKind,
    pub up: bool,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
}

/// What sort of link an interface is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterfaceKind {
    Loopback,
    Ethernet,
    Other,
}

/// One route of the main routing tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub dst: IpAddr,
    pub prefix_len: u32,
    pub device: String,
    pub metric: u32,
    pub gateway: Option<IpAddr>,
}

/// Linux's ARPHRD_ETHER and ARPHRD_LOOPBACK, as /sys/class/net/*/type gives them.
const ARPHRD_ETHER: u32 = 1;
const ARPHRD_LOOPBACK: u32 = 772;
/// RTF_REJECT: an unreachable route, which listings leave out.
const RTF_REJECT: u32 = 0x0200;

/// Every IPv4 and IPv6 address of every interface, interface by interface: the IPv4 ones
/// from getifaddrs(3), then the IPv6 ones in the order of `/proc/net/if_inet6` (Nmap's).
pub fn interface_addresses() -> io::Result<Vec<InterfaceAddress>> {
    let mut found: Vec<(u32, InterfaceAddress)> = Vec::new();
    let mut up_interfaces = std::collections::HashSet::new();
    for interface in nix::ifaddrs::getifaddrs().map_err(io::Error::from)? {
        let name = interface.interface_name.clone();
        if interface.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP) {
            up_interfaces.insert(name.clone());
        }
        let address = interface.address.as_ref().and_then(|a| a.as_sockaddr_in());
        let netmask = interface.netmask.as_ref().and_then(|m| m.as_sockaddr_in());
        if let (Some(addr), Some(mask)) = (address, netmask) {
            found.push(described(name, addr.ip().into(), u32::from(mask.ip()).count_ones()));
        }
    }
    let inet6 = std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
    let v6 =
        parse_if_inet6(&inet6).into_iter().map(|(name, addr, prefix_len)| described(name, addr.into(), prefix_len));
    found.extend(v6);
    for (_, address) in &mut found {
        address.up = up_interfaces.contains(&address.name);
    }
    // IPv4 addresses come first; a stable sort by interface keeps that within each.
    found.sort_by_key(|(index, _)| *index);
    Ok(found.into_iter().map(|(_, address)| address).collect())
}

/// An address of interface `name`, with the interface's kind, MTU and hardware address
/// (whether it is up is filled in by the caller).
fn described(name: String, addr: IpAddr, prefix_len: u32) -> (u32, InterfaceAddress) {
    let kind = match sys_value(&name, "type") {
        Some(ARPHRD_ETHER) => InterfaceKind::Ethernet,
        Some(ARPHRD_LOOPBACK) => InterfaceKind::Loopback,
        _ => InterfaceKind::Other,
    };
    let mac = (kind == InterfaceKind::Ethernet).then(|| crate::link::hardware_address(&name)).flatten();
    let index = nix::net::if_::if_nametoindex(name.as_str()).unwrap_or(u32::MAX);
    (index, InterfaceAddress { mtu: sys_value(&name, "mtu"), name, addr, prefix_len, kind, up: false, mac })
}

/// `/proc/net/if_inet6`: "address index prefix-length scope flags device", in hex.
fn parse_if_inet6(text: &str) -> Vec<(String, Ipv6Addr, u32)> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let addr = Ipv6Addr::from(u128::from_str_radix(fields.first()?, 16).ok()?);
            let prefix_len = u32::from_str_radix(fields.get(2)?, 16).ok()?;
            Some((fields.get(5)?.to_string(), addr, prefix_len))
        })
        .collect()
}

/// A number from /sys/class/net/`name`/`file`.
fn sys_value(name: &str, file: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/{file}")).ok()?.trim().parse().ok()
}

/// The IPv4 and IPv6 main routes, in the kernel's order, unreachable ones left out.
pub fn route_table() -> io::Result<Vec<RouteEntry>> {
    let mut routes = parse_routes_v4(&std::fs::read_to_string("/proc/net/route")?);
    // A kernel without IPv6 has no IPv6 routes to list.
    routes.extend(parse_routes_v6(&std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default()));
    Ok(routes)
}

/// `/proc/net/route`: "Iface Destination Gateway Flags RefCnt Use Metric Mask …", addresses
/// as hex of their bytes in the host's (little-endian) order.
fn parse_routes_v4(text: &str) -> Vec<RouteEntry> {
    let address = |hex: &str| u32::from_str_radix(hex, 16).ok().map(|raw| Ipv4Addr::from(raw.swap_bytes()));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags = u32::from_str_radix(fields.get(3)?, 16).ok()?;
            if flags & RTF_REJECT != 0 {
                return None;
            }
            let gateway = address(fields.get(2)?)?;
            Some(RouteEntry {
                dst: address(fields.get(1)?)?.into(),
                prefix_len: u32::from(address(fields.get(7)?)?).count_ones(),
                device: fields.first()?.to_string(),
                metric: fields.get(6)?.parse().ok()?,
                gateway: (!gateway.is_unspecified()).then_some(gateway.into()),
            })
        })
        .collect()
}

/// `/proc/net/ipv6_route`: "dest plen src plen next-hop metric refcnt use flags device",
/// in hex.
fn parse_routes_v6(text: &str) -> Vec<RouteEntry> {
    let address = |hex: &str| u128::from_str_radix(hex, 16).ok().map(Ipv6Addr::from);
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags = u32::from_str_radix(fields.get(8)?, 16).ok()?;
            if flags & RTF_REJECT != 0 {
                return None;
            }
            let gateway = address(fields.get(4)?)?;
            Some(RouteEntry {
                dst: address(fields.first()?)?.into(),
                prefix_len: u32::from_str_radix(fields.get(1)?, 16).ok()?,
                device: fields.get(9)?.to_string(),
                metric: u32::from_str_radix(fields.get(5)?, 16).ok()?,
                gateway: (!gateway.is_unspecified()).then_some(gateway.into()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procfs_ipv6_addresses_read_with_their_prefixes() {
        let text = "fe80000000000000b81bc1fffec4622a 02 40 20 80    scan0\n\
                    00000000000000000000000000000001 01 80 10 80       lo\n";
        let addresses = parse_if_inet6(text);
        assert_eq!(addresses[0], ("scan0".to_string(), "fe80::b81b:c1ff:fec4:622a".parse().unwrap(), 64));
        assert_eq!(addresses[1], ("lo".to_string(), Ipv6Addr::LOCALHOST, 128));
    }

    #[test]
    fn procfs_routes_read_with_their_masks_metrics_and_gateways() {
        let v4 = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                  scan0\t000012C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                  scan0\t00000000\t020012C6\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
        let routes = parse_routes_v4(v4);
        assert_eq!(routes[0].dst, IpAddr::from([198, 18, 0, 0]));
        assert_eq!((routes[0].prefix_len, routes[0].metric, routes[0].gateway), (24, 0, None));
        assert_eq!((routes[1].prefix_len, routes[1].metric), (0, 100));
        assert_eq!(routes[1].gateway, Some(IpAddr::from([198, 18, 0, 2])));
        let v6 = "20010002000000000000000000000000 40 00000000000000000000000000000000 00 \
                  00000000000000000000000000000000 00000100 00000001 00000000 00000001    scan0\n\
                  00000000000000000000000000000000 00 00000000000000000000000000000000 00 \
                  00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
        let routes = parse_routes_v6(v6);
        assert_eq!(routes.len(), 1, "the reject route is left out");
        assert_eq!(routes[0].dst.to_string(), "2001:2::");
        assert_eq!((routes[0].prefix_len, routes[0].metric, routes[0].device.as_str()), (64, 256, "scan0"));
    }
}
