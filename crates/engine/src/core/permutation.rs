//! A keyed pseudo-random permutation of `0..n`, so probes visit the (host, port) space in an
//! order where no host sees a burst, and the scan's position is a single index: resuming or
//! sharding a scan is choosing a range of indices.
//!
//! A balanced Feistel network permutes the smallest power-of-four domain `>= n` (Feistel
//! networks are bijections whatever their round function); indices that land outside `0..n`
//! are mapped again ("cycle walking") until they land inside, which keeps the bijection.

use std::hash::Hasher;

use siphasher::sip::SipHasher13;

const ROUNDS: u32 = 4;

#[derive(Debug, Clone)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    key: (u64, u64),
}

impl Permutation {
    pub fn new(n: u64, key: (u64, u64)) -> Permutation {
        let bits = 64 - n.saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        Permutation { n, half_bits, key }
    }

    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The element at position `index` (`index < len()`).
    pub fn at(&self, index: u64) -> u64 {
        debug_assert!(index < self.n);
        let mut value = self.feistel(index);
        while value >= self.n {
            value = self.feistel(value);
        }
        value
    }

    fn feistel(&self, value: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (value >> self.half_bits, value & mask);
        for round in 0..ROUNDS {
            let mut hasher = SipHasher13::new_with_keys(self.key.0, self.key.1);
            hasher.write_u32(round);
            hasher.write_u64(right);
            let next = left ^ (hasher.finish() & mask);
            left = right;
            right = next;
        }
        (left << self.half_bits) | right
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn is_a_bijection(n in 1u64..3000, k0: u64, k1: u64) {
            let perm = Permutation::new(n, (k0, k1));
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let v = perm.at(i);
                prop_assert!(v < n);
                prop_assert!(!seen[v as usize], "{} appears twice", v);
                seen[v as usize] = true;
            }
        }

        #[test]
        fn resuming_from_an_index_continues_the_same_order(n in 1u64..2000, k0: u64, split_seed: u64) {
            let split = split_seed % n;
            let whole: Vec<u64> = (0..n).map(|i| Permutation::new(n, (k0, 1)).at(i)).collect();
            let resumed = Permutation::new(n, (k0, 1));
            let tail: Vec<u64> = (split..n).map(|i| resumed.at(i)).collect();
            prop_assert_eq!(&whole[split as usize..], &tail[..]);
        }
    }

    #[test]
    fn huge_domains_work_without_memory() {
        let perm = Permutation::new(1 << 40, (1, 2));
        assert!(perm.at(123_456_789) < 1 << 40);
    }

    #[test]
    fn consecutive_indices_spread_over_hosts() {
        // 256 hosts x 4 ports: the first 64 probes should touch many different hosts.
        let perm = Permutation::new(1024, (7, 9));
        let hosts: std::collections::HashSet<u64> = (0..64).map(|i| perm.at(i) / 4).collect();
        assert!(hosts.len() > 40, "only {} hosts", hosts.len());
    }
}
