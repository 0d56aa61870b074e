//! ICMPv4 (RFC 792, RFC 950): destination-unreachable messages, which tell a scanner a probe
//! was refused, and the query messages a host discovery sends (echo, timestamp, address mask)
//! with their replies.

use std::net::Ipv4Addr;

use crate::ipv4::{self, Ipv4Packet};
use crate::{checksum, Error, Result};

pub const TYPE_DEST_UNREACHABLE: u8 = 3;

/// An ICMP query and the type of its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Query {
    /// Echo (type 8), answered by echo reply (type 0).
    Echo,
    /// Timestamp (type 13, RFC 792), answered by timestamp reply (type 14).
    Timestamp,
    /// Address mask (type 17, RFC 950), answered by address mask reply (type 18).
    AddressMask,
}

impl Query {
    fn request_type(self) -> u8 {
        match self {
            Query::Echo => 8,
            Query::Timestamp => 13,
            Query::AddressMask => 17,
        }
    }

    fn reply_type(self) -> u8 {
        match self {
            Query::Echo => 0,
            Query::Timestamp => 14,
            Query::AddressMask => 18,
        }
    }

    /// The request's body after identifier and sequence number: the originate, receive and
    /// transmit timestamps of a timestamp request, the mask of an address mask request, all
    /// zero; an echo carries nothing.
    fn body_len(self) -> usize {
        match self {
            Query::Echo => 0,
            Query::Timestamp => 12,
            Query::AddressMask => 4,
        }
    }
}

/// The longest query probe: IPv4 header, ICMP header, a timestamp body.
pub const QUERY_PROBE_LEN: usize = ipv4::HEADER_LEN + 8 + 12;

/// Builds a whole IPv4 ICMP query into `buf`; returns its length.
pub fn emit_query_v4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ip_ident: u16,
    query: Query,
    ident: u16,
    seq: u16,
    buf: &mut [u8],
) -> Result<usize> {
    let icmp_len = 8 + query.body_len();
    let total = ipv4::HEADER_LEN + icmp_len;
    let buf = buf.get_mut(..total).ok_or(Error::Truncated)?;
    let ip = ipv4::Ipv4Repr {
        src,
        dst,
        protocol: ipv4::PROTO_ICMP,
        ident: ip_ident,
        tos: 0,
        ttl: 64,
        dont_fragment: true,
        payload_len: icmp_len,
    };
    ip.emit(buf)?;
    let icmp = &mut buf[ipv4::HEADER_LEN..];
    icmp.fill(0);
    icmp[0] = query.request_type();
    icmp[4..6].copy_from_slice(&ident.to_be_bytes());
    icmp[6..8].copy_from_slice(&seq.to_be_bytes());
    let sum = checksum::finish(checksum::sum(icmp));
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    Ok(total)
}

/// Writes an echo request (the IPv4 payload) with any `code` and `data`: OS detection's echoes
/// carry a code of 9 or 0 and zeroed data; returns its length.
pub fn emit_echo(ident: u16, seq: u16, code: u8, data: &[u8], buf: &mut [u8]) -> Result<usize> {
    let len = 8 + data.len();
    let icmp = buf.get_mut(..len).ok_or(Error::Truncated)?;
    icmp[..4].copy_from_slice(&[Query::Echo.request_type(), code, 0, 0]);
    icmp[4..6].copy_from_slice(&ident.to_be_bytes());
    icmp[6..8].copy_from_slice(&seq.to_be_bytes());
    icmp[8..].copy_from_slice(data);
    let sum = checksum::finish(checksum::sum(icmp));
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    Ok(len)
}

/// A reply to an ICMP query: which query, and the identifier and sequence number it echoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryReply {
    pub query: Query,
    pub ident: u16,
    pub seq: u16,
}

/// Reads an ICMP message (the IPv4 payload) as a query reply; `Ok(None)` for other types.
pub fn parse_query_reply(icmp: &[u8]) -> Result<Option<QueryReply>> {
    if icmp.len() < 8 {
        return Err(Error::Truncated);
    }
    let query = [Query::Echo, Query::Timestamp, Query::AddressMask].into_iter().find(|q| q.reply_type() == icmp[0]);
    Ok(query.map(|query| QueryReply {
        query,
        ident: u16::from_be_bytes([icmp[4], icmp[5]]),
        seq: u16::from_be_bytes([icmp[6], icmp[7]]),
    }))
}

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
    // As much of the probe's payload as the error quotes: RFC 792 asks for 8 bytes, but a
    // probe of a bare IP header (the IP protocol scan's) has none to quote. Readers of a
    // transport header check its length themselves.
    let transport = icmp.get(8 + header_len..).unwrap_or_default();
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
            tos: 0,
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
    fn an_error_about_a_bare_ip_header_quotes_no_transport() {
        let mut message = vec![3, 2, 0, 0, 0, 0, 0, 0];
        let mut quoted = [0u8; 20];
        let repr = Ipv4Repr {
            src: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::new(198, 18, 0, 2),
            protocol: 47,
            ident: 7,
            tos: 0,
            ttl: 64,
            dont_fragment: false,
            payload_len: 0,
        };
        repr.emit(&mut quoted).unwrap();
        message.extend_from_slice(&quoted);
        let unreachable = parse_unreachable(&message).unwrap().unwrap();
        assert_eq!((unreachable.code, unreachable.original_protocol, unreachable.original_ident), (2, 47, 7));
        assert!(unreachable.original_transport.is_empty());
    }

    #[test]
    fn queries_carry_their_type_identifier_sequence_and_checksum() {
        let (src, dst) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        for (query, request_type, icmp_len) in
            [(Query::Echo, 8, 8), (Query::Timestamp, 13, 20), (Query::AddressMask, 17, 12)]
        {
            let mut buf = [0xffu8; QUERY_PROBE_LEN];
            let len = emit_query_v4(src, dst, 5, query, 0x1234, 0x5678, &mut buf).unwrap();
            let ip = Ipv4Packet::new_checked(&buf[..len]).unwrap();
            assert_eq!((ip.protocol(), ip.payload().len()), (ipv4::PROTO_ICMP, icmp_len), "{query:?}");
            let icmp = ip.payload();
            assert_eq!((icmp[0], &icmp[4..8]), (request_type, &[0x12, 0x34, 0x56, 0x78][..]));
            assert_eq!(checksum::finish(checksum::sum(icmp)), 0, "{query:?}");
            // The reply echoes identifier and sequence under the reply type.
            let mut reply = icmp.to_vec();
            reply[0] = query.reply_type();
            let parsed = parse_query_reply(&reply).unwrap().unwrap();
            assert_eq!((parsed.query, parsed.ident, parsed.seq), (query, 0x1234, 0x5678));
        }
        assert_eq!(parse_query_reply(&[8, 0, 0, 0, 0, 0, 0, 0]).unwrap(), None, "a request is not a reply");
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
            let _ = parse_query_reply(&bytes);
        }
    }
}
