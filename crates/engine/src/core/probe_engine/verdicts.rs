//! The verdict of every (host, port) slot, and a bit per slot saying whether it has one.
//!
//! The engine asks whether a slot is decided for every probe it sends, in scan order, which
//! is random over the slots: the bits, a megabit for a million slots, stay in the cache where
//! the verdicts themselves (twenty-odd bytes a slot) would be a miss to memory each time.

use super::Verdict;

pub(super) struct Verdicts {
    decided: Vec<u64>,
    verdicts: Vec<Option<Verdict>>,
}

impl Verdicts {
    /// `slots` slots, each decided from the start where `preset` gives it a verdict.
    pub(super) fn new(slots: u64, preset: impl Fn(u64) -> Option<Verdict>) -> Verdicts {
        let mut decided = vec![0; slots.div_ceil(64) as usize];
        let verdicts = (0..slots)
            .map(|slot| {
                let verdict = preset(slot);
                decided[(slot / 64) as usize] |= u64::from(verdict.is_some()) << (slot % 64);
                verdict
            })
            .collect();
        Verdicts { decided, verdicts }
    }

    pub(super) fn is_decided(&self, slot: u64) -> bool {
        self.decided[(slot / 64) as usize] & (1 << (slot % 64)) != 0
    }

    /// Slots with no verdict.
    pub(super) fn undecided(&self) -> u64 {
        self.verdicts.len() as u64 - self.decided.iter().map(|word| u64::from(word.count_ones())).sum::<u64>()
    }

    /// Gives `slot` its verdict, unless it has one already; says whether it did.
    pub(super) fn decide(&mut self, slot: u64, verdict: Verdict) -> bool {
        if self.is_decided(slot) {
            return false;
        }
        self.mark(slot);
        self.verdicts[slot as usize] = Some(verdict);
        true
    }

    fn mark(&mut self, slot: u64) {
        self.decided[(slot / 64) as usize] |= 1 << (slot % 64);
    }

    /// Every slot's verdict, in slot order.
    pub(super) fn into_verdicts(self) -> impl Iterator<Item = Option<Verdict>> {
        self.verdicts.into_iter()
    }
}
