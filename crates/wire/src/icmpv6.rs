//! ICMPv6 (RFC 4443): the echo request a host discovery sends and its reply, and the error
//! messages that say a probe was refused or expired, with the start of the probe they quote.

use std::net::Ipv6Addr;

use crate::ipv6::{self, Ipv6Packet, Ipv6Repr};
use crate::{checksum, Error, Result};

pub const TYPE_DEST_UNREACHABLE: u8 = 1;
pub const TYPE_TIME_EXCEEDED: u8 = 3;
pub const TYPE_ECHO_REQUEST: u8 = 128;
pub const TYPE_ECHO_REPLY: u8 = 129;

/// Destination unreachable codes (RFC 4443 section 3.1).
pub mod unreachable {
    pub const NO_ROUTE: u8 = 0;
    pub const ADMIN_PROHIBITED: u8 = 1;
    pub const BEYOND_SCOPE: u8 = 2;
    pub const ADDRESS: u8 = 3;
    pub const PORT: u8 = 4;
    pub const SOURCE_POLICY: u8 = 5;
    pub const REJECT_ROUTE: u8 = 6;
}

/// An echo request: IPv6 header and the 8-byte ICMPv6 header, no data.
pub const ECHO_PROBE_LEN: usize = ipv6::HEADER_LEN + 8;

/// Builds a whole IPv6 echo request into `buf`; returns its length.
pub fn emit_echo_v6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    flow_label: u32,
    ident: u16,
    seq: u16,
    buf: &mut [u8],
) -> Result<usize> {
    let buf = buf.get_mut(..ECHO_PROBE_LEN).ok_or(Error::Truncated)?;
    let ip = Ipv6Repr {
        src,
        dst,
        next_header: ipv6::NEXT_ICMPV6,
        hop_limit: ipv6::DEFAULT_HOP_LIMIT,
        flow_label,
        payload_len: 8,
    };
    ip.emit(buf)?;
    let icmp = &mut buf[ipv6::HEADER_LEN..];
    icmp.copy_from_slice(&[TYPE_ECHO_REQUEST, 0, 0, 0, 0, 0, 0, 0]);
    icmp[4..6].copy_from_slice(&ident.to_be_bytes());
    icmp[6..8].copy_from_slice(&seq.to_be_bytes());
    let sum = checksum::pseudo_header(src.into(), dst.into(), ipv6::NEXT_ICMPV6, icmp.len()) + checksum::sum(icmp);
    icmp[2..4].copy_from_slice(&checksum::finish(sum).to_be_bytes());
    Ok(ECHO_PROBE_LEN)
}

/// The identifier and sequence number an echo reply (the IPv6 payload) echoes; `Ok(None)`
/// for other types.
pub fn parse_echo_reply(icmp: &[u8]) -> Result<Option<(u16, u16)>> {
    if icmp.len() < 8 {
        return Err(Error::Truncated);
    }
    if icmp[0] != TYPE_ECHO_REPLY {
        return Ok(None);
    }
    Ok(Some((u16::from_be_bytes([icmp[4], icmp[5]]), u16::from_be_bytes([icmp[6], icmp[7]]))))
}

/// An error message about a packet, and the start of that packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotingError<'a> {
    /// Destination unreachable or time exceeded.
    pub kind: u8,
    pub code: u8,
    /// The quoted packet's addresses, flow label and upper-layer protocol.
    pub original_src: Ipv6Addr,
    pub original_dst: Ipv6Addr,
    pub original_flow_label: u32,
    pub original_protocol: u8,
    /// The quoted packet's transport header: at least its first 8 bytes.
    pub original_transport: &'a [u8],
}

