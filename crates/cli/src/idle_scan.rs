//! `-sI <zombie>[:<port>]`: the idle scan of each target through the zombie (see
//! [`engine::IdleScan`]), one target after another, each over its own packet exchange.

use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use engine::drivers::{exchange, RawScanError, ScanObserver};
use engine::{IdleConfig, IdleScan, RawConfig};
use model::{HostResult, HostStatus, PortResult, PortState, Protocol, Reason, Target};

use crate::error::RunError;

/// The port our questions to the zombie leave from, and the source port of the SYNs sent in
/// its name; drawn per scan.
const PORTS_FROM: u16 = 32768;
const PORTS_TO: u16 = 60999;

/// The zombie, resolved.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Zombie {
    addr: Ipv4Addr,
    port: u16,
}

impl Zombie {
    /// The zombie as `-sI` named it: an IPv4 address, or a name resolved by the system.
    pub(crate) fn resolve((host, port): &(String, u16)) -> Result<Zombie, RunError> {
        let addrs = (host.as_str(), *port)
            .to_socket_addrs()
            .map_err(|e| RunError::Failed(format!("cannot resolve the idle scan's zombie '{host}': {e}")))?;
        let addr = addrs
            .filter_map(|addr| match addr.ip() {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .next()
            .ok_or_else(|| RunError::Failed(format!("the idle scan's zombie '{host}' has no IPv4 address")))?;
        Ok(Zombie { addr, port: *port })
    }

    /// Scans each target of `group` in turn. The hosts are reported up (discovery, or -Pn,
    /// said so); their ports open or closed|filtered, as only the zombie's counter tells.
    pub(crate) fn scan_group(
        &self,
        config: &RawConfig,
        group: Vec<Target>,
        ports: &[u16],
        observer: &(dyn ScanObserver + 'static),
        stop: &AtomicBool,
    ) -> Result<Vec<HostResult>, RawScanError> {
        group.into_iter().map(|target| self.scan_target(config, target, ports, observer, stop)).collect()
    }

    fn scan_target(
        &self,
        config: &RawConfig,
        target: Target,
        ports: &[u16],
        observer: &(dyn ScanObserver + 'static),
        stop: &AtomicBool,
    ) -> Result<HostResult, RawScanError> {
        let IpAddr::V4(target_addr) = target.addr else {
            return Err(RawScanError::SourceFamily(target.addr));
        };
        let scanner = match config.source.addr {
            Some(IpAddr::V4(addr)) => addr,
            Some(other) => return Err(RawScanError::SourceFamily(other)),
            None => match netio::source_for(IpAddr::V4(self.addr), config.source.device.as_deref()) {
                Ok(IpAddr::V4(addr)) => addr,
                Ok(other) => return Err(RawScanError::SourceFamily(other)),
                Err(error) => return Err(RawScanError::Routes(error)),
            },
        };
        let question_port = config.source.port.unwrap_or_else(|| rand::random_range(PORTS_FROM..=PORTS_TO));
        let idle = IdleConfig {
            scanner,
            zombie: self.addr,
            zombie_port: self.port,
            target: target_addr,
            question_port,
            spoofed_port: rand::random_range(PORTS_FROM..=PORTS_TO),
        };
        let mut scan = IdleScan::new(idle, ports, rand::random(), Instant::now());
        exchange::run(&mut scan, config.source.device.as_deref(), question_port..=question_port, observer, stop)?;
        let open = scan.into_result()?;
        let ports = ports.iter().map(|&port| port_result(port, open.binary_search(&port).is_ok())).collect();
        Ok(HostResult {
            target,
            status: HostStatus::Up { reason: Reason::UserSet },
            round_trip: None,
            ports,
            os: None,
            trace: None,
        })
    }
}

/// An open port (the zombie's counter moved for it), or one it did not move for: closed or
/// filtered.
fn port_result(port: u16, open: bool) -> PortResult {
    let (state, reason) =
        if open { (PortState::Open, Reason::IpIdChange) } else { (PortState::ClosedFiltered, Reason::NoIpIdChange) };
    PortResult {
        protocol: Protocol::Tcp,
        port,
        state,
        reason,
        reason_ttl: None,
        reason_ip: None,
        service: None,
        detail: None,
    }
}
