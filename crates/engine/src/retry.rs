/// How many times a silent port may be probed again on one host.
///
/// Nmap's rule: a silent port is first retried once; a host that answered only on a
/// retransmission has shown loss, so it earns one more retransmission than its latest
/// successful one, up to `--max-retries`. A loss-free host with firewalled ports therefore
/// costs two probes per silent port, not eleven.
#[derive(Debug, Clone)]
pub struct RetryAllowance {
    max_retries: u32,
    /// The highest retransmission number (0 = first probe) that drew an answer.
    best_answered_try: Option<u32>,
}

impl RetryAllowance {
    pub fn new(max_retries: u32) -> RetryAllowance {
        RetryAllowance { max_retries, best_answered_try: None }
    }

    /// A probe sent as try number `try_number` (0 for the first) was answered.
    pub fn answered_on(&mut self, try_number: u32) {
        self.best_answered_try = Some(self.best_answered_try.map_or(try_number, |best| best.max(try_number)));
    }

    /// Whether a port silent after try `try_number` may be probed once more.
    pub fn may_retry_after(&self, try_number: u32) -> bool {
        try_number < self.allowed_retries()
    }

    fn allowed_retries(&self) -> u32 {
        let earned = self.best_answered_try.map_or(1, |best| best + 1).max(1);
        earned.min(self.max_retries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_host_gets_one_retransmission() {
        let allowance = RetryAllowance::new(10);
        assert!(allowance.may_retry_after(0));
        assert!(!allowance.may_retry_after(1));
    }

    #[test]
    fn answers_on_retransmissions_earn_more() {
        let mut allowance = RetryAllowance::new(10);
        allowance.answered_on(0);
        assert!(!allowance.may_retry_after(1));
        allowance.answered_on(3);
        assert!(allowance.may_retry_after(3));
        assert!(!allowance.may_retry_after(4));
        allowance.answered_on(1); // an older, lower answer does not take the allowance back
        assert!(allowance.may_retry_after(3));
    }

    #[test]
    fn max_retries_caps_the_allowance() {
        let mut allowance = RetryAllowance::new(2);
        allowance.answered_on(7);
        assert!(allowance.may_retry_after(1));
        assert!(!allowance.may_retry_after(2));
    }

    #[test]
    fn max_retries_zero_never_retransmits() {
        let mut allowance = RetryAllowance::new(0);
        allowance.answered_on(0);
        assert!(!allowance.may_retry_after(0));
    }
}
