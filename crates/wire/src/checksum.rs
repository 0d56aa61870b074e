//! The Internet checksum (RFC 1071).

use std::net::IpAddr;

/// The ones'-complement sum of 16-bit big-endian words, not yet complemented. A `const fn`,
/// so that the sum of a constant (a probe's fixed options) is taken when compiling.
pub const fn sum(data: &[u8]) -> u32 {
    let (words, rest) = data.as_chunks::<2>();
    let mut total: u32 = 0;
    let mut at = 0;
    while at < words.len() {
        total += u16::from_be_bytes(words[at]) as u32;
        at += 1;
    }
    if let [last] = rest {
        total += (*last as u32) << 8;
    }
    total
}

/// The sum of a 32-bit field's two 16-bit words.
pub fn sum_u32(value: u32) -> u32 {
    (value >> 16) + (value & 0xffff)
}

/// Folds a sum into 16 bits and complements it.
pub fn finish(mut total: u32) -> u16 {
    while total > 0xffff {
        total = (total & 0xffff) + (total >> 16);
    }
    !(total as u16)
}

/// The pseudo-header sum that TCP, UDP and ICMPv6 checksums start from: the addresses, the
/// protocol (IPv6: next header) and the upper-layer length (16 bits in IPv4, 32 in IPv6, RFC
/// 8200 section 8.1; the same sum for any length below 65536).
/// Addresses of two families have no pseudo-header: the sum is then that of the addresses
/// alone, and the packet, which cannot be sent anyway, carries a wrong checksum.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, length: usize) -> u32 {
    let addresses = |addr: IpAddr| match addr {
        IpAddr::V4(addr) => sum(&addr.octets()),
        IpAddr::V6(addr) => sum(&addr.octets()),
    };
    let length = length as u32;
    addresses(src) + addresses(dst) + u32::from(protocol) + (length >> 16) + (length & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // The example words of RFC 1071 section 3: 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(sum(&data)), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        const ODD: u32 = sum(&[0x12, 0x34, 0x56]);
        assert_eq!(ODD, 0x1234 + 0x5600, "the same when compiling");
    }

    #[test]
    fn a_fields_sum_is_the_sum_of_its_bytes() {
        assert_eq!(sum_u32(0xf4f5_f6f7), sum(&0xf4f5_f6f7u32.to_be_bytes()));
    }
}
