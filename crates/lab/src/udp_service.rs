//! UDP fixture services for the lab: each answers only a request its protocol would answer, so
//! a scan finds them open only if its probe speaks the protocol.

/// What a fixture UDP port does with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpService {
    /// Sends every datagram back (RFC 862), even an empty one.
    Echo,
    /// Answers a DNS query (a header with QR clear and at least one question) with REFUSED.
    Dns,
    /// Answers a 48-byte NTP client request (mode 3) with a server reply (mode 4).
    Ntp,
    /// Answers an SNMP message (a BER SEQUENCE holding community "public") with a GetResponse.
    Snmp,
}

impl UdpService {
    pub fn reply(self, request: &[u8]) -> Option<Vec<u8>> {
        match self {
            UdpService::Echo => Some(request.to_vec()),
            UdpService::Dns => dns_reply(request),
            UdpService::Ntp => ntp_reply(request),
            UdpService::Snmp => snmp_reply(request),
        }
    }
}

fn dns_reply(request: &[u8]) -> Option<Vec<u8>> {
    let header = request.get(..12)?;
    let is_query = header[2] & 0x80 == 0;
    let questions = u16::from_be_bytes([header[4], header[5]]);
    if !is_query || questions == 0 {
        return None;
    }
    let mut reply = request.to_vec();
    reply[2] |= 0x80; // QR: a response
    reply[3] = (reply[3] & 0xf0) | 5; // RCODE 5: refused
    Some(reply)
}

fn ntp_reply(request: &[u8]) -> Option<Vec<u8>> {
    if request.len() != 48 || request[0] & 0x07 != 3 {
        return None;
    }
    let mut reply = vec![0u8; 48];
    reply[0] = (request[0] & 0x38) | 4; // the client's version, mode 4: server
    reply[1] = 16; // stratum 16: unsynchronised
    reply[24..32].copy_from_slice(&request[40..48]); // origin timestamp = client's transmit
    Some(reply)
}

fn snmp_reply(request: &[u8]) -> Option<Vec<u8>> {
    let is_sequence = request.first() == Some(&0x30);
    let has_community = request.windows(8).any(|w| w == b"\x04\x06public");
    if !is_sequence || !has_community {
        return None;
    }
    // Turn the GetRequest PDU (0xa0) into a GetResponse (0xa2), otherwise the same message.
    let mut reply = request.to_vec();
    let pdu = reply.iter().position(|&b| b == 0xa0)?;
    reply[pdu] = 0xa2;
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_answer_only_their_protocol() {
        let dns_query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01";
        assert_eq!(UdpService::Dns.reply(dns_query).unwrap()[2..4], [0x81, 0x05]);
        assert_eq!(UdpService::Dns.reply(b""), None);
        let mut ntp = [0u8; 48];
        ntp[0] = 0x23;
        assert_eq!(UdpService::Ntp.reply(&ntp).unwrap()[0], 0x24);
        assert_eq!(UdpService::Ntp.reply(b"\r\n"), None);
        let snmp = b"\x30\x10\x02\x01\x00\x04\x06public\xa0\x03\x02\x01\x00";
        assert!(UdpService::Snmp.reply(snmp).unwrap().contains(&0xa2));
        assert_eq!(UdpService::Snmp.reply(b"\x30\x00"), None);
        assert_eq!(UdpService::Echo.reply(b""), Some(Vec::new()));
    }
}
