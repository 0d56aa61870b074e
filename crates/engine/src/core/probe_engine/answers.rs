//! What an answer teaches: the verdict for its port, round trips, losses for the window,
//! errors for the host's ICMP model.

use super::*;

impl<T: Technique> ProbeEngine<T> {
    /// The host whose UDP canary `response` answers with an error from the host itself.
    fn udp_canary_answered(&self, response: &Response) -> Option<u32> {
        let Response::Unreachable(error) = response else { return None };
        let QuotedProbe::Udp { src_port, dst_port: CANARY_UDP_PORT } = error.probe else { return None };
        if error.from != error.probe_dst {
            return None;
        }
        let host = *self.host_index.get(&(error.probe_dst, error.probe_src))?;
        let echo = Echo::IpIdent(error.probe_ident);
        let try_number = self.key.verify(error.probe_src, error.probe_dst, CANARY_UDP_PORT, src_port, echo, CANARY_TRY);
        (try_number == Some(CANARY_TRY)).then_some(host)
    }

    /// The try an answer proves it answers, checked against its cookie. A segment answering a
    /// probe that carried data (`--data`) may acknowledge the data too (a RST from a closed
    /// port does; a SYN/ACK does not): its sequence echo is then that much further on.
    fn verify(&self, answer: &probes::Answer, addr: IpAddr, port: u16) -> Option<u8> {
        let check = |echo| self.key.verify(answer.scanner, addr, port, answer.scanner_port, echo, self.max_try());
        check(answer.echo).or_else(|| match (answer.echo, self.config.data.as_deref()) {
            (Echo::Sequence(seq), Some(data)) if !data.is_empty() => {
                check(Echo::Sequence(seq.wrapping_sub(data.len() as u32)))
            }
            _ => None,
        })
    }

    /// Whether `response` is one of this scan's own TCP or UDP probes, read back: scanning
    /// this host, the receiver reads every probe sent over loopback. A probe carries its
    /// cookie (in a TCP sequence number, in a UDP datagram's IP identification) for the
    /// direction it was sent in; no answer does, and the check costs an answer from a port
    /// outside our source-port range nothing.
    fn is_own_probe(&self, response: &Response) -> bool {
        let (from, to, from_port, to_port, echo) = match response {
            Response::Tcp(segment) => {
                (segment.src, segment.dst, segment.src_port, segment.dst_port, Echo::Sequence(segment.seq))
            }
            Response::Udp(datagram) => {
                (datagram.src, datagram.dst, datagram.src_port, datagram.dst_port, Echo::IpIdent(datagram.ident))
            }
            _ => return false,
        };
        self.key.verify(from, to, to_port, from_port, echo, self.max_try()).is_some()
    }

    /// Learns from a packet received at `now`. Returns the port it settled, if it proves to be
    /// a new answer to one of this engine's probes; anything else is ignored.
    pub fn handle(&mut self, response: &Response, now: Instant) -> Option<Settled> {
        if self.is_own_probe(response) {
            // Else a TCP probe that left from the very port it went to reads back as that
            // port's bare SYN, and a UDP probe from port A to port B as A's answer to a
            // probe sent from B (when B is A's source port): both open, in Nmap's tables.
            return None;
        }
        if let Some(host) = self.udp_canary_answered(response) {
            self.flags.erred.set(u64::from(host));
            let state = &mut self.hosts[host as usize];
            state.icmp.heard_error(now, state.canary_sent);
            return None;
        }
        let answer = self.technique.read(response)?;
        let (addr, port) = (answer.target, answer.target_port);
        let host = *self.host_index.get(&(addr, answer.scanner))?;
        let port_index = self.port_index[usize::from(port)];
        if port_index == u32::MAX {
            return None;
        }
        let try_number = self.verify(&answer, addr, port)?;
        let slot = self.slot_of(host, port_index);
        // A router's errors say nothing of the target's own rationing, nor that it is up.
        let from_target = answer.sender == addr;
        let target_error = answer.by_icmp && from_target && self.technique.errors_answer() != ErrorsAnswer::Never;
        if target_error {
            self.heard_error(slot, host, try_number, now);
        }
        if self.results.is_decided(slot) {
            return None;
        }
        self.learn(slot, host, try_number, now);
        if from_target {
            self.flags.heard_itself.set(u64::from(host));
        }
        let state = &mut self.hosts[host as usize];
        if target_error {
            state.errors_from.get_or_insert(slot);
        }
        let by_router = (!from_target).then_some(answer.sender);
        let verdict = Verdict { state: answer.state, reason: answer.reason, ttl: Some(answer.ttl), by_router };
        self.decide(slot, verdict);
        if self.technique.finds_hosts() {
            self.found_host(host, slot, verdict);
        }
        Some(Settled { addr, port, state: answer.state })
    }

    /// One answer settles a host for a technique that finds hosts: its other probes are
    /// neither waited for nor sent again.
    fn found_host(&mut self, host: u32, answered: u64, verdict: Verdict) {
        self.hosts[host as usize].found.get_or_insert(verdict.reason);
        let probe = (answered % self.ports.len() as u64) as u32;
        if let Some(leads) = &mut self.leads {
            leads.answered_first(probe);
        }
        let first = self.slot_of(host, 0);
        for slot in first..first + self.ports.len() as u64 {
            self.retire(slot);
            self.decide(slot, verdict);
        }
    }

