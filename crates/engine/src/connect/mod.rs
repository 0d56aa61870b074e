//! The TCP connect scan (`-sT`): needs no privileges, lets the kernel do the handshake.
//!
//! Each host is scanned in rounds: every pending port is probed concurrently with a timeout
//! from the host's RTT estimate; ports that stayed silent are probed again while the host's
//! [`RetryAllowance`] permits, then reported filtered (no-response). A scan-wide semaphore keeps
//! the sockets in flight within the descriptor budget.

mod outcome;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use model::{HostResult, HostStatus, PortResult, PortState, Protocol, Reason, Target};
use rand::seq::SliceRandom;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;

pub use outcome::{classify, classify_error, Outcome};

use crate::{Pacer, RetryAllowance, RttEstimator, Timing};

/// Settings of a connect scan.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    pub timing: Timing,
    /// Sockets the process may hold for probes (from RLIMIT_NOFILE, less a reserve).
    pub socket_budget: usize,
    /// `--max-rate`: probes per second across the whole scan.
    pub max_rate: Option<f64>,
    /// Probe ports in random order (Nmap's default; `-r` turns it off).
    pub randomize_ports: bool,
    /// `-Pn`: report every host up, whether or not anything answered.
    pub assume_up: bool,
}

/// Told about findings as they happen, for `-v`'s "Discovered open port" lines.
pub trait ScanObserver: Send + Sync {
    fn open_port_found(&self, addr: IpAddr, protocol: Protocol, port: u16);
}

/// A connect() failed in a way that says nothing about the target; the scan cannot go on.
#[derive(Debug, thiserror::Error)]
#[error("connect to {addr} failed: {source}")]
pub struct ConnectError {
    pub addr: SocketAddr,
    pub source: io::Error,
}

pub struct ConnectScanner {
    config: ConnectConfig,
    sockets: Semaphore,
    rate: Option<Mutex<Pacer>>,
}

/// Per-host timing state shared by that host's probes in flight.
struct HostTiming {
    rtt: RttEstimator,
    retries: RetryAllowance,
    delay: Option<Pacer>,
}

struct Probe {
    port: u16,
    outcome: Outcome,
    elapsed: Duration,
}

impl ConnectScanner {
    pub fn new(config: ConnectConfig) -> ConnectScanner {
        let in_flight = config.timing.max_parallelism.map_or(config.socket_budget, |p| p.min(config.socket_budget));
        ConnectScanner {
            sockets: Semaphore::new(in_flight.max(1)),
            rate: config.max_rate.map(|rate| Mutex::new(Pacer::per_second(rate))),
            config,
        }
    }

    /// Scans `ports` of one target, honouring `--host-timeout`.
    pub async fn scan_host(
        &self,
        target: Target,
        ports: &[u16],
        observer: &dyn ScanObserver,
    ) -> Result<HostResult, ConnectError> {
        let scan = self.scan_ports(target.addr, ports, observer);
        let Some(limit) = self.config.timing.host_timeout else {
            return scan.await.map(|scanned| self.host_result(target, scanned));
        };
        match tokio::time::timeout(limit, scan).await {
            Ok(scanned) => scanned.map(|scanned| self.host_result(target, scanned)),
            Err(_) => Ok(HostResult { target, status: HostStatus::TimedOut, latency: None, ports: Vec::new() }),
        }
    }

    fn host_result(&self, target: Target, scanned: ScannedHost) -> HostResult {
        let status = if self.config.assume_up {
            HostStatus::Up { reason: Reason::UserSet }
        } else {
            scanned.alive_because.map_or(HostStatus::Down, |reason| HostStatus::Up { reason })
        };
        HostResult { target, status, latency: scanned.latency, ports: scanned.ports }
    }

