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
    /// A name server for the lab's reverse zone: the PTR query for a.b.c.d gets the name
    /// "a-b-c-d.lab.test" (see [`lab_name`]), but [`HOSTILE_V4`] gets [`HOSTILE_LABEL`];
    /// other queries are refused.
    ReverseZone,
}

/// The address the lab's reverse zone gives a hostile name: [`HOSTILE_LABEL`] under lab.test.
pub const HOSTILE_V4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(198, 18, 0, 66);
/// A label a name server may well send (DNS labels are any bytes): control characters, a
/// terminal escape that clears the screen, a byte that is not UTF-8, and XML's specials.
pub const HOSTILE_LABEL: &[u8] = b"evil\x01\x07\x1b[2J\xff<&\"'>";

/// The name the lab's reverse zone gives an address (but [`HOSTILE_V4`]).
pub fn lab_name(addr: std::net::Ipv4Addr) -> String {
    let [a, b, c, d] = addr.octets();
    format!("{a}-{b}-{c}-{d}.lab.test")
}

/// The labels of the name the lab's reverse zone gives `addr`.
fn zone_labels(addr: std::net::Ipv4Addr) -> Vec<Vec<u8>> {
    if addr == HOSTILE_V4 {
        return vec![HOSTILE_LABEL.to_vec(), b"lab".to_vec(), b"test".to_vec()];
    }
    lab_name(addr).split('.').map(|label| label.as_bytes().to_vec()).collect()
}

impl UdpService {
    pub fn reply(self, request: &[u8]) -> Option<Vec<u8>> {
        match self {
            UdpService::Echo => Some(request.to_vec()),
            UdpService::Dns => dns_reply(request),
            UdpService::Ntp => ntp_reply(request),
            UdpService::Snmp => snmp_reply(request),
            UdpService::ReverseZone => ptr_reply(request).or_else(|| dns_reply(request)),
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

/// The answer to a PTR query for an IPv4 address (RFC 1035 4.1, RFC 1035 3.5).
fn ptr_reply(request: &[u8]) -> Option<Vec<u8>> {
    let (labels, question_end) = question_labels(request)?;
    let qtype_class = request.get(question_end..question_end + 4)?;
    if qtype_class != [0, 12, 0, 1] {
        return None;
    }
    let [d, c, b, a, in_addr, arpa] = labels.as_slice() else { return None };
    if !in_addr.eq_ignore_ascii_case("in-addr") || !arpa.eq_ignore_ascii_case("arpa") {
        return None;
    }
    let octet = |label: &String| label.parse::<u8>().ok();
    let addr = std::net::Ipv4Addr::new(octet(a)?, octet(b)?, octet(c)?, octet(d)?);
    let mut reply = request[..question_end + 4].to_vec();
    reply[2] = 0x81; // QR, opcode 0, RD
    reply[3] = 0x80; // RA, RCODE 0
    reply[6..8].copy_from_slice(&[0, 1]); // one answer
    reply[8..12].copy_from_slice(&[0, 0, 0, 0]);
    let mut name = Vec::new();
    for label in zone_labels(addr) {
        name.push(label.len() as u8);
        name.extend_from_slice(&label);
    }
    name.push(0);
    reply.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 60]); // the question's name, PTR, IN, TTL 60
    reply.extend_from_slice(&(name.len() as u16).to_be_bytes());
    reply.extend_from_slice(&name);
    Some(reply)
}

/// The labels of a query's single question, and where its QTYPE starts.
fn question_labels(request: &[u8]) -> Option<(Vec<String>, usize)> {
    if request.len() < 12 || request[2] & 0x80 != 0 || request[4..6] != [0, 1] {
        return None;
    }
    let mut labels = Vec::new();
    let mut at = 12;
    loop {
        let len = usize::from(*request.get(at)?);
        at += 1;
        if len == 0 {
            return Some((labels, at));
        }
        if len > 63 {
            return None; // compression has no place in a question
        }
        labels.push(String::from_utf8(request.get(at..at + len)?.to_vec()).ok()?);
        at += len;
    }
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

    #[test]
    fn the_reverse_zone_names_every_ipv4_address() {
        let mut query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00".to_vec();
        for label in ["2", "0", "18", "198", "in-addr", "arpa"] {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.extend_from_slice(&[0, 0, 12, 0, 1]);
        let reply = UdpService::ReverseZone.reply(&query).unwrap();
        assert_eq!(&reply[..4], &[0x12, 0x34, 0x81, 0x80]);
        assert_eq!(&reply[6..8], &[0, 1], "one answer");
        assert!(reply.windows(15).any(|w| w == b"\x0a198-18-0-2\x03lab"), "{reply:?}");
    }
}
