/// How many probes may be in flight: TCP's congestion window applied to probes, as Nmap
/// does. Slow start doubles the window every round trip from a small start; above the threshold
/// it grows by one probe per window of answers.
///
/// Loss is seen only in answers to retransmissions (the earlier probe or its answer was lost);
/// ports behind a dropping firewall never answer, so they never shrink the window. Unlike TCP,
/// the window is judged once per window of answers by the *fraction* of them that showed loss:
/// paths lose packets at random whatever the rate (the lab's 5 % each way makes about one
/// answer in ten come on a retry), and halving on each such loss would crawl. Sending faster
/// than a path carries loses far more than that, and then the window is cut: by half, or down to
/// the share that got through when that is less. As in TCP, one loss event cuts once: the
/// caller tells answers whose earlier try was lost before the last cut from newer losses, since
/// a loss is only seen a retransmission timeout after it happened.
#[derive(Debug, Clone)]
pub struct CongestionWindow {
    window: f64,
    threshold: f64,
    min: f64,
    max: f64,
    /// Answers, answers to retransmissions, and those showing new loss, since the window was
    /// last judged.
    answers: u32,
    retried: u32,
    lost: u32,
    /// Answers per judgement: the window when the current judgement period began.
    period: f64,
    /// Whether anything has answered yet: the path is known to deliver.
    answered: bool,
}

/// How an answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// To the first sending of its probe (or to a try sent again because its silence proved
    /// nothing).
    FirstTry,
    /// To a retransmission whose earlier try was lost before the window was last cut: that
    /// cut answered this loss already.
    AfterKnownLoss,
    /// To a retransmission whose earlier try was lost since the window was last cut.
    AfterNewLoss,
}

/// What judging a window of answers found, once the last answer of the window has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// The window of answers is not complete yet.
    Pending,
    /// None of them needed a retransmission.
    Clean,
    /// Some needed one, but too few showed new loss to cut the window.
    Tolerable,
    /// Too many showed new loss: the window was cut.
    Cut,
    /// Too many showed new loss, and the window cannot shrink any further: only spacing probes
    /// out in time can slow the scan.
    OverrunAtFloor,
}

/// Probes in flight before the first answer: few enough that only they wait out the initial
/// timeout, enough to measure the round trip at once.
pub const INITIAL_WINDOW: f64 = 32.0;
const MIN_WINDOW: f64 = 1.0;
/// The smallest share of the window one cut keeps.
const DEEPEST_CUT: f64 = 0.125;
/// The share of answers that may show new loss before the window is cut.
const LOSS_TOLERANCE: f64 = 0.2;

impl CongestionWindow {
    /// A window of at most `max` probes and at least `min` (`--min-parallelism`; 1 when unset).
    pub fn new(max: usize, min: Option<usize>) -> CongestionWindow {
        let min = min.map_or(MIN_WINDOW, |m| m as f64).max(MIN_WINDOW);
        let max = (max as f64).max(min);
        let window = INITIAL_WINDOW.clamp(min, max);
        CongestionWindow {
            window,
            threshold: max,
            min,
            max,
            answers: 0,
            retried: 0,
            lost: 0,
            period: window,
            answered: false,
        }
    }

    /// Probes that may be in flight now.
    pub fn allowed(&self) -> usize {
        self.window as usize
    }

