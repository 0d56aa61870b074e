//! A fixed number of flags, one per slot or per host, kept dense: the engine reads some for
//! every probe in the scan's random order, and a bit each stays in the cache where a field of
//! a larger record would be a miss to memory each time.

#[derive(Debug, Clone)]
pub(super) struct Bits {
    words: Vec<u64>,
}

impl Bits {
    /// `len` flags, all clear.
    pub(super) fn new(len: u64) -> Bits {
        Bits { words: vec![0; len.div_ceil(64) as usize] }
    }

    pub(super) fn get(&self, index: u64) -> bool {
        self.words[(index / 64) as usize] & (1 << (index % 64)) != 0
    }

    pub(super) fn set(&mut self, index: u64) {
        self.words[(index / 64) as usize] |= 1 << (index % 64);
    }

    /// How many flags are set.
    pub(super) fn count(&self) -> u64 {
        self.words.iter().map(|word| u64::from(word.count_ones())).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_set_one_by_one_and_counted() {
        let mut bits = Bits::new(130);
        for index in [0, 63, 64, 129] {
            assert!(!bits.get(index));
            bits.set(index);
            assert!(bits.get(index));
        }
        bits.set(64);
        assert_eq!(bits.count(), 4);
        assert!(!bits.get(1) && !bits.get(128));
    }
}
