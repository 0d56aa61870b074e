/// How many probes may be in flight: TCP's congestion window applied to probes, as Nmap
/// does. Slow start doubles the window every round trip from a small start; above the threshold
/// it grows by one probe per window of answers.
///
/// Loss is seen only in answers to retransmissions (the earlier probe or its answer was lost);
/// ports behind a dropping firewall never answer, so they never shrink the window. Unlike TCP,
/// the window is judged once per window of answers by the *fraction* of them that needed a
/// retransmission: paths lose packets at random whatever the rate (the lab's 5 % each way makes
/// about one answer in ten come on a retry), and halving on each such loss would crawl. Sending
/// faster than a path carries loses far more than that, and then the window halves.
#[derive(Debug, Clone)]
pub struct CongestionWindow {
    window: f64,
    threshold: f64,
    min: f64,
    max: f64,
    /// Answers, and answers to retransmissions, since the window was last judged.
    answers: u32,
    retried: u32,
    /// Answers per judgement: the window when the current judgement period began.
    period: f64,
    /// Whether anything has answered yet: the path is known to deliver.
    answered: bool,
}

/// Probes in flight before the first answer: few enough that only they wait out the initial
/// timeout, enough to measure the round trip at once.
pub const INITIAL_WINDOW: f64 = 32.0;
const MIN_WINDOW: f64 = 1.0;
/// The share of answers that may come on retransmissions before the window is cut.
const LOSS_TOLERANCE: f64 = 0.2;

impl CongestionWindow {
    /// A window of at most `max` probes and at least `min` (`--min-parallelism`; 1 when unset).
    pub fn new(max: usize, min: Option<usize>) -> CongestionWindow {
        let min = min.map_or(MIN_WINDOW, |m| m as f64).max(MIN_WINDOW);
        let max = (max as f64).max(min);
        let window = INITIAL_WINDOW.clamp(min, max);
        CongestionWindow { window, threshold: max, min, max, answers: 0, retried: 0, period: window, answered: false }
    }

    /// Probes that may be in flight now.
    pub fn allowed(&self) -> usize {
        self.window as usize
    }

    /// An answer came; `retransmitted` when it answered a retransmission. Returns true when
    /// this answer closed a period judged overrun while the window could not shrink any
    /// further: then only spacing probes out in time can slow the scan.
    pub fn on_answer(&mut self, retransmitted: bool) -> bool {
        self.answered = true;
        self.answers += 1;
        self.retried += u32::from(retransmitted);
        let overrun_at_floor = f64::from(self.answers) >= self.period && self.judge();
        let growth = if self.window < self.threshold { 1.0 } else { 1.0 / self.window };
        self.window = (self.window + growth).min(self.max);
        overrun_at_floor
    }

    /// A probe left the pipe without an answer: a host down, a port filtered, or a loss,
    /// nobody can tell which until retransmissions are answered. Once the path has delivered
    /// answers and shown no loss, silence grows the window in slow start as answers do
    /// (without counting in the judgement of losses), so a sweep where few hosts answer
    /// speeds up as one where all do. Before any answer, or once loss has been seen, silence
    /// may be loss, and only answers grow the window.
    pub fn on_silence(&mut self) {
        let loss_seen = self.threshold < self.max;
        if self.answered && !loss_seen {
            self.window = (self.window + 1.0).min(self.max);
        }
    }

