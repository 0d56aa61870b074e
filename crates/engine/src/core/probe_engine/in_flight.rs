//! The probes in flight, one per slot at most, kept in the order they were sent.
//!
//! At line rate a million probes can be waiting for their timeouts. In a hash map keyed by
//! slot, each of them was a miss to memory when it was sent, again when it left the pipe and
//! again when it timed out, since the slots follow the scan's random order. Here they sit in a
//! log by sending order, where pipe exits and timeouts, which come in nearly that order, read
//! them one after the other; only a reply or a new try looks a probe up by its slot, through
//! an index of eight bytes a slot.
//!
//! A probe left in flight much longer than the others (a host with a long timeout) would hold
//! the log's front, and the log would grow with everything sent since; such a probe is moved
//! aside to a small map instead, so the log stays about as long as the probes in it.

use std::collections::VecDeque;

use super::{HashMap, Sent};

/// The index's mark of a slot with no probe in flight.
const NONE: u64 = u64::MAX;
/// Entries the log may hold beyond twice the probes in it before its front is moved aside.
const SLACK: usize = 1 << 16;

pub(super) struct InFlight {
    /// Per slot, the sending order of its probe in flight, or [`NONE`].
    order_of: Vec<u64>,
    /// Probes by sending order from `first_order` on, with their slots; `None` where a probe
    /// was answered, given up or moved aside, or where the order went to a canary.
    log: VecDeque<Option<(u64, Sent)>>,
    first_order: u64,
    /// Probes moved out of the log by sending order.
    aside: HashMap<u64, (u64, Sent)>,
    len: usize,
}

impl InFlight {
    pub(super) fn new(slots: u64) -> InFlight {
        InFlight {
            order_of: vec![NONE; slots as usize],
            log: VecDeque::new(),
            first_order: 0,
            aside: HashMap::default(),
            len: 0,
        }
    }

    /// Puts `slot`'s probe `sent` in flight, sent after every probe before it. The slot has
    /// no probe in flight (the caller removes an earlier try's first).
    pub(super) fn insert(&mut self, slot: u64, sent: Sent) {
        debug_assert!(self.get(slot).is_none(), "slot {slot} already has a probe in flight");
        let order = sent.order;
        if self.log.is_empty() {
            self.first_order = order;
        }
        let position = (order - self.first_order) as usize;
        assert!(position >= self.log.len(), "probes are put in flight in the order they are sent");
        self.log.resize_with(position, || None);
        self.log.push_back(Some((slot, sent)));
        self.order_of[slot as usize] = order;
        self.len += 1;
        self.keep_log_short();
    }

    pub(super) fn get(&self, slot: u64) -> Option<&Sent> {
        let order = self.order_of[slot as usize];
        (order != NONE).then(|| self.by_order(order)).flatten().map(|(_, sent)| sent)
    }

    pub(super) fn get_mut(&mut self, slot: u64) -> Option<&mut Sent> {
        let order = self.order_of[slot as usize];
        (order != NONE).then(|| self.by_order_mut(order)).flatten().map(|(_, sent)| sent)
    }

    /// The probe sent `order`-th, if still in flight, and its slot.
    pub(super) fn by_order(&self, order: u64) -> Option<(u64, &Sent)> {
        let flight = match order.checked_sub(self.first_order) {
            Some(position) => self.log.get(position as usize)?.as_ref(),
            None => self.aside.get(&order),
        };
        flight.map(|(slot, sent)| (*slot, sent))
    }

    pub(super) fn by_order_mut(&mut self, order: u64) -> Option<(u64, &mut Sent)> {
        let flight = match order.checked_sub(self.first_order) {
            Some(position) => self.log.get_mut(position as usize)?.as_mut(),
            None => self.aside.get_mut(&order),
        };
        flight.map(|(slot, sent)| (*slot, sent))
    }

