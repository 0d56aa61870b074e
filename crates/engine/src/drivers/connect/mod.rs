//! The TCP connect scan (`-sT`): needs no privileges, lets the kernel do the handshake.
//!
//! Each host's ports are probed as many at once as the host's congestion window allows, each
//! waiting as long as the round-trip estimate says (the host's, or the scan's while the host
//! has not answered yet). A port that stays silent goes again at once, while the rest of the
//! host is still being probed, as long as the host's [`RetryAllowance`] permits; then it is
//! reported filtered (no-response). A scan-wide semaphore keeps the sockets in flight within
//! the descriptor budget.

mod outcome;
mod proxy;

pub use proxy::{Proxy, ProxyKind};

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
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
    /// `--seed`: each host's port order drawn from this number, the same each run.
    pub seed: Option<u64>,
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

/// The shortest interval a waiting probe rereads its timeout at (see [`ProbeContext::recheck`]).
const MIN_RECHECK: Duration = Duration::from_millis(10);

/// What every probe of the scan shares.
struct ProbeContext {
    /// `--max-rate`
    rate: Option<Mutex<Pacer>>,
    source: Source,
    /// Round trips and loss over every host: what hosts not heard from yet are judged by.
    scan: Mutex<ScanTiming>,
    /// How often a waiting probe looks again at the round-trip estimate, which answers to
    /// other probes may have lowered since it was sent.
    recheck: Duration,
}

struct ScanTiming {
    rtt: RttEstimator,
    loss: LossRate,
}

/// Per-host timing state shared by that host's probes in flight.
struct HostTiming {
    rtt: RttEstimator,
    window: CongestionWindow,
    retries: RetryAllowance,
    delay: Option<Pacer>,
}

impl HostTiming {
    /// Learns from an answer to try `try_number` of a port that took `elapsed`, the port's
    /// earlier tries `lost`, with `flight` probes in flight.
    fn answered(&mut self, try_number: u32, lost: Option<LostTries>, elapsed: Duration, flight: usize) {
        let now = Instant::now();
        self.rtt.sample(elapsed);
        self.retries.answered_on(try_number);
        // The connect scan has no adaptive scan delay (yet): only the window adapts.
        self.window.on_answer(now.checked_sub(elapsed), lost, flight);
        let settled_before = now.checked_sub(self.rtt.timeout() * 2);
        let _ = self.window.judge(settled_before.unwrap_or(now), now);
    }

    /// How long a probe waits: by the host's own round trips once it has answered, else by
    /// every host's (`scan_timeout`).
    fn timeout(&self, scan_timeout: Duration) -> Duration {
        if self.rtt.srtt().is_some() {
            self.rtt.timeout()
        } else {
            scan_timeout
        }
    }
}

/// A try of a port waiting for a socket.
#[derive(Debug, Clone, Copy)]
struct Try {
    port: u16,
    number: u32,
    /// The port's earlier tries, all unanswered: the losses an answer to this one shows.
    lost: Option<LostTries>,
}

