//! What silence means: probes leaving the pipe, found lost by later answers (RACK), timing
//! out; tries held until the host is shown to have had an ICMP error to spare, and sent again
//! with a canary behind them; verdicts for ports silent to every allowed try.

use super::*;

impl<T: Technique> ProbeEngine<T> {
    /// Probes sent more than a round trip ago no longer fill the pipe: silence from a host
    /// that is down or firewalled is not congestion, and must not hold the window shut.
    fn drain_pipe(&mut self, now: Instant) {
        while let Some((exit, order)) = self.pipe_exits.pop_due(now) {
            let in_pipe = |(_, sent): &(u64, &mut Sent)| sent.in_pipe && sent.at < exit;
            let Some((slot, sent)) = self.in_flight.by_order_mut(order).filter(in_pipe) else {
                continue;
            };
            sent.in_pipe = false;
            let sent_at = sent.at;
            self.in_pipe -= 1;
            // At the end of the scan nothing is sent later to overtake the last probes.
            let tail = !self.work_pending();
            let host_index = self.host_of(slot);
            self.follow_up(host_index, slot);
            // A host never heard from may be down, and then its silence says nothing of the
            // path; or its probes were lost, which only other hosts' answers can tell. A host
            // that answers and then falls silent may be losing probes (or rationing its
            // replies), which its own answers tell.
            let (overdue, lost_before) = if self.flags.answered.get(u64::from(host_index)) {
                let host = &mut self.hosts[host_index as usize];
                host.overdue.push_back((sent_at, slot));
                (Overdue::Host(host_index), host.latest_answered_send)
            } else {
                self.window.on_silence(self.in_pipe);
                self.unheard_overdue.push_back((sent_at, slot));
                (Overdue::Unheard, self.latest_answered_send)
            };
            if let Some(lost_before) = if tail { Some(now) } else { lost_before } {
                self.retransmit_overtaken(overdue, lost_before, now);
            }
        }
    }

    /// Like TCP's RACK, a probe still unanswered a round trip after it left, when probes sent
    /// to its host after it have been answered, was most likely lost: send the next try now
    /// rather than at the timeout (Nmap's floor of 100 ms per round of retransmissions). A
    /// probe to a host not heard from yet is judged by the answers of every host, which share
    /// the path: it was lost, or the host is down, and another try costs no more now than at
    /// the timeout. At the end of the scan, where nothing is sent later, the last probes are
    /// sent again a round trip on, as TCP's tail loss probe does. An answer to the earlier try
    /// still counts as that try's.
    ///
    /// Only while the path shows no congestion, though: a host rationing its replies loses
    /// most probes until the pace is found, and retransmitting at the pace of its answers would
    /// spend every port's tries before then. So every try waits its timeout after a cut or with
    /// the scan delay grown (which also gives a cut time to take effect), and until a window of
    /// answers has been judged within the loss tolerance only a port's first retransmission
    /// goes early.
    pub(super) fn retransmit_overtaken(&mut self, overdue: Overdue, lost_before: Instant, now: Instant) {
        if self.early_retransmission_held(now) {
            return;
        }
        loop {
            let queue = match overdue {
                Overdue::Host(host) => &mut self.hosts[host as usize].overdue,
                Overdue::Unheard => &mut self.unheard_overdue,
            };
            let Some((sent_at, slot)) = queue.front().copied().filter(|&(sent_at, _)| sent_at < lost_before) else {
                break;
            };
            queue.pop_front();
            // Only if that very sending, a first try, is still unanswered, and the port has a try
            // to spare.
            let Some(sent) = self.in_flight.get(slot).filter(|sent| sent.at == sent_at) else { continue };
            let early = sent.try_number == 0 || self.losses_look_random;
            let spare = u32::from(sent.try_number) < self.config.timing.max_retries;
            // (The allowance, a line of the host's state, is read only when a try is left.)
            let retries = || &self.hosts[self.host_of(slot) as usize].retries;
            if early && spare && retries().may_retry_after(u32::from(sent.try_number), &self.scan_loss) {
                let sent = self.retire(slot).expect("outstanding");
                self.after_silence(slot, sent, now);
            }
        }
    }

