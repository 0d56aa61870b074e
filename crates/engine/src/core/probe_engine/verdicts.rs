//! The verdict of every (host, port) slot, and a bit per slot saying whether it has one: the
//! engine asks that for every probe it sends (see [`Bits`]), and needs the verdicts
//! themselves (twenty-odd bytes a slot) only once each.

use super::bits::Bits;
use super::Verdict;

pub(super) struct Verdicts {
    decided: Bits,
    verdicts: Vec<Option<Verdict>>,
}

impl Verdicts {
    /// `slots` slots, each decided from the start where `preset` gives it a verdict.
    pub(super) fn new(slots: u64, preset: impl Fn(u64) -> Option<Verdict>) -> Verdicts {
        let mut decided = Bits::new(slots);
        let verdicts = (0..slots)
            .map(|slot| {
                let verdict = preset(slot);
                if verdict.is_some() {
                    decided.set(slot);
                }
                verdict
            })
            .collect();
        Verdicts { decided, verdicts }
    }

    pub(super) fn is_decided(&self, slot: u64) -> bool {
        self.decided.get(slot)
    }

    /// Slots with no verdict.
    pub(super) fn undecided(&self) -> u64 {
        self.verdicts.len() as u64 - self.decided.count()
    }

    /// Gives `slot` its verdict, unless it has one already; says whether it did.
    pub(super) fn decide(&mut self, slot: u64, verdict: Verdict) -> bool {
        if self.is_decided(slot) {
            return false;
        }
        self.decided.set(slot);
        self.verdicts[slot as usize] = Some(verdict);
        true
    }

    /// Every slot's verdict, in slot order.
    pub(super) fn into_verdicts(self) -> impl Iterator<Item = Option<Verdict>> {
        self.verdicts.into_iter()
    }
}
