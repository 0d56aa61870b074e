//! Host discovery on a directly attached Ethernet link: ARP (Nmap's `-PR`) for IPv4, neighbour
//! discovery (RFC 4861) for IPv6. One request per target (a broadcast, or a solicitation to
//! the target's solicited-node multicast group), sent again while it stays silent; a reply
//! says the host is up and gives its hardware address. Hosts that drop every IP packet still
//! answer, and no router's view of the link is involved.
//!
//! A link can drop requests as well as carry them: a broadcast reaches every host on the link,
//! and a software bridge (or a busy switch port) that copies it to each of them falls behind
//! long before the sender does. A host that answers only a later request proves that its first
//! one, or the reply, was lost rather than unanswered; from then on the sweep halves its rate
//! (once per round trip timeout, down to a floor), gives silent hosts more tries, and speeds
//! up again after two timeouts without such a proof.
//!
//! [`NeighbourSweep`] is the sans-IO state machine; [`crate::drivers::arp::run`] and
//! [`crate::drivers::nd::run`] drive it over link-layer sockets.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::core::{Pacer, Timing};

/// Requests per second when `--max-rate` says nothing: every host on the link hears every
/// broadcast, so the link is not flooded.
const DEFAULT_RATE: f64 = 10_000.0;
/// The slowest a sweep goes on a link that loses requests.
const SLOWEST_RATE: f64 = 100.0;
/// Tries per target at most (a first request and two more), fewer with `--max-retries`.
const MAX_TRIES: u32 = 3;
/// Tries per target at most once the link has lost a request or its reply.
const LOSSY_TRIES: u32 = 6;

/// A host that answered: its hardware address, and how long its reply took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourFound {
    pub mac: [u8; 6],
    pub rtt: Duration,
}

struct Target {
    addr: IpAddr,
    tries: u32,
    sent_at: Option<Instant>,
    found: Option<NeighbourFound>,
}

/// The sweep's pace: requests per second, cut when the link loses them and raised again when
/// it stops, between [`SLOWEST_RATE`] and the rate asked for; or `--scan-delay`, a fixed
/// spacing the user asked for.
struct Pace {
    pacer: Pacer,
    /// The rate asked for and the rate now; `None` under a scan delay.
    rates: Option<(f64, f64)>,
    /// When the rate last changed, and when a request was last proven lost (once one has
    /// been, silent hosts get more tries).
    changed: Option<Instant>,
    last_loss: Option<Instant>,
}

impl Pace {
    /// Requests at most `--max-rate` a second (else a rate the link takes in its stride), and
    /// `--scan-delay` apart.
    fn new(timing: &Timing, max_rate: Option<f64>) -> Pace {
        let rate = max_rate.unwrap_or(DEFAULT_RATE);
        let (pacer, rates) = if timing.scan_delay.as_secs_f64() * rate > 1.0 {
            (Pacer::with_interval(timing.scan_delay), None)
        } else {
            (Pacer::per_second(rate), Some((rate, rate)))
        };
        Pace { pacer, rates, changed: None, last_loss: None }
    }

    /// A request or its reply was lost at about `now`: half the rate, once per `timeout`.
    fn lost(&mut self, now: Instant, timeout: Duration) {
        self.last_loss = Some(now);
        if self.changed.is_none_or(|changed| now >= changed + timeout) {
            self.set_rate(now, |rate| rate / 2.0);
        }
    }

    /// Doubles the rate, up to the one asked for, after two `timeout`s without a loss.
    fn recover(&mut self, now: Instant, timeout: Duration) {
        let calm_since = self.changed.max(self.last_loss);
        if calm_since.is_some_and(|calm| now >= calm + timeout * 2) {
            self.set_rate(now, |rate| rate * 2.0);
        }
    }

    /// Changes the rate by `change`, kept between the floor (or the rate asked for, if slower)
    /// and the rate asked for.
    fn set_rate(&mut self, now: Instant, change: impl Fn(f64) -> f64) {
        let Some((asked, rate)) = self.rates else { return };
        let changed = change(rate).clamp(SLOWEST_RATE.min(asked), asked);
        if changed != rate {
            self.rates = Some((asked, changed));
            self.pacer.set_interval(Duration::from_secs_f64(1.0 / changed));
            self.changed = Some(now);
        }
    }
}

pub struct NeighbourSweep {
    targets: Vec<Target>,
    index: HashMap<IpAddr, usize>,
    queue: VecDeque<usize>,
    deadlines: BinaryHeap<Reverse<(Instant, usize)>>,
    pace: Pace,
    timeout: Duration,
    /// Tries allowed by `--max-retries`.
    retries_allowed: u32,
    undecided: usize,
}

