//! Loss counted by when the lost probe was sent.
//!
//! Each try of a port that answers is a trial: delivered, or lost (which only shows when a
//! later try of the same port is answered). Counting those outcomes as answers arrive would
//! be biased: once most probes in flight are retransmissions, nearly every answer reveals a
//! loss, whatever the path's loss rate. Counted by the send time of the try they are about,
//! and judged once the tries of a stretch of time have had time to show their fate, they
//! measure the loss per try of what was sent then, whatever the mix of first tries and
//! retransmissions. Ports that never answer (hosts down, ports filtered) give no outcome.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Outcomes of tries sent in a stretch of time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub delivered: u32,
    pub lost: u32,
}

impl Tally {
    pub fn outcomes(&self) -> u32 {
        self.delivered + self.lost
    }

    /// The share of outcomes that were losses.
    pub fn loss(&self) -> f64 {
        f64::from(self.lost) / f64::from(self.outcomes().max(1))
    }

    fn add(&mut self, other: Tally) {
        self.delivered += other.delivered;
        self.lost += other.lost;
    }
}

/// The tries of one port that went unanswered before the one now being sent or answered:
/// how many, and when the first and the last of them left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostTries {
    pub first: Instant,
    pub last: Instant,
    pub count: u8,
}

impl LostTries {
    /// The unanswered tries once another, sent at `sent`, has gone unanswered too.
    pub fn and(earlier: Option<LostTries>, sent: Instant) -> LostTries {
        match earlier {
            Some(lost) => LostTries { last: sent, count: lost.count.saturating_add(1), ..lost },
            None => LostTries { first: sent, last: sent, count: 1 },
        }
    }

    /// The tries before the last: the last was answered after all.
    pub fn before_last(self) -> Option<LostTries> {
        let count = self.count.checked_sub(1).filter(|&count| count > 0)?;
        Some(LostTries { count, ..self })
    }

    /// When each try left: the first and the last as known, those between spread evenly.
    fn send_times(self) -> impl Iterator<Item = Instant> {
        let span = self.last.saturating_duration_since(self.first);
        let gaps = u32::from(self.count.max(2) - 1);
        (0..u32::from(self.count)).map(move |i| {
            if i + 1 == u32::from(self.count) {
                self.last
            } else {
                self.first + span * i / gaps
            }
        })
    }
}

/// Sends are grouped by this much of their send time.
const QUANTUM: Duration = Duration::from_millis(1);

/// Outcomes of tries by the quantum of time they were sent in, from the oldest not yet
/// judged.
#[derive(Debug, Clone)]
pub struct LossLedger {
    origin: Instant,
    /// One entry per quantum in which something was sent: its number and its outcomes so far.
    pending: VecDeque<(u64, Tally)>,
    /// Quanta before this one are settled: their tries have had time to show their fate, and
    /// their outcomes wait in `settled` until enough of them are there to judge.
    settled_until: u64,
    settled: Tally,
    /// Quanta before this one are judged, or belong to a loss event already answered: their
    /// outcomes are dropped.
    forgotten_until: u64,
}

impl LossLedger {
    pub fn new(origin: Instant) -> LossLedger {
        LossLedger { origin, pending: VecDeque::new(), settled_until: 0, settled: Tally::default(), forgotten_until: 0 }
    }

