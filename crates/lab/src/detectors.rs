//! What scan detectors would see of a scan: the SYNs that reached the target namespace,
//! captured with the kernel's timestamps (tcpdump), and models of detectors that count them
//! in sliding windows, as the strictest reading of each rule (psad, Zeek and sfPortscan count
//! in windows of their own, which never alert where a sliding window does not).

use std::collections::HashMap;
use std::io;
use std::net::Ipv4Addr;

use crate::capture::Capture;

/// One probe as it arrived: when (seconds, the capture's clock), from which source, to which
/// host and port.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    pub at: f64,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub port: u16,
}

/// What a detector counts from each source within its window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Counting {
    PacketsPerHost,
    PortsPerHost,
    HostsPerPort,
    HostsPerSource,
}

/// The times at which a detector counting `what` within `window` seconds alerts: each
/// arrival that brings its count to `threshold` or more. One pass with the window's counts
/// kept as arrivals enter and leave it, so a scan of many thousand probes counts quickly.
pub fn alerts(arrivals: &[Arrival], what: Counting, threshold: usize, window: f64) -> Vec<f64> {
    let mut sorted = arrivals.to_vec();
    sorted.sort_by(|a, b| a.at.total_cmp(&b.at));
    // What each rule counts: distinct items within a group, each source apart.
    let group_and_item = |index: usize, arrival: &Arrival| -> ((Ipv4Addr, u64), u64) {
        let host = u64::from(u32::from(arrival.dst));
        let (group, item) = match what {
            Counting::PacketsPerHost => (host, index as u64),
            Counting::PortsPerHost => (host, u64::from(arrival.port)),
            Counting::HostsPerPort => (u64::from(arrival.port), host),
            Counting::HostsPerSource => (0, host),
        };
        ((arrival.src, group), item)
    };
    let mut in_window: HashMap<((Ipv4Addr, u64), u64), usize> = HashMap::new();
    let mut distinct: HashMap<(Ipv4Addr, u64), usize> = HashMap::new();
    let mut oldest = 0;
    let mut fired = Vec::new();
    for (index, arrival) in sorted.iter().enumerate() {
        while arrival.at - sorted[oldest].at >= window {
            let key = group_and_item(oldest, &sorted[oldest]);
            let count = in_window.get_mut(&key).expect("counted when it entered");
            *count -= 1;
            if *count == 0 {
                in_window.remove(&key);
                *distinct.get_mut(&key.0).expect("counted when it entered") -= 1;
            }
            oldest += 1;
        }
        let key = group_and_item(index, arrival);
        let count = in_window.entry(key).or_insert(0);
        *count += 1;
        let group = distinct.entry(key.0).or_insert(0);
        if *count == 1 {
            *group += 1;
        }
        if *group >= threshold {
            fired.push(arrival.at);
        }
    }
    fired
}

/// tcpdump in a namespace, recording every SYN (without ACK) that arrives.
pub struct SynCapture(Capture);

impl SynCapture {
    /// Starts capturing on every interface of `namespace`; returns once tcpdump listens.
    pub fn start(namespace: &str) -> io::Result<SynCapture> {
        Capture::start(namespace, "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", &[]).map(SynCapture)
    }

    /// Stops the capture and returns what arrived.
    pub fn stop(self) -> Vec<Arrival> {
        self.0.stop().iter().filter_map(|line| parse(line)).collect()
    }
}

/// "1733268000.123456 lo    In  IP 198.18.0.1.40000 > 198.18.80.5.22: Flags [S], …"
fn parse(line: &str) -> Option<Arrival> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.first()?.parse().ok()?;
    let arrow = words.iter().position(|w| *w == ">")?;
    let (src, _) = words.get(arrow.checked_sub(1)?)?.rsplit_once('.')?;
    let (dst, port) = words.get(arrow + 1)?.trim_end_matches(':').rsplit_once('.')?;
    Some(Arrival { at, src: src.parse().ok()?, dst: dst.parse().ok()?, port: port.parse().ok()? })
}

