//! What every scan path shares while it runs: its inputs, the stop flag raised by a signal,
//! `-v`'s live findings, and the engine timing the options come to.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use engine::drivers::ScanObserver;
use engine::{PeakRates, Timing, TimingTemplate};
use model::{HostResult, Protocol};

use crate::args::TimingOptions;
use crate::discover::Discovery;
use crate::error::RunError;
use crate::inputs::Ports;
use crate::names::NameFinder;
use crate::progress::Progress;

/// What both scan paths are given besides their targets.
pub(crate) struct ScanRun<'a> {
    pub ports: &'a Ports,
    pub discovery: &'a Discovery,
    /// Reverse DNS, unless `-n`.
    pub names: Option<&'a NameFinder>,
    pub runtime: &'a tokio::runtime::Runtime,
    pub observer: &'a Discoveries,
    /// Takes the hosts' results, in target order, a batch at a time: the outputs show each
    /// batch as a whole.
    pub report: &'a mut dyn FnMut(Vec<HostResult>) -> Result<(), RunError>,
    pub stop: &'a AtomicBool,
}

/// Whether a scan ran to its end or was stopped by a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finished {
    All,
    Interrupted,
}

/// A flag raised by Ctrl-C or SIGTERM: the scan stops at the next host (or drops the raw group
/// it was in) and the output files are closed properly.
pub(crate) fn stop_on_signal() -> Result<Arc<AtomicBool>, RunError> {
    let stop = Arc::new(AtomicBool::new(false));
    let raised = stop.clone();
    ctrlc::set_handler(move || raised.store(true, Ordering::Relaxed))
        .map_err(|e| RunError::Failed(format!("cannot handle signals: {e}")))?;
    Ok(stop)
}

/// Resolves once `stop` is raised.
pub(crate) async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(STOP_POLL).await;
    }
}

/// How often a running scan looks at the stop flag.
const STOP_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// `-v` prints each open port the moment it is found, as Nmap does.
pub(crate) struct Discoveries {
    pub verbose: bool,
    /// Whether `-v` reports the highest per-host and per-port rates: when a cap on them was
    /// asked for (Nmap's `-v` output has no such lines).
    pub report_peaks: bool,
    pub progress: Arc<Progress>,
    pub trace: Option<crate::notes::PacketTrace>,
}

impl ScanObserver for Discoveries {
    fn open_port_found(&self, addr: IpAddr, protocol: Protocol, port: u16) {
        if self.verbose {
            println!("Discovered open port {port}/{protocol} on {addr}");
        }
    }

    fn probes_settled(&self, settled: u64, total: u64) {
        self.progress.probes_settled(settled, total);
    }

    fn peak_rates(&self, peaks: PeakRates) {
        if self.report_peaks {
            self.progress.while_hidden(|| {
                println!("Highest rate to one host: {} probes in one second", peaks.host_probes);
                println!("Highest sweep rate on one port: {} new hosts in one second", peaks.port_new_hosts);
            });
        }
    }

    fn unreachable(&self, addr: IpAddr, error: &std::io::Error) {
        self.progress.while_hidden(|| crate::notes::unreachable(addr, error));
    }

    fn link_stalled(&self, error: &std::io::Error) {
        self.progress.while_hidden(|| crate::notes::link_stalled(error));
    }

    fn traces_packets(&self) -> bool {
        self.trace.is_some()
    }

    fn debug(&self, event: &engine::DebugEvent) {
        self.progress.while_hidden(|| println!("{event}"));
    }

    fn packet(&self, sent: bool, packet: &[u8]) {
        if let Some(trace) = &self.trace {
            self.progress.while_hidden(|| trace.print(sent, packet));
        }
    }
}

/// The per-host and per-port caps in force (`--max-host-rate`, `--max-sweep-rate`), with
/// those of the scan delay: Nmap's scan delay spaces the probes to each host, and -T0, -T1
/// and -T2, meant to stay under detectors, space each port's new hosts as much. The caps hold
/// even where `--min-rate` or `--max-parallelism` let more probes fly at once.
pub(crate) fn rate_caps(options: &TimingOptions) -> (Option<f64>, Option<f64>) {
    let delay = timing(options).scan_delay;
    let delay_rate = (!delay.is_zero()).then(|| 1.0 / delay.as_secs_f64());
    let sneaky =
        matches!(options.template, Some(TimingTemplate::Paranoid | TimingTemplate::Sneaky | TimingTemplate::Polite));
    let host = stricter(options.max_host_rate, delay_rate);
    let sweep = stricter(options.max_sweep_rate, delay_rate.filter(|_| sneaky));
    (host, sweep)
}

/// The lower of two optional rates; either when only one is given.
pub(crate) fn stricter(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The template's values with each fine-grained option laid over them.
pub(crate) fn timing(options: &TimingOptions) -> Timing {
    let mut timing = Timing::template(options.template.unwrap_or(TimingTemplate::Normal));
    if let Some(retries) = options.max_retries {
        timing.max_retries = retries;
    }
    if let Some(limit) = options.host_timeout {
        timing.host_timeout = (!limit.is_zero()).then_some(limit);
    }
    if let Some(delay) = options.scan_delay {
        timing.scan_delay = delay;
    }
    if let Some(delay) = options.max_scan_delay {
        timing.max_scan_delay = delay;
    }
    if let Some(initial) = options.initial_rtt_timeout {
        timing.initial_rtt_timeout = initial;
    }
    if let Some(min) = options.min_rtt_timeout {
        timing.min_rtt_timeout = min;
    }
    if let Some(max) = options.max_rtt_timeout {
        timing.max_rtt_timeout = max;
    }
    if let Some(parallelism) = options.max_parallelism {
        timing.max_parallelism = Some(parallelism);
    }
    if let Some(parallelism) = options.min_parallelism {
        timing.min_parallelism = Some(parallelism);
    }
    timing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_parallelism_reaches_the_engine_timing() {
        let options = TimingOptions { min_parallelism: Some(64), ..TimingOptions::default() };
        assert_eq!(timing(&options).min_parallelism, Some(64));
    }

    #[test]
    fn the_slow_templates_cap_each_host_and_each_ports_sweep_by_their_delay() {
        let template = |t| TimingOptions { template: Some(t), ..TimingOptions::default() };
        assert_eq!(rate_caps(&template(TimingTemplate::Paranoid)), (Some(1.0 / 300.0), Some(1.0 / 300.0)));
        assert_eq!(rate_caps(&template(TimingTemplate::Sneaky)), (Some(1.0 / 15.0), Some(1.0 / 15.0)));
        assert_eq!(rate_caps(&template(TimingTemplate::Polite)), (Some(2.5), Some(2.5)));
        assert_eq!(rate_caps(&template(TimingTemplate::Aggressive)), (None, None));
        // Nmap's --scan-delay is per host; a sweep is not held back by it.
        let delayed =
            TimingOptions { scan_delay: Some(std::time::Duration::from_millis(100)), ..TimingOptions::default() };
        assert_eq!(rate_caps(&delayed), (Some(10.0), None));
        // The stricter of the user's cap and the template's wins.
        let both =
            TimingOptions { max_host_rate: Some(1.0), max_sweep_rate: Some(5.0), ..template(TimingTemplate::Polite) };
        assert_eq!(rate_caps(&both), (Some(1.0), Some(2.5)));
    }
}
