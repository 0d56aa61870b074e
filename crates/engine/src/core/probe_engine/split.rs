//! One scan dealt among several engines, one per core, so that each core decides, builds and
//! sends its own probes: a single engine behind a lock keeps every core but one waiting for
//! it at line rate.
//!
//! Each engine gets every `parts`-th target, with the scan's own timing, and a share of what
//! the scan allows as a whole (rates, probes in flight), so that together they send as one
//! engine would. Each engine keeps its own congestion window, as two TCP flows over one path
//! each keep theirs. Scans paced against detectors are never split: their caps on hosts,
//! ports and sources, and `-r`'s order, are one schedule that only one engine can keep.

use super::{PeakRates, RawConfig, ScanGroup, DEFAULT_MAX_WINDOW};
#[cfg(test)]
use crate::core::Timing;
use model::HostResult;

impl RawConfig {
    /// How many engines share the scan of `targets` targets by `workers` workers: one per
    /// worker, each with a target and a probe in flight of its own at least; one alone where
    /// the scan may not be split (see the module's documentation).
    pub fn parts(&self, workers: usize, targets: usize) -> usize {
        if !self.may_split() {
            return 1;
        }
        workers.min(targets).min(self.most_in_flight()).max(1)
    }

    fn may_split(&self) -> bool {
        let detector_caps = [self.max_host_rate, self.max_sweep_rate, self.max_source_rate];
        detector_caps.iter().all(Option::is_none) && !self.sequential_ports && self.timing.scan_delay.is_zero()
    }

    fn most_in_flight(&self) -> usize {
        self.timing.max_parallelism.unwrap_or(DEFAULT_MAX_WINDOW)
    }

    /// The settings of one of `parts` engines sharing the scan (at most [`Self::parts`]): the
    /// scan's rates and bounds on probes in flight divided among them, so that together they
    /// never have more in flight than the scan allows.
    pub fn part(&self, parts: usize) -> RawConfig {
        let share = |rate: f64| rate / parts as f64;
        let mut part = self.clone();
        part.max_rate = self.max_rate.map(share);
        part.min_rate = self.min_rate.map(share);
        let most = self.most_in_flight() / parts;
        part.timing.max_parallelism = Some(most);
        part.timing.min_parallelism = self.timing.min_parallelism.map(|least| least.div_ceil(parts).min(most));
        part
    }
}

impl ScanGroup {
    /// The group dealt among `parts` engines: target `i` to engine `i % parts`, from the same
    /// sources and over the same ports.
    pub fn deal(self, parts: usize) -> Vec<ScanGroup> {
        let mut groups: Vec<ScanGroup> = (0..parts)
            .map(|_| ScanGroup { sources: self.sources.clone(), targets: Vec::new(), ports: self.ports.clone() })
            .collect();
        for (index, target) in self.targets.into_iter().enumerate() {
            groups[index % parts].targets.push(target);
        }
        groups
    }
}

/// The results of engines that shared a scan (see [`ScanGroup::deal`]), back in the order of
/// its targets.
pub fn gather(parts: Vec<Vec<HostResult>>) -> Vec<HostResult> {
    let total = parts.iter().map(Vec::len).sum();
    let mut parts: Vec<_> = parts.into_iter().map(Vec::into_iter).collect();
    let count = parts.len();
    (0..total).filter_map(|index| parts[index % count].next()).collect()
}

impl PeakRates {
    /// The peaks of a scan whose hosts were dealt among engines, from those of two of them:
    /// each host was sent probes by one engine, while a port reached new hosts through all
    /// of them at once.
    pub fn together(self, other: PeakRates) -> PeakRates {
        PeakRates {
            host_probes: self.host_probes.max(other.host_probes),
            port_new_hosts: self.port_new_hosts + other.port_new_hosts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::Target;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    fn targets(count: u32) -> Vec<Target> {
        (0..count).map(|n| Target::from_addr(IpAddr::V4(Ipv4Addr::from(0xc612_0000 + n)))).collect()
    }

    fn silent(target: Target) -> HostResult {
        let status = model::HostStatus::SILENT;
        HostResult { target, status, round_trip: None, ports: Vec::new(), os: None, trace: None }
    }

    #[test]
    fn dealt_targets_gather_back_in_their_order() {
        let group = ScanGroup { sources: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)], targets: targets(7), ports: vec![80] };
        let parts = group.clone().deal(3);
        assert_eq!(parts.iter().map(|part| part.targets.len()).collect::<Vec<_>>(), [3, 2, 2]);
        assert!(parts.iter().all(|part| part.ports == [80] && part.sources == group.sources));
        let results = parts.into_iter().map(|part| part.targets.into_iter().map(silent).collect()).collect();
        let gathered: Vec<IpAddr> = gather(results).into_iter().map(|host| host.target.addr).collect();
        assert_eq!(gathered, group.targets.iter().map(|target| target.addr).collect::<Vec<_>>());
    }

    #[test]
    fn parts_share_the_scans_rates_and_window() {
        let config = RawConfig { max_rate: Some(1000.0), min_rate: Some(300.0), ..RawConfig::default() };
        let part = config.part(2);
        assert_eq!((part.max_rate, part.min_rate), (Some(500.0), Some(150.0)));
        assert_eq!(part.timing.max_parallelism, Some(DEFAULT_MAX_WINDOW / 2));
        assert_eq!(part.timing.min_parallelism, None);
        assert_eq!(part.timing.max_retries, config.timing.max_retries);
    }

    #[test]
    fn a_scan_paced_against_detectors_is_never_split() {
        assert_eq!(RawConfig::default().parts(2, 100), 2);
        let paced = [
            RawConfig { max_host_rate: Some(5.0), ..RawConfig::default() },
            RawConfig { max_sweep_rate: Some(5.0), ..RawConfig::default() },
            RawConfig { max_source_rate: Some(5.0), ..RawConfig::default() },
            RawConfig { sequential_ports: true, ..RawConfig::default() },
            RawConfig {
                timing: Timing { scan_delay: Duration::from_millis(10), ..Timing::default() },
                ..RawConfig::default()
            },
        ];
        for config in paced {
            assert_eq!(config.parts(2, 100), 1, "{config:?}");
        }
    }

    #[test]
    fn each_engine_has_a_target_and_a_probe_in_flight_of_its_own() {
        assert_eq!(RawConfig::default().parts(4, 1), 1);
        assert_eq!(RawConfig::default().parts(4, 3), 3);
        let one_at_a_time =
            RawConfig { timing: Timing { max_parallelism: Some(1), ..Timing::default() }, ..RawConfig::default() };
        assert_eq!(one_at_a_time.parts(2, 100), 1, "--max-parallelism 1 stays one probe at a time");
        let three = RawConfig {
            timing: Timing { max_parallelism: Some(3), min_parallelism: Some(3), ..Timing::default() },
            ..RawConfig::default()
        };
        let part = three.part(three.parts(2, 100));
        assert_eq!(part.timing.max_parallelism, Some(1), "two engines never have more than 3 in flight");
        assert_eq!(part.timing.min_parallelism, Some(1));
    }
}