    /// Retransmits or gives up on probes whose timeout passed, sends held tries again when
    /// their host's turn comes, and skips hosts past `--host-timeout`.
    pub(super) fn expire(&mut self, now: Instant) {
        self.drain_pipe(now);
        while let Some((_, host)) = self.host_deadlines.pop_due(now) {
            self.time_out_host(host);
        }
        while let Some((_, host)) = self.sweeps.pop_due(now) {
            self.sweep(host);
        }
        while let Some((deadline, order)) = self.deadlines.pop_due(now) {
            if self.in_flight.by_order(order).is_none_or(|(_, sent)| sent.deadline != deadline) {
                continue; // answered, superseded by a later sending, or given a later deadline
            }
            let (slot, sent) = self.retire_order(order).expect("checked above");
            if sent.try_number > 0 && self.flags.answered.get(u64::from(self.host_of(slot))) {
                self.silent_retransmission(now);
            }
            self.after_silence(slot, sent, now);
        }
    }

    /// A retransmission to a host that answers timed out too. While probes are spaced out in
    /// time, the spacing may be too tight for a host rationing its replies, whose losses can
    /// hide from the answers (see [`CongestionWindow::on_silent_retransmission`]): widen it
    /// again, at most once per timeout. (A filtered port on such a host does the same, and
    /// only costs the scan some speed while it is being spaced out.)
    fn silent_retransmission(&mut self, now: Instant) {
        self.window.on_silent_retransmission();
        if self.delay_grown() && now >= self.delay_changed + self.scan_rtt.timeout() {
            self.last_cut = Some(now);
            self.window.new_loss_event(now);
            self.slow_down(now);
        }
    }

    /// A try went unanswered: send it again later if its silence proved nothing, else retry
    /// or give the port up by the host's retry allowance.
    fn after_silence(&mut self, slot: u64, sent: Sent, now: Instant) {
        let host = self.host_of(slot);
        // (A silent host's probe reads none of its state here: at line rate each read was a
        // miss to memory. Its error accounting begins with its first error.)
        if self.flags.erred.get(u64::from(host)) {
            self.hosts[host as usize].icmp.unanswered(sent.at);
        }
        // Try numbers ride in a byte, whose last value is the canary's: past the last try (a
        // --max-retries of 254 or more) the port is given up like any other.
        let next_try = (sent.try_number < LAST_TRY).then(|| sent.try_number + 1);
        let may_retry = |engine: &Self| {
            let allowance = &engine.hosts[host as usize].retries;
            u32::from(sent.try_number) < engine.config.timing.max_retries
                && allowance.may_retry_after(u32::from(sent.try_number), &engine.scan_loss)
        };
        let retry = next_try.filter(|_| may_retry(self));
        // Where closed ports answer with errors, any silence may be a rationed error, and the
        // try goes again as it was until its silence counts. Where only rejected ports do,
        // silence is first taken for loss, and only the verdict waits.
        let needs_proof = match self.technique.errors_answer() {
            ErrorsAnswer::Never => false,
            ErrorsAnswer::RejectedPorts => retry.is_none() && self.flags.heard_itself.get(u64::from(host)),
            ErrorsAnswer::ClosedPorts => true,
        };
        if needs_proof && !self.silence_counts(host, &sent) {
            let held =
                Try { silent_before: Some(sent.at), number: sent.try_number, lost: sent.lost(), ..Try::first(slot) };
            self.hold(host, held, sent.silent_before().is_none(), now);
            return;
        }
        match retry {
            Some(number) => {
                let lost = Some(LostTries::and(sent.lost(), sent.at));
                self.retry_queue.push_back(Try { number, lost, ..Try::first(slot) });
                self.last_try_queued(host, number);
            }
            None => self.decide_silent(slot),
        }
    }

    /// Try `number` of a port of `host` was queued. If it is the last the port is allowed,
    /// on a host whose last silences need proof (only rejected ports send errors, and the
    /// host answers), its canary goes right behind it: its error proves at once that the
    /// host had one to spare, and a silent last try then counts at its timeout, instead of
    /// being held and sent again with a canary a round later. Each canary spends one of the
    /// host's rationed errors, so only a few hosts' ports are proven this way (see
    /// [`EARLY_CANARIES`]); the rest are held as before.
    fn last_try_queued(&mut self, host: u32, number: u8) {
        let state = &self.hosts[host as usize];
        let last = !state.retries.may_retry_after(u32::from(number), &self.scan_loss);
        let needs_proof = self.technique.errors_answer() == ErrorsAnswer::RejectedPorts
            && self.flags.heard_itself.get(u64::from(host));
        let affordable = state.early_canaries < EARLY_CANARIES && state.unprovable <= MAX_UNPROVABLE;
        if last && needs_proof && affordable && !self.canaries_due.contains(&host) {
            self.canaries_due.push(host);
        }
    }

