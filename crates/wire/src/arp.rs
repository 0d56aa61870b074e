//! ARP over Ethernet for IPv4 (RFC 826): the request a host discovery broadcasts on its own
//! link, and the reply that names the host's hardware address. Without the Ethernet header,
//! which the link-layer socket adds and strips.

use std::net::Ipv4Addr;

use crate::{Error, Result};

/// An ARP message for Ethernet and IPv4.
pub const LEN: usize = 28;

const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;
const OP_REQUEST: u16 = 1;
const OP_REPLY: u16 = 2;

/// The request "who has `target`? tell `sender`".
pub fn request(sender_mac: [u8; 6], sender: Ipv4Addr, target: Ipv4Addr) -> [u8; LEN] {
    let mut message = [0u8; LEN];
    message[0..2].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
    message[2..4].copy_from_slice(&PTYPE_IPV4.to_be_bytes());
    message[4] = 6;
    message[5] = 4;
    message[6..8].copy_from_slice(&OP_REQUEST.to_be_bytes());
    message[8..14].copy_from_slice(&sender_mac);
    message[14..18].copy_from_slice(&sender.octets());
    // The target hardware address is what the request asks for: left zero.
    message[24..28].copy_from_slice(&target.octets());
    message
}

/// A reply: who answered, from which hardware address, and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub sender_mac: [u8; 6],
    pub sender: Ipv4Addr,
    pub target: Ipv4Addr,
}

/// Reads an ARP message as a reply for Ethernet and IPv4; `Ok(None)` for requests and other
/// kinds of ARP.
pub fn parse_reply(message: &[u8]) -> Result<Option<Reply>> {
    let message = message.get(..LEN).ok_or(Error::Truncated)?;
    let field = |at: usize| u16::from_be_bytes([message[at], message[at + 1]]);
    let ethernet_ipv4 = field(0) == HTYPE_ETHERNET && field(2) == PTYPE_IPV4 && message[4] == 6 && message[5] == 4;
    if !ethernet_ipv4 || field(6) != OP_REPLY {
        return Ok(None);
    }
    let address = |at: usize| Ipv4Addr::new(message[at], message[at + 1], message[at + 2], message[at + 3]);
    let mut sender_mac = [0u8; 6];
    sender_mac.copy_from_slice(&message[8..14]);
    Ok(Some(Reply { sender_mac, sender: address(14), target: address(24) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];

    #[test]
    fn a_request_swapped_into_a_reply_reads_back() {
        let scanner = Ipv4Addr::new(198, 18, 0, 1);
        let target = Ipv4Addr::new(198, 18, 0, 2);
        let mut message = request(MAC, scanner, target);
        assert_eq!(parse_reply(&message).unwrap(), None, "a request is not a reply");
        // What the target sends back: its address and MAC as sender, ours as target.
        let target_mac = [0x02, 0, 0, 0, 0, 2];
        message[6..8].copy_from_slice(&OP_REPLY.to_be_bytes());
        message[18..24].copy_from_slice(&MAC);
        message[8..14].copy_from_slice(&target_mac);
        message[14..18].copy_from_slice(&target.octets());
        message[24..28].copy_from_slice(&scanner.octets());
        let reply = parse_reply(&message).unwrap().unwrap();
        assert_eq!(reply, Reply { sender_mac: target_mac, sender: target, target: scanner });
        assert_eq!(parse_reply(&message[..27]), Err(Error::Truncated));
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_reply(&bytes);
        }
    }
}
