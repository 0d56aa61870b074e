use std::time::Duration;

/// Nmap's `-T0` … `-T5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimingTemplate {
    Paranoid,
    Sneaky,
    Polite,
    Normal,
    Aggressive,
    Insane,
}

impl TimingTemplate {
    /// Accepts a digit or a name, like `-T4` and `-T aggressive`.
    pub fn parse(text: &str) -> Option<TimingTemplate> {
        use TimingTemplate::*;
        let all = [Paranoid, Sneaky, Polite, Normal, Aggressive, Insane];
        let by_number = text.parse::<usize>().ok().and_then(|n| all.get(n).copied());
        by_number.or_else(|| all.into_iter().find(|t| t.name().eq_ignore_ascii_case(text)))
    }

    pub fn name(self) -> &'static str {
        match self {
            TimingTemplate::Paranoid => "paranoid",
            TimingTemplate::Sneaky => "sneaky",
            TimingTemplate::Polite => "polite",
            TimingTemplate::Normal => "normal",
            TimingTemplate::Aggressive => "aggressive",
            TimingTemplate::Insane => "insane",
        }
    }
}

/// The timing values a scan runs with: a template's, then each fine-grained option on top.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// The probe timeout before any round trip has been measured.
    pub initial_rtt_timeout: Duration,
    /// Bounds on the timeout derived from measured round trips.
    pub min_rtt_timeout: Duration,
    pub max_rtt_timeout: Duration,
    /// Retransmissions allowed per port at most; fewer when the host shows no loss.
    pub max_retries: u32,
    /// Least time between two probes to the same host.
    pub scan_delay: Duration,
    /// How far the scan delay may grow when a host keeps losing probes (`--max-scan-delay`).
    pub max_scan_delay: Duration,
    /// Give up on a host after this long (`None`: never).
    pub host_timeout: Option<Duration>,
    /// Probes in flight at most (`None`: as many as the socket budget allows).
    pub max_parallelism: Option<usize>,
    /// Probes in flight at least, whatever loss the congestion window sees.
    pub min_parallelism: Option<usize>,
}

impl Timing {
    /// The values of Nmap's documented templates ("Timing and Performance" in the Nmap manual).
    pub fn template(template: TimingTemplate) -> Timing {
        let normal = Timing {
            initial_rtt_timeout: Duration::from_secs(1),
            min_rtt_timeout: Duration::from_millis(100),
            max_rtt_timeout: Duration::from_secs(10),
            max_retries: 10,
            scan_delay: Duration::ZERO,
            max_scan_delay: Duration::from_secs(1),
            host_timeout: None,
            max_parallelism: None,
            min_parallelism: None,
        };
        let serial = |delay: Duration| Timing {
            initial_rtt_timeout: delay.max(normal.initial_rtt_timeout),
            scan_delay: delay,
            max_parallelism: Some(1),
            ..normal.clone()
        };
        match template {
            TimingTemplate::Paranoid => serial(Duration::from_secs(300)),
            TimingTemplate::Sneaky => serial(Duration::from_secs(15)),
            TimingTemplate::Polite => serial(Duration::from_millis(400)),
            TimingTemplate::Normal => normal,
            TimingTemplate::Aggressive => Timing {
                initial_rtt_timeout: Duration::from_millis(500),
                max_rtt_timeout: Duration::from_millis(1250),
                max_retries: 6,
                max_scan_delay: Duration::from_millis(10),
                ..normal
            },
            TimingTemplate::Insane => Timing {
                initial_rtt_timeout: Duration::from_millis(250),
                min_rtt_timeout: Duration::from_millis(50),
                max_rtt_timeout: Duration::from_millis(300),
                max_retries: 2,
                max_scan_delay: Duration::from_millis(5),
                host_timeout: Some(Duration::from_secs(15 * 60)),
                ..normal
            },
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing::template(TimingTemplate::Normal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn templates_parse_by_number_and_name() {
        assert_eq!(TimingTemplate::parse("4"), Some(TimingTemplate::Aggressive));
        assert_eq!(TimingTemplate::parse("Insane"), Some(TimingTemplate::Insane));
        assert_eq!(TimingTemplate::parse("paranoid"), Some(TimingTemplate::Paranoid));
        assert_eq!(TimingTemplate::parse("6"), None);
        assert_eq!(TimingTemplate::parse("fast"), None);
    }

    #[test]
    fn normal_is_nmaps_default() {
        let t = Timing::template(TimingTemplate::Normal);
        assert_eq!((t.initial_rtt_timeout, t.min_rtt_timeout, t.max_rtt_timeout), (MS(1000), MS(100), MS(10_000)));
        assert_eq!(t.max_retries, 10);
        assert_eq!((t.scan_delay, t.max_scan_delay), (Duration::ZERO, MS(1000)));
        assert_eq!((t.host_timeout, t.max_parallelism), (None, None));
    }

    #[test]
    fn paranoid_sneaky_and_polite_are_serial_with_a_scan_delay() {
        let t0 = Timing::template(TimingTemplate::Paranoid);
        assert_eq!((t0.scan_delay, t0.initial_rtt_timeout, t0.max_parallelism), (MS(300_000), MS(300_000), Some(1)));
        let t1 = Timing::template(TimingTemplate::Sneaky);
        assert_eq!((t1.scan_delay, t1.initial_rtt_timeout, t1.max_parallelism), (MS(15_000), MS(15_000), Some(1)));
        let t2 = Timing::template(TimingTemplate::Polite);
        assert_eq!((t2.scan_delay, t2.initial_rtt_timeout, t2.max_parallelism), (MS(400), MS(1000), Some(1)));
        for t in [t0, t1, t2] {
            assert_eq!((t.min_rtt_timeout, t.max_rtt_timeout, t.max_retries), (MS(100), MS(10_000), 10));
        }
    }

    #[test]
    fn aggressive_matches_the_manual() {
        let t = Timing::template(TimingTemplate::Aggressive);
        assert_eq!((t.initial_rtt_timeout, t.min_rtt_timeout, t.max_rtt_timeout), (MS(500), MS(100), MS(1250)));
        assert_eq!(t.max_retries, 6);
        assert_eq!((t.scan_delay, t.max_scan_delay, t.host_timeout), (Duration::ZERO, MS(10), None));
    }

    #[test]
    fn insane_matches_the_manual() {
        let t = Timing::template(TimingTemplate::Insane);
        assert_eq!((t.initial_rtt_timeout, t.min_rtt_timeout, t.max_rtt_timeout), (MS(250), MS(50), MS(300)));
        assert_eq!(t.max_retries, 2);
        assert_eq!(t.max_scan_delay, MS(5));
        assert_eq!(t.host_timeout, Some(Duration::from_secs(900)));
    }
}
