use std::time::{Duration, Instant};

/// Spaces probes at least `interval` apart on average: `--max-rate` across the scan,
/// `--scan-delay` per host. Sans-IO: it only says when the next probe may leave; the caller
/// sleeps.
///
/// A rate pacer lets a late sender catch up on the slots of the last few milliseconds (a
/// thread's wakeup is rarely on time to the microsecond), but never more: an idle scan does not
/// save up credit for a large burst. A scan delay is a promise about every single gap, so that
/// pacer gives no credit at all.
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Duration,
    credit: Duration,
    next_slot: Option<Instant>,
}

/// How far behind schedule a rate pacer may catch up.
const RATE_CREDIT: Duration = Duration::from_millis(5);

impl Pacer {
    /// Every probe at least `interval` after the previous one.
    pub fn with_interval(interval: Duration) -> Pacer {
        Pacer { interval, credit: Duration::ZERO, next_slot: None }
    }

    /// At most `rate` probes per second, averaged over a few milliseconds.
    pub fn per_second(rate: f64) -> Pacer {
        Pacer { interval: Duration::from_secs_f64(1.0 / rate), credit: RATE_CREDIT, next_slot: None }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Changes the spacing from the next claim on.
    pub fn set_interval(&mut self, interval: Duration) {
        self.interval = interval;
    }

    /// When the next slot is, without claiming it.
    pub fn next_slot(&self, now: Instant) -> Instant {
        let earliest = now.checked_sub(self.credit).unwrap_or(now);
        self.next_slot.map_or(now, |next| next.max(earliest))
    }

    /// Claims the next send slot and returns when it is (at or after `now` minus the credit).
    pub fn claim(&mut self, now: Instant) -> Instant {
        let slot = self.next_slot(now);
        self.next_slot = Some(slot + self.interval);
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn back_to_back_claims_are_one_interval_apart() {
        let start = Instant::now();
        let mut pacer = Pacer::per_second(100.0);
        assert_eq!(pacer.claim(start), start);
        assert_eq!(pacer.claim(start), start + MS(10));
        assert_eq!(pacer.claim(start), start + MS(20));
    }

    #[test]
    fn a_scan_delay_allows_no_burst_after_idle_time() {
        let start = Instant::now();
        let mut pacer = Pacer::with_interval(MS(400));
        pacer.claim(start);
        let later = start + MS(5000);
        assert_eq!(pacer.claim(later), later);
        assert_eq!(pacer.claim(later), later + MS(400));
    }

    #[test]
    fn a_late_rate_pacer_catches_up_a_few_milliseconds_only() {
        // 10,000 probes/s: a slot every 100 us. Waking 4 ms late may send the 40 missed slots
        // at once, not the 50,000 of an idle five seconds.
        let start = Instant::now() + Duration::from_secs(10);
        let mut pacer = Pacer::per_second(10_000.0);
        pacer.claim(start);
        let late = start + MS(4);
        let caught_up = std::iter::from_fn(|| Some(pacer.claim(late))).take_while(|&slot| slot <= late).count();
        assert_eq!(caught_up, 40);
        let idle = late + Duration::from_secs(5);
        let burst = std::iter::from_fn(|| Some(pacer.claim(idle))).take_while(|&slot| slot <= idle).count();
        assert_eq!(burst, 51, "5 ms of credit, and the slot at `idle` itself");
    }
}
