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
//!
//! Where errors are rare (TCP, where only ports a firewall rejects send them), an error is
//! also proof on the spot: the host had a token when the probe that drew it arrived, so it had
//! one for the probes sent just before it in the same batch (microseconds earlier, too soon
//! for even Linux's global limit of a thousand a second to have refilled one), whose silence
//! is then the port's own. The engine makes such proofs on purpose: after sending silent
//! ports' probes again, it sends a canary, a probe known to draw an error; if the canary's
//! error comes back, the host had errors to spare for all of them.
//!
//! An error can be lost on its way back, and then the host spent a token the scanner never
//! saw spent: the quiet period after the last error heard would let the next probes' silence
//! count while the bucket is in fact empty, and every port probed then would lose a try for
//! one lost packet. So a probe that went unanswered although the host had refilled a token
//! for it is taken to have spent that token, and the quiet period runs from it too; and so
//! on from that spend, for up to a few errors lost in a row — beyond that, silence is
//! believed, or a host whose remaining ports all drop their probes would be held forever.
//!
//! The refill period is assumed to be Linux's second until the host proves it shorter: once a
//! port that went unanswered later answers with an error, the bucket was empty when it was
//! first probed, so every error since then was refilled, and errors over elapsed time bounds
//! the refill rate from below. A host without a limit per peer thus earns a quiet period of
//! 30 ms, no shorter: Linux's limit over all peers (1000 errors a second) refills in clumps a
//! fiftieth of a second apart, its bucket dry in between.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The refill period assumed before one is measured: Linux's default of one error a second.
/// A longer one is learnt from the gaps between errors, provided the first refill arrives
/// within the quiet period this implies (1.5 s); a host refilling more slowly than that can
/// have closed ports reported open|filtered, as Nmap reports them.
const ASSUMED_REFILL: Duration = Duration::from_secs(1);
/// The shortest refill period believed, however fast a host's errors come on average: Linux's
/// limit on errors to all peers together (1000 a second by default) refills no sooner than a
/// fiftieth of a second after its last refill, a clump of twenty at once, and stays dry in
/// between; a period measured from the average would believe silences within that gap.
const SHORTEST_REFILL: Duration = Duration::from_millis(20);
/// Gaps longer than this between errors are not a refill period but a pause in the scan.
const LONGEST_REFILL: Duration = Duration::from_secs(10);
/// How many half refill periods must pass after an error before silence counts: one and a
/// half periods, so that a token has surely come back whatever the phase of the refill.
const QUIET_HALF_PERIODS: u32 = 3;
/// Proofs kept: enough for every probe a sweep sends again before its canary.
const PROOFS_KEPT: usize = 256;
/// How many errors in a row may have been lost unseen after the last one heard. Under 5 %
/// loss each way, one error in ten is lost; three in a row, one run in a thousand.
const UNHEARD_SPENDS: u8 = 3;

/// When a probe left, and its place in the order of sending: probes sent at one instant (a
/// batch) still reach the host one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sending {
    pub order: u64,
    pub at: Instant,
}

#[derive(Debug, Clone, Default)]
pub struct IcmpLimit {
    /// When the first probe left for the host: its bucket may have been emptied just before,
    /// by another scan or by errors to other hosts.
    first_probe: Option<Instant>,
    last_error: Option<Instant>,
    /// The last probe that went unanswered when the host had refilled a token for it since
    /// its last error heard (or since the spend before): that token may have gone to an error
    /// lost on the way back. How many such spends were assumed since the last error heard.
    unheard_spend: Option<Instant>,
    unheard_spends: u8,
    longest_gap: Duration,
    /// Errors heard from the host since the last sweep was planned.
    errors: u32,
    /// When the bucket was known to be empty, from when on arriving errors are counted as
    /// refills since then, and how many have been heard.
    dry: Option<(Instant, Instant)>,
    errors_since_dry: u32,
    /// The longest the refill period can be, given the errors heard since the bucket was dry.
    proven_refill: Option<Duration>,
    /// Probes that drew errors, in the order they were sent: the host had an error to spare
    /// when each arrived.
    spared: VecDeque<Sending>,
}

