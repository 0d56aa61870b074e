//! ICMPv4 destination-unreachable messages (RFC 792), which tell a scanner a probe was refused.

use std::net::Ipv4Addr;

use crate::ipv4::Ipv4Packet;
use crate::{Error, Result};

pub const TYPE_DEST_UNREACHABLE: u8 = 3;

/// A destination-unreachable message and the start of the packet it refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable<'a> {
    pub code: u8,
    /// The quoted packet's addresses and protocol.
    pub original_src: Ipv4Addr,
    pub original_dst: Ipv4Addr,
    pub original_protocol: u8,
    /// The quoted packet's IP identification, which a prober may have chosen.
    pub original_ident: u16,
    /// The quoted packet's transport header: at least 8 bytes by RFC 792.
    pub original_transport: &'a [u8],
}

/// Parses an ICMP message (the IPv4 payload); `Ok(None)` for other ICMP types.
pub fn parse_unreachable(icmp: &[u8]) -> Result<Option<Unreachable<'_>>> {
    if icmp.len() < 8 {
        return Err(Error::Truncated);
    }
    if icmp[0] != TYPE_DEST_UNREACHABLE {
        return Ok(None);
    }
    let quoted = Ipv4Packet::new_checked(&icmp[8..])?;
    let header_len = quoted.header_len();
    let transport = &icmp[8 + header_len..];
    if transport.len() < 8 {
        return Err(Error::Truncated);
    }
    Ok(Some(Unreachable {
        code: icmp[1],
        original_src: quoted.src(),
        original_dst: quoted.dst(),
        original_protocol: quoted.protocol(),
        original_ident: quoted.ident(),
        original_transport: transport,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipv4::{Ipv4Repr, PROTO_TCP};
    use proptest::prelude::*;

    #[test]
    fn reads_the_quoted_probe() {
        let mut message = vec![3, 13, 0, 0, 0, 0, 0, 0];
        let mut quoted = [0u8; 28];
        let repr = Ipv4Repr {
            src: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::new(198, 18, 0, 2),
            protocol: PROTO_TCP,
            ident: 1,
            ttl: 64,
            dont_fragment: true,
            payload_len: 40,
        };
        repr.emit(&mut quoted).unwrap();
        quoted[20..28].copy_from_slice(&[0x9c, 0x41, 0x01, 0xbb, 1, 2, 3, 4]);
        message.extend_from_slice(&quoted);
        let unreachable = parse_unreachable(&message).unwrap().unwrap();
        assert_eq!(unreachable.code, 13);
        assert_eq!((unreachable.original_src, unreachable.original_dst), (repr.src, repr.dst));
        assert_eq!(unreachable.original_transport, &[0x9c, 0x41, 0x01, 0xbb, 1, 2, 3, 4]);
    }

    #[test]
    fn other_types_are_not_unreachables() {
        assert_eq!(parse_unreachable(&[0, 0, 0, 0, 0, 0, 0, 0]).unwrap(), None);
        assert_eq!(parse_unreachable(&[3, 3, 0]).unwrap_err(), Error::Truncated);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(mut bytes in proptest::collection::vec(any::<u8>(), 0..80), code: u8) {
            if bytes.len() > 1 {
                bytes[0] = TYPE_DEST_UNREACHABLE;
                bytes[1] = code;
            }
            let _ = parse_unreachable(&bytes);
        }
    }
}
