//! `-sV`: after each batch of hosts is port-scanned, their open ports are probed for the service
//! and its version, before the batch is reported (Nmap's "Service scan" phase).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use model::{HostResult, PortResult, PortState, Protocol, Reason, ServiceDetail};
use services::DataDirs;
use versions::{Outcome, PortJob, ProbeDb, ProberConfig};

use crate::args::{ScanOptions, VersionOptions};
use crate::error::RunError;
use crate::outputs::terminal_output;
use crate::phases::Phase;
use crate::session::stopped;

/// Nmap's confidence in a name taken from the services table.
const TABLE_CONFIDENCE: u8 = 3;

/// Connections version detection holds at once, at most: each holds a slot of its server
/// through a banner wait, and servers behind many addresses have a few hundred (the prober
/// retries those it was refused for want of one).
const MAX_CONNECTIONS: usize = 512;

/// The loaded databases and how to probe.
pub(crate) struct VersionScan {
    db: Arc<ProbeDb>,
    config: ProberConfig,
    verbose: bool,
}

impl VersionScan {
    /// The databases `-sV` reads: portolan's own, then Nmap's (`--versiondb`, or the installed
    /// `nmap-service-probes`), whose rules read a response only after ours found nothing.
    pub(crate) fn load(options: &ScanOptions, settings: &VersionOptions) -> Result<VersionScan, RunError> {
        let verbose = options.verbosity > 0 && terminal_output(options);
        let mut db = versions::own_db::embedded();
        if verbose {
            println!("Version detection: {} match lines from portolan's own database", db.rule_count());
        }
        if let Some(path) = nmap_database(options, settings)? {
            let text = std::fs::read(&path)
                .map_err(|error| RunError::Failed(format!("cannot read {}: {error}", path.display())))?;
            let loaded = versions::nmap_probes::parse(&text);
            if verbose {
                let failed = loaded.failed.len();
                println!(
                    "Version detection: {} match lines from {} ({failed} lines failed)",
                    loaded.db.rule_count(),
                    path.display()
                );
                for error in loaded.failed.iter().take(10) {
                    println!("  line {}: {}", error.line, error.problem);
                }
            }
            db.extend(loaded.db);
        }
        let trace = settings.trace.then(|| Arc::new(|line: String| eprintln!("{line}")) as versions::Tracer);
        let config = ProberConfig {
            intensity: settings.intensity,
            // Half the descriptors: a connect scan may hold the rest.
            socket_budget: MAX_CONNECTIONS.min(crate::connect_scan::socket_budget() / 2),
            min_wait: versions::DEFAULT_MIN_WAIT,
            trace,
        };
        Ok(VersionScan { db: Arc::new(db), config, verbose })
    }

    /// Probes the open ports of `hosts` (and UDP ports that may be open), filling in what each
    /// turned out to run. A signal (`stop`) ends probing at once: the ports keep their table
    /// names, and the scan ends at its next look at the flag.
    pub(crate) fn detect(&self, runtime: &tokio::runtime::Runtime, hosts: &mut [HostResult], stop: &AtomicBool) {
        let targets: Vec<(usize, usize)> = hosts
            .iter()
            .enumerate()
            .flat_map(|(h, host)| (0..host.ports.len()).map(move |p| (h, p)))
            .filter(|&(h, p)| self.worth_probing(&hosts[h].ports[p]))
            .collect();
        if targets.is_empty() {
            return;
        }
        let hosts_probed = {
            let mut seen: Vec<usize> = targets.iter().map(|&(h, _)| h).collect();
            seen.dedup();
            seen.len()
        };
        let phase = Phase::announce(self.verbose, "Service scan".into());
        if self.verbose {
            println!("Scanning {} services on {hosts_probed} hosts", targets.len());
        }
        let jobs = targets
            .iter()
            .map(|&(h, p)| {
                let (host, port) = (&hosts[h], &hosts[h].ports[p]);
                let rtt = host.round_trip.map(|trip| trip.srtt);
                PortJob { addr: (host.target.addr, port.port).into(), protocol: port.protocol, rtt }
            })
            .collect();
        let probing = versions::probe_all(self.db.clone(), jobs, self.config.clone());
        let until_stopped = async {
            tokio::select! {
                outcomes = probing => Some(outcomes),
                () = stopped(stop) => None,
            }
        };
        // The report closure may run inside the runtime (the connect scan's), or outside it.
        let Some(outcomes) = tokio::task::block_in_place(|| runtime.block_on(until_stopped)) else { return };
        for (&(h, p), outcome) in targets.iter().zip(outcomes) {
            apply(&mut hosts[h].ports[p], outcome);
        }
        phase.end_with(&format!(" ({} services on {hosts_probed} hosts)", targets.len()));
    }

    fn worth_probing(&self, port: &PortResult) -> bool {
        let maybe_open = match port.protocol {
            Protocol::Tcp => port.state == PortState::Open,
            Protocol::Udp => matches!(port.state, PortState::Open | PortState::OpenFiltered),
            _ => false,
        };
        maybe_open && !self.db.is_excluded(port.protocol, port.port)
    }
}

/// `--versiondb`, else the installed `nmap-service-probes`, if any.
fn nmap_database(options: &ScanOptions, settings: &VersionOptions) -> Result<Option<PathBuf>, RunError> {
    match &settings.database {
        Some(path) if path.is_file() => Ok(Some(path.clone())),
        Some(path) => Err(RunError::Failed(format!("--versiondb: no such file: {}", path.display()))),
        None => Ok(DataDirs::from_env(options.datadir.clone()).find("nmap-service-probes")),
    }
}

/// Writes what probing found into the port's row.
fn apply(port: &mut PortResult, outcome: Outcome) {
    let answered = matches!(outcome, Outcome::Identified(_) | Outcome::Unrecognized(_));
    if port.protocol == Protocol::Udp && answered && port.state == PortState::OpenFiltered {
        // A UDP answer proves the port open, as in Nmap's version scan.
        port.state = PortState::Open;
        port.reason = Reason::UdpResponse;
        port.reason_ttl = None;
    }
    match outcome {
        Outcome::Unrecognized(fingerprint) => {
            port.detail = Some(Box::new(ServiceDetail {
                confidence: TABLE_CONFIDENCE,
                fingerprint: Some(fingerprint.text()),
                ..ServiceDetail::default()
            }))
        }
        outcome => {
            if let Some((service, detail)) = outcome.into_service() {
                port.service = Some(service);
                port.detail = Some(Box::new(detail));
            }
        }
    }
}
