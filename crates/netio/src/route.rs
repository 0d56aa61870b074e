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
    fn loopback_is_reached_from_loopback() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(source_for(loopback, None).unwrap(), loopback);
    }
}
