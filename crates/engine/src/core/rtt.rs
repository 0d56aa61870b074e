use std::time::Duration;

/// Smoothed round-trip time and the probe timeout derived from it.
///
/// The estimator of RFC 6298 (which Nmap also uses): after the first sample the variation
/// starts at half the sample; later samples move the mean by 1/8 of the error and the variation
/// by 1/4. The timeout is mean + 4 × variation, held within the user's bounds.
#[derive(Debug, Clone)]
pub struct RttEstimator {
    smoothed: Option<Smoothed>,
    initial: Duration,
    min: Duration,
    max: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Smoothed {
    srtt: Duration,
    rttvar: Duration,
}

/// The variation never drops below this, so one lucky sample cannot make the timeout razor-thin.
const MIN_RTTVAR: Duration = Duration::from_millis(1);

impl RttEstimator {
    pub fn new(initial: Duration, min: Duration, max: Duration) -> RttEstimator {
        RttEstimator { smoothed: None, initial, min, max: max.max(min) }
    }

    pub fn sample(&mut self, rtt: Duration) {
        self.smoothed = Some(match self.smoothed {
            None => Smoothed { srtt: rtt, rttvar: (rtt / 2).max(MIN_RTTVAR) },
            Some(Smoothed { srtt, rttvar }) => {
                let error = abs_diff(srtt, rtt);
                let rttvar = (rttvar * 3 / 4 + error / 4).max(MIN_RTTVAR);
                let srtt = srtt * 7 / 8 + rtt / 8;
                Smoothed { srtt, rttvar }
            }
        });
    }

    /// The smoothed round-trip time, once anything has been measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.smoothed.map(|s| s.srtt)
    }

    /// The whole estimate, once anything has been measured.
    pub fn round_trip(&self) -> Option<model::RoundTrip> {
        self.smoothed.map(|s| model::RoundTrip { srtt: s.srtt, rttvar: s.rttvar, timeout: self.timeout() })
    }

    /// How long an answer to a probe sent now may take, without the user's lower bound on the
    /// timeout: past this, an unanswered probe is no longer in the network's pipe, though it
    /// is still waited for. Before any answer it is the lower bound itself, not the initial
    /// timeout: where few hosts answer, the first answer can be long in coming, and the first
    /// window of probes must not stand still that long.
    pub fn pipe_time(&self) -> Duration {
        match self.smoothed {
            None => self.min.min(self.timeout()),
            Some(Smoothed { srtt, rttvar }) => (srtt + rttvar * 4).min(self.timeout()),
        }
    }

    /// How long to wait for an answer to a probe sent now.
    pub fn timeout(&self) -> Duration {
        match self.smoothed {
            None => self.initial.clamp(self.min, self.max),
            Some(Smoothed { srtt, rttvar }) => (srtt + rttvar * 4).clamp(self.min, self.max),
        }
    }
}

fn abs_diff(a: Duration, b: Duration) -> Duration {
    a.max(b) - a.min(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn estimator() -> RttEstimator {
        RttEstimator::new(MS(1000), MS(100), MS(10_000))
    }

    #[test]
    fn the_initial_timeout_holds_until_the_first_sample() {
        let rtt = estimator();
        assert_eq!(rtt.timeout(), MS(1000));
        assert_eq!(rtt.srtt(), None);
    }

    #[test]
    fn first_sample_sets_mean_and_half_variation() {
        let mut rtt = estimator();
        rtt.sample(MS(200));
        assert_eq!(rtt.srtt(), Some(MS(200)));
        assert_eq!(rtt.timeout(), MS(200) + MS(100) * 4);
    }

    #[test]
    fn later_samples_move_the_mean_by_an_eighth() {
        let mut rtt = estimator();
        rtt.sample(MS(200));
        rtt.sample(MS(600));
        assert_eq!(rtt.srtt(), Some(MS(250)));
        // rttvar = 3/4 × 100 + 1/4 × 400 = 175
        assert_eq!(rtt.timeout(), MS(250) + MS(175) * 4);
    }

    #[test]
    fn steady_fast_answers_shrink_the_timeout_to_the_floor() {
        let mut rtt = estimator();
        for _ in 0..50 {
            rtt.sample(Duration::from_micros(100));
        }
        assert_eq!(rtt.timeout(), MS(100));
    }

    #[test]
    fn slow_answers_are_capped_by_the_max_timeout() {
        let mut rtt = RttEstimator::new(MS(500), MS(100), MS(1250));
        rtt.sample(MS(2000));
        assert_eq!(rtt.timeout(), MS(1250));
    }

    #[test]
    fn the_initial_timeout_respects_the_bounds() {
        assert_eq!(RttEstimator::new(MS(50), MS(100), MS(300)).timeout(), MS(100));
        assert_eq!(RttEstimator::new(MS(900), MS(100), MS(300)).timeout(), MS(300));
    }
}
