//! `--shards I/N`: one of N disjoint slices of a scan's targets, whose union is the whole
//! scan, so that N machines (or N jobs of a cluster) share one scan with no coordination but
//! the command line.

use std::fmt;

/// Slice `index` of `count` (0-based, as Kubernetes numbers an indexed job's pods): the
/// targets at positions `index`, `index + count`, `index + 2 * count`… of the target walk.
/// Dealt round-robin, each slice spreads over the whole target range rather than taking one
/// block of it, and stays within one host of the others' size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u64,
    count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard '{0}': expected I/N with 0 <= I < N (e.g. 0/4)")]
pub struct ShardError(String);

impl Shard {
    /// The whole scan: one slice of one.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Reads `I/N`.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let invalid = || ShardError(text.to_string());
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let index: u64 = index.parse().map_err(|_| invalid())?;
        let count: u64 = count.parse().map_err(|_| invalid())?;
        if index >= count {
            return Err(invalid());
        }
        Ok(Shard { index, count })
    }

    /// The items of `walk` this shard scans. Items that fail (a name that does not resolve)
    /// keep their place, so that every shard deals from the same sequence.
    pub fn select<T>(self, walk: impl Iterator<Item = T>) -> impl Iterator<Item = T> {
        walk.skip(self.index as usize).step_by(self.count as usize)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::IpAddr;

    use proptest::prelude::*;

    use super::*;
    use crate::resolve::fake::FakeResolver;
    use crate::{ExcludeList, Family, TargetSpec, TargetWalk};

    fn walk(specs: &[String], exclude: &[String]) -> Vec<IpAddr> {
        let resolver = FakeResolver::default();
        let parse = |list: &[String]| list.iter().map(|s| TargetSpec::parse(s).unwrap()).collect::<Vec<_>>();
        let exclude = ExcludeList::new(parse(exclude), &resolver).unwrap();
        let walk = TargetWalk::new(parse(specs).into_iter(), Family::V4, exclude, &resolver);
        walk.map(|target| target.unwrap().addr).collect()
    }

    #[test]
    fn reads_index_over_count() {
        assert_eq!(Shard::parse("0/4"), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(Shard::parse("3/4").unwrap().to_string(), "3/4");
        for bad in ["4/4", "1", "a/2", "1/0", "-1/2", "1/2/3", ""] {
            assert_eq!(Shard::parse(bad), Err(ShardError(bad.to_string())), "{bad}");
        }
    }

    proptest! {
        /// Any target list, exclusions and shard count: the shards are disjoint, their
        /// union is the whole walk, and each is within one target of the others' size.
        #[test]
        fn the_shards_are_disjoint_and_make_up_the_whole_scan(
            blocks in prop::collection::vec((0u8..4, 0u8..=255, 24u8..=32), 1..4),
            excluded in prop::collection::vec((0u8..4, 0u8..=255), 0..20),
            count in 1u64..9,
        ) {
            let specs: Vec<String> =
                blocks.iter().map(|(b, c, prefix)| format!("198.18.{b}.{c}/{prefix}")).collect();
            let exclude: Vec<String> = excluded.iter().map(|(b, c)| format!("198.18.{b}.{c}")).collect();
            let whole = walk(&specs, &exclude);
            let shards: Vec<Vec<IpAddr>> = (0..count)
                .map(|index| Shard { index, count }.select(whole.iter().copied()).collect())
                .collect();
            let mut dealt: Vec<IpAddr> = shards.concat();
            dealt.sort();
            let mut expected = whole.clone();
            expected.sort();
            prop_assert_eq!(dealt, expected);
            let sizes: HashSet<usize> = shards.iter().map(Vec::len).collect();
            prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        }
    }
}