impl IcmpLimit {
    /// An ICMP error from the host arrived at `now`, for the probe sent as `sent` if that is
    /// known (an error to a probe sent twice may be about either sending).
    pub fn heard_error(&mut self, now: Instant, sent: Option<Sending>) {
        if let Some(sent) = sent {
            let at = self.spared.partition_point(|spared| spared.order < sent.order);
            self.spared.insert(at, sent);
            if self.spared.len() > PROOFS_KEPT {
                self.spared.pop_front();
            }
        }
        self.errors = self.errors.saturating_add(1);
        if let Some((dry, _)) = self.dry.filter(|&(_, counted_from)| now >= counted_from) {
            self.errors_since_dry = self.errors_since_dry.saturating_add(1);
            // Less than one token was left when the bucket ran dry, so all but one of these
            // errors were refilled in the time since (the uncounted ones only make it more).
            if let Some(refilled) = self.errors_since_dry.checked_sub(1).filter(|&n| n > 0) {
                let bound = now.saturating_duration_since(dry) / refilled;
                self.proven_refill = Some(self.proven_refill.map_or(bound, |proven| proven.min(bound)));
            }
        }
        if let Some(last) = self.last_error {
            let gap = now.saturating_duration_since(last);
            if gap <= LONGEST_REFILL {
                self.longest_gap = self.longest_gap.max(gap);
            }
        }
        self.last_error = Some(now.max(self.last_error.unwrap_or(now)));
        self.unheard_spends = 0;
    }

    /// A probe sent at `sent` went unanswered. If a token had come back for it since the
    /// host's last spend (its last error heard, or a token taken to have gone to a lost
    /// error), and the quiet period after that spend had not yet begun (after which silence
    /// is believed), that token may have been spent on an error that was lost too.
    pub fn unanswered(&mut self, sent: Instant) {
        let Some(last_spend) = self.last_error.max(self.unheard_spend) else { return };
        let refilled = sent >= last_spend + self.refill();
        let before_quiet = sent < last_spend + self.quiet_needed();
        if refilled && before_quiet && self.unheard_spends < UNHEARD_SPENDS {
            self.unheard_spend = Some(sent);
            self.unheard_spends += 1;
        }
    }

    /// A probe sent at `sent` met an empty bucket. Errors arriving from `settle` later on
    /// (a round-trip timeout, after which no error to an earlier probe is still on its way)
    /// are refills.
    pub fn ran_dry_at(&mut self, sent: Instant, settle: Duration) {
        if self.dry.is_none() {
            self.dry = Some((sent, sent + settle));
        }
    }

    /// The longest a spent error can take to come back when the host sends as fast as its
    /// limit lets it.
    fn refill(&self) -> Duration {
        let assumed = ASSUMED_REFILL.max(self.longest_gap);
        self.proven_refill.map_or(assumed, |proven| proven.clamp(SHORTEST_REFILL, assumed))
    }

    /// How long after an error the host is sure to have another to spare.
    pub fn quiet_needed(&self) -> Duration {
        self.refill() * QUIET_HALF_PERIODS / 2
    }

    /// Whether silence to a probe sent at `sent` says the port itself is silent: only if the
    /// probe left long enough after the host's last error (or, before any, after its first
    /// probe), and no error has come since.
    pub fn silence_counts(&self, sent: Instant) -> bool {
        self.quiet_from().is_none_or(|quiet| sent >= quiet)
    }

    /// Whether a probe sent after `sent` in the same batch drew an error: the host had one to
    /// spare for `sent` too.
    pub fn spare_proven(&self, sent: Sending) -> bool {
        let next = self.spared.partition_point(|spared| spared.order <= sent.order);
        self.spared.get(next).is_some_and(|spared| spared.at == sent.at)
    }

    /// Whether `sent`, or a probe sent after it, has drawn an error.
    pub fn spare_since(&self, sent: Sending) -> bool {
        self.spared.back().is_some_and(|spared| spared.order >= sent.order)
    }

    /// From when on silence counts again: a quiet period after the host's last error (or the
    /// last token it may have spent on an error that was lost), or after its first probe
    /// while it has sent none (had its bucket been empty then, a token has come back since).
    /// `None` before any probe.
    pub fn quiet_from(&self) -> Option<Instant> {
        let last_spend = self.last_error.max(self.unheard_spend);
        last_spend.or(self.first_probe).map(|since| since + self.quiet_needed())
    }

