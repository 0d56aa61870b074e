/// How many times a silent port may be probed again on one host.
///
/// Nmap's rule, with a margin: a silent port is first retried once, so a loss-free host with
/// firewalled ports costs two probes per silent port, not eleven. A host that answered only on a
/// retransmission has shown loss; Nmap then allows one retransmission more than the deepest try
/// that drew an answer, but under steady loss that depth is itself luck (with 10 % of tries
/// failing, about one port in a thousand needs a fourth try, and whether any port has yet been
/// answered that deep is a coin toss), so live ports were reported filtered. Once loss is seen,
/// portolan allows two more than the deepest answered try, up to `--max-retries`.
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
        let earned = match self.best_answered_try {
            None | Some(0) => 1,
            Some(deepest) => deepest + 2,
        };
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
    fn answers_on_retransmissions_earn_more_with_a_margin() {
        let mut allowance = RetryAllowance::new(10);
        allowance.answered_on(0);
        assert!(!allowance.may_retry_after(1), "no loss seen: one retransmission");
        allowance.answered_on(1);
        assert!(allowance.may_retry_after(2), "loss seen: two past the deepest answer");
        assert!(!allowance.may_retry_after(3));
        allowance.answered_on(3);
        assert!(allowance.may_retry_after(4));
        assert!(!allowance.may_retry_after(5));
        allowance.answered_on(1); // an older, lower answer does not take the allowance back
        assert!(allowance.may_retry_after(4));
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
