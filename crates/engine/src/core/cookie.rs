//! Keyed probe cookies: every probe carries values derived from a per-scan secret, so a reply
//! proves which probe (and which retransmission) it answers without any per-probe lookup, and
//! forged or stray packets are never counted.
//!
//! The cookie hides in fields an ordinary SYN has anyway: the source port (in the Linux
//! ephemeral range; consecutive retransmissions use consecutive ports, so the port also says
//! which try was answered), the sequence number and the IP ID.

use std::hash::Hasher;
use std::net::IpAddr;

use siphasher::sip::SipHasher13;

use probes::Echo;

/// Linux's default ephemeral port range (net.ipv4.ip_local_port_range).
const EPHEMERAL_FIRST: u16 = 32768;
const EPHEMERAL_COUNT: u16 = 60999 - 32768 + 1;

/// The per-scan secret, and the source port when the user fixed one (`-g`).
#[derive(Clone, Copy)]
pub struct CookieKey {
    k0: u64,
    k1: u64,
    fixed_port: Option<u16>,
}

/// The fields of one probe that carry its cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeCookie {
    pub src_port: u16,
    pub seq: u32,
    pub ip_id: u16,
}

impl CookieKey {
    pub fn new(k0: u64, k1: u64) -> CookieKey {
        CookieKey { k0, k1, fixed_port: None }
    }

    /// Every probe leaves from `port` (`-g`/`--source-port`). The try number can then no longer
    /// ride in the source port; it rides in the sequence number's hash alone.
    pub fn with_source_port(self, port: u16) -> CookieKey {
        CookieKey { fixed_port: Some(port), ..self }
    }

    pub fn random() -> CookieKey {
        CookieKey::new(rand::random(), rand::random())
    }

    fn hash(&self, parts: &[&[u8]]) -> u64 {
        let mut hasher = SipHasher13::new_with_keys(self.k0, self.k1);
        parts.iter().for_each(|part| hasher.write(part));
        hasher.finish()
    }

    /// Every source port a probe may leave from: the fixed one, or Linux's ephemeral range.
    pub fn source_ports(&self) -> std::ops::RangeInclusive<u16> {
        match self.fixed_port {
            Some(port) => port..=port,
            None => EPHEMERAL_FIRST..=EPHEMERAL_FIRST + (EPHEMERAL_COUNT - 1),
        }
    }

    /// Where this target port's run of source ports starts.
    fn port_offset(&self, dst: IpAddr, dst_port: u16) -> u16 {
        let dst = Octets::of(dst);
        (self.hash(&[b"port", dst.as_ref(), &dst_port.to_be_bytes()]) % u64::from(EPHEMERAL_COUNT)) as u16
    }

    /// The cookie fields of try `try_number` (0 = first probe) to `dst:dst_port`.
    pub fn probe(&self, src: IpAddr, dst: IpAddr, dst_port: u16, try_number: u8) -> ProbeCookie {
        let src_port = self.fixed_port.unwrap_or_else(|| {
            EPHEMERAL_FIRST + (self.port_offset(dst, dst_port) + u16::from(try_number)) % EPHEMERAL_COUNT
        });
        let word = self.sequence_word(src, dst, dst_port, src_port, try_number);
        ProbeCookie { src_port, seq: word as u32, ip_id: (word >> 32) as u16 }
    }

    fn sequence_word(&self, src: IpAddr, dst: IpAddr, dst_port: u16, src_port: u16, try_number: u8) -> u64 {
        let ports = [dst_port.to_be_bytes(), src_port.to_be_bytes()].concat();
        let (src, dst) = (Octets::of(src), Octets::of(dst));
        self.hash(&[b"seq", src.as_ref(), dst.as_ref(), &ports, &[try_number]])
    }