    fn quantum(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.origin).as_nanos() / QUANTUM.as_nanos()) as u64
    }

    /// A try left at `at` (sends come in time order).
    pub fn sent(&mut self, at: Instant) {
        let quantum = self.quantum(at);
        if quantum >= self.settled_until && self.pending.back().is_none_or(|&(last, _)| last < quantum) {
            self.pending.push_back((quantum, Tally::default()));
        }
    }

    /// The try sent at `sent` was answered.
    pub fn delivered(&mut self, sent: Instant) {
        self.record(sent, Tally { delivered: 1, lost: 0 });
    }

    /// These tries were lost: a later try of their port was answered.
    pub fn lost(&mut self, tries: LostTries) {
        for sent in tries.send_times() {
            self.record(sent, Tally { delivered: 0, lost: 1 });
        }
    }

    fn record(&mut self, sent: Instant, outcome: Tally) {
        let quantum = self.quantum(sent);
        if quantum < self.forgotten_until {
            return;
        }
        if quantum < self.settled_until {
            self.settled.add(outcome);
            return;
        }
        if let Ok(index) = self.pending.binary_search_by_key(&quantum, |&(q, _)| q) {
            self.pending[index].1.add(outcome);
        }
    }

    /// The outcomes of the tries sent before `settled_before` that are not judged yet.
    pub fn settle(&mut self, settled_before: Instant) -> Tally {
        let until = self.quantum(settled_before);
        while let Some(&(quantum, tally)) = self.pending.front().filter(|&&(quantum, _)| quantum < until) {
            self.settled.add(tally);
            self.settled_until = quantum + 1;
            self.pending.pop_front();
        }
        self.settled_until = self.settled_until.max(until);
        self.settled
    }

    /// The settled outcomes are judged: later outcomes of their tries are dropped.
    pub fn judged(&mut self) {
        self.settled = Tally::default();
        self.forgotten_until = self.settled_until;
    }

    /// A loss event was answered at `now`: the outcomes of every try sent before belong to it.
    pub fn forget_before(&mut self, now: Instant) {
        let quantum = self.quantum(now);
        self.judged();
        self.forgotten_until = self.forgotten_until.max(quantum);
        self.settled_until = self.settled_until.max(quantum);
        while self.pending.front().is_some_and(|&(q, _)| q < quantum) {
            self.pending.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn outcomes_count_for_when_their_try_was_sent() {
        let start = Instant::now();
        let mut ledger = LossLedger::new(start);
        for i in 0..10 {
            ledger.sent(start + MS(i));
        }
        // A loss of a try sent at 2 ms shows at 9 ms, with its retransmission's answer.
        ledger.delivered(start + MS(1));
        ledger.lost(LostTries::and(None, start + MS(2)));
        ledger.delivered(start + MS(8));
        assert_eq!(ledger.settle(start + MS(5)), Tally { delivered: 1, lost: 1 });
        // A late outcome of a settled try still counts until the tally is judged.
        ledger.lost(LostTries::and(None, start + MS(3)));
        assert_eq!(ledger.settle(start + MS(5)), Tally { delivered: 1, lost: 2 });
        ledger.judged();
        ledger.lost(LostTries::and(None, start + MS(4)));
        assert_eq!(ledger.settle(start + MS(5)), Tally::default(), "judged tries are not judged again");
        assert_eq!(ledger.settle(start + MS(20)), Tally { delivered: 1, lost: 0 });
    }

    #[test]
    fn a_loss_event_forgets_the_outcomes_of_tries_sent_before_it() {
        let start = Instant::now();
        let mut ledger = LossLedger::new(start);
        for i in 0..10 {
            ledger.sent(start + MS(i));
        }
        ledger.lost(LostTries::and(None, start + MS(1)));
        ledger.forget_before(start + MS(5));
        ledger.lost(LostTries::and(None, start + MS(2)));
        ledger.lost(LostTries::and(None, start + MS(6)));
        assert_eq!(ledger.settle(start + MS(20)), Tally { delivered: 0, lost: 1 });
    }

    #[test]
    fn every_unanswered_try_of_a_port_counts_as_lost() {
        // A port answered at its fourth try lost three, sent at 0, (about) 3 and 6 ms.
        let start = Instant::now();
        let mut ledger = LossLedger::new(start);
        for i in 0..10 {
            ledger.sent(start + MS(i));
        }
        let lost = [0, 3, 6].iter().fold(None, |lost, &at| Some(LostTries::and(lost, start + MS(at))));
        ledger.lost(lost.unwrap());
        ledger.delivered(start + MS(9));
        assert_eq!(ledger.settle(start + MS(20)), Tally { delivered: 1, lost: 3 });
        assert_eq!(lost.unwrap().before_last().map(|l| l.count), Some(2));
    }

    #[test]
    fn quanta_without_sends_take_no_room() {
        let start = Instant::now();
        let mut ledger = LossLedger::new(start);
        ledger.sent(start);
        ledger.sent(start + Duration::from_secs(3600));
        assert_eq!(ledger.pending.len(), 2);
    }
}