struct Probe {
    sent: Try,
    at: Instant,
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
                scan: Mutex::new(ScanTiming {
                    rtt: RttEstimator::new(
                        config.timing.initial_rtt_timeout,
                        config.timing.min_rtt_timeout,
                        config.timing.max_rtt_timeout,
                    ),
                    loss: LossRate::default(),
                }),
                recheck: config.timing.min_rtt_timeout.max(MIN_RECHECK),
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
            Err(_) => Ok(HostResult {
                target,
                status: HostStatus::TimedOut,
                round_trip: None,
                ports: Vec::new(),
                os: None,
                trace: None,
            }),
        }
    }

    fn host_result(&self, target: Target, scanned: ScannedHost) -> HostResult {
        let status = if self.config.assume_up {
            HostStatus::Up { reason: Reason::UserSet }
        } else {
            model::alive_because(&scanned.ports).map_or(HostStatus::SILENT, |reason| HostStatus::Up { reason })
        };
        HostResult { target, status, round_trip: scanned.round_trip, ports: scanned.ports, os: None, trace: None }
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
        }));
        let mut ports = ports.to_vec();
        if self.config.randomize_ports {
            ports.shuffle(&mut crate::order_rng(crate::host_seed(self.config.seed, addr)));
        }
        let mut waiting: VecDeque<Try> = ports.into_iter().map(|port| Try { port, number: 0, lost: None }).collect();
        let mut scanned = ScannedHost { ports: Vec::with_capacity(waiting.len()), round_trip: None };
        loop {
            let spent = self.probe_all(addr, &mut waiting, &host, &mut scanned, observer).await?;
            // A port whose tries ran out early, before the loss they show was measured, may
            // have earned more by now.
            let (again, given_up): (Vec<Try>, Vec<Try>) =
                spent.into_iter().partition(|next| self.may_retry(&host, next.number - 1));
            given_up.into_iter().for_each(|spent| scanned.record(spent.port, PortState::Filtered, Reason::NoResponse));
            if again.is_empty() {
                break;
            }
            waiting.extend(again);
        }
        scanned.ports.sort_by_key(|p| p.port);
        scanned.round_trip = host.lock().expect("host timing lock").rtt.round_trip();
        Ok(scanned)
    }

    /// Whether a port silent after try `try_number` may go again.
    fn may_retry(&self, host: &Mutex<HostTiming>, try_number: u32) -> bool {
        let scan_loss = self.context.scan.lock().expect("scan timing lock").loss;
        host.lock().expect("host timing lock").retries.may_retry_after(try_number, &scan_loss)
    }

    /// Probes the `waiting` tries, and each silent port again as its allowance permits, until
    /// every port has an answer or has spent its tries; returns the tries the latter would
    /// go on with.
    ///
    /// A probe exists only once it holds a socket slot, so memory stays bounded by the socket
    /// budget however many hosts and ports wait. Each probe is a task of its own, so that the
    /// kernel work of many connects spreads over every core; dropping this aborts them.
    async fn probe_all(
        &self,
        addr: IpAddr,
        waiting: &mut VecDeque<Try>,
        host: &Arc<Mutex<HostTiming>>,
        scanned: &mut ScannedHost,
        observer: &dyn ScanObserver,
    ) -> Result<Vec<Try>, ConnectError> {
        let mut in_flight = JoinSet::new();
        let mut spent = Vec::new();
        loop {
            tokio::select! {
                biased;
                Some(joined) = in_flight.join_next() => {
                    let Probe { sent, at, outcome, elapsed } =
                        joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
                    match outcome {
                        // Sent again before new ports, so the host's last answers are not
                        // waited for one timeout after another.
                        Outcome::Silent if self.may_retry(host, sent.number) => waiting.push_front(sent.silent_at(at)),
                        Outcome::Silent => spent.push(sent.silent_at(at)),
                        Outcome::Answer(state, reason) => {
                            self.learn(host, sent, elapsed, in_flight.len() + 1);
                            if state == PortState::Open {
                                observer.open_port_found(addr, Protocol::Tcp, sent.port);
                            }
                            scanned.record(sent.port, state, reason);
                        }
                    }
                }
                slot = self.sockets.clone().acquire_owned(), if !waiting.is_empty() && in_flight.len() < Self::window(host) => {
                    let slot = slot.expect("the semaphore is never closed");
                    let next = waiting.pop_front().expect("checked above");
                    in_flight.spawn(probe(addr, next, slot, self.context.clone(), host.clone()));
                }
                else => return Ok(spent),
            }
        }
    }

    /// Timing lessons from an answer to `sent` that took `elapsed`, with `flight` in flight.
    fn learn(&self, host: &Mutex<HostTiming>, sent: Try, elapsed: Duration, flight: usize) {
        {
            let mut scan = self.context.scan.lock().expect("scan timing lock");
            scan.rtt.sample(elapsed);
            scan.loss.answered_on(sent.number);
        }
        host.lock().expect("host timing lock").answered(sent.number, sent.lost, elapsed, flight);
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
        self.ports.push(PortResult::new(Protocol::Tcp, port, state, reason));
    }
}

impl Try {
    /// This try went unanswered from `at`: the next one.
    fn silent_at(self, at: Instant) -> Try {
        Try { number: self.number + 1, lost: Some(LostTries::and(self.lost, at)), ..self }
    }
}