/// Reads an ICMPv6 message (the upper-layer bytes) as a destination unreachable or time
/// exceeded message; `Ok(None)` for other types.
pub fn parse_error(icmp: &[u8]) -> Result<Option<QuotingError<'_>>> {
    if icmp.len() < 8 {
        return Err(Error::Truncated);
    }
    if icmp[0] != TYPE_DEST_UNREACHABLE && icmp[0] != TYPE_TIME_EXCEEDED {
        return Ok(None);
    }
    let quoted = Ipv6Packet::new_checked(&icmp[8..])?;
    let (src, dst, flow_label) = (quoted.src(), quoted.dst(), quoted.flow_label());
    let (protocol, transport) = quoted.into_upper_layer().ok_or(Error::Truncated)?;
    if transport.len() < 8 {
        return Err(Error::Truncated);
    }
    Ok(Some(QuotingError {
        kind: icmp[0],
        code: icmp[1],
        original_src: src,
        original_dst: dst,
        original_flow_label: flow_label,
        original_protocol: protocol,
        original_transport: transport,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
    const DST: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);

    #[test]
    fn an_echo_request_carries_identifier_sequence_and_a_checksum_over_the_pseudo_header() {
        let mut buf = [0xffu8; ECHO_PROBE_LEN];
        let len = emit_echo_v6(SRC, DST, 0xabcde, 0x1234, 0x5678, &mut buf).unwrap();
        let ip = Ipv6Packet::new_checked(&buf[..len]).unwrap();
        assert_eq!((ip.next_header(), ip.flow_label(), ip.hop_limit()), (ipv6::NEXT_ICMPV6, 0xabcde, 64));
        let icmp = ip.payload();
        assert_eq!((icmp[0], &icmp[4..8]), (TYPE_ECHO_REQUEST, &[0x12, 0x34, 0x56, 0x78][..]));
        let total =
            checksum::pseudo_header(SRC.into(), DST.into(), ipv6::NEXT_ICMPV6, icmp.len()) + checksum::sum(icmp);
        assert_eq!(checksum::finish(total), 0);
        let mut reply = icmp.to_vec();
        reply[0] = TYPE_ECHO_REPLY;
        assert_eq!(parse_echo_reply(&reply).unwrap(), Some((0x1234, 0x5678)));
        assert_eq!(parse_echo_reply(icmp).unwrap(), None, "a request is not a reply");
    }

    #[test]
    fn an_unreachable_quotes_the_probe_past_its_extension_headers() {
        let mut quoted = vec![0u8; ipv6::HEADER_LEN];
        let repr = Ipv6Repr { src: SRC, dst: DST, next_header: 60, hop_limit: 64, flow_label: 0x777, payload_len: 16 };
        repr.emit(&mut quoted).unwrap();
        quoted.extend([17, 0, 1, 4, 0, 0, 0, 0]); // destination options, then UDP
        quoted.extend([0x9c, 0x41, 0, 53, 0, 8, 0, 0]);
        let mut message = vec![TYPE_DEST_UNREACHABLE, unreachable::PORT, 0, 0, 0, 0, 0, 0];
        message.extend(quoted);
        let error = parse_error(&message).unwrap().unwrap();
        assert_eq!((error.kind, error.code, error.original_protocol), (TYPE_DEST_UNREACHABLE, 4, 17));
        assert_eq!((error.original_src, error.original_dst, error.original_flow_label), (SRC, DST, 0x777));
        assert_eq!(error.original_transport, &[0x9c, 0x41, 0, 53, 0, 8, 0, 0]);
        assert_eq!(parse_error(&[TYPE_ECHO_REPLY, 0, 0, 0, 0, 0, 0, 0]).unwrap(), None);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(mut bytes in proptest::collection::vec(any::<u8>(), 0..120), kind: bool) {
            if bytes.len() > 8 {
                bytes[0] = if kind { TYPE_DEST_UNREACHABLE } else { TYPE_TIME_EXCEEDED };
                bytes[8] = 0x60;
            }
            let _ = parse_error(&bytes);
            let _ = parse_echo_reply(&bytes);
        }
    }
}
