//! ICMPv6 (RFC 4443): the echo request a host discovery sends and its reply, and the error
//! messages that say a probe was refused or expired, with the start of the probe they quote.

use std::net::Ipv6Addr;

use crate::ipv6::{self, Ipv6Packet, Ipv6Repr};
use crate::{checksum, Error, Result};

pub const TYPE_DEST_UNREACHABLE: u8 = 1;
pub const TYPE_TIME_EXCEEDED: u8 = 3;
pub const TYPE_ECHO_REQUEST: u8 = 128;
pub const TYPE_ECHO_REPLY: u8 = 129;
pub const TYPE_NEIGHBOR_SOLICITATION: u8 = 135;
pub const TYPE_NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// Neighbour discovery options (RFC 4861 section 4.6.1).
const OPTION_SOURCE_LINK_LAYER: u8 = 1;
const OPTION_TARGET_LINK_LAYER: u8 = 2;
/// Neighbour discovery messages travel one link only: they leave, and must arrive, with the
/// hop limit at its maximum (RFC 4861 section 7.1).
const ND_HOP_LIMIT: u8 = 255;

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

/// A neighbour solicitation: IPv6 header, ICMPv6 header, target address, and our hardware
/// address as a source link-layer option.
pub const SOLICITATION_LEN: usize = ipv6::HEADER_LEN + 8 + 16 + 8;

/// The solicited-node multicast group of `addr` (RFC 4291 section 2.7.1), which a
/// solicitation for it is sent to: ff02::1:ff00:0 and the address's low 24 bits.
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let low = u128::from(addr) & 0xff_ffff;
    Ipv6Addr::from(0xff02_0000_0000_0000_0000_0001_ff00_0000u128 | low)
}

/// The Ethernet address an IPv6 multicast group maps to (RFC 2464 section 7): 33:33 and the
/// group's low 32 bits.
pub fn multicast_mac(group: Ipv6Addr) -> [u8; 6] {
    let octets = group.octets();
    [0x33, 0x33, octets[12], octets[13], octets[14], octets[15]]
}

/// Builds a whole neighbour solicitation for `target` from `src` (our address on the link,
/// whose hardware address is `src_mac`) into `buf`; returns its length.
pub fn emit_solicitation(src: Ipv6Addr, src_mac: [u8; 6], target: Ipv6Addr, buf: &mut [u8]) -> Result<usize> {
    let buf = buf.get_mut(..SOLICITATION_LEN).ok_or(Error::Truncated)?;
    let dst = solicited_node(target);
    let icmp_len = SOLICITATION_LEN - ipv6::HEADER_LEN;
    let ip = Ipv6Repr {
        src,
        dst,
        next_header: ipv6::NEXT_ICMPV6,
        hop_limit: ND_HOP_LIMIT,
        flow_label: 0,
        payload_len: icmp_len,
    };
    ip.emit(buf)?;
    let icmp = &mut buf[ipv6::HEADER_LEN..];
    icmp.fill(0);
    icmp[0] = TYPE_NEIGHBOR_SOLICITATION;
    icmp[8..24].copy_from_slice(&target.octets());
    icmp[24] = OPTION_SOURCE_LINK_LAYER;
    icmp[25] = 1; // in units of eight bytes
    icmp[26..32].copy_from_slice(&src_mac);
    let sum = checksum::pseudo_header(src.into(), dst.into(), ipv6::NEXT_ICMPV6, icmp.len()) + checksum::sum(icmp);
    icmp[2..4].copy_from_slice(&checksum::finish(sum).to_be_bytes());
    Ok(SOLICITATION_LEN)
}

/// A neighbour advertisement: whose address it answers for, and its hardware address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advertisement {
    pub target: Ipv6Addr,
    pub mac: [u8; 6],
}

/// Reads an ICMPv6 message as a neighbour advertisement carrying the target's hardware
/// address; `Ok(None)` for other types, and for an advertisement without that option.
pub fn parse_advertisement(icmp: &[u8]) -> Result<Option<Advertisement>> {
    if icmp.len() < 24 {
        return Err(Error::Truncated);
    }
    if icmp[0] != TYPE_NEIGHBOR_ADVERTISEMENT {
        return Ok(None);
    }
    let mut target = [0u8; 16];
    target.copy_from_slice(&icmp[8..24]);
    let mut options = &icmp[24..];
    while let [kind, len, ..] = *options {
        let len = usize::from(len) * 8;
        if len == 0 {
            return Err(Error::Malformed); // RFC 4861: a zero-length option is invalid
        }
        let option = options.get(..len).ok_or(Error::Truncated)?;
        if kind == OPTION_TARGET_LINK_LAYER && len >= 8 {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&option[2..8]);
            return Ok(Some(Advertisement { target: Ipv6Addr::from(target), mac }));
        }
        options = &options[len..];
    }
    Ok(None)
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

    #[test]
    fn a_solicitation_goes_to_the_solicited_node_group_with_our_hardware_address() {
        let target = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0xab, 0xcdef);
        let mac = [2, 0, 0, 0, 0, 1];
        let mut buf = [0u8; SOLICITATION_LEN];
        assert_eq!(emit_solicitation(SRC, mac, target, &mut buf).unwrap(), SOLICITATION_LEN);
        let ip = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(ip.dst(), "ff02::1:ffab:cdef".parse::<Ipv6Addr>().unwrap());
        assert_eq!(multicast_mac(ip.dst()), [0x33, 0x33, 0xff, 0xab, 0xcd, 0xef]);
        assert_eq!(ip.hop_limit(), 255);
        let icmp = ip.payload();
        assert_eq!((icmp[0], &icmp[8..24], &icmp[24..32]), (135, &target.octets()[..], &[1, 1, 2, 0, 0, 0, 0, 1][..]));
        let total =
            checksum::pseudo_header(SRC.into(), ip.dst().into(), ipv6::NEXT_ICMPV6, icmp.len()) + checksum::sum(icmp);
        assert_eq!(checksum::finish(total), 0);
    }

    #[test]
    fn an_advertisement_gives_the_targets_hardware_address() {
        let mut message = vec![TYPE_NEIGHBOR_ADVERTISEMENT, 0, 0, 0, 0x60, 0, 0, 0];
        message.extend(DST.octets());
        message.extend([14, 1, 0, 0, 0, 0, 0, 0]); // an option of another kind first
        message.extend([2, 1, 2, 0, 0, 0, 0, 2]);
        let advertisement = parse_advertisement(&message).unwrap().unwrap();
        assert_eq!(advertisement, Advertisement { target: DST, mac: [2, 0, 0, 0, 0, 2] });
        assert_eq!(parse_advertisement(&message[..32]).unwrap(), None, "no hardware address given");
        let mut zero_length = message.clone();
        zero_length[25] = 0;
        assert_eq!(parse_advertisement(&zero_length), Err(Error::Malformed));
        assert_eq!(parse_advertisement(&message[..36]), Err(Error::Truncated));
    }

    proptest! {
        #[test]
        fn any_advertisement_bytes_parse_without_panicking(mut bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Some(first) = bytes.first_mut() {
                *first = TYPE_NEIGHBOR_ADVERTISEMENT;
            }
            let _ = parse_advertisement(&bytes);
        }

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
