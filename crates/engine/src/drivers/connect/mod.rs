//! The TCP connect scan (`-sT`): needs no privileges, lets the kernel do the handshake.
//!
//! Each host is scanned in rounds: every pending port is probed, as many at once as the host's
//! congestion window allows, with a timeout from the host's RTT estimate; ports that stayed silent are probed again while the host's
//! [`RetryAllowance`] permits, then reported filtered (no-response). A scan-wide semaphore keeps
//! the sockets in flight within the descriptor budget.

mod outcome;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use model::{HostResult, HostStatus, PortResult, PortState, Protocol, Reason, Target};
use rand::seq::SliceRandom;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use outcome::{classify, Outcome};

use super::ScanObserver;
use crate::core::{CongestionWindow, LossRate, LostTries, Pacer, RetryAllowance, RttEstimator, Timing};
use crate::Source;

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
    /// `-S` and `-e` (a fixed source port would allow one connection at a time).
    pub source: Source,
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
    in_flight: usize,
    sockets: Arc<Semaphore>,
    context: Arc<ProbeContext>,
}

/// What every probe of the scan shares.
struct ProbeContext {
    /// `--max-rate`
    rate: Option<Mutex<Pacer>>,
    source: Source,
}

/// Per-host timing state shared by that host's probes in flight.
struct HostTiming {
    rtt: RttEstimator,
    window: CongestionWindow,
    retries: RetryAllowance,
    delay: Option<Pacer>,
    /// When each round of tries began: an answer to try n shows try n - 1 lost then.
    rounds: Vec<Instant>,
}

impl HostTiming {
    /// Learns from an answer to a probe sent as try `try_number` that took `elapsed`, with
    /// `flight` probes in flight.
    fn answered(&mut self, try_number: u32, elapsed: Duration, flight: usize) {
        let now = Instant::now();
        self.rtt.sample(elapsed);
        self.retries.answered_on(try_number);
        // The connect scan has no adaptive scan delay (yet): only the window adapts. A loss
        // shows a round after the lost try, when its retry is answered.
        let lost = (try_number > 0).then(|| {
            let lost_rounds = &self.rounds[..try_number as usize];
            let count = u8::try_from(lost_rounds.len()).unwrap_or(u8::MAX);
            LostTries { first: lost_rounds[0], last: lost_rounds[lost_rounds.len() - 1], count }
        });
        self.window.on_answer(now.checked_sub(elapsed), lost, flight);
        let settled_before = now.checked_sub(self.rtt.timeout() * 2);
        let _ = self.window.judge(settled_before.unwrap_or(now), now);
    }
}

struct Probe {
    port: u16,
    outcome: Outcome,
    elapsed: Duration,
}

impl ConnectScanner {
    pub fn new(config: ConnectConfig) -> ConnectScanner {
        let in_flight =
            config.timing.max_parallelism.map_or(config.socket_budget, |p| p.min(config.socket_budget)).max(1);
        ConnectScanner {
            in_flight,
            sockets: Arc::new(Semaphore::new(in_flight)),
            context: Arc::new(ProbeContext {
                rate: config.max_rate.map(|rate| Mutex::new(Pacer::per_second(rate))),
                source: config.source.clone(),
            }),
            config,
        }
    }

