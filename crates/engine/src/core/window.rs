use std::time::{Duration, Instant};

use super::ledger::{LossLedger, LostTries, Tally};

/// How many probes may be in flight: TCP's congestion window applied to probes, as Nmap
/// does. Slow start doubles the window every round trip from a small start; above the threshold
/// it grows by one probe per window of answers.
///
/// Loss is seen only in answers to retransmissions (the earlier probe or its answer was lost);
/// ports behind a dropping firewall never answer, so they never shrink the window. Losses are
/// counted by when the lost probe was sent (see [`LossLedger`]), and judged by their *share*
/// of the outcomes, once enough tries have had time to show their fate: paths lose packets at
/// random whatever the rate (the lab's 5 % each way makes about one try in ten fail), and
/// halving on each such loss would crawl. Sending faster than a path carries loses far more
/// than that, and then the window is cut: by half, or down to the share that got through when
/// that is less. As in TCP, one loss event cuts once: the outcomes of probes sent before a cut
/// are forgotten.
///
/// As in TCP (RFC 5681, RFC 7661), a cut takes the probes really in flight as its base, not the
/// window, and the window grows only while the flight fills at least half of it: a scan held
/// back by the sender's speed or by `--max-rate` would otherwise grow a window no cut could
/// bring down to the rate the path carries.
///
/// Random loss can be heavy, though (10 % each way is 19 % per try), and no fixed tolerance
/// tells it from an overrun. So a stretch of outcomes is judged overrun only when its loss is
/// above the tolerance by more than chance explains, and each cut is checked by the stretch
/// after it: through a path (or to a host) that carries only so many probes a second, a cut
/// to a share of the flight delivers about as many a second as before; when the loss is
/// random, it delivers that share as many, and the loss stays. Such a cut is undone, and from
/// then on the tolerance starts above the loss it did not lower.
#[derive(Debug, Clone)]
pub struct CongestionWindow {
    window: f64,
    threshold: f64,
    min: f64,
    max: f64,
    ledger: LossLedger,
    /// Whether a retransmission to a host that answers went unanswered since the last
    /// judgement (see [`CongestionWindow::on_silent_retransmission`]).
    silent_retransmission: bool,
    /// Outcomes per judgement: the window when the stretch began, within bounds.
    period: f64,
    /// The most probes in flight, and the probes delivered, since the window was last judged,
    /// and when that was.
    peak_flight: f64,
    delivered: u32,
    judged_at: Instant,
    /// Whether anything has answered yet: the path is known to deliver.
    answered: bool,
    /// The share of tries lost at any rate: the loss a cut was seen not to lower.
    random_loss: f64,
    /// The window before the last cut and the loss that caused it, until the next judgement
    /// says whether the cut lowered the loss.
    before_cut: Option<BeforeCut>,
}

#[derive(Debug, Clone, Copy)]
struct BeforeCut {
    window: f64,
    threshold: f64,
    /// The share of tries lost, and the probes delivered a second, that caused the cut.
    loss: f64,
    delivery_rate: f64,
    /// The share of the flight the cut kept.
    kept: f64,
}

impl BeforeCut {
    /// Whether a `loss` and a `delivery_rate` after the cut show the earlier loss to be the
    /// path's: the loss stayed (at least half of it), and the probes delivered a second fell
    /// with the flight (by a ratio nearer the share kept than one) instead of holding at what
    /// the path carries. A cut for losing most tries stands: no path worth scanning loses that
    /// many at random, and a stretch condemned early reads such a loss too roughly to compare.
    fn shows_random_loss(&self, loss: f64, delivery_rate: f64) -> bool {
        let delivered_ratio = delivery_rate / self.delivery_rate.max(f64::MIN_POSITIVE);
        self.loss <= MOST_RANDOM_LOSS && loss > self.loss / 2.0 && delivered_ratio < self.kept.sqrt()
    }
}

