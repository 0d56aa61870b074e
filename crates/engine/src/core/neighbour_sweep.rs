//! Host discovery on a directly attached Ethernet link: ARP (Nmap's `-PR`) for IPv4, neighbour
//! discovery (RFC 4861) for IPv6. One request per target (a broadcast, or a solicitation to
//! the target's solicited-node multicast group), sent again while it stays silent; a reply
//! says the host is up and gives its hardware address. Hosts that drop every IP packet still
//! answer, and no router's view of the link is involved.
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
/// Tries per target at most (a first request and two more), fewer with `--max-retries`.
const MAX_TRIES: u32 = 3;

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

pub struct NeighbourSweep {
    targets: Vec<Target>,
    index: HashMap<IpAddr, usize>,
    queue: VecDeque<usize>,
    deadlines: BinaryHeap<Reverse<(Instant, usize)>>,
    pacer: Pacer,
    timeout: Duration,
    max_tries: u32,
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
            pacer: Self::pacer(timing, max_rate),
            // A link's round trip is well under a millisecond: the timeout floor is plenty.
            timeout: timing.min_rtt_timeout,
            max_tries: (timing.max_retries + 1).min(MAX_TRIES),
        }
    }

    /// Requests at most `--max-rate` a second (else a rate the link takes in its stride), and
    /// `--scan-delay` apart.
    fn pacer(timing: &Timing, max_rate: Option<f64>) -> Pacer {
        let rate = max_rate.unwrap_or(DEFAULT_RATE);
        if timing.scan_delay.as_secs_f64() * rate > 1.0 {
            Pacer::with_interval(timing.scan_delay)
        } else {
            Pacer::per_second(rate)
        }
    }

    pub fn is_finished(&self) -> bool {
        self.undecided == 0
    }

    /// The next address to ask for at `now`, if any is due and the pace allows.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<IpAddr> {
        self.expire(now);
        if self.pacer.next_slot(now) > now {
            return None;
        }
        let index = loop {
            let index = self.queue.pop_front()?;
            if self.targets[index].found.is_none() {
                break index;
            }
        };
        self.pacer.claim(now);
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
            if target.tries < self.max_tries {
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
        self.undecided -= 1;
        true
    }

    /// When `poll_transmit` may next have something to do.
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        let deadline = self.deadlines.peek().map(|Reverse((at, _))| *at);
        let pacing = (!self.queue.is_empty()).then(|| self.pacer.next_slot(now));
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
