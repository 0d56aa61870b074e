/// How many times a silent port may be probed again on one host.
///
/// Nmap's rule, with a margin: a silent port is first retried once, so a loss-free host with
/// firewalled ports costs two probes per silent port, not eleven. A host that answered only on a
/// retransmission has shown loss; Nmap then allows one retransmission more than the deepest try
/// that drew an answer, but under steady loss that depth is itself luck (with 10 % of tries
/// failing, about one port in a thousand needs a fourth try, and whether any port has yet been
/// answered that deep is a coin toss), so live ports were reported filtered. Once loss is seen,
/// portolan allows two more than the deepest answered try, and at least as many as make a live
/// port losing every try unlikely at the loss rate measured, up to `--max-retries`. (The margin
/// alone still left about one 1000-port scan in 200 with a closed port filtered under 5 % loss
/// each way.)
///
/// The loss rate is the host's own once its answers measure it, else the scan's over every
/// host: in a sweep with one port per host, a host answers once at most, and only the scan's
/// many answers say how lossy the path is.
#[derive(Debug, Clone)]
pub struct RetryAllowance {
    max_retries: u32,
    /// The highest retransmission number (0 = first probe) that drew an answer.
    best_answered_try: Option<u32>,
    loss: LossRate,
}

/// The loss per try that answers show: the share of them that came on a retransmission (with
/// a loss per try of p, an answered port needed a retransmission with chance p). Recent
/// answers weigh most, so that the losses of a burst the scan has since slowed down for fade.
#[derive(Debug, Clone, Copy, Default)]
pub struct LossRate {
    answers: u32,
    retried: u32,
}

/// Answers it takes before their loss rate is trusted.
const ANSWERS_TO_MEASURE_LOSS: u32 = 20;
/// Answers a loss rate counts before it halves its counts.
const LOSS_MEMORY: u32 = 1024;
/// The chance, at most, that a live port loses every try its allowance gives it.
const MISS_CHANCE: f64 = 1e-7;

impl LossRate {
    /// A probe sent as try number `try_number` (0 for the first) was answered.
    pub fn answered_on(&mut self, try_number: u32) {
        self.answers += 1;
        self.retried += u32::from(try_number > 0);
        if self.answers >= LOSS_MEMORY {
            (self.answers, self.retried) = (self.answers / 2, self.retried / 2);
        }
    }

    /// The loss per try, once enough answers measure it.
    pub fn per_try(&self) -> Option<f64> {
        (self.answers >= ANSWERS_TO_MEASURE_LOSS).then(|| f64::from(self.retried) / f64::from(self.answers))
    }
}

impl RetryAllowance {
    pub fn new(max_retries: u32) -> RetryAllowance {
        RetryAllowance { max_retries, best_answered_try: None, loss: LossRate::default() }
    }

    /// A probe sent as try number `try_number` (0 for the first) was answered.
    pub fn answered_on(&mut self, try_number: u32) {
        self.best_answered_try = Some(self.best_answered_try.map_or(try_number, |best| best.max(try_number)));
        self.loss.answered_on(try_number);
    }

    /// The loss per try the host's own answers show, once they are enough to measure it.
    pub fn loss(&self) -> Option<f64> {
        self.loss.per_try()
    }

    /// Whether a port silent after try `try_number` may be probed once more, `scan` being the
    /// loss rate over every host of the scan.
    pub fn may_retry_after(&self, try_number: u32, scan: &LossRate) -> bool {
        try_number < self.allowed_retries(scan)
    }

    fn allowed_retries(&self, scan: &LossRate) -> u32 {
        let earned = match self.best_answered_try {
            None | Some(0) => 1,
            Some(deepest) => deepest + 2,
        };
        let measured = self.loss.per_try().or_else(|| scan.per_try());
        earned.max(measured.map_or(0, retries_for_loss_rate)).min(self.max_retries)
    }
}