    /// An ICMP error about `slot` came from its host. If this try had gone out before without
    /// an answer, the host had no error to spare back then: the error bucket was empty.
    ///
    /// The error also proves the host had one to spare when the probe arrived, if it is known
    /// which sending drew it: the only sending of try `try_number`, or the canary's.
    fn heard_error(&mut self, slot: u64, host: u32, try_number: u8, now: Instant) {
        let timeout = self.timeout_for(host);
        let sent = self.in_flight.get(slot);
        let silent_before = sent.and_then(Sent::silent_before);
        self.flags.erred.set(u64::from(host));
        let state = &mut self.hosts[host as usize];
        let spared_at = match sent {
            Some(sent) if sent.try_number == try_number && sent.silent_before().is_none() => {
                Some(Sending { order: sent.order, at: sent.at })
            }
            Some(_) => None,
            None => state.canary_sent.filter(|_| state.errors_from == Some(slot)),
        };
        if let Some(at) = silent_before {
            state.icmp.ran_dry_at(at, timeout);
        }
        state.icmp.heard_error(now, spared_at);
    }

    /// Timing lessons from an answer to try `try_number` of `slot`.
    fn learn(&mut self, slot: u64, host: u32, try_number: u8, now: Instant) {
        let sent = self.retire(slot);
        if let Some(sent) = &sent {
            // Only an answer to the latest try dates from a known send time (Karn's rule).
            if sent.try_number == try_number && sent.silent_before().is_none() {
                let rtt = now.saturating_duration_since(sent.at);
                let first_of_scan = self.scan_rtt.srtt().is_none();
                self.hosts[host as usize].rtt.sample(rtt);
                self.scan_rtt.sample(rtt);
                if first_of_scan {
                    self.reschedule_outstanding();
                }
            }
        }
        self.flags.answered.set(u64::from(host));
        let state = &mut self.hosts[host as usize];
        state.retries.answered_on(u32::from(try_number));
        self.scan_loss.answered_on(u32::from(try_number));
        if let Some(sent) = &sent {
            state.latest_answered_send = state.latest_answered_send.max(Some(sent.at));
            self.latest_answered_send = self.latest_answered_send.max(Some(sent.at));
            self.retransmit_overtaken(Overdue::Host(host), sent.at, now);
            self.retransmit_overtaken(Overdue::Unheard, sent.at, now);
        }
        // An answer to the latest try shows the tries before it lost; an answer to the try
        // before the latest shows that one delivered after all. (The cookie says which try
        // answered.)
        let (delivered, lost) = match &sent {
            Some(sent) if sent.try_number == try_number => (Some(sent.at), sent.lost()),
            Some(sent) if try_number.checked_add(1) == Some(sent.try_number) && sent.lost().is_some() => {
                let lost = sent.lost().expect("checked above");
                (Some(lost.last), lost.before_last())
            }
            _ => (None, None),
        };
        // The answered probe has just left the flight.
        let flight = self.in_pipe + 1;
        self.window.on_answer(delivered, lost, flight);
        // (Where closed ports answer with errors, a host answering on later tries is most
        // likely rationing them, which sweeps at its pace deal with.)
        let rations_answers = self.technique.errors_answer() == ErrorsAnswer::ClosedPorts;
        let host_loss =
            self.hosts[host as usize].retries.loss().filter(|&loss| loss > HOST_OVERRUN_LOSS && !rations_answers);
        let judged = match host_loss {
            Some(loss) if !self.early_retransmission_held(now) => self.window.host_overrun(loss, flight, now),
            _ => self.window.judge(now.checked_sub(self.loss_shows_after(now)).unwrap_or(self.started), now),
        };
        match judged {
            Judgement::Pending => {}
            Judgement::Tolerable => self.losses_look_random = true,
            // The loss is the path's: nothing to wait out before retransmitting early.
            Judgement::Undone => {
                self.losses_look_random = true;
                self.last_cut = None;
            }
            Judgement::Clean => {
                self.losses_look_random = true;
                self.speed_up(now);
            }
            judgement @ (Judgement::Cut | Judgement::OverrunAtFloor) => {
                self.losses_look_random = false;
                self.last_cut = Some(now);
                self.tell(DebugEvent::WindowCut { allowed: self.window.allowed() });
                // Once probes are spaced out in time, the spacing sets the pace, not the window.
                if judgement == Judgement::OverrunAtFloor || self.delay_grown() {
                    self.slow_down(now);
                }
            }
        }
    }

    /// The probes sent before the scan's first round trip was measured wait with the initial
    /// timeout (a second by default), and stay in the pipe for the minimum timeout; like Nmap,
    /// judge them by what is known now instead. This runs once per scan, over the first window
    /// of probes.
    fn reschedule_outstanding(&mut self) {
        let pipe_time = self.scan_rtt.pipe_time();
        for slot in self.in_flight.slots() {
            let timeout = self.timeout_for(self.host_of(slot));
            let sent = self.in_flight.get_mut(slot).expect("listed above");
            sent.deadline = sent.at + timeout;
            self.deadlines.push(sent.deadline, sent.order);
            self.pipe_exits.push(sent.at + pipe_time, sent.order);
        }
    }
}