/// What judging a stretch of outcomes found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Too few outcomes have settled to judge.
    Pending,
    /// No try was lost.
    Clean,
    /// Some were, but too few to cut the window.
    Tolerable,
    /// Too many were lost: the window was cut.
    Cut,
    /// Too many were lost, and the window cannot shrink any further: only spacing probes out
    /// in time can slow the scan.
    OverrunAtFloor,
    /// The last cut did not lower the loss: the loss is the path's, whatever the rate, and
    /// the window is back where it was.
    Undone,
}

/// Probes in flight before the first answer: few enough that only they wait out the initial
/// timeout, enough to measure the round trip at once.
pub const INITIAL_WINDOW: f64 = 32.0;
const MIN_WINDOW: f64 = 1.0;
/// The window silence alone may grow before any answer: a few thousand probes a second at
/// the minimum timeout, should every one of them be lost.
const SILENT_START_MAX: f64 = 256.0;
/// The smallest share of the window one cut keeps.
const DEEPEST_CUT: f64 = 0.125;
/// The share of tries that may be lost, above the path's random loss, before the window is
/// cut.
const LOSS_TOLERANCE: f64 = 0.2;
/// The most loss per try a cut may be undone for: above, it stands.
const MOST_RANDOM_LOSS: f64 = 0.5;
/// How many standard deviations of chance a stretch's loss must exceed the tolerance by.
const SIGNIFICANCE: f64 = 2.0;
/// Outcomes judged at once: a window's worth, within these bounds. Fewer are too noisy; more
/// take long to gather when few ports answer.
const MIN_JUDGED: f64 = 8.0;
const MAX_JUDGED: f64 = 256.0;

impl CongestionWindow {
    /// A window of at most `max` probes and at least `min` (`--min-parallelism`; 1 when unset),
    /// for a scan starting at `now`.
    pub fn new(max: usize, min: Option<usize>, now: Instant) -> CongestionWindow {
        let min = min.map_or(MIN_WINDOW, |m| m as f64).max(MIN_WINDOW);
        let max = (max as f64).max(min);
        let window = INITIAL_WINDOW.clamp(min, max);
        CongestionWindow {
            window,
            threshold: max,
            min,
            max,
            ledger: LossLedger::new(now),
            silent_retransmission: false,
            period: window.clamp(MIN_JUDGED, MAX_JUDGED),
            peak_flight: 0.0,
            delivered: 0,
            judged_at: now,
            answered: false,
            random_loss: 0.0,
            before_cut: None,
        }
    }

    /// Probes that may be in flight now.
    pub fn allowed(&self) -> usize {
        self.window as usize
    }

    /// A probe left at `at`.
    pub fn sent(&mut self, at: Instant) {
        self.ledger.sent(at);
    }

    /// A probe was answered while `flight` probes were in flight (this one included): the
    /// try sent at `delivered` (unknown when an earlier sending may be what answered), after
    /// the `lost` tries of its port that the answer shows lost.
    pub fn on_answer(&mut self, delivered: Option<Instant>, lost: Option<LostTries>, flight: usize) {
        self.answered = true;
        self.peak_flight = self.peak_flight.max(flight as f64);
        if let Some(sent) = delivered {
            self.ledger.delivered(sent);
            self.delivered += 1;
        }
        if let Some(lost) = lost {
            self.ledger.lost(lost);
        }
        // As TCP does not grow its window on the acknowledgements of retransmissions: while
        // probes are being lost, only those getting through at the first try show room.
        if lost.is_none() && self.filled(flight) {
            let growth = if self.window < self.threshold { 1.0 } else { 1.0 / self.window };
            self.window = (self.window + growth).min(self.max);
        }
    }

    /// Whether `flight` probes in flight fill enough of the window for it to grow: a window
    /// the sender does not fill has shown nothing of the path.
    fn filled(&self, flight: usize) -> bool {
        self.window < 2.0 * (flight as f64).max(self.peak_flight)
    }

