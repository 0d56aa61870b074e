//! `--seed`: a scan's random order drawn from a number the user gives, so that the same
//! command repeats it (to reproduce a run, or to give every shard the same `-iR` targets);
//! else from the operating system. Cookie keys never come from it: a predictable key would
//! let anyone forge answers.

use std::net::IpAddr;

use rand::rngs::StdRng;
use rand::SeedableRng;

/// The random source of an order: from `seed` when given, else from the operating system.
pub fn order_rng(seed: Option<u64>) -> StdRng {
    seed.map_or_else(StdRng::from_os_rng, StdRng::seed_from_u64)
}

/// The seed of one host's own order, for drivers that order each host apart (the connect
/// scan): the same for the same host whatever order the hosts are scanned in.
pub fn host_seed(seed: Option<u64>, addr: IpAddr) -> Option<u64> {
    let bits = match addr {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    };
    seed.map(|seed| seed ^ (bits as u64) ^ ((bits >> 64) as u64).rotate_left(32))
}

#[cfg(test)]
mod tests {
    use rand::RngCore;

    use super::*;

    #[test]
    fn a_seed_repeats_its_draws_and_hosts_get_their_own() {
        let draws = |seed| order_rng(seed).next_u64();
        assert_eq!(draws(Some(7)), draws(Some(7)));
        assert_ne!(draws(Some(7)), draws(Some(8)));
        let a: IpAddr = "198.18.0.1".parse().unwrap();
        let b: IpAddr = "198.18.0.2".parse().unwrap();
        assert_eq!(host_seed(Some(7), a), host_seed(Some(7), a));
        assert_ne!(host_seed(Some(7), a), host_seed(Some(7), b));
        assert_eq!(host_seed(None, a), None);
    }
}