    /// Whether the silence of `sent` is the port's own, not an error the host rationed: it
    /// left a quiet period after the host's last error; or, where errors are few, a probe
    /// sent right after it drew one, or proving is out of reach (see [`MAX_PORTS_TO_PROVE`]
    /// and [`MAX_UNPROVABLE`]).
    fn silence_counts(&mut self, host: u32, sent: &Sent) -> bool {
        let errors_rare = self.technique.errors_answer() == ErrorsAnswer::RejectedPorts;
        let state = &mut self.hosts[host as usize];
        let sending = Sending { order: sent.order, at: sent.at };
        if state.icmp.silence_counts(sent.at) || errors_rare && state.icmp.spare_proven(sending) {
            return true;
        }
        if !errors_rare {
            return false;
        }
        let answered_after =
            state.canary_sent.is_some_and(|canary| canary.order > sent.order && state.icmp.spare_since(canary));
        state.unprovable = state.unprovable.saturating_add(u8::from(answered_after));
        state.ports_held > MAX_PORTS_TO_PROVE || state.unprovable > MAX_UNPROVABLE
    }

    /// Keeps `again` for the host's next sweep, scheduling one if none is; `first_time` if
    /// its port was not held before.
    fn hold(&mut self, host: u32, again: Try, first_time: bool, now: Instant) {
        if self.hosts[host as usize].held.is_empty() {
            let at = self.next_sweep(host, now);
            self.sweeps.push(at, host);
        }
        let state = &mut self.hosts[host as usize];
        state.ports_held += u32::from(first_time);
        state.held.push(again);
    }

    /// When a host's held tries go out again: where errors are few and the host's canary has
    /// yet to fail, as soon as the ports timing out about now have joined them (a pipe time),
    /// since the canary's error will show at once whether the host has one to spare; else as
    /// its error rationing allows, and at the latest when silence starts to count.
    fn next_sweep(&mut self, host: u32, now: Instant) -> Instant {
        let timeout = self.timeout_for(host);
        let gather = self.scan_rtt.pipe_time();
        let sent = std::mem::take(&mut self.sends[host as usize].since_sweep);
        let state = &mut self.hosts[host as usize];
        let rationing = state.icmp.probe_again_after(timeout, sent);
        let canaries = self.technique.errors_answer() == ErrorsAnswer::RejectedPorts;
        let canary_may_answer = canaries && state.canary_sent.is_none_or(|sent| state.icmp.spare_since(sent));
        let regular = now + if canary_may_answer { gather } else { rationing };
        let quiet = state.icmp.quiet_from().map_or(regular, |quiet| quiet.max(now));
        regular.min(quiet)
    }

    /// Sends the host's held tries again. Where errors are few (only rejected ports send
    /// them), one spent on a canary is cheap: one follows each batch's worth of held tries.
    /// Where closed ports send them, they are what the sweep waits for.
    fn sweep(&mut self, host: u32) {
        let errors_rare = self.technique.errors_answer() == ErrorsAnswer::RejectedPorts;
        let first_slot = self.slot_of(host, 0);
        let state = &mut self.hosts[host as usize];
        let canary = Try::canary(first_slot, state.errors_from.map_or(Canary::Udp, Canary::Port));
        for held in std::mem::take(&mut state.held).chunks(HELD_PER_CANARY) {
            self.retry_queue.extend(held);
            if errors_rare {
                self.retry_queue.push_back(canary);
            }
        }
    }

    /// Sends a host its probes other than `lead` (the only one sent so far): once it is still
    /// silent a round trip after it, or, before the scan's first answer, at once (see
    /// [`Leads`]).
    pub(super) fn follow_up(&mut self, host: u32, lead: u64) {
        if self.leads.is_none() || self.flags.answered.get(u64::from(host)) || self.hosts[host as usize].followed_up {
            return;
        }
        self.hosts[host as usize].followed_up = true;
        let first = self.slot_of(host, 0);
        let others = (first..first + self.ports.len() as u64).filter(|&slot| slot != lead);
        self.retry_queue.extend(others.map(Try::first));
    }

    fn time_out_host(&mut self, host: u32) {
        let first = self.slot_of(host, 0);
        let undecided: Vec<u64> =
            (first..first + self.ports.len() as u64).filter(|&s| !self.results.is_decided(s)).collect();
        if undecided.is_empty() {
            return;
        }
        self.hosts[host as usize].timed_out = true;
        for slot in undecided {
            self.retire(slot);
            self.decide_silent(slot);
        }
    }

    /// What silence after every allowed try means for the technique.
    fn decide_silent(&mut self, slot: u64) {
        let (state, reason) = self.technique.on_timeout();
        self.decide(slot, Verdict { state, reason, ttl: None, by_router: None });
    }
}