    /// Once per window of answers: halve if too many of them needed a retransmission. Returns
    /// whether it was overrun with no room left to halve.
    fn judge(&mut self) -> bool {
        let overrun = f64::from(self.retried) > LOSS_TOLERANCE * f64::from(self.answers);
        // Halved, the window would leave less than one probe of room above its minimum.
        let at_floor = self.window / 2.0 < self.min + 1.0;
        if overrun {
            self.threshold = (self.window / 2.0).max(self.min);
            self.window = self.threshold;
        }
        self.answers = 0;
        self.retried = 0;
        self.period = self.window;
        overrun && at_floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(window: &mut CongestionWindow, count: usize, every_nth_retried: usize) {
        for i in 1..=count {
            let _ = window.on_answer(every_nth_retried != 0 && i % every_nth_retried == 0);
        }
    }

    #[test]
    fn starts_small_and_doubles_per_window_of_answers() {
        let mut window = CongestionWindow::new(10_000, None);
        assert_eq!(window.allowed(), 32);
        answers(&mut window, 32, 0);
        assert_eq!(window.allowed(), 64);
        answers(&mut window, 64, 0);
        assert_eq!(window.allowed(), 128);
    }

    #[test]
    fn silence_grows_the_window_after_an_answer_until_loss_is_seen() {
        let mut window = CongestionWindow::new(10_000, None);
        (0..32).for_each(|_| window.on_silence());
        assert_eq!(window.allowed(), 32, "before any answer, silence may be loss");
        answers(&mut window, 1, 0);
        (0..32).for_each(|_| window.on_silence());
        assert_eq!(window.allowed(), 65, "slow start, as for answers");
        // A window of answers that mostly needed a retransmission still halves it...
        answers(&mut window, 64, 1);
        let after_loss = window.allowed();
        assert!(after_loss < 64, "{after_loss}");
        // ...and from then on silence may be loss: it grows nothing.
        (0..100).for_each(|_| window.on_silence());
        assert_eq!(window.allowed(), after_loss);
    }

    #[test]
    fn never_exceeds_its_maximum() {
        let mut window = CongestionWindow::new(100, None);
        answers(&mut window, 10_000, 0);
        assert_eq!(window.allowed(), 100);
        assert_eq!(CongestionWindow::new(4, None).allowed(), 4);
    }

    #[test]
    fn random_loss_below_the_tolerance_does_not_slow_the_scan() {
        // One answer in ten on a retransmission (5 % loss each way) grows the window exactly
        // as a loss-free path does.
        let mut lossy = CongestionWindow::new(100_000, None);
        let mut clean = CongestionWindow::new(100_000, None);
        answers(&mut lossy, 5_000, 10);
        answers(&mut clean, 5_000, 0);
        assert_eq!(lossy.allowed(), clean.allowed());
        assert!(lossy.allowed() > 5_000);
    }

    #[test]
    fn heavy_loss_halves_the_window_then_growth_is_linear() {
        let mut window = CongestionWindow::new(10_000, None);
        answers(&mut window, 32 + 64, 0);
        assert_eq!(window.allowed(), 128);
        // Half of a window's answers came on retransmissions: the rate overran the path. Slow
        // start had doubled the window to about 256 meanwhile; it is halved from there.
        answers(&mut window, 128, 2);
        let cut = window.allowed();
        assert!((120..=128).contains(&cut), "halved: {cut}");
        answers(&mut window, cut, 0);
        assert!(window.allowed() <= cut + 1, "linear growth above the threshold: {}", window.allowed());
    }

    #[test]
    fn min_parallelism_is_a_floor_under_loss() {
        let mut window = CongestionWindow::new(10_000, Some(200));
        assert_eq!(window.allowed(), 200, "starts at the floor when that is above the initial window");
        for _ in 0..5_000 {
            let _ = window.on_answer(true);
            assert!(window.allowed() >= 200);
        }
    }

    #[test]
    fn overruns_at_the_floor_are_reported() {
        // 32 -> 16 -> 8 -> 4 -> 2 -> 1: five halvings with room, then overruns at the floor.
        let mut window = CongestionWindow::new(10_000, None);
        let judged: Vec<bool> = (0..200).map(|_| window.on_answer(true)).collect();
        let first = judged.iter().position(|&at_floor| at_floor).expect("reported");
        assert!(first > 50, "not before the window is down to its floor: {first}");
        assert!(judged.iter().filter(|&&at_floor| at_floor).count() > 10);
        let mut clean = CongestionWindow::new(10_000, None);
        assert_eq!((0..5_000).filter(|_| clean.on_answer(false)).count(), 0);
    }

    #[test]
    fn never_drops_below_one_probe() {
        let mut window = CongestionWindow::new(10_000, None);
        for _ in 0..2_000 {
            let _ = window.on_answer(true);
            assert!(window.allowed() >= 1);
        }
        assert!(window.allowed() <= 2, "{}", window.allowed());
    }
}