    /// An answer came. The caller tells losses since the last cut from older ones, so that
    /// one loss event cuts the window once, as in TCP.
    pub fn on_answer(&mut self, answer: Answer) -> Judgement {
        self.answered = true;
        self.answers += 1;
        self.retried += u32::from(answer != Answer::FirstTry);
        self.lost += u32::from(answer == Answer::AfterNewLoss);
        // Judged once per window of answers, or as soon as the losses alone condemn it: when
        // answers are scarce, a window of them can take long to come.
        let complete = f64::from(self.answers) >= self.period;
        let condemned = f64::from(self.lost) > LOSS_TOLERANCE * self.period;
        let judgement = if complete || condemned { self.judge() } else { Judgement::Pending };
        // As TCP does not grow its window on the acknowledgements of retransmissions: while
        // probes are being lost, only those getting through at the first try show room.
        if answer == Answer::FirstTry {
            let growth = if self.window < self.threshold { 1.0 } else { 1.0 / self.window };
            self.window = (self.window + growth).min(self.max);
        }
        judgement
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

    /// A retransmission to a host that answers timed out as well. Loss can hide from answers
    /// (a host rationing its replies in step with the probes answers the first tries and never
    /// the retransmissions), so no window of answers during which this happens counts as
    /// clean; it cuts nothing, since a filtered port does the same.
    pub fn on_silent_retransmission(&mut self) {
        self.retried += 1;
    }

    /// Once per window of answers: cut if too many of them showed new loss.
    fn judge(&mut self) -> Judgement {
        let overrun = f64::from(self.lost) > LOSS_TOLERANCE * f64::from(self.answers);
        let clean = self.retried == 0;
        // Halved, the window would leave less than one probe of room above its minimum.
        let at_floor = self.window / 2.0 < self.min + 1.0;
        if overrun {
            // Halve, or cut deeper when most answers showed loss: the path carries about the
            // share that got through, and every round of halving costs a retransmission timeout.
            let delivered = 1.0 - f64::from(self.lost) / f64::from(self.answers);
            let factor = delivered.clamp(DEEPEST_CUT, 0.5);
            self.threshold = (self.window * factor).max(self.min);
            self.window = self.threshold;
        }
        self.answers = 0;
        self.retried = 0;
        self.lost = 0;
        self.period = self.window;
        match (overrun, at_floor) {
            (false, _) if clean => Judgement::Clean,
            (false, _) => Judgement::Tolerable,
            (true, false) => Judgement::Cut,
            (true, true) => Judgement::OverrunAtFloor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(window: &mut CongestionWindow, count: usize, every_nth_retried: usize) {
        for i in 1..=count {
            let _ = window.on_answer(if every_nth_retried != 0 && i % every_nth_retried == 0 {
                Answer::AfterNewLoss
            } else {
                Answer::FirstTry
            });
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
        // One answer in ten on a retransmission (5 % loss each way) never cuts the window: it
        // grows by every answer that came at the first try.
        let mut lossy = CongestionWindow::new(100_000, None);
        answers(&mut lossy, 5_000, 10);
        assert_eq!(lossy.allowed(), 32 + 4_500);
    }

    #[test]
    fn heavy_loss_halves_the_window_at_once_then_growth_is_linear() {
        let mut window = CongestionWindow::new(10_000, None);
        answers(&mut window, 32 + 64, 0);
        assert_eq!(window.allowed(), 128);
        // Half the answers come on retransmissions: the rate overran the path. The window is
        // halved as soon as the losses exceed what a whole window of answers may hold, without
        // waiting for the rest of that window; slow start had grown it meanwhile.
        let mut judgements =
            (1..=128).map(|i| window.on_answer(if i % 2 == 0 { Answer::AfterNewLoss } else { Answer::FirstTry }));
        let cut_after = judgements.position(|j| j == Judgement::Cut).expect("cut") + 1;
        assert!(cut_after < 64, "judged after {cut_after} answers");
        let cut = window.allowed();
        assert!((75..=80).contains(&cut), "halved from about 154: {cut}");
        answers(&mut window, cut, 0);
        assert!(window.allowed() <= cut + 1, "linear growth above the threshold: {}", window.allowed());
    }

    #[test]
    fn a_path_losing_nearly_everything_cuts_the_window_deeper_than_half() {
        let mut window = CongestionWindow::new(10_000, None);
        answers(&mut window, 32 + 64 + 128, 0);
        assert_eq!(window.allowed(), 256);
        // Nine answers in ten show loss: halving would take several rounds of retransmission
        // timeouts to get near what the path carries.
        for i in 0..60 {
            let _ = window.on_answer(if i % 10 == 0 { Answer::FirstTry } else { Answer::AfterNewLoss });
        }
        // From about 262: a quarter of that at most, an eighth (the deepest one cut goes) at least.
        let cut = window.allowed();
        assert!((32..=65).contains(&cut), "{cut}");
    }

    #[test]
    fn answers_to_retransmissions_do_not_grow_the_window() {
        let mut window = CongestionWindow::new(10_000, None);
        for _ in 0..100 {
            let _ = window.on_answer(Answer::AfterKnownLoss);
        }
        assert_eq!(window.allowed(), 32);
    }

    #[test]
    fn losses_already_answered_by_a_cut_do_not_cut_again() {
        let mut window = CongestionWindow::new(10_000, None);
        let judgements: Vec<Judgement> = (0..1_000).map(|_| window.on_answer(Answer::AfterKnownLoss)).collect();
        assert!(judgements.iter().all(|&j| matches!(j, Judgement::Pending | Judgement::Tolerable)));
        assert_eq!(window.allowed(), 32);
    }

    #[test]
    fn a_silent_retransmission_keeps_a_window_of_answers_from_being_clean_but_cuts_nothing() {
        let mut window = CongestionWindow::new(10_000, None);
        window.on_silent_retransmission();
        let judgements: Vec<Judgement> = (0..32).map(|_| window.on_answer(Answer::FirstTry)).collect();
        assert_eq!(judgements.last(), Some(&Judgement::Tolerable));
        assert_eq!(window.allowed(), 64);
    }

    #[test]
    fn min_parallelism_is_a_floor_under_loss() {
        let mut window = CongestionWindow::new(10_000, Some(200));
        assert_eq!(window.allowed(), 200, "starts at the floor when that is above the initial window");
        for _ in 0..5_000 {
            let _ = window.on_answer(Answer::AfterNewLoss);
            assert!(window.allowed() >= 200);
        }
    }

    #[test]
    fn overruns_at_the_floor_are_reported() {
        // Every answer shows loss: 32 -> 4 -> 1, the deepest cuts, then overruns at the floor.
        let mut window = CongestionWindow::new(10_000, None);
        let judged: Vec<Judgement> = (0..200).map(|_| window.on_answer(Answer::AfterNewLoss)).collect();
        let at_floor = |j: &Judgement| *j == Judgement::OverrunAtFloor;
        let first = judged.iter().position(at_floor).expect("reported");
        assert_eq!(judged[..first].iter().filter(|&&j| j == Judgement::Cut).count(), 2);
        assert!(judged.iter().filter(|j| at_floor(j)).count() > 10);
        let mut clean = CongestionWindow::new(10_000, None);
        let judgements: Vec<Judgement> = (0..5_000).map(|_| clean.on_answer(Answer::FirstTry)).collect();
        assert!(judgements.iter().all(|&j| matches!(j, Judgement::Pending | Judgement::Clean)));
        assert!(judgements.contains(&Judgement::Clean));
    }

    #[test]
    fn never_drops_below_one_probe() {
        let mut window = CongestionWindow::new(10_000, None);
        for _ in 0..2_000 {
            let _ = window.on_answer(Answer::AfterNewLoss);
            assert!(window.allowed() >= 1);
        }
        assert!(window.allowed() <= 2, "{}", window.allowed());
    }
}