    async fn scan_ports(&self, addr: IpAddr, ports: &[u16], observer: &dyn ScanObserver) -> Result<ScannedHost, ConnectError> {
        let timing = &self.config.timing;
        let host = Mutex::new(HostTiming {
            rtt: RttEstimator::new(timing.initial_rtt_timeout, timing.min_rtt_timeout, timing.max_rtt_timeout),
            retries: RetryAllowance::new(timing.max_retries),
            delay: (!timing.scan_delay.is_zero()).then(|| Pacer::with_interval(timing.scan_delay)),
        });
        let mut pending = ports.to_vec();
        if self.config.randomize_ports {
            pending.shuffle(&mut rand::rng());
        }
        let mut scanned = ScannedHost { ports: Vec::with_capacity(ports.len()), alive_because: None, latency: None };
        for try_number in 0.. {
            let mut silent = Vec::new();
            let mut probes = stream::iter(pending).map(|port| self.probe(addr, port, &host)).buffer_unordered(usize::MAX);
            while let Some(probe) = probes.next().await {
                let probe = probe?;
                match probe.outcome {
                    Outcome::Silent => silent.push(probe.port),
                    Outcome::Answer(state, reason) => {
                        let mut host = host.lock().expect("host timing lock");
                        host.rtt.sample(probe.elapsed);
                        host.retries.answered_on(try_number);
                        drop(host);
                        if state == PortState::Open {
                            observer.open_port_found(addr, Protocol::Tcp, probe.port);
                        }
                        scanned.record(probe.port, state, reason);
                    }
                }
            }
            let may_retry = host.lock().expect("host timing lock").retries.may_retry_after(try_number);
            if silent.is_empty() || !may_retry {
                silent.into_iter().for_each(|port| scanned.record(port, PortState::Filtered, Reason::NoResponse));
                break;
            }
            pending = silent;
        }
        scanned.ports.sort_by_key(|p| p.port);
        scanned.latency = host.into_inner().expect("host timing lock").rtt.srtt();
        Ok(scanned)
    }

    /// One connect() attempt, once a socket slot and a send slot are free.
    async fn probe(&self, addr: IpAddr, port: u16, host: &Mutex<HostTiming>) -> Result<Probe, ConnectError> {
        let _slot = self.sockets.acquire().await.expect("the semaphore is never closed");
        self.wait_to_send(host).await;
        let timeout = host.lock().expect("host timing lock").rtt.timeout();
        let target = SocketAddr::new(addr, port);
        let started = Instant::now();
        let attempt = tokio::time::timeout(timeout, connect(target)).await.ok();
        let elapsed = started.elapsed();
        let outcome = classify(attempt).map_err(|source| ConnectError { addr: target, source })?;
        Ok(Probe { port, outcome, elapsed })
    }

    /// Waits for both the scan-wide `--max-rate` slot and the host's `--scan-delay` slot.
    async fn wait_to_send(&self, host: &Mutex<HostTiming>) {
        let now = Instant::now();
        let global = self.rate.as_ref().map(|pacer| pacer.lock().expect("pacer lock").claim(now));
        let per_host = host.lock().expect("host timing lock").delay.as_mut().map(|pacer| pacer.claim(now));
        if let Some(slot) = global.into_iter().chain(per_host).max() {
            tokio::time::sleep_until(slot.into()).await;
        }
    }
}

struct ScannedHost {
    ports: Vec<PortResult>,
    /// The reason of the first answer that proves the host alive (a SYN/ACK or a RST).
    alive_because: Option<Reason>,
    latency: Option<Duration>,
}

impl ScannedHost {
    fn record(&mut self, port: u16, state: PortState, reason: Reason) {
        if self.alive_because.is_none() && matches!(state, PortState::Open | PortState::Closed) {
            self.alive_because = Some(reason);
        }
        self.ports.push(PortResult { protocol: Protocol::Tcp, port, state, reason, service: None });
    }
}

/// Connects with SO_LINGER 0, so that dropping the stream resets the connection: an open port
/// costs the target no lingering connection and us no TIME_WAIT entry.
async fn connect(target: SocketAddr) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(target), socket2::Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_linger(Some(Duration::ZERO))?;
    TcpSocket::from_std_stream(socket.into()).connect(target).await
}