    /// Takes `slot`'s probe out of flight.
    pub(super) fn remove(&mut self, slot: u64) -> Option<Sent> {
        let order = std::mem::replace(&mut self.order_of[slot as usize], NONE);
        (order != NONE).then(|| self.remove_order(order)).flatten().map(|(_, sent)| sent)
    }

    /// Takes the probe sent `order`-th out of flight, if it still is, and says its slot.
    ///
    /// Its slot's index entry is left as it is, to spare a miss to memory per probe timing
    /// out: an order is never given twice, so the entry can only name this probe, found gone.
    pub(super) fn remove_order(&mut self, order: u64) -> Option<(u64, Sent)> {
        let flight = match order.checked_sub(self.first_order) {
            Some(position) => self.log.get_mut(position as usize)?.take(),
            None => self.aside.remove(&order),
        }?;
        self.len -= 1;
        self.keep_log_short();
        Some(flight)
    }

    /// The slots with a probe in flight.
    pub(super) fn slots(&self) -> Vec<u64> {
        let logged = self.log.iter().flatten().map(|&(slot, _)| slot);
        logged.chain(self.aside.values().map(|&(slot, _)| slot)).collect()
    }

    /// Drops the holes at the log's front, and moves probes aside while the log is much
    /// longer than the probes in it.
    fn keep_log_short(&mut self) {
        loop {
            match self.log.front() {
                Some(None) => {}
                Some(Some(_)) if self.log.len() > 2 * self.len + SLACK => {
                    let flight = self.log.front_mut().and_then(Option::take).expect("checked above");
                    self.aside.insert(self.first_order, flight);
                }
                _ => return,
            }
            self.log.pop_front();
            self.first_order += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn sent(order: u64, at: Instant) -> Sent {
        Sent { try_number: 0, at, order, deadline: at, in_pipe: true, history: None }
    }

    #[test]
    fn a_slot_is_found_by_its_slot_and_by_its_order_until_it_is_removed() {
        let now = Instant::now();
        let mut flight = InFlight::new(10);
        flight.insert(7, sent(3, now));
        flight.insert(2, sent(5, now));
        assert_eq!(flight.get(7).map(|sent| sent.order), Some(3));
        assert_eq!(flight.by_order(5).map(|(slot, _)| slot), Some(2));
        assert!(flight.by_order(4).is_none(), "an order that went to a canary");
        assert_eq!(flight.remove(7).map(|sent| sent.order), Some(3));
        assert!(flight.get(7).is_none() && flight.by_order(3).is_none());
        assert_eq!(flight.len, 1);
    }

    #[test]
    fn a_new_try_goes_in_flight_once_the_earlier_is_removed() {
        let now = Instant::now();
        let mut flight = InFlight::new(4);
        flight.insert(1, sent(0, now));
        assert_eq!(flight.remove(1).map(|sent| sent.order), Some(0));
        flight.insert(1, sent(1, now + Duration::from_millis(1)));
        assert!(flight.by_order(0).is_none());
        assert_eq!(flight.get(1).map(|sent| sent.order), Some(1));
        assert_eq!(flight.len, 1);
    }

    #[test]
    fn a_probe_left_in_flight_long_does_not_hold_the_log_open() {
        // One slot stays in flight while a million others come and go: the log stays short,
        // and the old probe is still found, by slot and by order.
        let now = Instant::now();
        let mut flight = InFlight::new(1 << 20);
        flight.insert(0, sent(0, now));
        for order in 1..1_000_000u64 {
            flight.insert(order, sent(order, now));
            if order > 100 {
                flight.remove(order - 100);
            }
        }
        assert!(flight.log.len() <= 2 * flight.len + SLACK + 1, "log of {} entries", flight.log.len());
        assert_eq!(flight.get(0).map(|sent| sent.order), Some(0));
        assert_eq!(flight.by_order(0).map(|(slot, _)| slot), Some(0));
        assert_eq!(flight.remove(0).map(|sent| sent.order), Some(0));
        let mut slots = flight.slots();
        slots.sort_unstable();
        assert_eq!(slots, (999_900..1_000_000).collect::<Vec<u64>>());
    }
}
