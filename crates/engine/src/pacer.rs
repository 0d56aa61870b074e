use std::time::{Duration, Instant};

/// Spaces probes at least `interval` apart: `--max-rate` across the scan, `--scan-delay` per host.
/// Sans-IO: it only says when the next probe may leave; the caller sleeps.
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Duration,
    next_slot: Option<Instant>,
}

impl Pacer {
    pub fn with_interval(interval: Duration) -> Pacer {
        Pacer { interval, next_slot: None }
    }

    /// At most `rate` probes per second.
    pub fn per_second(rate: f64) -> Pacer {
        Pacer::with_interval(Duration::from_secs_f64(1.0 / rate))
    }

    /// When the next slot is, without claiming it.
    pub fn next_slot(&self, now: Instant) -> Instant {
        self.next_slot.map_or(now, |next| next.max(now))
    }

    /// Claims the next send slot at or after `now` and returns when it is. Slots never bunch:
    /// an idle pacer does not save up credit for a later burst.
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
    fn idle_time_does_not_allow_a_burst() {
        let start = Instant::now();
        let mut pacer = Pacer::with_interval(MS(400));
        pacer.claim(start);
        let later = start + MS(5000);
        assert_eq!(pacer.claim(later), later);
        assert_eq!(pacer.claim(later), later + MS(400));
    }
}