    /// The host's first probe left at `now`.
    pub fn first_probe_sent(&mut self, now: Instant) {
        self.first_probe.get_or_insert(now);
    }

    /// When to probe again the ports whose silence proved nothing, `timeout` being the host's
    /// round-trip timeout, and `sent` the probes sent to it since the last sweep was planned
    /// (counted by the caller, which touches this state only when it must). A host that
    /// answered most of them is not short of errors (or only briefly, like Linux's global
    /// limit of 1000 a second): again after a timeout. A host that answered few is rationing
    /// them: twice per refill period, so that a closed port is always waiting when its next
    /// error is due, without flooding it.
    pub fn probe_again_after(&mut self, timeout: Duration, sent: u32) -> Duration {
        let rationed = self.errors.saturating_mul(2) < sent;
        self.errors = 0;
        if rationed {
            self.refill() / 2
        } else {
            timeout
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_without_errors_makes_silence_count_a_quiet_period_after_its_first_probe() {
        // Regression: a host whose bucket another scan had just emptied sent no error for a
        // second, and every closed port of a fast scan came out open|filtered.
        let start = Instant::now();
        let mut limit = IcmpLimit::default();
        assert!(limit.silence_counts(start), "nothing sent, nothing rationed");
        limit.first_probe_sent(start);
        assert!(!limit.silence_counts(start + Duration::from_millis(500)), "the bucket may have been empty");
        assert!(limit.silence_counts(start + Duration::from_millis(1500)));
    }

    #[test]
    fn silence_counts_only_after_a_quiet_period_with_no_error_since() {
        let start = Instant::now();
        let mut limit = IcmpLimit::default();
        limit.heard_error(start, None);
        assert!(!limit.silence_counts(start + Duration::from_millis(500)), "the bucket may still be empty");
        assert!(limit.silence_counts(start + Duration::from_millis(1500)));
        limit.heard_error(start + Duration::from_millis(1600), None);
        assert!(!limit.silence_counts(start + Duration::from_millis(1500)), "an error came back since");
    }

    #[test]
    fn a_probe_unanswered_after_a_refill_may_have_spent_the_token_on_a_lost_error() {
        // Regression: a UDP scan under 5 % loss reported closed ports open|filtered. An error
        // lost a second after the last one heard spent the token; the next sweep, a quiet
        // period after the error heard, met an empty bucket, and every port's silence counted.
        let start = Instant::now();
        let ms = |ms| start + Duration::from_millis(ms);
        let mut limit = IcmpLimit::default();
        limit.heard_error(start, None);
        limit.unanswered(ms(500));
        assert!(limit.silence_counts(ms(1500)), "no token had come back for the probe at 0.5 s");
        limit.unanswered(ms(1000));
        assert!(!limit.silence_counts(ms(1500)), "the token refilled at 1 s may have gone to a lost error");
        assert!(limit.silence_counts(ms(2500)));
        limit.unanswered(ms(2500));
        assert!(limit.silence_counts(ms(2600)), "silence in the quiet period is believed, and moves nothing");
    }

    #[test]
    fn errors_lost_in_a_row_are_taken_as_spent_up_to_a_few() {
        // Regression: an IP protocol scan under 5 % loss reported every closed protocol of a
        // host open|filtered. Two errors in a row were lost, a second apart: the second spend
        // was measured from the last error heard, whose quiet period had passed, so it moved
        // nothing, and the next sweep's silence counted while the bucket was empty.
        let start = Instant::now();
        let ms = |ms| start + Duration::from_millis(ms);
        let mut limit = IcmpLimit::default();
        limit.heard_error(start, None);
        limit.unanswered(ms(1000));
        limit.unanswered(ms(2000));
        assert!(!limit.silence_counts(ms(3000)), "the token refilled at 2 s may have gone to a lost error too");
        limit.unanswered(ms(3000));
        assert!(!limit.silence_counts(ms(4000)));
        limit.unanswered(ms(4000));
        assert!(limit.silence_counts(ms(5500)), "four in a row is not taken for loss: a silent port is given up");
        limit.heard_error(ms(6000), None);
        limit.unanswered(ms(7000));
        assert!(!limit.silence_counts(ms(8000)), "an error heard starts the count again");
    }

    #[test]
    fn a_slower_refill_is_learnt_from_the_gaps_between_errors() {
        let start = Instant::now();
        let mut limit = IcmpLimit::default();
        for second in [0, 2, 4] {
            limit.heard_error(start + Duration::from_secs(second), None);
        }
        assert_eq!(limit.quiet_needed(), Duration::from_secs(3));
        limit.heard_error(start + Duration::from_secs(60), None);
        assert_eq!(limit.quiet_needed(), Duration::from_secs(3), "a pause in the scan is not a refill period");
    }

    /// A host heard from once and its bucket dry from then on; from a round-trip timeout
    /// (100 ms) later, `errors` errors `gap` apart, each after the first a refill.
    fn refilled_every(gap: Duration, errors: u32) -> IcmpLimit {
        let start = Instant::now();
        let settle = Duration::from_millis(100);
        let mut limit = IcmpLimit::default();
        limit.heard_error(start, None);
        limit.ran_dry_at(start, settle);
        for i in 0..errors {
            limit.heard_error(start + settle + gap * i, None);
        }
        limit
    }

    #[test]
    fn errors_refilled_quickly_after_the_bucket_ran_dry_prove_a_short_refill() {
        let limit = refilled_every(Duration::from_millis(30), 11);
        // 10 refills in 400 ms at the most: at most 40 ms apart.
        assert_eq!(limit.refill(), Duration::from_millis(40));
        assert_eq!(limit.quiet_needed(), Duration::from_millis(60));
    }

    #[test]
    fn a_refill_faster_on_average_than_linuxs_global_clumps_is_not_believed() {
        // Regression: 50 errors in 150 ms average 3 ms apart, but Linux's limit over all peers
        // refills them in clumps every 20 ms; silence 4.5 ms after an error was believed.
        let limit = refilled_every(Duration::from_millis(1), 51);
        assert_eq!(limit.refill(), SHORTEST_REFILL);
        assert_eq!(limit.quiet_needed(), Duration::from_millis(30));
    }

    #[test]
    fn linuxs_one_a_second_proves_nothing_shorter_than_the_assumed_second() {
        let start = Instant::now();
        let mut limit = IcmpLimit::default();
        limit.ran_dry_at(start, Duration::from_millis(100));
        for second in 1..=20 {
            limit.heard_error(start + Duration::from_secs(second), None);
        }
        assert_eq!(limit.refill(), Duration::from_secs(1));
    }

    #[test]
    fn an_error_to_a_probe_sent_after_a_silent_one_in_its_batch_proves_its_silence() {
        let start = Instant::now();
        let sending = |order, ms| Sending { order, at: start + Duration::from_millis(ms) };
        let mut limit = IcmpLimit::default();
        limit.first_probe_sent(start);
        let silent = sending(5, 10);
        assert!(!limit.spare_proven(silent), "nothing proves the host had an error to spare");
        limit.heard_error(start + Duration::from_millis(13), Some(sending(6, 10)));
        assert!(limit.spare_proven(silent), "sent right after it, in the same batch");
        assert!(!limit.spare_proven(sending(6, 10)), "the proof's own probe");
        assert!(!limit.spare_proven(sending(7, 10)), "sent after the proof: the token may have been the last");
        assert!(!limit.spare_proven(sending(1, 9)), "an earlier batch: a token may have come since");
        assert!(limit.spare_since(sending(6, 10)) && !limit.spare_since(sending(7, 10)));
    }

    #[test]
    fn a_host_rationing_errors_is_probed_again_twice_per_refill_period() {
        let start = Instant::now();
        let timeout = Duration::from_millis(100);
        let mut limit = IcmpLimit::default();
        limit.first_probe_sent(start);
        (0..6).for_each(|_| limit.heard_error(start, None));
        assert_eq!(limit.probe_again_after(timeout, 100), Duration::from_millis(500));
        (0..10).for_each(|_| limit.heard_error(start, None));
        assert_eq!(limit.probe_again_after(timeout, 10), timeout, "every probe of the last sweep was answered");
    }
}