    /// How many probes may be in flight at once across the scan.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight
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
            Err(_) => Ok(HostResult { target, status: HostStatus::TimedOut, round_trip: None, ports: Vec::new() }),
        }
    }

    fn host_result(&self, target: Target, scanned: ScannedHost) -> HostResult {
        let status = if self.config.assume_up {
            HostStatus::Up { reason: Reason::UserSet }
        } else {
            model::alive_because(&scanned.ports).map_or(HostStatus::SILENT, |reason| HostStatus::Up { reason })
        };
        HostResult { target, status, round_trip: scanned.round_trip, ports: scanned.ports }
    }

    async fn scan_ports(
        &self,
        addr: IpAddr,
        ports: &[u16],
        observer: &dyn ScanObserver,
    ) -> Result<ScannedHost, ConnectError> {
        let timing = &self.config.timing;
        let host = Arc::new(Mutex::new(HostTiming {
            rtt: RttEstimator::new(timing.initial_rtt_timeout, timing.min_rtt_timeout, timing.max_rtt_timeout),
            window: CongestionWindow::new(self.in_flight, timing.min_parallelism, Instant::now()),
            retries: RetryAllowance::new(timing.max_retries),
            delay: (!timing.scan_delay.is_zero()).then(|| Pacer::with_interval(timing.scan_delay)),
            rounds: Vec::new(),
        }));
        let mut pending = ports.to_vec();
        if self.config.randomize_ports {
            pending.shuffle(&mut rand::rng());
        }
        let mut scanned = ScannedHost { ports: Vec::with_capacity(ports.len()), round_trip: None };
        for try_number in 0.. {
            let silent = self.probe_round(addr, pending, try_number, &host, &mut scanned, observer).await?;
            let may_retry =
                host.lock().expect("host timing lock").retries.may_retry_after(try_number, &LossRate::default());
            if silent.is_empty() || !may_retry {
                silent.into_iter().for_each(|port| scanned.record(port, PortState::Filtered, Reason::NoResponse));
                break;
            }
            pending = silent;
        }
        scanned.ports.sort_by_key(|p| p.port);
        scanned.round_trip = host.lock().expect("host timing lock").rtt.round_trip();
        Ok(scanned)
    }

    /// Probes every port of `ports` once and returns those that stayed silent. A probe exists
    /// only once it holds a socket slot, so memory stays bounded by the socket budget however
    /// many hosts and ports wait. Each probe is a task of its own, so that the kernel work of
    /// many connects spreads over every core; dropping the round aborts them.
    async fn probe_round(
        &self,
        addr: IpAddr,
        ports: Vec<u16>,
        try_number: u32,
        host: &Arc<Mutex<HostTiming>>,
        scanned: &mut ScannedHost,
        observer: &dyn ScanObserver,
    ) -> Result<Vec<u16>, ConnectError> {
        host.lock().expect("host timing lock").rounds.push(Instant::now());
        let mut waiting = ports.into_iter().peekable();
        let mut in_flight = JoinSet::new();
        let mut silent = Vec::new();
        loop {
            tokio::select! {
                biased;
                Some(joined) = in_flight.join_next() => {
                    let Probe { port, outcome, elapsed } = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
                    match outcome {
                        Outcome::Silent => silent.push(port),
                        Outcome::Answer(state, reason) => {
                            host.lock().expect("host timing lock").answered(try_number, elapsed, in_flight.len() + 1);
                            if state == PortState::Open {
                                observer.open_port_found(addr, Protocol::Tcp, port);
                            }
                            scanned.record(port, state, reason);
                        }
                    }
                }
                slot = self.sockets.clone().acquire_owned(), if waiting.peek().is_some() && in_flight.len() < Self::window(host) => {
                    let slot = slot.expect("the semaphore is never closed");
                    let target = SocketAddr::new(addr, waiting.next().expect("peeked"));
                    in_flight.spawn(probe(target, slot, self.context.clone(), host.clone()));
                }
                else => return Ok(silent),
            }
        }
    }

    fn window(host: &Mutex<HostTiming>) -> usize {
        host.lock().expect("host timing lock").window.allowed()
    }
}

struct ScannedHost {
    ports: Vec<PortResult>,
    round_trip: Option<model::RoundTrip>,
}

impl ScannedHost {
    fn record(&mut self, port: u16, state: PortState, reason: Reason) {
        self.ports.push(PortResult {
            protocol: Protocol::Tcp,
            port,
            state,
            reason,
            reason_ttl: None,
            reason_ip: None,
            service: None,
        });
    }
}

/// One connect() attempt holding a socket slot, sent when the pacing allows.
async fn probe(
    target: SocketAddr,
    _slot: OwnedSemaphorePermit,
    context: Arc<ProbeContext>,
    host: Arc<Mutex<HostTiming>>,
) -> Result<Probe, ConnectError> {
    wait_to_send(context.rate.as_ref(), &host).await;
    let started = Instant::now();
    let timeout = {
        let mut host = host.lock().expect("host timing lock");
        host.window.sent(started);
        host.rtt.timeout()
    };
    let attempt = tokio::time::timeout(timeout, connect(target, &context.source)).await.ok();
    let elapsed = started.elapsed();
    let outcome = classify(attempt).map_err(|source| ConnectError { addr: target, source })?;
    Ok(Probe { port: target.port(), outcome, elapsed })
}

/// Waits for both the scan-wide `--max-rate` slot and the host's `--scan-delay` slot.
async fn wait_to_send(rate: Option<&Mutex<Pacer>>, host: &Mutex<HostTiming>) {
    let now = Instant::now();
    let global = rate.map(|pacer| pacer.lock().expect("pacer lock").claim(now));
    let per_host = host.lock().expect("host timing lock").delay.as_mut().map(|pacer| pacer.claim(now));
    if let Some(slot) = global.into_iter().chain(per_host).max() {
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// Connects with SO_LINGER 0, so that dropping the stream resets the connection: an open port
/// costs the target no lingering connection and us no TIME_WAIT entry.
async fn connect(target: SocketAddr, source: &Source) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(target), socket2::Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_linger(Some(Duration::ZERO))?;
    netio::bind_device(&socket, source.device.as_deref())?;
    if let Some(addr) = source.addr {
        socket.bind(&SocketAddr::new(addr, 0).into())?;
    }
    TcpSocket::from_std_stream(socket.into()).connect(target).await
}