    /// A probe left the pipe without an answer while `flight` probes were in flight: a host
    /// down, a port filtered, or a loss, nobody can tell which until retransmissions are
    /// answered. Once the path has delivered answers and shown no loss, silence grows the
    /// window in slow start as answers do, so a sweep where few hosts answer speeds up as one
    /// where all do. Before any answer it does too, but only up to [`SILENT_START_MAX`]: where
    /// few hosts are up, the first answer, which measures the path, may be hundreds of probes
    /// away, and a window held at its start would take seconds to get there. Once loss has
    /// been seen, silence may be loss, and only answers grow the window.
    pub fn on_silence(&mut self, flight: usize) {
        let loss_seen = self.threshold < self.max;
        let limit = if self.answered { self.max } else { SILENT_START_MAX.min(self.max) };
        if !loss_seen && self.filled(flight) && self.window < limit {
            self.window = (self.window + 1.0).min(limit);
        }
    }

    /// A retransmission to a host that answers timed out as well. Loss can hide from answers
    /// (a host rationing its replies in step with the probes answers the first tries and never
    /// the retransmissions), so no stretch during which this happens is judged clean; it cuts
    /// nothing, since a filtered port does the same.
    pub fn on_silent_retransmission(&mut self) {
        self.silent_retransmission = true;
    }

    /// The scan slowed down at `now` for loss the window did not judge (a grown scan delay):
    /// the losses of probes sent before belong to that event.
    pub fn new_loss_event(&mut self, now: Instant) {
        self.ledger.forget_before(now);
    }

    /// Judges the outcomes of the probes sent before `settled_before`, which have had time to
    /// show their fate, once there are enough of them; `now` is when.
    pub fn judge(&mut self, settled_before: Instant, now: Instant) -> Judgement {
        let tally = self.ledger.settle(settled_before);
        let period = self.period;
        let outcomes = f64::from(tally.outcomes());
        // The losses alone may condemn a stretch before it is complete (had all its other
        // outcomes been deliveries, it would still be overrun), unless it is to check the last
        // cut, which a stretch cut short would weigh unfairly.
        let condemned = self.before_cut.is_none() && f64::from(tally.lost) > self.overrun_share(period) * period;
        if outcomes < period && !condemned {
            return Judgement::Pending;
        }
        self.ledger.judged();
        let elapsed = now.saturating_duration_since(self.judged_at).max(Duration::from_micros(1));
        let delivery_rate = f64::from(self.delivered) / elapsed.as_secs_f64();
        let judgement = self.judge_tally(tally, outcomes.max(period), delivery_rate);
        if matches!(judgement, Judgement::Cut | Judgement::OverrunAtFloor) {
            self.ledger.forget_before(now);
        }
        self.silent_retransmission = false;
        self.peak_flight = 0.0;
        self.delivered = 0;
        self.judged_at = now;
        self.period = self.window.clamp(MIN_JUDGED, MAX_JUDGED);
        judgement
    }

    /// One host loses `loss` of its tries (see [`RetryAllowance::loss`]), which the tries sent
    /// to it show even when the ports whose tries were lost never answer: cut for it at `now`
    /// as for an overrun path, with `flight` probes in flight.
    ///
    /// [`RetryAllowance::loss`]: crate::RetryAllowance::loss
    pub fn host_overrun(&mut self, loss: f64, flight: usize, now: Instant) -> Judgement {
        self.peak_flight = self.peak_flight.max(flight as f64);
        let kept = (1.0 - loss).clamp(DEEPEST_CUT, 0.5);
        let cut_to = (self.window.min(self.peak_flight) * kept).max(self.min);
        (self.window, self.threshold) = (cut_to, cut_to);
        self.before_cut = None;
        self.ledger.forget_before(now);
        if cut_to < self.min + 1.0 {
            Judgement::OverrunAtFloor
        } else {
            Judgement::Cut
        }
    }

    /// The share of `outcomes` outcomes that must be losses for the window to count as
    /// overrun: the tolerance above the path's random loss, and a margin for chance.
    fn overrun_share(&self, outcomes: f64) -> f64 {
        let tolerated = (self.random_loss + LOSS_TOLERANCE).min(1.0);
        tolerated + SIGNIFICANCE * (tolerated * (1.0 - tolerated) / outcomes).sqrt()
    }

