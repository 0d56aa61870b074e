//! The attributes Nmap's OS detection reads off one TCP reply (the book's "TCP/IP
//! Fingerprinting Methods"; Nmap's osscan2.cc): for T1–T7 and ECN, whether the IP header says
//! don't fragment, the TTL and window in hexadecimal, the sequence and acknowledgement numbers
//! against the probe's, the flags in Nmap's order, the TCP options in Nmap's shorthand, a CRC of
//! a reset's data, and header quirks.

/// What a reply's IP and TCP headers hold, as the engine received them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpReply<'a> {
    pub ttl: u8,
    pub dont_fragment: bool,
    pub window: u16,
    pub seq: u32,
    pub ack: u32,
    /// The eight flag bits (CWR … FIN).
    pub flags: u8,
    /// The header's reserved bits.
    pub reserved: u8,
    pub urgent_pointer: u16,
    /// The options as sent (between the fixed header and the data).
    pub options: &'a [u8],
    pub data: &'a [u8],
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const URG: u8 = 0x20;
const ECE: u8 = 0x40;
const CWR: u8 = 0x80;

/// A T1–T7 test's attributes. `probe_seq` and `probe_ack` are the probe's own numbers; T1 (the
/// first of the timed SYNs) has neither window nor options.
pub fn t_test(reply: &TcpReply<'_>, probe_seq: u32, probe_ack: u32, first: bool) -> Vec<(String, String)> {
    let mut attributes =
        vec![("R", "Y".to_string()), ("DF", yes_no(reply.dont_fragment)), ("T", format!("{:X}", reply.ttl))];
    if !first {
        attributes.push(("W", format!("{:X}", reply.window)));
    }
    attributes.push(("S", sequence_code(reply.seq, probe_ack).to_string()));
    attributes.push(("A", acknowledgement_code(reply.ack, probe_seq).to_string()));
    attributes.push(("F", flags_string(reply.flags)));
    if !first {
        attributes.push(("O", options_string(reply.options).unwrap_or_default()));
    }
    attributes.push(("RD", reset_data_crc(reply)));
    attributes.push(("Q", quirks(reply)));
    attributes.into_iter().map(|(key, value)| (key.to_string(), value)).collect()
}

/// The ECN probe's attributes: whether the reply echoes congestion notification (CC).
pub fn ecn_test(reply: &TcpReply<'_>) -> Vec<(String, String)> {
    let congestion = match (reply.flags & ECE != 0, reply.flags & CWR != 0) {
        (true, true) => "S",
        (true, false) => "Y",
        (false, false) => "N",
        (false, true) => "O",
    };
    let attributes = [
        ("R", "Y".to_string()),
        ("DF", yes_no(reply.dont_fragment)),
        ("T", format!("{:X}", reply.ttl)),
        ("W", format!("{:X}", reply.window)),
        ("O", options_string(reply.options).unwrap_or_default()),
        ("CC", congestion.to_string()),
        ("Q", quirks(reply)),
    ];
    attributes.into_iter().map(|(key, value)| (key.to_string(), value)).collect()
}

fn yes_no(flag: bool) -> String {
    if flag { "Y" } else { "N" }.to_string()
}

/// S: the reply's sequence number is zero, the probe's acknowledgement number, one more, or other.
fn sequence_code(seq: u32, probe_ack: u32) -> &'static str {
    match seq {
        0 => "Z",
        _ if seq == probe_ack => "A",
        _ if seq == probe_ack.wrapping_add(1) => "A+",
        _ => "O",
    }
}

/// A: the reply's acknowledgement is zero, the probe's sequence number, one more, or other.
fn acknowledgement_code(ack: u32, probe_seq: u32) -> &'static str {
    match ack {
        0 => "Z",
        _ if ack == probe_seq => "S",
        _ if ack == probe_seq.wrapping_add(1) => "S+",
        _ => "O",
    }
}

/// F: the flags set, in Nmap's order E U A P R S F (CWR is not shown).
pub fn flags_string(flags: u8) -> String {
    [(ECE, 'E'), (URG, 'U'), (ACK, 'A'), (PSH, 'P'), (RST, 'R'), (SYN, 'S'), (FIN, 'F')]
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|&(_, letter)| letter)
        .collect()
}

/// O: each option in order — L end of list, N no-op, M and the MSS, W and the window scale
/// (hexadecimal), S SACK permitted, T and whether each timestamp is non-zero; others are left
/// out. `None` when an option is malformed: Nmap then records no options at all.
pub fn options_string(options: &[u8]) -> Option<String> {
    let mut text = String::new();
    let mut rest = options;
    while let Some(&kind) = rest.first() {
        let length = match kind {
            0 | 1 => 1,
            _ => match rest.get(1) {
                Some(&length) if length >= 2 && usize::from(length) <= rest.len() => usize::from(length),
                _ => return None,
            },
        };
        let option = &rest[..length];
        match kind {
            0 => text.push('L'),
            1 => text.push('N'),
            2 if length >= 4 => text += &format!("M{:X}", u16::from_be_bytes([option[2], option[3]])),
            3 if length >= 3 => text += &format!("W{:X}", option[2]),
            4 => text.push('S'),
            8 if length >= 10 => {
                let nonzero = |bytes: &[u8]| if bytes.iter().any(|&b| b != 0) { '1' } else { '0' };
                text.push('T');
                text.push(nonzero(&option[2..6]));
                text.push(nonzero(&option[6..10]));
            }
            2 | 3 | 8 => return None,
            _ => {}
        }
        rest = &rest[length..];
    }
    Some(text)
}