    /// Checks that a probe with these fields could only have come from us, and returns its try
    /// number. `echo` is what the answer carries back besides the source port: the sequence
    /// number (a TCP reply, or an ICMP error quoting a TCP probe), the IP identification (an
    /// ICMP error quoting a UDP probe), or nothing (a UDP reply, which only the source port
    /// vouches for).
    pub fn verify(
        &self,
        src: IpAddr,
        dst: IpAddr,
        dst_port: u16,
        src_port: u16,
        echo: Echo,
        max_try: u8,
    ) -> Option<u8> {
        let matches = |try_number: u8| {
            let word = self.sequence_word(src, dst, dst_port, src_port, try_number);
            match echo {
                Echo::Sequence(seq) => word as u32 == seq,
                Echo::IpIdent(ident) => (word >> 32) as u16 == ident,
                Echo::SequenceLow16(seq) => word as u16 == seq,
                Echo::Nothing => true,
            }
        };
        if let Some(fixed) = self.fixed_port {
            return (0..=max_try).find(|&t| src_port == fixed && matches(t));
        }
        let offset = src_port.checked_sub(EPHEMERAL_FIRST).filter(|&o| o < EPHEMERAL_COUNT)?;
        let base = self.port_offset(dst, dst_port);
        let try_number = (offset + EPHEMERAL_COUNT - base) % EPHEMERAL_COUNT;
        let try_number = u8::try_from(try_number).ok().filter(|&t| t <= max_try)?;
        matches(try_number).then_some(try_number)
    }
}

/// An address's bytes, without allocating: 4 for IPv4, 16 for IPv6.
struct Octets {
    bytes: [u8; 16],
    len: usize,
}

impl Octets {
    fn of(addr: IpAddr) -> Octets {
        let mut bytes = [0u8; 16];
        let len = match addr {
            IpAddr::V4(addr) => {
                bytes[..4].copy_from_slice(&addr.octets());
                4
            }
            IpAddr::V6(addr) => {
                bytes = addr.octets();
                16
            }
        };
        Octets { bytes, len }
    }
}