/// Retransmissions enough that a live port loses all its tries with at most `MISS_CHANCE`, at
/// a loss of `loss` per try.
fn retries_for_loss_rate(loss: f64) -> u32 {
    if loss <= 0.0 {
        return 0;
    }
    // Every answer on a retransmission: no rate bounds the tries but `--max-retries`.
    let tries = if loss >= 1.0 { f64::INFINITY } else { (MISS_CHANCE.ln() / loss.ln()).ceil() };
    (tries as u32).saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scan whose answers have not measured its loss rate yet.
    const NO_SCAN_LOSS: LossRate = LossRate { answers: 0, retried: 0 };

    #[test]
    fn a_silent_host_gets_one_retransmission() {
        let allowance = RetryAllowance::new(10);
        assert!(allowance.may_retry_after(0, &NO_SCAN_LOSS));
        assert!(!allowance.may_retry_after(1, &NO_SCAN_LOSS));
    }

    #[test]
    fn answers_on_retransmissions_earn_more_with_a_margin() {
        let mut allowance = RetryAllowance::new(10);
        allowance.answered_on(0);
        assert!(!allowance.may_retry_after(1, &NO_SCAN_LOSS), "no loss seen: one retransmission");
        allowance.answered_on(1);
        assert!(allowance.may_retry_after(2, &NO_SCAN_LOSS), "loss seen: two past the deepest answer");
        assert!(!allowance.may_retry_after(3, &NO_SCAN_LOSS));
        allowance.answered_on(3);
        assert!(allowance.may_retry_after(4, &NO_SCAN_LOSS));
        assert!(!allowance.may_retry_after(5, &NO_SCAN_LOSS));
        allowance.answered_on(1); // an older, lower answer does not take the allowance back
        assert!(allowance.may_retry_after(4, &NO_SCAN_LOSS));
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
        assert!(allowance.may_retry_after(6, &NO_SCAN_LOSS));
        assert!(!allowance.may_retry_after(7, &NO_SCAN_LOSS));
        // A clean host keeps Nmap's single retransmission.
        let mut clean = RetryAllowance::new(10);
        (0..100).for_each(|_| clean.answered_on(0));
        assert!(!clean.may_retry_after(1, &NO_SCAN_LOSS));
    }

    #[test]
    fn max_retries_caps_the_allowance() {
        let mut allowance = RetryAllowance::new(2);
        allowance.answered_on(7);
        assert!(allowance.may_retry_after(1, &NO_SCAN_LOSS));
        assert!(!allowance.may_retry_after(2, &NO_SCAN_LOSS));
    }

    #[test]
    fn max_retries_zero_never_retransmits() {
        let mut allowance = RetryAllowance::new(0);
        allowance.answered_on(0);
        assert!(!allowance.may_retry_after(0, &NO_SCAN_LOSS));
    }

    #[test]
    fn a_host_without_answers_of_its_own_gets_the_tries_the_scans_loss_rate_calls_for() {
        // One answer in eight came on a retransmission, over the whole scan: a host that has
        // not answered yet (one port per host, as in a sweep) gets eight tries, not two.
        let mut scan = LossRate::default();
        (0..96).for_each(|i| scan.answered_on(u32::from(i % 8 == 0)));
        let unheard = RetryAllowance::new(10);
        assert!(unheard.may_retry_after(6, &scan));
        assert!(!unheard.may_retry_after(7, &scan));
        // A host whose own answers measure no loss keeps Nmap's single retransmission.
        let mut clean = RetryAllowance::new(10);
        (0..20).for_each(|_| clean.answered_on(0));
        assert!(!clean.may_retry_after(1, &scan));
    }

    #[test]
    fn old_losses_fade_from_the_loss_rate() {
        let mut rate = LossRate::default();
        (0..1000).for_each(|_| rate.answered_on(1));
        (0..3000).for_each(|_| rate.answered_on(0));
        assert!(rate.per_try().unwrap() < 0.1, "{:?}", rate.per_try());
    }
}
