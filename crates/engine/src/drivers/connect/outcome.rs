//! What a connect() attempt says about a port.

use std::io;

use model::{PortState, Reason};
use tokio::net::TcpStream;

/// The meaning of one connect() attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The target (or a router for it) answered: the port's state is known.
    Answer(PortState, Reason),
    /// Nothing came back in time; the port may be probed again.
    Silent,
}

/// Classifies a finished connect(); `None` from the caller's timer means silence. Errors that
/// say nothing about the target (out of descriptors, bad arguments) are returned as errors.
pub fn classify(attempt: Option<io::Result<TcpStream>>) -> io::Result<Outcome> {
    match attempt {
        None => Ok(Outcome::Silent),
        Some(Ok(stream)) if is_self_connection(&stream) => Ok(Outcome::Silent),
        Some(Ok(_)) => Ok(Outcome::Answer(PortState::Open, Reason::SynAck)),
        Some(Err(error)) => classify_error(error),
    }
}

/// Connecting to a local port from that same port makes Linux join the socket to itself (TCP
/// simultaneous open), which looks like an open port where nothing listens. Probing again from
/// another source port gives the real answer.
fn is_self_connection(stream: &TcpStream) -> bool {
    matches!((stream.local_addr(), stream.peer_addr()), (Ok(local), Ok(peer)) if local == peer)
}

/// Linux reports ICMP unreachables as errno values (icmp_err_convert): admin-prohibited (code 13)
/// arrives as EHOSTUNREACH too, so a connect scan names it host-unreach, as Nmap does.
pub fn classify_error(error: io::Error) -> io::Result<Outcome> {
    const ECONNREFUSED: i32 = 111;
    const EHOSTUNREACH: i32 = 113;
    const ENETUNREACH: i32 = 101;
    const EHOSTDOWN: i32 = 112;
    const ETIMEDOUT: i32 = 110;
    const EACCES: i32 = 13;
    const EPERM: i32 = 1;
    let filtered = |reason| Ok(Outcome::Answer(PortState::Filtered, reason));
    match error.raw_os_error() {
        Some(ECONNREFUSED) => Ok(Outcome::Answer(PortState::Closed, Reason::ConnRefused)),
        Some(EHOSTUNREACH | EHOSTDOWN) => filtered(Reason::HostUnreach),
        Some(ENETUNREACH) => filtered(Reason::NetUnreach),
        // The local firewall refused to send the SYN.
        Some(EACCES | EPERM) => filtered(Reason::AdminProhibited),
        Some(ETIMEDOUT) => Ok(Outcome::Silent),
        _ => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(code: i32) -> io::Result<Outcome> {
        classify_error(io::Error::from_raw_os_error(code))
    }

    #[test]
    fn errno_values_map_to_nmaps_states_and_reasons() {
        assert_eq!(errno(111).unwrap(), Outcome::Answer(PortState::Closed, Reason::ConnRefused));
        assert_eq!(errno(113).unwrap(), Outcome::Answer(PortState::Filtered, Reason::HostUnreach));
        assert_eq!(errno(101).unwrap(), Outcome::Answer(PortState::Filtered, Reason::NetUnreach));
        assert_eq!(errno(1).unwrap(), Outcome::Answer(PortState::Filtered, Reason::AdminProhibited));
        assert_eq!(errno(110).unwrap(), Outcome::Silent);
    }

    #[test]
    fn local_resource_errors_are_not_taken_for_port_states() {
        assert!(errno(24).is_err(), "EMFILE");
        assert!(errno(99).is_err(), "EADDRNOTAVAIL");
    }

    #[test]
    fn a_timer_expiry_is_silence() {
        assert_eq!(classify(None).unwrap(), Outcome::Silent);
    }

    #[tokio::test]
    async fn a_socket_connected_to_itself_is_not_an_open_port() {
        // Bind a client to a free port, then connect it to that same address: Linux joins the
        // socket to itself, the case the connect scan must not report as open.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(addr).unwrap();
        let stream = socket.connect(addr).await.expect("self-connect succeeds on Linux");
        assert_eq!(classify(Some(Ok(stream))).unwrap(), Outcome::Silent);
    }
}
