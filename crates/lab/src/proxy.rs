//! Proxies for the lab: SOCKS4, SOCKS5 (without authentication) and HTTP CONNECT, each
//! connecting onwards from the namespace it runs in and relaying both ways, answering as real
//! proxies do when the connection is refused (SOCKS5 code 5, SOCKS4 91, HTTP 502) or the
//! destination stays silent (SOCKS5 code 4, SOCKS4 91, HTTP 504).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// A proxy's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Socks4,
    Socks5,
    Http,
}

/// How long a proxy waits for the destination to accept.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Serves one client: reads its request, connects onwards, answers, and relays.
pub(crate) fn serve(kind: ProxyKind, mut client: TcpStream) {
    let _ = client.set_nonblocking(false);
    let Ok(Some(destination)) = read_request(kind, &mut client) else { return };
    let onward = TcpStream::connect_timeout(&destination, CONNECT_TIMEOUT);
    let answer = reply(kind, onward.as_ref().map(|_| ()).map_err(io::Error::kind));
    if client.write_all(&answer).is_err() {
        return;
    }
    let Ok(onward) = onward else { return };
    relay(client, onward);
}

fn read_request(kind: ProxyKind, client: &mut TcpStream) -> io::Result<Option<SocketAddr>> {
    match kind {
        ProxyKind::Socks4 => {
            let mut head = [0u8; 8];
            client.read_exact(&mut head)?;
            let mut byte = [0u8; 1];
            while client.read(&mut byte)? == 1 && byte[0] != 0 {} // the user id
            let addr = Ipv4Addr::new(head[4], head[5], head[6], head[7]);
            Ok((head[..2] == [4, 1]).then(|| SocketAddr::new(addr.into(), u16::from_be_bytes([head[2], head[3]]))))
        }
        ProxyKind::Socks5 => {
            let mut greeting = [0u8; 2];
            client.read_exact(&mut greeting)?;
            let mut methods = vec![0u8; usize::from(greeting[1])];
            client.read_exact(&mut methods)?;
            client.write_all(&[5, 0])?;
            let mut head = [0u8; 4];
            client.read_exact(&mut head)?;
            let addr: IpAddr = match head[3] {
                1 => {
                    let mut octets = [0u8; 4];
                    client.read_exact(&mut octets)?;
                    Ipv4Addr::from(octets).into()
                }
                4 => {
                    let mut octets = [0u8; 16];
                    client.read_exact(&mut octets)?;
                    Ipv6Addr::from(octets).into()
                }
                _ => return Ok(None),
            };
            let mut port = [0u8; 2];
            client.read_exact(&mut port)?;
            Ok((head[1] == 1).then(|| SocketAddr::new(addr, u16::from_be_bytes(port))))
        }
        ProxyKind::Http => {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 && client.read(&mut byte)? == 1 {
                head.push(byte[0]);
            }
            let text = String::from_utf8_lossy(&head);
            let mut words = text.split_whitespace();
            Ok((words.next() == Some("CONNECT")).then(|| words.next()?.parse().ok()).flatten())
        }
    }
}

/// The proxy's answer to its client, by how connecting onwards went.
fn reply(kind: ProxyKind, onward: Result<(), io::ErrorKind>) -> Vec<u8> {
    let refused = onward == Err(io::ErrorKind::ConnectionRefused);
    match kind {
        ProxyKind::Socks4 => vec![0, if onward.is_ok() { 90 } else { 91 }, 0, 0, 0, 0, 0, 0],
        ProxyKind::Socks5 => {
            let code = match onward {
                Ok(()) => 0,
                Err(_) if refused => 5,
                Err(_) => 4,
            };
            vec![5, code, 0, 1, 0, 0, 0, 0, 0, 0]
        }
        ProxyKind::Http => {
            let status = match onward {
                Ok(()) => "200 Connection established",
                Err(_) if refused => "502 Bad Gateway",
                Err(_) => "504 Gateway Timeout",
            };
            format!("HTTP/1.1 {status}\r\n\r\n").into_bytes()
        }
    }
}

/// Copies bytes both ways until either side closes.
fn relay(client: TcpStream, onward: TcpStream) {
    let (Ok(mut client_in), Ok(mut onward_in)) = (client.try_clone(), onward.try_clone()) else { return };
    let (mut client_out, mut onward_out) = (client, onward);
    let upstream = std::thread::spawn(move || {
        let _ = io::copy(&mut client_in, &mut onward_out);
        let _ = onward_out.shutdown(std::net::Shutdown::Write);
    });
    let _ = io::copy(&mut onward_in, &mut client_out);
    let _ = client_out.shutdown(std::net::Shutdown::Write);
    let _ = upstream.join();
}

/// Binds the proxies' listeners (every address of the namespace).
pub(crate) fn bind(proxies: &[(u16, ProxyKind)]) -> io::Result<Vec<(TcpListener, ProxyKind)>> {
    proxies
        .iter()
        .map(|&(port, kind)| {
            let listener = TcpListener::bind(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port))?;
            listener.set_nonblocking(true)?;
            Ok((listener, kind))
        })
        .collect()
}

/// Accepts whatever clients are waiting, each served on a thread of its own (in the same
/// namespace: a thread starts in its creator's); returns whether there were any.
pub(crate) fn accept_all(listeners: &[(TcpListener, ProxyKind)]) -> bool {
    let mut any = false;
    for (listener, kind) in listeners {
        while let Ok((client, _)) = listener.accept() {
            any = true;
            let kind = *kind;
            std::thread::spawn(move || serve(kind, client));
        }
    }
    any
}
