//! `--proxies`: connections relayed through a chain of proxies (SOCKS4, SOCKS5, HTTP
//! CONNECT), each asked to connect to the next and the last to the target. What the last
//! answers is what the target said (SOCKS5 and HTTP tell a refused connection from an
//! unreachable or silent host; SOCKS4 only grants or rejects); a proxy of the chain that
//! fails on the way is an error of the scan, not an answer about a port.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A proxy's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Socks4,
    Socks5,
    Http,
}

/// One proxy of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proxy {
    pub kind: ProxyKind,
    pub addr: SocketAddr,
}

impl Proxy {
    /// `socks4://198.18.0.2:1080`, `socks5://[2001:2::2]:1080`, `http://198.18.0.2:3128`:
    /// proxies are given by address.
    pub fn parse(url: &str) -> Option<Proxy> {
        let (scheme, rest) = url.split_once("://")?;
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "socks4" => ProxyKind::Socks4,
            "socks5" => ProxyKind::Socks5,
            "http" => ProxyKind::Http,
            _ => return None,
        };
        Some(Proxy { kind, addr: rest.trim_end_matches('/').parse().ok()? })
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Socks4 => "socks4",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Http => "http",
        };
        write!(f, "{scheme}://{}", self.addr)
    }
}

/// Why a proxy did not connect onwards.
enum Refusal {
    /// The next hop refused the connection (a closed port).
    Refused,
    /// The next hop could not be reached, or said nothing in time.
    Unreachable,
    TimedOut,
    /// The proxy failed otherwise, or spoke no protocol we know.
    Failed(String),
}

/// Linux's errno values, as a direct connect() would have failed with them.
const ECONNREFUSED: i32 = 111;
const EHOSTUNREACH: i32 = 113;
const ETIMEDOUT: i32 = 110;

/// Connects to `target` through `chain`, `stream` being connected to its first proxy.
pub(super) async fn through(mut stream: TcpStream, chain: &[Proxy], target: SocketAddr) -> io::Result<TcpStream> {
    for (index, proxy) in chain.iter().enumerate() {
        let next = chain.get(index + 1).map_or(target, |next| next.addr);
        let last = index + 1 == chain.len();
        match handshake(proxy.kind, &mut stream, next).await {
            Ok(()) => {}
            Err(refusal) if last => return Err(as_target_error(refusal)),
            Err(refusal) => {
                return Err(io::Error::other(format!("proxy {proxy} could not reach {next}: {}", describe(&refusal))))
            }
        }
    }
    Ok(stream)
}

/// A refusal by the last proxy, as the error a direct connect() would have given.
fn as_target_error(refusal: Refusal) -> io::Error {
    match refusal {
        Refusal::Refused => io::Error::from_raw_os_error(ECONNREFUSED),
        Refusal::Unreachable => io::Error::from_raw_os_error(EHOSTUNREACH),
        Refusal::TimedOut => io::Error::from_raw_os_error(ETIMEDOUT),
        Refusal::Failed(why) => io::Error::other(why),
    }
}

fn describe(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Refused => "connection refused".into(),
        Refusal::Unreachable => "unreachable".into(),
        Refusal::TimedOut => "timed out".into(),
        Refusal::Failed(why) => why.clone(),
    }
}

/// Asks the proxy at the other end of `stream` to connect to `next`.
async fn handshake(kind: ProxyKind, stream: &mut TcpStream, next: SocketAddr) -> Result<(), Refusal> {
    let outcome = match kind {
        ProxyKind::Socks4 => socks4(stream, next).await,
        ProxyKind::Socks5 => socks5(stream, next).await,
        ProxyKind::Http => http(stream, next).await,
    };
    outcome.unwrap_or_else(|error| Err(Refusal::Failed(error.to_string())))
}

/// SOCKS4: CONNECT with an empty user id; granted (90) or rejected (91, or any other).
async fn socks4(stream: &mut TcpStream, next: SocketAddr) -> io::Result<Result<(), Refusal>> {
    let IpAddr::V4(addr) = next.ip() else {
        return Ok(Err(Refusal::Failed(format!("SOCKS4 reaches IPv4 addresses only, not {next}"))));
    };
    let mut request = vec![4, 1];
    request.extend(next.port().to_be_bytes());
    request.extend(addr.octets());
    request.push(0);
    stream.write_all(&request).await?;
    let mut reply = [0u8; 8];
    stream.read_exact(&mut reply).await?;
    Ok(if reply[1] == 90 { Ok(()) } else { Err(Refusal::Refused) })
}

/// SOCKS5 (RFC 1928) without authentication: CONNECT, and the reply's code.
async fn socks5(stream: &mut TcpStream, next: SocketAddr) -> io::Result<Result<(), Refusal>> {
    stream.write_all(&[5, 1, 0]).await?;
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).await?;
    if choice != [5, 0] {
        return Ok(Err(Refusal::Failed("the SOCKS5 proxy wants authentication".into())));
    }
    let mut request = vec![5, 1, 0];
    match next.ip() {
        IpAddr::V4(addr) => request.extend([&[1][..], &addr.octets()].concat()),
        IpAddr::V6(addr) => request.extend([&[4][..], &addr.octets()].concat()),
    }
    request.extend(next.port().to_be_bytes());
    stream.write_all(&request).await?;
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await?;
    let bound_len = match head[3] {
        1 => 4,
        4 => 16,
        3 => usize::from(stream.read_u8().await?),
        _ => return Ok(Err(Refusal::Failed("a malformed SOCKS5 reply".into()))),
    };
    let mut bound = vec![0u8; bound_len + 2];
    stream.read_exact(&mut bound).await?;
    Ok(match head[1] {
        0 => Ok(()),
        5 => Err(Refusal::Refused),
        3 | 4 => Err(Refusal::Unreachable),
        6 => Err(Refusal::TimedOut),
        code => Err(Refusal::Failed(format!("the SOCKS5 proxy failed (code {code})"))),
    })
}

/// HTTP CONNECT: 200 connects; 502 (bad gateway) is read as refused, 504 (gateway timeout)
/// as silence, anything else as the proxy's failure.
async fn http(stream: &mut TcpStream, next: SocketAddr) -> io::Result<Result<(), Refusal>> {
    let request = format!("CONNECT {next} HTTP/1.1\r\nHost: {next}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 {
            return Ok(Err(Refusal::Failed("an overlong HTTP reply".into())));
        }
        head.push(stream.read_u8().await?);
    }
    let status = String::from_utf8_lossy(&head).split_whitespace().nth(1).and_then(|code| code.parse::<u16>().ok());
    Ok(match status {
        Some(200) => Ok(()),
        Some(502) => Err(Refusal::Refused),
        Some(504) => Err(Refusal::TimedOut),
        other => Err(Refusal::Failed(format!("the HTTP proxy answered {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_given_by_scheme_and_address() {
        let proxy = Proxy::parse("socks5://198.18.0.2:1080").unwrap();
        assert_eq!((proxy.kind, proxy.addr.to_string()), (ProxyKind::Socks5, "198.18.0.2:1080".into()));
        assert_eq!(Proxy::parse("HTTP://[2001:2::2]:3128/").unwrap().to_string(), "http://[2001:2::2]:3128");
        for bad in ["socks4://proxy.lab:1080", "ftp://198.18.0.2:21", "198.18.0.2:1080", "socks5://198.18.0.2"] {
            assert_eq!(Proxy::parse(bad), None, "{bad}");
        }
    }
}
