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
}