impl NeighbourSweep {
    pub fn new(addrs: &[IpAddr], timing: &Timing, max_rate: Option<f64>) -> NeighbourSweep {
        let targets: Vec<Target> =
            addrs.iter().map(|&addr| Target { addr, tries: 0, sent_at: None, found: None }).collect();
        NeighbourSweep {
            index: addrs.iter().enumerate().map(|(i, &addr)| (addr, i)).collect(),
            queue: (0..targets.len()).collect(),
            undecided: targets.len(),
            targets,
            deadlines: BinaryHeap::new(),
            pace: Pace::new(timing, max_rate),
            // A link's round trip is well under a millisecond: the timeout floor is plenty.
            timeout: timing.min_rtt_timeout,
            retries_allowed: timing.max_retries,
        }
    }

    /// Tries per target: a few, more once the link is known to lose requests, never more than
    /// `--max-retries` allows.
    fn max_tries(&self) -> u32 {
        let lossy = self.pace.last_loss.is_some();
        let cap = if lossy { LOSSY_TRIES } else { MAX_TRIES };
        (self.retries_allowed + 1).min(cap)
    }

    pub fn is_finished(&self) -> bool {
        self.undecided == 0
    }

    /// The next address to ask for at `now`, if any is due and the pace allows.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<IpAddr> {
        self.expire(now);
        self.pace.recover(now, self.timeout);
        if self.pace.pacer.next_slot(now) > now {
            return None;
        }
        let index = loop {
            let index = self.queue.pop_front()?;
            if self.targets[index].found.is_none() {
                break index;
            }
        };
        self.pace.pacer.claim(now);
        let target = &mut self.targets[index];
        target.tries += 1;
        target.sent_at = Some(now);
        self.deadlines.push(Reverse((now + self.timeout, index)));
        Some(target.addr)
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&Reverse((deadline, index))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let target = &self.targets[index];
            if target.found.is_some() {
                continue;
            }
            if target.tries < self.max_tries() {
                self.queue.push_back(index);
            } else {
                self.undecided -= 1;
            }
        }
    }

    /// A reply from `sender` with hardware address `mac` arrived at `now`. Returns whether it
    /// found a target (replies for others, and repeats, are ignored).
    pub fn handle(&mut self, sender: IpAddr, mac: [u8; 6], now: Instant) -> bool {
        let Some(&index) = self.index.get(&sender) else { return false };
        let target = &mut self.targets[index];
        let Some(sent_at) = target.sent_at.filter(|_| target.found.is_none()) else { return false };
        target.found = Some(NeighbourFound { mac, rtt: now.saturating_duration_since(sent_at) });
        if target.tries > 1 {
            // The host is there: an earlier request, or its reply, was lost.
            self.pace.lost(now, self.timeout);
        }
        self.undecided -= 1;
        true
    }

    /// When `poll_transmit` may next have something to do.
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        let deadline = self.deadlines.peek().map(|Reverse((at, _))| *at);
        let pacing = (!self.queue.is_empty()).then(|| self.pace.pacer.next_slot(now));
        [deadline, pacing].into_iter().flatten().min()
    }

    /// Each target's finding, in the order given; `None` for the silent ones.
    pub fn into_results(self) -> Vec<Option<NeighbourFound>> {
        self.targets.into_iter().map(|target| target.found).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

    fn addrs() -> Vec<IpAddr> {
        (2..6).map(|i| Ipv4Addr::new(198, 18, 0, i).into()).collect()
    }

    /// Sends whatever is due at each instant from `start` for `span`, in 1 ms steps.
    fn sent_during(sweep: &mut NeighbourSweep, start: Instant, span: Duration) -> Vec<IpAddr> {
        let mut sent = Vec::new();
        let mut now = start;
        while now < start + span {
            sent.extend(std::iter::from_fn(|| sweep.poll_transmit(now)));
            now += Duration::from_millis(1);
        }
        sent
    }

    #[test]
    fn a_reply_settles_its_host_and_silent_ones_get_three_tries() {
        let start = Instant::now();
        let mut sweep = NeighbourSweep::new(&addrs(), &Timing::default(), None);
        let first = sent_during(&mut sweep, start, Duration::from_millis(5));
        assert_eq!(first, addrs());
        assert!(sweep.handle(addrs()[0], MAC, start + Duration::from_millis(1)));
        assert!(!sweep.handle(addrs()[0], MAC, start + Duration::from_millis(2)), "a repeat finds nothing new");
        assert!(!sweep.handle(Ipv4Addr::new(198, 18, 0, 99).into(), MAC, start), "not a target");
        let later = sent_during(&mut sweep, start + Duration::from_millis(5), Duration::from_secs(2));
        assert_eq!(later.len(), 3 * 2, "three silent targets, two more tries each");
        assert!(!later.contains(&addrs()[0]));
        assert!(sweep.is_finished());
        let results = sweep.into_results();
        assert_eq!(results[0], Some(NeighbourFound { mac: MAC, rtt: Duration::from_millis(1) }));
        assert!(results[1..].iter().all(Option::is_none));
    }

    #[test]
    fn a_host_found_by_a_later_try_halves_the_rate_and_gives_silent_hosts_more_tries() {
        let start = Instant::now();
        let mut sweep = NeighbourSweep::new(&addrs(), &Timing::default(), None);
        assert_eq!(sent_during(&mut sweep, start, Duration::from_millis(105)).len(), 4 + 4, "two rounds");
        assert!(sweep.handle(addrs()[0], MAC, start + Duration::from_millis(105)));
        assert_eq!(sweep.pace.pacer.interval(), Duration::from_secs_f64(2.0 / DEFAULT_RATE));
        let later = sent_during(&mut sweep, start + Duration::from_millis(105), Duration::from_secs(2));
        assert_eq!(later.len(), 3 * (LOSSY_TRIES as usize - 2), "three silent targets, six tries each in all");
        assert!(sweep.is_finished());
    }

    #[test]
    fn the_rate_comes_back_once_the_link_stops_losing() {
        let start = Instant::now();
        let mut sweep = NeighbourSweep::new(&addrs(), &Timing::default(), None);
        sent_during(&mut sweep, start, Duration::from_millis(105));
        sweep.handle(addrs()[0], MAC, start + Duration::from_millis(105));
        let slowed = sweep.pace.pacer.interval();
        sent_during(&mut sweep, start + Duration::from_millis(105), Duration::from_millis(150));
        assert_eq!(sweep.pace.pacer.interval(), slowed, "not before two timeouts");
        sent_during(&mut sweep, start + Duration::from_millis(255), Duration::from_millis(100));
        assert_eq!(sweep.pace.pacer.interval(), Duration::from_secs_f64(1.0 / DEFAULT_RATE));
    }

    #[test]
    fn a_slow_rate_asked_for_is_not_cut_below_itself_nor_raised() {
        let start = Instant::now();
        let mut sweep = NeighbourSweep::new(&addrs(), &Timing::default(), Some(50.0));
        sent_during(&mut sweep, start, Duration::from_millis(300));
        sweep.handle(addrs()[0], MAC, start + Duration::from_millis(300));
        assert_eq!(sweep.pace.pacer.interval(), Duration::from_millis(20));
    }

    /// A link that carries requests to the hosts through a queue of `capacity` requests drained
    /// `per_second` (a software bridge copying each broadcast to every port), dropping what
    /// finds it full; every target is there and answers 200 µs after its request gets through.
    /// Runs `sweep` over it in steps of 20 µs; returns how many hosts it found.
    fn sweep_through_a_bottleneck(mut sweep: NeighbourSweep, capacity: f64, per_second: f64) -> usize {
        let step = Duration::from_micros(20);
        let start = Instant::now();
        let (mut queued, mut drained_at) = (0.0_f64, start);
        let mut replies: Vec<(Instant, IpAddr)> = Vec::new();
        let mut now = start;
        while !sweep.is_finished() && now < start + Duration::from_secs(60) {
            while let Some(addr) = sweep.poll_transmit(now) {
                queued = (queued - (now - drained_at).as_secs_f64() * per_second).max(0.0);
                drained_at = now;
                if queued + 1.0 <= capacity {
                    queued += 1.0;
                    replies
                        .push((now + Duration::from_secs_f64(queued / per_second) + Duration::from_micros(200), addr));
                }
            }
            replies.retain(|&(at, addr)| {
                let due = at <= now;
                if due {
                    sweep.handle(addr, MAC, now);
                }
                !due
            });
            now += step;
        }
        sweep.into_results().iter().filter(|found| found.is_some()).count()
    }

    #[test]
    fn every_host_behind_a_bridge_that_drops_broadcasts_is_found() {
        // Regression: an ARP sweep of 245 lab hosts, each its own namespace behind one software
        // bridge, found 106 to 241 of them now and then: at 10,000 requests a second the
        // bridge's copies overflowed the kernel's backlog, and all three tries went out as fast.
        let hosts: Vec<IpAddr> = (10..255).map(|i| Ipv4Addr::new(198, 18, 0, i).into()).collect();
        let sweep = NeighbourSweep::new(&hosts, &Timing::default(), None);
        assert_eq!(sweep_through_a_bottleneck(sweep, 8.0, 2000.0), hosts.len());
    }

    #[test]
    fn max_retries_zero_sends_one_request() {
        let start = Instant::now();
        let timing = Timing { max_retries: 0, ..Timing::default() };
        let mut sweep = NeighbourSweep::new(&addrs(), &timing, None);
        assert_eq!(sent_during(&mut sweep, start, Duration::from_secs(1)).len(), 4);
        assert!(sweep.is_finished());
    }

    #[test]
    fn max_rate_spaces_the_broadcasts() {
        let start = Instant::now();
        let mut sweep = NeighbourSweep::new(&addrs(), &Timing::default(), Some(1000.0));
        assert!(sent_during(&mut sweep, start, Duration::from_millis(2)).len() <= 3);
    }

    #[test]
    fn scan_delay_spaces_the_broadcasts() {
        // Regression: ARP discovery went at its own pace whatever --scan-delay said.
        let start = Instant::now();
        let timing = Timing { scan_delay: Duration::from_millis(50), ..Timing::default() };
        let mut sweep = NeighbourSweep::new(&addrs(), &timing, None);
        assert_eq!(sent_during(&mut sweep, start, Duration::from_millis(120)).len(), 3);
    }
}