    /// Cuts if too many tries of `tally` were lost, weighed as `weight` outcomes, or undoes
    /// the last cut if it did not lower the loss; `delivery_rate` is the probes delivered a
    /// second since the last judgement.
    fn judge_tally(&mut self, tally: Tally, weight: f64, delivery_rate: f64) -> Judgement {
        let loss = tally.loss();
        let clean = tally.lost == 0 && !self.silent_retransmission;
        let unlowered = self.before_cut.take().filter(|before| before.shows_random_loss(loss, delivery_rate));
        let overrun = unlowered.is_none() && loss > self.overrun_share(weight);
        // Halve, or cut deeper when most tries were lost: the path carries about the share
        // that got through, and every round of halving costs a retransmission timeout.
        let kept = (1.0 - loss).clamp(DEEPEST_CUT, 0.5);
        let cut_to = (self.window.min(self.peak_flight) * kept).max(self.min);
        // Cut, the window would leave less than one probe of room above its minimum.
        let at_floor = cut_to < self.min + 1.0;
        if let Some(before) = unlowered {
            self.random_loss = self.random_loss.max(loss);
            (self.window, self.threshold) = (before.window, before.threshold);
        } else if overrun {
            // A cut at the floor changes nothing the next stretch could check.
            if !at_floor {
                let (window, threshold) = (self.window, self.threshold);
                self.before_cut = Some(BeforeCut { window, threshold, loss, delivery_rate, kept });
            }
            (self.window, self.threshold) = (cut_to, cut_to);
        }
        match (unlowered, overrun, at_floor) {
            (Some(_), ..) => Judgement::Undone,
            (None, false, _) if clean => Judgement::Clean,
            (None, false, _) => Judgement::Tolerable,
            (None, true, false) => Judgement::Cut,
            (None, true, true) => Judgement::OverrunAtFloor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// A window over a simulated path on a virtual clock, round trip by round trip: each round
    /// sends a full window of tries, whose fates show by the next. A flight above the path's
    /// capacity loses the excess; on top of that, a share of tries is lost at random.
    struct Path {
        window: CongestionWindow,
        now: Instant,
        capacity: f64,
        random_loss: f64,
        /// Losses owed: a try is lost each time this reaches one.
        owed: f64,
        delivered: u64,
    }

    impl Path {
        fn new(max: usize, min: Option<usize>) -> Path {
            let now = Instant::now();
            let window = CongestionWindow::new(max, min, now);
            Path { window, now, capacity: f64::INFINITY, random_loss: 0.0, owed: 0.0, delivered: 0 }
        }

        /// `count` round trips, and the judgements made as their tries' fates show.
        fn rounds(&mut self, count: usize) -> Vec<Judgement> {
            (0..count).flat_map(|_| self.round()).collect()
        }

        fn round(&mut self) -> Vec<Judgement> {
            let sent = self.now;
            let flight = self.window.allowed();
            (0..flight).for_each(|_| self.window.sent(sent));
            let overrun = (1.0 - self.capacity / flight as f64).max(0.0);
            let loss = 1.0 - (1.0 - overrun) * (1.0 - self.random_loss);
            (0..flight)
                .map(|i| {
                    // The fates show spread over the round trip, the last a millisecond on.
                    self.now = sent + MS(1) * (i as u32 + 1) / flight as u32;
                    self.owed += loss;
                    // (A hair under one, so that a tenth added ten times counts.)
                    if self.owed >= 1.0 - 1e-9 {
                        self.owed -= 1.0;
                        self.window.on_answer(None, Some(LostTries::and(None, sent)), flight);
                    } else {
                        self.delivered += 1;
                        self.window.on_answer(Some(sent), None, flight);
                    }
                    self.window.judge(self.now, self.now)
                })
                .filter(|&judgement| judgement != Judgement::Pending)
                .collect()
        }
    }

    fn count(judgements: &[Judgement], kind: Judgement) -> usize {
        judgements.iter().filter(|&&j| j == kind).count()
    }

    #[test]
    fn starts_small_and_doubles_per_round_trip() {
        let mut path = Path::new(10_000, None);
        assert_eq!(path.window.allowed(), 32);
        path.rounds(1);
        assert_eq!(path.window.allowed(), 64);
        path.rounds(1);
        assert_eq!(path.window.allowed(), 128);
    }

    #[test]
    fn a_window_the_sender_does_not_fill_does_not_grow() {
        let mut window = CongestionWindow::new(10_000, None, Instant::now());
        for _ in 0..1000 {
            window.on_answer(None, None, 20);
        }
        assert_eq!(window.allowed(), 40, "twice the flight at most");
    }

    #[test]
    fn silence_grows_the_window_until_loss_is_seen_and_before_any_answer_only_so_far() {
        let mut path = Path::new(10_000, None);
        (0..1000).for_each(|_| path.window.on_silence(usize::MAX));
        assert_eq!(path.window.allowed(), 256, "before any answer, silence may be loss: so far only");
        path.window.on_answer(None, None, usize::MAX);
        (0..32).for_each(|_| path.window.on_silence(usize::MAX));
        assert_eq!(path.window.allowed(), 289, "slow start, as for answers");
        // A path that carries 20 probes in flight: the overrun cuts the window...
        path.capacity = 20.0;
        let judgements = path.rounds(20);
        assert!(count(&judgements, Judgement::Cut) > 0);
        let after_loss = path.window.allowed();
        // ...and from then on silence may be loss: it grows nothing.
        (0..100).for_each(|_| path.window.on_silence(usize::MAX));
        assert_eq!(path.window.allowed(), after_loss);
    }

    #[test]
    fn never_exceeds_its_maximum() {
        let mut path = Path::new(100, None);
        path.rounds(100);
        assert_eq!(path.window.allowed(), 100);
        assert_eq!(CongestionWindow::new(4, None, Instant::now()).allowed(), 4);
    }

    #[test]
    fn random_loss_below_the_tolerance_does_not_slow_the_scan() {
        // One try in ten lost at random (5 % loss each way) never cuts the window: it grows by
        // every try delivered.
        let mut path = Path::new(100_000, None);
        path.random_loss = 0.1;
        let judgements = path.rounds(10);
        assert_eq!(count(&judgements, Judgement::Cut), 0);
        assert_eq!(path.window.allowed() as u64, 32 + path.delivered);
    }

    #[test]
    fn an_overrun_cuts_the_window_to_what_got_through() {
        let mut path = Path::new(10_000, None);
        path.rounds(2);
        assert_eq!(path.window.allowed(), 128);
        // A path carrying 50 probes in flight loses 60 % of 128: the window is cut, once
        // and deep, to about what got through.
        path.capacity = 50.0;
        let judgements = path.rounds(1);
        assert_eq!(count(&judgements, Judgement::Cut), 1, "{judgements:?}");
        let cut = path.window.allowed();
        assert!((40..=64).contains(&cut), "{cut}");
        // Then the window grows linearly, above its threshold, and the path loses little.
        let judgements = path.rounds(5);
        assert!(!judgements.iter().any(|j| matches!(j, Judgement::Cut | Judgement::Undone)), "{judgements:?}");
        assert!(path.window.allowed() <= cut + 10, "{}", path.window.allowed());
    }

    #[test]
    fn a_path_losing_nearly_everything_cuts_the_window_deeper_than_half() {
        let mut path = Path::new(10_000, None);
        path.rounds(3);
        assert_eq!(path.window.allowed(), 256);
        // The path carries a tenth of the flight: halving would take several rounds of
        // retransmission timeouts to get near it.
        path.capacity = 25.0;
        let judgements = path.rounds(1);
        assert_eq!(count(&judgements, Judgement::Cut), 1);
        let cut = path.window.allowed();
        assert!((32..=64).contains(&cut), "{cut}");
    }

    #[test]
    fn a_cut_is_based_on_the_flight_not_on_a_window_the_sender_does_not_fill() {
        // Grown to 1032 while the sender kept at most 600 probes in flight, the window is cut
        // from those 600.
        let now = Instant::now();
        let mut window = CongestionWindow::new(100_000, None, now);
        (0..1000).for_each(|_| window.on_answer(None, None, 600));
        assert_eq!(window.allowed(), 1032);
        window.sent(now);
        (0..200).for_each(|_| window.on_answer(None, Some(LostTries::and(None, now)), 600));
        assert_eq!(window.judge(now + MS(1), now), Judgement::Cut);
        assert!((600 / 8..=600 / 2).contains(&window.allowed()), "{}", window.allowed());
    }

    #[test]
    fn a_cut_that_does_not_lower_the_loss_is_undone_and_the_loss_tolerated() {
        // 40 % of tries lost whatever the rate: the first stretch cuts, the next shows that
        // the cut delivered fewer probes and lost as many, and undoes it; from then on that
        // loss is the path's own.
        let mut path = Path::new(100_000, None);
        path.rounds(5);
        let before = path.window.allowed();
        path.random_loss = 0.4;
        let judgements = path.rounds(10);
        let cut = judgements.iter().position(|&j| j == Judgement::Cut).expect("cut");
        let undone = judgements.iter().position(|&j| j == Judgement::Undone).expect("undone");
        assert!(cut < undone);
        assert_eq!(count(&judgements, Judgement::Cut), 1, "cut once only");
        assert!(path.window.allowed() >= before, "{} < {before}", path.window.allowed());
    }

    #[test]
    fn losses_of_probes_sent_before_a_cut_do_not_cut_again() {
        // 300 tries sent, all lost; their losses show after the last is sent, and cut the
        // window once: the others belong to the same loss event.
        let start = Instant::now();
        let mut window = CongestionWindow::new(10_000, None, start);
        for i in 0..300 {
            window.sent(start + MS(i));
        }
        let now = start + MS(300);
        let judgements: Vec<Judgement> = (0..300)
            .map(|i| {
                window.on_answer(None, Some(LostTries::and(None, start + MS(i))), usize::MAX);
                window.judge(now, now)
            })
            .collect();
        assert_eq!(count(&judgements, Judgement::Cut), 1);
    }

    #[test]
    fn a_silent_retransmission_keeps_a_stretch_from_being_clean_but_cuts_nothing() {
        let mut path = Path::new(10_000, None);
        path.window.on_silent_retransmission();
        let judgements = path.rounds(1);
        assert_eq!(judgements, [Judgement::Tolerable]);
        assert_eq!(path.window.allowed(), 64);
    }

    #[test]
    fn min_parallelism_is_a_floor_under_loss() {
        let mut path = Path::new(10_000, Some(200));
        assert_eq!(path.window.allowed(), 200, "starts at the floor when that is above the initial window");
        path.capacity = 10.0;
        for _ in 0..50 {
            path.round();
            assert!(path.window.allowed() >= 200);
        }
    }

    #[test]
    fn overruns_at_the_floor_are_reported() {
        // A path that carries less than one probe in flight: the window is cut to its floor,
        // and the overruns there are reported (for the caller to space probes out in time).
        let mut path = Path::new(10_000, None);
        path.capacity = 0.5;
        let judged = path.rounds(500);
        let first = judged.iter().position(|&j| j == Judgement::OverrunAtFloor).expect("reported");
        assert!(count(&judged[..first], Judgement::Cut) >= 1);
        assert!(count(&judged, Judgement::OverrunAtFloor) > 10);
        assert_eq!(count(&judged, Judgement::Undone), 0, "a floor that cannot be cut is not undone");
        assert!(path.window.allowed() <= 2, "{}", path.window.allowed());
        let mut clean = Path::new(10_000, None);
        let judgements = clean.rounds(20);
        assert!(judgements.iter().all(|&j| j == Judgement::Clean));
        assert!(!judgements.is_empty());
    }
}
