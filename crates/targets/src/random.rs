use std::net::{IpAddr, Ipv4Addr};

use rand::Rng;

use crate::{Network, TargetSpec};

/// Blocks `-iR` never picks: private, shared, loopback, link-local, documentation, benchmarking,
/// multicast and reserved space (IANA IPv4 Special-Purpose Address Registry).
const UNROUTED: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// Random routable IPv4 targets for `-iR N`; `N = 0` means without end, as in Nmap.
pub struct RandomTargets<R> {
    remaining: Option<u64>,
    rng: R,
}

impl<R: Rng> RandomTargets<R> {
    pub fn new(count: u64, rng: R) -> Self {
        RandomTargets { remaining: (count > 0).then_some(count), rng }
    }
}

pub fn is_routable(addr: Ipv4Addr) -> bool {
    !UNROUTED
        .iter()
        .any(|&(base, prefix)| Network::new(IpAddr::V4(base), prefix).is_some_and(|net| net.contains(IpAddr::V4(addr))))
}

impl<R: Rng> Iterator for RandomTargets<R> {
    type Item = TargetSpec;

    fn next(&mut self) -> Option<TargetSpec> {
        if let Some(remaining) = self.remaining.as_mut() {
            *remaining = remaining.checked_sub(1)?;
        }
        let addr = std::iter::repeat_with(|| Ipv4Addr::from(self.rng.random::<u32>()))
            .find(|&a| is_routable(a))
            .expect("repeat_with never ends");
        Some(TargetSpec::Network(Network::single(IpAddr::V4(addr))))
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn yields_the_requested_count_of_routable_addresses() {
        let targets: Vec<TargetSpec> = RandomTargets::new(500, StdRng::seed_from_u64(7)).collect();
        assert_eq!(targets.len(), 500);
        for spec in targets {
            let TargetSpec::Network(net) = spec else { panic!("not an address") };
            let IpAddr::V4(addr) = net.addrs().next().unwrap() else { panic!("not IPv4") };
            assert!(is_routable(addr), "{addr}");
        }
    }

    #[test]
    fn zero_means_without_end() {
        assert_eq!(RandomTargets::new(0, StdRng::seed_from_u64(1)).take(10_000).count(), 10_000);
    }

    #[test]
    fn special_purpose_blocks_are_never_picked() {
        for addr in ["10.1.2.3", "127.0.0.1", "192.168.1.1", "198.18.0.1", "224.0.0.1", "255.255.255.255", "0.1.2.3"] {
            assert!(!is_routable(addr.parse().unwrap()), "{addr}");
        }
        assert!(is_routable("93.184.216.1".parse().unwrap()));
    }
}