/// Arrivals per destination, for messages.
pub fn per_host(arrivals: &[Arrival]) -> HashMap<Ipv4Addr, usize> {
    let mut counts = HashMap::new();
    for arrival in arrivals {
        *counts.entry(arrival.dst).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCANNER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

    fn at(at: f64, host: u8, port: u16) -> Arrival {
        Arrival { at, src: SCANNER, dst: Ipv4Addr::new(198, 18, 80, host), port }
    }

    #[test]
    fn reads_tcpdumps_lines() {
        let line =
            "1764800000.250001 veth0 In  IP 198.18.0.1.40001 > 198.18.80.5.22: Flags [S], seq 1, win 64240, length 0";
        assert_eq!(parse(line), Some(at(1_764_800_000.250001, 5, 22)));
        assert_eq!(parse("tcpdump: verbose output suppressed"), None);
    }

    /// Counts each arrival's window afresh: slow, and plainly right.
    fn alerts_counted_afresh(arrivals: &[Arrival], what: Counting, threshold: usize, window: f64) -> Vec<f64> {
        use std::collections::HashSet;
        let mut fired = Vec::new();
        for (index, arrival) in arrivals.iter().enumerate() {
            let recent = (arrivals[..=index].iter())
                .filter(|earlier| earlier.src == arrival.src && arrival.at - earlier.at < window);
            let count = match what {
                Counting::PacketsPerHost => recent.filter(|e| e.dst == arrival.dst).count(),
                Counting::PortsPerHost => {
                    recent.filter(|e| e.dst == arrival.dst).map(|e| e.port).collect::<HashSet<_>>().len()
                }
                Counting::HostsPerPort => {
                    recent.filter(|e| e.port == arrival.port).map(|e| e.dst).collect::<HashSet<_>>().len()
                }
                Counting::HostsPerSource => recent.map(|e| e.dst).collect::<HashSet<_>>().len(),
            };
            if count >= threshold {
                fired.push(arrival.at);
            }
        }
        fired
    }

    #[test]
    fn the_sliding_count_agrees_with_counting_each_window_afresh() {
        let mut state = 12345u64;
        let mut next = |n: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let mut at = 0.0;
        let arrivals: Vec<Arrival> = (0..400)
            .map(|_| {
                at += next(100) as f64 / 100.0;
                let src = Ipv4Addr::new(198, 18, 0, 1 + next(2) as u8);
                Arrival { at, src, dst: Ipv4Addr::new(198, 18, 80, next(6) as u8), port: next(5) as u16 }
            })
            .collect();
        for what in [Counting::PacketsPerHost, Counting::PortsPerHost, Counting::HostsPerPort, Counting::HostsPerSource]
        {
            for (threshold, window) in [(2, 0.5), (3, 2.0), (5, 4.0)] {
                let expected = alerts_counted_afresh(&arrivals, what, threshold, window);
                assert_eq!(alerts(&arrivals, what, threshold, window), expected, "{what:?} {threshold} in {window}");
            }
        }
    }

    #[test]
    fn each_counting_alerts_at_its_threshold_within_its_window() {
        let scan = [at(0.0, 1, 22), at(0.1, 1, 80), at(0.2, 2, 22), at(0.3, 1, 22), at(5.0, 1, 443)];
        assert_eq!(alerts(&scan, Counting::PacketsPerHost, 3, 1.0), [0.3]);
        assert_eq!(alerts(&scan, Counting::PortsPerHost, 3, 1.0), Vec::<f64>::new());
        assert_eq!(alerts(&scan, Counting::PortsPerHost, 3, 10.0), [5.0]);
        assert_eq!(alerts(&scan, Counting::HostsPerPort, 2, 1.0), [0.2, 0.3]);
        assert_eq!(alerts(&scan, Counting::HostsPerSource, 2, 0.15), [0.2, 0.3]);
        assert_eq!(alerts(&scan, Counting::HostsPerSource, 3, 10.0), Vec::<f64>::new());
        // Each source is counted apart.
        let two_sources = [at(0.0, 1, 22), Arrival { src: Ipv4Addr::new(198, 18, 0, 11), ..at(0.1, 1, 80) }];
        assert_eq!(alerts(&two_sources, Counting::PacketsPerHost, 2, 1.0), Vec::<f64>::new());
    }
}
