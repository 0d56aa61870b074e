//! Instants at which something falls due, taken earliest first.
//!
//! A scan at line rate keeps a million probes waiting for their timeouts; a binary heap of
//! them pays a walk of twenty levels, most of them cache misses, for each one pushed and
//! popped (the engine's largest cost, measured by `cargo bench -p engine --bench line_rate`).
//! Yet most timers are pushed in the order they fall due: a probe sent later times out later
//! when hosts share a timeout, and leaves the pipe later when the round trip holds still. So
//! those go to the back of a queue, in order, at the cost of a comparison; only a timer due
//! before the last one queued goes to a heap. The earliest is at the front of one or the
//! other, and they are taken in exactly the order a single heap would give.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct TimerQueue<K: Ord> {
    /// Timers pushed no earlier than every timer before them, in order.
    in_order: VecDeque<(Instant, K)>,
    /// The rest.
    out_of_order: BinaryHeap<Reverse<(Instant, K)>>,
}

impl<K: Ord + Copy> Default for TimerQueue<K> {
    fn default() -> Self {
        TimerQueue { in_order: VecDeque::new(), out_of_order: BinaryHeap::new() }
    }
}

impl<K: Ord + Copy> TimerQueue<K> {
    /// Adds `key`, due `at`.
    pub fn push(&mut self, at: Instant, key: K) {
        match self.in_order.back() {
            Some(&last) if (at, key) < last => self.out_of_order.push(Reverse((at, key))),
            _ => self.in_order.push_back((at, key)),
        }
    }

    /// The earliest timer, if any.
    pub fn peek(&self) -> Option<(Instant, K)> {
        let queued = self.in_order.front().copied();
        let heaped = self.out_of_order.peek().map(|&Reverse(timer)| timer);
        match (queued, heaped) {
            (Some(queued), Some(heaped)) => Some(queued.min(heaped)),
            (queued, heaped) => queued.or(heaped),
        }
    }

    /// When the earliest timer falls due, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.peek().map(|(at, _)| at)
    }

    /// Takes the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, K)> {
        let earliest = self.peek().filter(|&(at, _)| at <= now)?;
        if self.in_order.front() == Some(&earliest) {
            self.in_order.pop_front();
        } else {
            self.out_of_order.pop();
        }
        Some(earliest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    proptest! {
        /// Whatever order timers are pushed in, and however pushes and pops interleave, they
        /// come out as a single heap gives them.
        #[test]
        fn timers_come_out_as_from_one_heap(
            steps in prop::collection::vec((0u64..50, 0u32..4, any::<bool>()), 0..200),
        ) {
            let base = Instant::now();
            let mut queue = TimerQueue::default();
            let mut heap = BinaryHeap::new();
            let mut now = base;
            for (offset_ms, key, advance) in steps {
                let at = base + Duration::from_millis(offset_ms);
                queue.push(at, key);
                heap.push(Reverse((at, key)));
                if advance {
                    now += Duration::from_millis(7);
                }
                loop {
                    let expected = heap.peek().filter(|Reverse((at, _))| *at <= now).map(|&Reverse(t)| t);
                    if expected.is_some() {
                        heap.pop();
                    }
                    prop_assert_eq!(queue.pop_due(now), expected);
                    if expected.is_none() {
                        break;
                    }
                }
                prop_assert_eq!(queue.next_due(), heap.peek().map(|Reverse((at, _))| *at));
            }
        }
    }

    #[test]
    fn timers_pushed_in_order_never_reach_the_heap() {
        let base = Instant::now();
        let mut queue = TimerQueue::default();
        for n in 0..1000u64 {
            queue.push(base + Duration::from_micros(n / 3), n);
        }
        assert!(queue.out_of_order.is_empty());
        queue.push(base, 5000);
        assert_eq!(queue.out_of_order.len(), 1, "an earlier timer goes to the heap");
        assert_eq!(queue.pop_due(base), Some((base, 0)));
        assert_eq!(queue.pop_due(base), Some((base, 1)));
    }
}