/// RD: a CRC-32 of the data a reset carries (some stacks explain themselves there), else 0.
fn reset_data_crc(reply: &TcpReply<'_>) -> String {
    if reply.flags & RST != 0 && !reply.data.is_empty() {
        format!("{:X}", crc32fast::hash(reply.data))
    } else {
        "0".into()
    }
}

/// Q: R when the reserved bits are set, U when the urgent pointer is set without URG.
fn quirks(reply: &TcpReply<'_>) -> String {
    let mut quirks = String::new();
    if reply.reserved != 0 {
        quirks.push('R');
    }
    if reply.flags & URG == 0 && reply.urgent_pointer != 0 {
        quirks.push('U');
    }
    quirks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linux's SYN/ACK options: MSS 1460, SACK permitted, timestamps, NOP, window scale 10.
    const LINUX_SYN_ACK_OPTIONS: &[u8] = &[2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 1, 1, 3, 3, 10];

    #[test]
    fn options_read_as_nmap_writes_them() {
        assert_eq!(options_string(LINUX_SYN_ACK_OPTIONS).as_deref(), Some("M5B4ST11NWA"));
        assert_eq!(options_string(&[8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).as_deref(), Some("T00LL"));
        assert_eq!(options_string(&[]).as_deref(), Some(""));
        assert_eq!(options_string(&[2, 4, 5]), None, "an option longer than what is left");
        assert_eq!(options_string(&[2, 3, 5]), None, "an MSS too short");
        assert_eq!(options_string(&[30, 1]), None, "a length under two");
        assert_eq!(options_string(&[30, 3, 0, 1]).as_deref(), Some("N"), "unknown options are skipped");
    }

    #[test]
    fn flags_are_written_in_nmaps_order() {
        assert_eq!(flags_string(SYN | ACK), "AS");
        assert_eq!(flags_string(RST | ACK), "AR");
        assert_eq!(flags_string(CWR | ECE | URG | PSH | FIN), "EUPF");
    }

    fn reply<'a>(flags: u8, seq: u32, ack: u32, options: &'a [u8], data: &'a [u8]) -> TcpReply<'a> {
        TcpReply {
            ttl: 64,
            dont_fragment: true,
            window: 0xFAF0,
            seq,
            ack,
            flags,
            reserved: 0,
            urgent_pointer: 0,
            options,
            data,
        }
    }

    #[test]
    fn a_syn_ack_to_t3_and_a_reset_to_t5_read_as_linux_reads() {
        let syn_ack = reply(SYN | ACK, 0x1234, 1001, LINUX_SYN_ACK_OPTIONS, &[]);
        let expected = "R=Y DF=Y T=40 W=FAF0 S=O A=S+ F=AS O=M5B4ST11NWA RD=0 Q=";
        assert_eq!(line(&t_test(&syn_ack, 1000, 77, false)), expected);
        let reset = reply(RST | ACK, 0, 1001, &[], &[]);
        assert_eq!(line(&t_test(&reset, 1000, 77, true)), "R=Y DF=Y T=40 S=Z A=S+ F=AR RD=0 Q=");
    }

    #[test]
    fn reset_data_and_quirks_are_noticed() {
        let mut reset = reply(RST, 77, 0, &[], b"no listener");
        reset.reserved = 1;
        reset.urgent_pointer = 9;
        let attributes = t_test(&reset, 1000, 77, false);
        assert_eq!(attributes[4], ("S".to_string(), "A".to_string()));
        assert_eq!(attributes[8], ("RD".to_string(), format!("{:X}", crc32fast::hash(b"no listener"))));
        assert_eq!(attributes[9], ("Q".to_string(), "RU".to_string()));
    }

    #[test]
    fn ecn_echo_is_read_from_ece_and_cwr() {
        let code = |flags| ecn_test(&reply(flags, 1, 1, &[], &[]))[5].1.clone();
        assert_eq!(
            [code(SYN | ACK | ECE), code(SYN | ACK | ECE | CWR), code(SYN | ACK), code(SYN | ACK | CWR)],
            ["Y", "S", "N", "O"]
        );
    }

    proptest::proptest! {
        #[test]
        fn any_option_bytes_read_without_panicking(options: Vec<u8>) {
            let _ = options_string(&options);
        }
    }

    fn line(attributes: &[(String, String)]) -> String {
        attributes.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join(" ")
    }
}
