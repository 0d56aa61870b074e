//! The connect scan: the kernel's own connections probe each port, no privilege needed; hosts
//! are scanned many at once, and reported in target order.

use engine::drivers::connect::{ConnectConfig, ConnectScanner};
use futures::stream::{self, StreamExt};
use model::Target;

use crate::args::{ScanOptions, TimingOptions};
use crate::discover::with_discovery;
use crate::error::RunError;
use crate::outputs::terminal_output;
use crate::session::{stopped, timing, Finished, ScanRun};

/// Descriptors kept free for stdout, data files and the runtime.
const RESERVED_DESCRIPTORS: u64 = 64;

/// The descriptor limit assumed when it cannot be read or raised.
const FALLBACK_NOFILE: u64 = 1024;

/// Hosts scanned at once unless `--max-hostgroup` says otherwise.
const DEFAULT_HOSTGROUP: usize = 256;

pub(crate) fn connect_scan(
    options: &ScanOptions,
    targets: impl Iterator<Item = Target>,
    run: ScanRun,
) -> Result<Finished, RunError> {
    let ScanRun { ports, discovery, names, runtime, observer, report, stop } = run;
    let ports = &ports.tcp[..];
    observer.progress.begin_phase("Connect Scan", 0);
    let scanner = ConnectScanner::new(connect_config(options));
    if options.verbosity > 0 && terminal_output(options) {
        println!("Connect scan: up to {} sockets in flight", scanner.max_in_flight());
    }
    let hostgroup = hostgroup(&options.timing, DEFAULT_HOSTGROUP);
    runtime.block_on(async {
        let scan = |target: Target| async {
            let found = discovery.find_by_connecting(&scanner, target.clone()).await?;
            let mut host = if !found.is_up() || options.hosts_only {
                found
            } else {
                let host =
                    scanner.scan_host(target, ports, observer).await.map_err(|e| RunError::Failed(e.to_string()))?;
                with_discovery(host, &found)
            };
            if let Some(names) = names {
                names.name_all(std::slice::from_mut(&mut host)).await;
            }
            Ok::<_, RunError>(host)
        };
        let mut hosts = stream::iter(targets).map(scan).buffered(hostgroup);
        loop {
            tokio::select! {
                host = hosts.next() => match host {
                    Some(host) => report(vec![host?])?,
                    None => return Ok(Finished::All),
                },
                () = stopped(stop) => return Ok(Finished::Interrupted),
            }
        }
    })
}

/// The sockets this process may hold for probes: its descriptor limit, raised as far as it
/// may be, less a reserve.
pub(crate) fn socket_budget() -> usize {
    let nofile = netio::raise_nofile_limit().unwrap_or(FALLBACK_NOFILE);
    usize::try_from(nofile.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX)
}

fn connect_config(options: &ScanOptions) -> ConnectConfig {
    ConnectConfig {
        timing: timing(&options.timing),
        socket_budget: socket_budget(),
        max_rate: options.timing.max_rate,
        randomize_ports: !options.sequential_ports,
        assume_up: options.assume_up,
        source: options.source.clone(),
        seed: options.seed,
    }
}

/// Hosts a scan holds at once: the default or `--max-hostgroup`, raised to `--min-hostgroup`.
fn hostgroup(timing: &TimingOptions, default: usize) -> usize {
    timing.max_hostgroup.unwrap_or(default).max(timing.min_hostgroup.unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_hostgroups_rise_to_the_minimum() {
        let timing = TimingOptions { min_hostgroup: Some(1000), ..TimingOptions::default() };
        assert_eq!(hostgroup(&timing, DEFAULT_HOSTGROUP), 1000);
        assert_eq!(hostgroup(&TimingOptions::default(), DEFAULT_HOSTGROUP), DEFAULT_HOSTGROUP);
    }
}
