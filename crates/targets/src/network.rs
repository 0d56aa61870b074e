use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A CIDR block (`10.0.0.0/8`, `2001:2::/120`); a single address is a full-length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    V4 { base: u32, prefix: u8 },
    V6 { base: u128, prefix: u8 },
}

impl Network {
    /// The block of `prefix` bits that holds `addr` (host bits are cleared, as Nmap does).
    /// Returns `None` when the prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Network> {
        match addr {
            IpAddr::V4(a) if prefix <= 32 => Some(Network::V4 { base: u32::from(a) & mask32(prefix), prefix }),
            IpAddr::V6(a) if prefix <= 128 => Some(Network::V6 { base: u128::from(a) & mask128(prefix), prefix }),
            _ => None,
        }
    }

    pub fn single(addr: IpAddr) -> Network {
        let full = if addr.is_ipv4() { 32 } else { 128 };
        Network::new(addr, full).expect("full-length prefix is valid")
    }

    /// How many addresses the block holds; a v6 `/0` saturates at `u128::MAX`.
    pub fn len(&self) -> u128 {
        match *self {
            Network::V4 { prefix, .. } => 1u128 << (32 - prefix),
            Network::V6 { prefix: 0, .. } => u128::MAX,
            Network::V6 { prefix, .. } => 1u128 << (128 - prefix),
        }
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        match (*self, addr) {
            (Network::V4 { base, prefix }, IpAddr::V4(a)) => u32::from(a) & mask32(prefix) == base,
            (Network::V6 { base, prefix }, IpAddr::V6(a)) => u128::from(a) & mask128(prefix) == base,
            _ => false,
        }
    }

    /// Every address of the block in ascending order, produced lazily.
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> {
        let (first, last, v4) = match *self {
            Network::V4 { base, prefix } => (u128::from(base), u128::from(base | !mask32(prefix)), true),
            Network::V6 { base, prefix } => (base, base | !mask128(prefix), false),
        };
        // An inclusive range cannot overflow at u128::MAX, unlike first..last+1.
        (first..=last).map(
            move |n| {
                if v4 {
                    IpAddr::V4(Ipv4Addr::from(n as u32))
                } else {
                    IpAddr::V6(Ipv6Addr::from(n))
                }
            },
        )
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// The block as written in CIDR notation: `198.18.0.0/24`, `2001:2::/120`.
impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Network::V4 { base, prefix } => write!(f, "{}/{prefix}", Ipv4Addr::from(base)),
            Network::V6 { base, prefix } => write!(f, "{}/{prefix}", Ipv6Addr::from(base)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn host_bits_are_cleared() {
        let net = Network::new(v4("192.168.1.77"), 24).unwrap();
        assert_eq!(net.addrs().next(), Some(v4("192.168.1.0")));
        assert_eq!(net.addrs().last(), Some(v4("192.168.1.255")));
    }

    #[test]
    fn slash_zero_counts_without_expanding() {
        let net = Network::new(v4("0.0.0.0"), 0).unwrap();
        assert_eq!(net.len(), 1 << 32);
        assert_eq!(net.addrs().nth(5), Some(v4("0.0.0.5")));
        let v6 = Network::new("::".parse().unwrap(), 0).unwrap();
        assert_eq!(v6.len(), u128::MAX);
        assert_eq!(v6.addrs().next(), Some("::".parse().unwrap()));
    }

    #[test]
    fn slash_32_is_one_address() {
        let net = Network::new(v4("10.1.2.3"), 32).unwrap();
        assert_eq!(net.addrs().collect::<Vec<_>>(), vec![v4("10.1.2.3")]);
    }

    #[test]
    fn prefix_longer_than_the_address_is_rejected() {
        assert_eq!(Network::new(v4("10.0.0.0"), 33), None);
        assert_eq!(Network::new("::1".parse().unwrap(), 129), None);
    }

    #[test]
    fn contains_respects_family_and_prefix() {
        let net = Network::new(v4("198.18.0.0"), 15).unwrap();
        assert!(net.contains(v4("198.19.255.255")));
        assert!(!net.contains(v4("198.20.0.0")));
        assert!(!net.contains("::1".parse().unwrap()));
    }
}
