//! The pace of the scan beyond the window: timeouts, when early retransmission waits, and
//! the adaptive scan delay.

use super::*;

impl<T: Technique> ProbeEngine<T> {
    /// Whether every try waits its timeout: for a round trip after a cut, while it takes
    /// effect, or while the scan delay is grown (see [`Self::retransmit_overtaken`]).
    pub(super) fn early_retransmission_held(&self, now: Instant) -> bool {
        self.last_cut.is_some_and(|cut| now < cut + self.scan_rtt.pipe_time()) || self.delay_grown()
    }

    /// How long after a probe leaves its fate is known: a loss shows when the next try of its
    /// port is answered, a round trip after that try leaves, which is at the probe's pipe exit
    /// at the earliest, or at its timeout while early retransmission is held.
    pub(super) fn loss_shows_after(&self, now: Instant) -> Duration {
        let next_try =
            if self.early_retransmission_held(now) { self.scan_rtt.timeout() } else { self.scan_rtt.pipe_time() };
        next_try + self.scan_rtt.pipe_time()
    }

    /// How long to wait for an answer from `host`: its own estimate once it has answered,
    /// else the scan's (as Nmap times new hosts by their group).
    pub(super) fn timeout_for(&self, host: u32) -> Duration {
        // Only an answered host has a round trip of its own: a silent host's state is not
        // read for each of its probes.
        let answered = self.flags.answered.get(u64::from(host));
        match answered.then(|| &self.hosts[host as usize].rtt).filter(|own| own.srtt().is_some()) {
            Some(own) => own.timeout(),
            None => self.scan_rtt.timeout(),
        }
    }

    /// Probes are still lost with a single one in flight: space them out in time, as Nmap does,
    /// from 5 ms and doubling, up to `--max-scan-delay` (never below `--scan-delay`).
    pub(super) fn slow_down(&mut self, now: Instant) {
        let current = self.delay.interval();
        let wanted = if current.is_zero() { FIRST_SCAN_DELAY } else { current * 2 };
        let cap = self.config.timing.max_scan_delay.max(self.config.timing.scan_delay);
        self.delay.set_interval(wanted.min(cap).max(current));
        self.delay_changed = now;
        self.tell_delay_change(current);
    }

    /// Tells a change of the scan delay from `from`, if it changed.
    fn tell_delay_change(&mut self, from: Duration) {
        let to = self.delay.interval();
        if to != from {
            self.tell(DebugEvent::DelayChanged { from, to });
        }
    }

    /// A window of answers came without loss: once the scan delay has gone a while without new
    /// loss, halve it, back down to `--scan-delay`. (Nmap never lowers it, so a burst of loss
    /// early on slows a long scan to its end.)
    pub(super) fn speed_up(&mut self, now: Instant) {
        if !self.delay_grown() || now < self.delay_changed + SCAN_DELAY_RELAXES_AFTER {
            return;
        }
        let current = self.delay.interval();
        let halved = current / 2;
        let wanted = if halved < FIRST_SCAN_DELAY { Duration::ZERO } else { halved };
        self.delay.set_interval(wanted.max(self.config.timing.scan_delay));
        self.delay_changed = now;
        self.tell_delay_change(current);
    }

    /// Whether the scan delay has grown past `--scan-delay` for loss: probes are spaced out in
    /// time, and the spacing, not the window, sets the pace.
    pub(super) fn delay_grown(&self) -> bool {
        self.delay.interval() > self.config.timing.scan_delay
    }
}