/// One connect() attempt holding a socket slot, sent when the pacing allows.
async fn probe(
    addr: IpAddr,
    sent: Try,
    _slot: OwnedSemaphorePermit,
    context: Arc<ProbeContext>,
    host: Arc<Mutex<HostTiming>>,
) -> Result<Probe, ConnectError> {
    wait_to_send(context.rate.as_ref(), &host).await;
    let at = Instant::now();
    host.lock().expect("host timing lock").window.sent(at);
    let target = SocketAddr::new(addr, sent.port);
    let timeout = || {
        let scan_timeout = context.scan.lock().expect("scan timing lock").rtt.timeout();
        host.lock().expect("host timing lock").timeout(scan_timeout)
    };
    let attempt = within_timeout(connect(target, &context.source), at, timeout, context.recheck).await;
    let elapsed = at.elapsed();
    let outcome = classify(attempt).map_err(|source| ConnectError { addr: target, source })?;
    Ok(Probe { sent, at, outcome, elapsed })
}

/// Runs `work` until the timeout of a probe sent at `sent`, `None` past it. The timeout is
/// read again every `recheck`: a probe sent before its host (or the scan) was first heard
/// from starts with the initial timeout, a second by default, and waits only as long as the
/// round trips measured since say.
async fn within_timeout<F: Future>(
    work: F,
    sent: Instant,
    timeout: impl Fn() -> Duration,
    recheck: Duration,
) -> Option<F::Output> {
    tokio::pin!(work);
    loop {
        let deadline = sent + timeout();
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        let wake = deadline.min(now + recheck);
        if let Ok(output) = tokio::time::timeout_at(wake.into(), &mut work).await {
            return Some(output);
        }
    }
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

/// Connects to `target`, directly or through `--proxies` (then a proxy that cannot be reached
/// is an error of the scan, not an answer about the port).
async fn connect(target: SocketAddr, source: &Source) -> io::Result<TcpStream> {
    let Some(first) = source.proxies.first() else { return connect_direct(target, source).await };
    let stream = connect_direct(first.addr, source)
        .await
        .map_err(|error| io::Error::other(format!("proxy {first} cannot be reached: {error}")))?;
    proxy::through(stream, &source.proxies, target).await
}

/// A connection of our own to `target`, with SO_LINGER 0, so that dropping the stream resets
/// the connection: an open port costs the target no lingering connection and us no
/// TIME_WAIT entry. With `-g`, every connection leaves from that port: SO_REUSEADDR lets the
/// sockets share it, each connecting to another port or host (Linux refuses only a second
/// connection of the same four-tuple, which the reset of the first has ended).
async fn connect_direct(target: SocketAddr, source: &Source) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(target), socket2::Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_linger(Some(Duration::ZERO))?;
    netio::bind_device(&socket, source.device.as_deref())?;
    if source.addr.is_some() || source.port.is_some() {
        let unspecified = if target.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
        if source.port.is_some() {
            socket.set_reuse_address(true)?;
        }
        socket.bind(&SocketAddr::new(source.addr.unwrap_or(unspecified), source.port.unwrap_or(0)).into())?;
    }
    TcpSocket::from_std_stream(socket.into()).connect(target).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_probe_sent_before_the_first_answer_waits_only_as_long_as_answers_since_say() {
        // Regression: silent ports in a host's first window waited the whole initial timeout
        // (a second), though the host's first answers soon showed round trips of microseconds.
        let sent = Instant::now();
        let first_answer = sent + Duration::from_millis(30);
        let timeout = || if Instant::now() < first_answer { Duration::from_secs(1) } else { Duration::from_millis(50) };
        let never = std::future::pending::<()>();
        assert_eq!(within_timeout(never, sent, timeout, Duration::from_millis(10)).await, None);
        let waited = sent.elapsed();
        assert!(waited < Duration::from_millis(500), "waited {waited:?}");
    }

    #[tokio::test]
    async fn work_done_in_time_is_returned() {
        let work = async { 7 };
        let output =
            within_timeout(work, Instant::now(), || Duration::from_millis(50), Duration::from_millis(10)).await;
        assert_eq!(output, Some(7));
    }
}
