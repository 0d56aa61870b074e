use std::time::{Duration, Instant};

/// How many probes one host may have in flight: TCP's congestion control applied to probes, as
/// Nmap does. Slow start doubles the window every round trip from a small start; above the
/// threshold it grows by one probe per window of answers.
///
/// Loss is inferred only from an answer to a retransmission (the earlier probe or its answer
/// was lost). Ports behind a dropping firewall never answer, so they never shrink the window.
/// A window is cut at most once per round trip, since one burst of loss is one congestion event.
#[derive(Debug, Clone)]
pub struct CongestionWindow {
    window: f64,
    threshold: f64,
    max: f64,
    last_cut: Option<Instant>,
}

/// Probes in flight before the first answer: few enough that only they wait out the initial
/// timeout, enough to measure the round trip at once.
pub const INITIAL_WINDOW: f64 = 32.0;
const MIN_WINDOW: f64 = 1.0;

impl CongestionWindow {
    pub fn new(max: usize) -> CongestionWindow {
        let max = (max as f64).max(MIN_WINDOW);
        CongestionWindow { window: INITIAL_WINDOW.min(max), threshold: max, max, last_cut: None }
    }

    /// Probes that may be in flight now.
    pub fn allowed(&self) -> usize {
        self.window as usize
    }

    pub fn on_answer(&mut self) {
        let growth = if self.window < self.threshold { 1.0 } else { 1.0 / self.window };
        self.window = (self.window + growth).min(self.max);
    }

    /// An answer came to a retransmission at `now`; `rtt` is the host's smoothed round trip.
    pub fn on_loss(&mut self, now: Instant, rtt: Duration) {
        if self.last_cut.is_some_and(|cut| now.saturating_duration_since(cut) < rtt) {
            return;
        }
        self.threshold = (self.window / 2.0).max(MIN_WINDOW);
        self.window = self.threshold;
        self.last_cut = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn starts_small_and_doubles_per_window_of_answers() {
        let mut window = CongestionWindow::new(10_000);
        assert_eq!(window.allowed(), 32);
        (0..32).for_each(|_| window.on_answer());
        assert_eq!(window.allowed(), 64);
        (0..64).for_each(|_| window.on_answer());
        assert_eq!(window.allowed(), 128);
    }

    #[test]
    fn never_exceeds_its_maximum() {
        let mut window = CongestionWindow::new(100);
        (0..10_000).for_each(|_| window.on_answer());
        assert_eq!(window.allowed(), 100);
        assert_eq!(CongestionWindow::new(4).allowed(), 4);
    }

    #[test]
    fn loss_halves_the_window_then_growth_is_linear() {
        let mut window = CongestionWindow::new(10_000);
        (0..96).for_each(|_| window.on_answer());
        window.on_loss(Instant::now(), MS(10));
        assert_eq!(window.allowed(), 64);
        (0..60).for_each(|_| window.on_answer());
        assert_eq!(window.allowed(), 64, "growth above the threshold is slow");
        // Each answer adds 1/window, so a full window of answers (plus one, as the window
        // grows meanwhile) adds one probe.
        (0..5).for_each(|_| window.on_answer());
        assert_eq!(window.allowed(), 65);
    }

    #[test]
    fn one_cut_per_round_trip() {
        let start = Instant::now();
        let mut window = CongestionWindow::new(10_000);
        (0..96).for_each(|_| window.on_answer());
        window.on_loss(start, MS(10));
        window.on_loss(start + MS(5), MS(10));
        assert_eq!(window.allowed(), 64, "a second loss within the round trip is the same event");
        window.on_loss(start + MS(11), MS(10));
        assert_eq!(window.allowed(), 32);
    }

    #[test]
    fn never_drops_below_one_probe() {
        let start = Instant::now();
        let mut window = CongestionWindow::new(10_000);
        for step in 0..20 {
            window.on_loss(start + MS(step * 100), MS(10));
        }
        assert_eq!(window.allowed(), 1);
    }
}
