//! What the engine sends next, and when: new slots in scan order, tries again, canaries,
//! within the congestion window, the rate and the scan delay.

use super::*;

/// Work deferred for its host's or its port's rate at most: beyond, new slots wait their
/// turn in scan order rather than being pulled forward, so that one slow host or port does
/// not sweep the whole order into memory.
const MAX_DEFERRED: usize = 4096;

/// When a cap of `rate` events a second lets the next one go, after one at `now`.
fn next_allowed(now: Instant, rate: f64) -> Instant {
    now + Duration::from_secs_f64(1.0 / rate)
}

impl<T: Technique> ProbeEngine<T> {
    /// The next probe to send at `now`, if the window, the pacing and the work allow one.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Probe> {
        self.expire(now);
        if !self.may_send(now) {
            return None;
        }
        let next = self.next_work(now)?;
        if let Some(rate) = &mut self.rate {
            rate.claim(now);
        }
        self.delay.claim(now);
        Some(self.send(next, now))
    }

    fn may_send(&self, now: Instant) -> bool {
        if self.next_send_slot(now) > now {
            return false;
        }
        self.in_pipe < self.window.allowed() || self.behind_min_rate(now)
    }

    fn behind_min_rate(&self, now: Instant) -> bool {
        let Some(rate) = self.config.min_rate else { return false };
        let due = now.saturating_duration_since(self.started).as_secs_f64() * rate;
        (self.probes_sent as f64) < due
    }

    fn next_work(&mut self, now: Instant) -> Option<Try> {
        self.queue_due_canaries();
        if let Some(ready) = self.deferred.iter().position(|deferred| self.may_go(deferred, now)) {
            return self.deferred.remove(ready);
        }
        while let Some(again) = self.retry_queue.pop_front() {
            if again.canary.is_none() && self.results.is_decided(again.slot) {
                continue;
            }
            if self.may_go(&again, now) {
                return Some(again);
            }
            self.deferred.push_back(again);
        }
        while self.cursor < self.order.len() && self.deferred.len() < MAX_DEFERRED {
            let slot = match &self.leads {
                Some(leads) => self.slot_of(self.order.at(self.cursor) as u32, leads.lead),
                None => self.order.at(self.cursor),
            };
            self.cursor += 1;
            if self.results.is_decided(slot) {
                continue;
            }
            let first = Try::first(slot);
            if self.may_go(&first, now) {
                return Some(first);
            }
            self.deferred.push_back(first);
        }
        None
    }

    /// Whether `work` may leave at `now`: its host may be sent to (`--max-host-rate`), and
    /// for a first try, its port may reach a new host (`--max-sweep-rate`).
    fn may_go(&self, work: &Try, now: Instant) -> bool {
        self.free_at(work).is_none_or(|at| at <= now)
    }

    /// When `work` may leave, as far as the per-host, per-port and per-source caps go.
    fn free_at(&self, work: &Try) -> Option<Instant> {
        let host = self.host_of(work.slot);
        // Read only under the cap, which alone sets it: a line of the host's state less per
        // probe at line rate.
        let host_free = self.config.max_host_rate.and_then(|_| self.hosts[host as usize].next_send_at);
        let new_host_on_port = work.number == 0 && work.canary.is_none();
        let port = if new_host_on_port { self.sweeps_by_port[self.sweep_of(work.slot)].next_at } else { None };
        let source = self.source_next_at[self.source_index(host)];
        host_free.max(port).max(source)
    }

    fn port_index_of(&self, slot: u64) -> usize {
        (slot % self.ports.len() as u64) as usize
    }

    /// The sweep `slot`'s first try counts in: its port's, from its host's source.
    fn sweep_of(&self, slot: u64) -> usize {
        self.port_index_of(slot) * self.sources.len() + self.source_index(self.host_of(slot))
    }

    /// Whether anything is left to send: tries again, deferred work, new slots.
    pub(super) fn work_pending(&self) -> bool {
        !self.retry_queue.is_empty() || !self.deferred.is_empty() || self.cursor < self.order.len()
    }

    /// When the next probe could leave, if any is left to send: at the pacing's next slot,
    /// or, when all that is left waits for its host or its port (`--max-host-rate`,
    /// `--max-sweep-rate`), when the first of them frees.
    pub(super) fn work_ready_at(&self, now: Instant) -> Option<Instant> {
        let slot = self.next_send_slot(now);
        let more_new = self.cursor < self.order.len() && self.deferred.len() < MAX_DEFERRED;
        if !self.retry_queue.is_empty() || more_new {
            return Some(slot);
        }
        let free = self.deferred.iter().map(|deferred| self.free_at(deferred).unwrap_or(now));
        free.min().map(|free| free.max(slot))
    }

    /// Queues the canaries due (see [`Self::last_try_queued`]) behind the tries queued so far.
    fn queue_due_canaries(&mut self) {
        for host in std::mem::take(&mut self.canaries_due) {
            let state = &mut self.hosts[host as usize];
            state.early_canaries += 1;
            let canary = state.errors_from.map_or(Canary::Udp, Canary::Port);
            self.retry_queue.push_back(Try::canary(self.slot_of(host, 0), canary));
        }
    }

    fn send(&mut self, next: Try, now: Instant) -> Probe {
        let Try { slot, number: try_number, silent_before, lost, canary } = next;
        let host = self.host_of(slot);
        let probe = match canary {
            Some(Canary::Udp) => self.udp_canary(host),
            Some(Canary::Port(port)) => self.probe(port, 0, now),
            None => self.probe(slot, try_number, now),
        };
        let sending = Sending { order: self.probes_sent, at: now };
        self.probes_sent += 1;
        self.count_for_host(host, now);
        if let Some(rate) = self.config.max_source_rate {
            let source = self.source_index(host);
            self.source_next_at[source] = Some(next_allowed(now, rate));
        }
        if try_number == 0 && canary.is_none() {
            self.count_for_port(slot, now);
        }
        if try_number > 0 && canary.is_none() {
            let (addr, port) = (probe.dst, self.ports[(slot % self.ports.len() as u64) as usize]);
            self.tell(DebugEvent::Retransmit { addr, port, try_number });
        }
        if canary.is_some() {
            debug_assert!(self.flags.probed.get(u64::from(host)), "a canary follows its host's tries");
            // Nothing waits for its answer: the error it draws only proves a spare.
            self.hosts[host as usize].canary_sent = Some(sending);
            return probe;
        }
        if !self.flags.probed.get(u64::from(host)) {
            self.first_probe_sent(host, slot, now);
        }
        let deadline = now + self.timeout_for(host);
        self.deadlines.push(deadline, sending.order);
        let pipe_exit = now + self.scan_rtt.pipe_time();
        self.pipe_exits.push(pipe_exit, sending.order);
        let history = (silent_before.is_some() || lost.is_some()).then(|| Box::new(History { silent_before, lost }));
        let sent = Sent { try_number, at: now, order: sending.order, deadline, in_pipe: true, history };
        // A first try has nothing in flight to replace, and its slot's index entry is then
        // only written, never read: at line rate a read there waited for memory.
        if try_number > 0 {
            self.retire(slot);
        }
        self.in_flight.insert(slot, sent);
        self.in_pipe += 1;
        self.window.sent(now);
        probe
    }

    /// The first probe to `host`, of `slot`, left at `now`.
    fn first_probe_sent(&mut self, host: u32, slot: u64, now: Instant) {
        self.flags.probed.set(u64::from(host));
        // Before the scan's first answer there is no round trip to wait for a lead's answer,
        // nor a lead: the host gets every probe at once. (Waiting for the leads' silence
        // would fill the small first windows with probes to hosts that were silent, where few
        // are up, and put off the answer that measures the path.)
        if self.scan_rtt.srtt().is_none() {
            self.follow_up(host, slot);
        }
        self.hosts[host as usize].icmp.first_probe_sent(now);
        if let Some(limit) = self.config.timing.host_timeout {
            self.host_deadlines.push(now + limit, host);
        }
    }

    /// Counts a probe to `host` against its per-second rate and `--max-host-rate`.
    fn count_for_host(&mut self, host: u32, now: Instant) {
        if let Some(rate) = self.config.max_host_rate {
            self.hosts[host as usize].next_send_at = Some(next_allowed(now, rate));
        }
        let elapsed = self.elapsed_nanos(now);
        let sends = &mut self.sends[host as usize];
        sends.since_sweep = sends.since_sweep.saturating_add(1);
        let count = sends.second.count(elapsed);
        self.peaks.host_probes = self.peaks.host_probes.max(count);
    }

    /// Counts the first try of `slot` against its port's sweep rate and `--max-sweep-rate`.
    fn count_for_port(&mut self, slot: u64, now: Instant) {
        let elapsed = self.elapsed_nanos(now);
        let sweep = self.sweep_of(slot);
        let sweep = &mut self.sweeps_by_port[sweep];
        if let Some(rate) = self.config.max_sweep_rate {
            sweep.next_at = Some(next_allowed(now, rate));
        }
        let count = sweep.second.count(elapsed);
        self.peaks.port_new_hosts = self.peaks.port_new_hosts.max(count);
    }

    /// Nanoseconds from the engine's start to `now`, as [`OneSecond`] counts time.
    fn elapsed_nanos(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.started).as_nanos()).unwrap_or(u64::MAX)
    }

    /// The UDP canary for `host` (see [`Canary::Udp`]), its cookie in the source port and IP
    /// identification as for any UDP probe, made for a try no port's probe is sent as.
    fn udp_canary(&self, host: u32) -> Probe {
        let (src, dst) = (self.source_of(host), self.addrs[host as usize]);
        let cookie = self.key.probe(src, dst, CANARY_UDP_PORT, CANARY_TRY);
        let transport =
            Transport::Udp { src_port: cookie.src_port, dst_port: CANARY_UDP_PORT, payload: Arc::from(&[][..]) };
        Probe { src, dst, ip_id: cookie.ip_id, transport }
    }

    /// The packet of try `try_number` of `slot`, sent at `now`.
    fn probe(&self, slot: u64, try_number: u8, now: Instant) -> Probe {
        let host = self.host_of(slot);
        let (src, dst) = (self.source_of(host), self.addrs[host as usize]);
        let dst_port = self.ports[self.port_index_of(slot)];
        let cookie = self.key.probe(src, dst, dst_port, try_number);
        // Like Linux, a timestamp clock in milliseconds from a random start.
        let elapsed_ms = now.saturating_duration_since(self.started).as_millis() as u32;
        let transport = self.technique.probe(ProbeFields {
            dst_port,
            src_port: cookie.src_port,
            seq: cookie.seq,
            timestamp: self.timestamp_base.wrapping_add(elapsed_ms),
        });
        Probe { src, dst, ip_id: cookie.ip_id, transport }
    }

    /// Stops tracking `slot`'s probe (answered, given up, or its host settled).
    pub(super) fn retire(&mut self, slot: u64) -> Option<Sent> {
        let sent = self.in_flight.remove(slot)?;
        self.leave_pipe(&sent);
        Some(sent)
    }

    /// Stops tracking the probe sent `order`-th, and says its slot.
    pub(super) fn retire_order(&mut self, order: u64) -> Option<(u64, Sent)> {
        let (slot, sent) = self.in_flight.remove_order(order)?;
        self.leave_pipe(&sent);
        Some((slot, sent))
    }

    fn leave_pipe(&mut self, sent: &Sent) {
        if sent.in_pipe {
            self.in_pipe -= 1;
        }
    }

    /// When both the rate and the scan delay allow the next probe.
    pub(super) fn next_send_slot(&self, now: Instant) -> Instant {
        let delayed = self.delay.next_slot(now);
        self.rate.as_ref().map_or(delayed, |rate| rate.next_slot(now).max(delayed))
    }
}
