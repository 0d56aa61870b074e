/// How many times a silent port may be probed again on one host.
///
/// Nmap's rule, with a margin: a silent port is first retried once, so a loss-free host with
/// firewalled ports costs two probes per silent port, not eleven. A host that answered only on a
/// retransmission has shown loss; Nmap then allows one retransmission more than the deepest try
/// that drew an answer, but under steady loss that depth is itself luck (with 10 % of tries
/// failing, about one port in a thousand needs a fourth try, and whether any port has yet been
/// answered that deep is a coin toss), so live ports were reported filtered. Once loss is seen,
/// portolan allows two more than the deepest answered try, and at least as many as make a live
/// port losing every try unlikely at the loss rate the host's answers show, up to
/// `--max-retries`. (The margin alone still left about one 1000-port scan in 200 with a closed
/// port filtered under 5 % loss each way.)
#[derive(Debug, Clone)]
pub struct RetryAllowance {
    max_retries: u32,
    /// The highest retransmission number (0 = first probe) that drew an answer.
    best_answered_try: Option<u32>,
    /// Answers, and those that came on a retransmission: their ratio is the host's loss per try.
    answers: u32,
    retried_answers: u32,
}

/// Answers it takes before their loss rate is trusted.
const ANSWERS_TO_MEASURE_LOSS: u32 = 20;
/// The chance, at most, that a live port loses every try its allowance gives it.
const MISS_CHANCE: f64 = 1e-7;

impl RetryAllowance {
    pub fn new(max_retries: u32) -> RetryAllowance {
        RetryAllowance { max_retries, best_answered_try: None, answers: 0, retried_answers: 0 }
    }

    /// A probe sent as try number `try_number` (0 for the first) was answered.
    pub fn answered_on(&mut self, try_number: u32) {
        self.best_answered_try = Some(self.best_answered_try.map_or(try_number, |best| best.max(try_number)));
        self.answers = self.answers.saturating_add(1);
        self.retried_answers = self.retried_answers.saturating_add(u32::from(try_number > 0));
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
        earned.max(self.retries_for_loss_rate()).min(self.max_retries)
    }

    /// Retransmissions enough that a live port loses all its tries with at most `MISS_CHANCE`,
    /// at the loss per try the host's answers show (none until enough answers measure it).
    fn retries_for_loss_rate(&self) -> u32 {
        if self.answers < ANSWERS_TO_MEASURE_LOSS || self.retried_answers == 0 {
            return 0;
        }
        let loss = f64::from(self.retried_answers) / f64::from(self.answers);
        // Every answer on a retransmission: no rate bounds the tries but `--max-retries`.
        let tries = if loss >= 1.0 { f64::INFINITY } else { (MISS_CHANCE.ln() / loss.ln()).ceil() };
        (tries as u32).saturating_sub(1)
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
    fn a_measured_loss_rate_earns_enough_tries_to_make_a_miss_unlikely() {
        // One answer in eight on a retransmission, none deeper than the first: the margin alone
        // allows three retransmissions, and a live port would lose all four tries about once in
        // 4,000; at a loss of one try in eight, eight tries bring that under one in ten million.
        let mut allowance = RetryAllowance::new(10);
        for i in 0..96 {
            allowance.answered_on(u32::from(i % 8 == 0));
        }
        assert!(allowance.may_retry_after(6));
        assert!(!allowance.may_retry_after(7));
        // A clean host keeps Nmap's single retransmission.
        let mut clean = RetryAllowance::new(10);
        (0..100).for_each(|_| clean.answered_on(0));
        assert!(!clean.may_retry_after(1));
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
