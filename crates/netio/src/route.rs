use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Socket, Type};

/// The local address the kernel would send from to reach `dst` (through `device`, when one is
/// named), from its routing table. Connecting a UDP socket sends nothing; it only makes the
/// kernel choose the route.
pub fn source_for(dst: IpAddr, device: Option<&str>) -> io::Result<IpAddr> {
    let unspecified: IpAddr = match dst {
        IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = Socket::new(Domain::for_address(SocketAddr::new(dst, 0)), Type::DGRAM, None)?;
    bind_device(&socket, device)?;
    socket.bind(&SocketAddr::new(unspecified, 0).into())?;
    // Any port will do: nothing is sent.
    socket.connect(&SocketAddr::new(dst, 9).into())?;
    socket.local_addr()?.as_socket().map(|a| a.ip()).ok_or_else(|| io::Error::other("no local address"))
}

/// The index of the interface named `name` (`-e`); an unknown name is an error naming it.
pub fn interface_index(name: &str) -> io::Result<u32> {
    nix::net::if_::if_nametoindex(name)
        .map_err(|errno| io::Error::new(io::Error::from(errno).kind(), format!("interface '{name}': {errno}")))
}

/// Ties a socket to one interface (`-e`); an unknown name is an error naming it.
pub fn bind_device(socket: &Socket, device: Option<&str>) -> io::Result<()> {
    let Some(name) = device else { return Ok(()) };
    socket
        .bind_device(Some(name.as_bytes()))
        .map_err(|error| io::Error::new(error.kind(), format!("interface '{name}': {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_are_found_by_name_and_unknown_ones_named() {
        assert!(interface_index("lo").unwrap() > 0);
        let error = interface_index("no-such-if").unwrap_err();
        assert!(error.to_string().starts_with("interface 'no-such-if': "), "{error}");
    }

    #[test]
    fn loopback_is_reached_from_loopback() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(source_for(loopback, None).unwrap(), loopback);
    }
}
