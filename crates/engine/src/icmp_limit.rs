//! When silence from a host means something, given that it rate-limits ICMP errors.
//!
//! A closed UDP port answers with an ICMP port unreachable, and hosts ration those: Linux
//! sends six at once, then one a second (net.ipv4.icmp_ratelimit, a token bucket per
//! destination). A probe that meets an empty bucket gets no answer, which Nmap reads as
//! "open|filtered" once its retries run out. Portolan instead believes a silence only when the
//! host had an error to spare: the probe left at least one refill period (with a margin) after
//! the host's last error, and no other error came back while it was out. Had the port been
//! closed, the host would then have answered, so the silence is the port's own. Ports whose
//! silence proves nothing are probed again a little later; each error the host sends settles a
//! port, so the scan runs at the host's error rate, which no sender can beat.

use std::time::{Duration, Instant};

/// The refill period assumed before one is measured: Linux's default of one error a second.
const ASSUMED_REFILL: Duration = Duration::from_secs(1);
/// Gaps longer than this between errors are not a refill period but a pause in the scan.
const LONGEST_REFILL: Duration = Duration::from_secs(10);
/// How many refill periods must pass after an error before silence counts.
const QUIET_PERIODS: u32 = 3;

#[derive(Debug, Clone, Default)]
pub struct IcmpLimit {
    last_error: Option<Instant>,
    longest_gap: Duration,
}

impl IcmpLimit {
    /// An ICMP error from the host arrived at `now`.
    pub fn heard_error(&mut self, now: Instant) {
        if let Some(last) = self.last_error {
            let gap = now.saturating_duration_since(last);
            if gap <= LONGEST_REFILL {
                self.longest_gap = self.longest_gap.max(gap);
            }
        }
        self.last_error = Some(now.max(self.last_error.unwrap_or(now)));
    }

    /// The time between two errors when the host sends as fast as its limit lets it.
    fn refill(&self) -> Duration {
        ASSUMED_REFILL.max(self.longest_gap)
    }

    /// How long after an error the host is sure to have another to spare.
    pub fn quiet_needed(&self) -> Duration {
        self.refill() * QUIET_PERIODS / 2
    }

    /// Whether silence to a probe sent at `sent` says the port itself is silent: true for a
    /// host that has sent no error (nothing is rationed), else only if the probe left long
    /// enough after the host's last error, and no error has come since.
    pub fn silence_counts(&self, sent: Instant) -> bool {
        self.last_error.is_none_or(|last| sent >= last + self.quiet_needed())
    }

    /// How often to probe again the ports whose silence proved nothing: a few times per refill
    /// period, so that a closed one is always waiting when the host's next error is due.
    pub fn probe_again_every(&self) -> Duration {
        self.refill() / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_without_errors_makes_every_silence_count() {
        assert!(IcmpLimit::default().silence_counts(Instant::now()));
    }

    #[test]
    fn silence_counts_only_after_a_quiet_period_with_no_error_since() {
        let start = Instant::now();
        let mut limit = IcmpLimit::default();
        limit.heard_error(start);
        assert!(!limit.silence_counts(start + Duration::from_millis(500)), "the bucket may still be empty");
        assert!(limit.silence_counts(start + Duration::from_millis(1500)));
        limit.heard_error(start + Duration::from_millis(1600));
        assert!(!limit.silence_counts(start + Duration::from_millis(1500)), "an error came back since");
    }

    #[test]
    fn a_slower_refill_is_learnt_from_the_gaps_between_errors() {
        let start = Instant::now();
        let mut limit = IcmpLimit::default();
        for second in [0, 2, 4] {
            limit.heard_error(start + Duration::from_secs(second));
        }
        assert_eq!(limit.quiet_needed(), Duration::from_secs(3));
        assert_eq!(limit.probe_again_every(), Duration::from_secs(1));
        limit.heard_error(start + Duration::from_secs(60));
        assert_eq!(limit.quiet_needed(), Duration::from_secs(3), "a pause in the scan is not a refill period");
    }
}