impl AsRef<[u8]> for Octets {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));

    proptest! {
        #[test]
        fn our_own_probes_verify_with_their_try_number(k0: u64, k1: u64, dst: u32, port: u16, try_number in 0u8..=10) {
            let key = CookieKey::new(k0, k1);
            let dst = IpAddr::from(Ipv4Addr::from(dst));
            let cookie = key.probe(SRC, dst, port, try_number);
            prop_assert!((32768..=60999).contains(&cookie.src_port));
            prop_assert_eq!(key.verify(SRC, dst, port, cookie.src_port, Echo::Sequence(cookie.seq), 10), Some(try_number));
        }

        #[test]
        fn forged_replies_are_rejected(k0: u64, k1: u64, dst: u32, port: u16, forged_seq: u32, src_port: u16) {
            let key = CookieKey::new(k0, k1);
            let dst = IpAddr::from(Ipv4Addr::from(dst));
            let genuine = key.probe(SRC, dst, port, 0);
            prop_assume!(forged_seq != genuine.seq);
            // A forger who knows the port but not the secret guesses the sequence number.
            prop_assert_eq!(key.verify(SRC, dst, port, genuine.src_port, Echo::Sequence(forged_seq), 10), None);
            // Any other source port must also carry the right sequence number.
            if let Some(t) = key.verify(SRC, dst, port, src_port, Echo::Sequence(forged_seq), 10) {
                prop_assert_eq!(key.probe(SRC, dst, port, t).seq, forged_seq);
            }
        }

        #[test]
        fn a_reply_from_another_host_or_port_is_rejected(k0: u64, k1: u64, dst: u32, port: u16, other: u32) {
            let key = CookieKey::new(k0, k1);
            let (dst, other) = (IpAddr::from(Ipv4Addr::from(dst)), IpAddr::from(Ipv4Addr::from(other)));
            prop_assume!(dst != other);
            let cookie = key.probe(SRC, dst, port, 0);
            prop_assert_eq!(key.verify(SRC, other, port, cookie.src_port, Echo::Sequence(cookie.seq), 10), None);
            prop_assert_eq!(key.verify(SRC, dst, port.wrapping_add(1), cookie.src_port, Echo::Sequence(cookie.seq), 10), None);
        }
    }

    proptest! {
        #[test]
        fn ipv6_probes_verify_and_forgeries_do_not(k0: u64, k1: u64, dst: u128, port: u16, try_number in 0u8..=10, forged: u32) {
            let key = CookieKey::new(k0, k1);
            let src = IpAddr::from(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1));
            let dst = IpAddr::from(Ipv6Addr::from(dst));
            let cookie = key.probe(src, dst, port, try_number);
            prop_assert_eq!(key.verify(src, dst, port, cookie.src_port, Echo::Sequence(cookie.seq), 10), Some(try_number));
            prop_assert_eq!(key.verify(src, dst, port, cookie.src_port, Echo::IpIdent(cookie.ip_id), 10), Some(try_number));
            prop_assume!(forged != cookie.seq);
            prop_assert_eq!(key.verify(src, dst, port, cookie.src_port, Echo::Sequence(forged), 10), None);
        }
    }

    proptest! {
        #[test]
        fn a_fixed_source_port_still_tells_the_try_apart(k0: u64, dst: u32, port: u16, fixed: u16, try_number in 0u8..=10) {
            let key = CookieKey::new(k0, 7).with_source_port(fixed);
            let dst = IpAddr::from(Ipv4Addr::from(dst));
            let cookie = key.probe(SRC, dst, port, try_number);
            prop_assert_eq!(cookie.src_port, fixed);
            prop_assert_eq!(key.verify(SRC, dst, port, fixed, Echo::Sequence(cookie.seq), 10), Some(try_number));
            prop_assert_eq!(key.verify(SRC, dst, port, fixed.wrapping_add(1), Echo::Sequence(cookie.seq), 10), None);
        }
    }

    proptest! {
        #[test]
        fn icmp_errors_about_udp_probes_verify_by_ip_identification(k0: u64, k1: u64, dst: u32, port: u16, try_number in 0u8..=10, forged: u16) {
            let key = CookieKey::new(k0, k1);
            let dst = IpAddr::from(Ipv4Addr::from(dst));
            let cookie = key.probe(SRC, dst, port, try_number);
            prop_assert_eq!(key.verify(SRC, dst, port, cookie.src_port, Echo::IpIdent(cookie.ip_id), 10), Some(try_number));
            prop_assume!(forged != cookie.ip_id);
            prop_assert_eq!(key.verify(SRC, dst, port, cookie.src_port, Echo::IpIdent(forged), 10), None);
        }

        #[test]
        fn a_udp_reply_is_vouched_for_by_its_port_alone(k0: u64, k1: u64, dst: u32, port: u16, try_number in 0u8..=10) {
            let key = CookieKey::new(k0, k1);
            let dst = IpAddr::from(Ipv4Addr::from(dst));
            let cookie = key.probe(SRC, dst, port, try_number);
            prop_assert_eq!(key.verify(SRC, dst, port, cookie.src_port, Echo::Nothing, 10), Some(try_number));
            let other_port = 32768 + (cookie.src_port - 32768 + 100) % (60999 - 32768 + 1);
            prop_assert_eq!(key.verify(SRC, dst, port, other_port, Echo::Nothing, 10), None);
        }
    }

    #[test]
    fn tries_beyond_the_allowed_count_are_rejected() {
        let key = CookieKey::new(1, 2);
        let dst = IpAddr::from([198, 18, 0, 2]);
        let cookie = key.probe(SRC, dst, 80, 3);
        assert_eq!(key.verify(SRC, dst, 80, cookie.src_port, Echo::Sequence(cookie.seq), 2), None);
        assert_eq!(key.verify(SRC, dst, 80, cookie.src_port, Echo::Sequence(cookie.seq), 3), Some(3));
    }

    #[test]
    fn different_keys_give_different_cookies() {
        let dst = IpAddr::from([198, 18, 0, 2]);
        assert_ne!(CookieKey::new(1, 2).probe(SRC, dst, 80, 0), CookieKey::new(3, 4).probe(SRC, dst, 80, 0));
    }
}
