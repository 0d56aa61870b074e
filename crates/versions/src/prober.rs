//! Probing open ports over real connections: every port of every host at once within a socket
//! budget, each walking its [`Plan`], each wait sized from the round trip the port scan measured
//! rather than Nmap's fixed five seconds.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::{Protocol, ServiceDetail, TlsDetail};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::db::{Probe, ProbeDb};
use crate::fingerprint::Fingerprint;
use crate::matcher::{identify, Identified, SOFT_CONFIDENCE};
use crate::plan::Plan;
use crate::tls;

/// Where `--version-trace` lines go (the CLI prints them; this crate never does).
pub type Tracer = Arc<dyn Fn(String) + Send + Sync>;

/// How a version scan runs.
#[derive(Clone)]
pub struct ProberConfig {
    /// `--version-intensity`
    pub intensity: u8,
    /// Connections (and UDP sockets) open at once.
    pub socket_budget: usize,
    /// The shortest wait for an answer: what a server may take to think, beyond the round trip.
    pub min_wait: Duration,
    /// `--version-trace`: told every probe sent and what came back.
    pub trace: Option<Tracer>,
}

/// The shortest wait, unless told otherwise: a local server answers in well under a
/// millisecond, one doing a reverse DNS lookup of its client first may take this long.
pub const DEFAULT_MIN_WAIT: Duration = Duration::from_millis(300);

/// Round trips a wait allows for the answer to travel and the server to be scheduled.
const WAIT_ROUND_TRIPS: u32 = 8;

/// A response is read up to this size: enough for every rule, and bounded against a server that
/// never stops talking (chargen).
pub const MAX_RESPONSE: usize = 16 * 1024;

/// One port to identify.
#[derive(Debug, Clone, Copy)]
pub struct PortJob {
    pub addr: SocketAddr,
    pub protocol: Protocol,
    /// The port scan's round-trip estimate of the host, when it has one.
    pub rtt: Option<Duration>,
}

/// What probing a port found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A rule named the service (`soft`: without its version).
    Identified(Box<Identified>),
    /// The port answered, but no rule knew it: Nmap's fingerprint of the answers.
    Unrecognized(Fingerprint),
    /// The connection was closed at once with nothing said: a TCP wrapper refused us.
    TcpWrapped,
    /// Nothing came back to any probe.
    Silent,
    /// The port refused the connection, or could not be reached: it is no longer open to us.
    Unreachable,
}

/// The name rules give a service that answers with TLS records.
const TLS_SERVICE: &str = "ssl";

impl Outcome {
    /// An outcome a server short of connection slots gives too.
    fn is_doubtful(&self) -> bool {
        matches!(self, Outcome::TcpWrapped | Outcome::Unreachable)
    }

    fn is_tls(&self) -> bool {
        matches!(self, Outcome::Identified(found) if found.service == TLS_SERVICE)
    }

    /// What the walk through TLS found, with the session it went through: "ssl/http", or "ssl"
    /// alone when nothing inside was recognised.
    fn through_tls(self, tls: TlsDetail) -> Outcome {
        let mut found = match self {
            Outcome::Identified(inner) => {
                let mut inner = *inner;
                inner.detail.tunnel = Some(TLS_SERVICE.into());
                inner
            }
            _ => Identified {
                service: TLS_SERVICE.into(),
                soft: true,
                detail: ServiceDetail { confidence: SOFT_CONFIDENCE, ..ServiceDetail::default() },
            },
        };
        found.detail.tls = Some(tls);
        Outcome::Identified(Box::new(found))
    }

    /// The service name and details the port table shows.
    pub fn into_service(self) -> Option<(String, ServiceDetail)> {
        match self {
            Outcome::Identified(found) => Some((found.service, found.detail)),
            Outcome::TcpWrapped => Some((
                "tcpwrapped".to_string(),
                ServiceDetail { confidence: SOFT_CONFIDENCE, ..ServiceDetail::default() },
            )),
            Outcome::Unrecognized(_) | Outcome::Silent | Outcome::Unreachable => None,
        }
    }
}

/// The fewest connections a later pass holds at once.
const MIN_RETRY_BUDGET: usize = 16;

/// Identifies every job's service, as many at once as the socket budget allows. Results come
/// in the jobs' order.
///
/// A server behind many addresses (a load balancer, virtual hosts) may have fewer connection
/// slots than the budget, and closes the rest at once, as a TCP wrapper does; so ports that
/// seemed wrapped, or refused the connection, are probed again, in passes of half as many
/// connections as answered in the pass before (the server's slots, roughly), then halving,
/// each a moment after the last, until a pass settles none of them.
pub async fn probe_all(db: Arc<ProbeDb>, jobs: Vec<PortJob>, config: ProberConfig) -> Vec<Outcome> {
    let config = Arc::new(config);
    let mut pending: Vec<usize> = (0..jobs.len()).collect();
    let mut outcomes = vec![Outcome::Silent; jobs.len()];
    let mut budget = config.socket_budget;
    loop {
        let results = probe_some(&db, &jobs, &pending, &config, budget).await;
        let settled = pending.iter().filter(|&&index| !results[index].is_doubtful()).count();
        for &index in &pending {
            outcomes[index] = results[index].clone();
        }
        pending.retain(|&index| outcomes[index].is_doubtful());
        if pending.is_empty() || (settled == 0 && budget == MIN_RETRY_BUDGET) {
            return outcomes;
        }
        budget = (settled / 2).min(budget / 2).max(MIN_RETRY_BUDGET);
        // Time for the server to free the slots of the pass before.
        tokio::time::sleep(config.min_wait).await;
    }
}

/// Probes the jobs at `indexes`, at most `budget` at once; the other outcomes stay Silent.
async fn probe_some(
    db: &Arc<ProbeDb>,
    jobs: &[PortJob],
    indexes: &[usize],
    config: &Arc<ProberConfig>,
    budget: usize,
) -> Vec<Outcome> {
    let sockets = Arc::new(Semaphore::new(budget.max(1)));
    let mut tasks = JoinSet::new();
    for &index in indexes {
        let job = jobs[index];
        let (db, config, sockets) = (db.clone(), config.clone(), sockets.clone());
        tasks.spawn(async move {
            let _permit = sockets.acquire_owned().await.expect("the semaphore is never closed");
            (index, probe_port(&db, job, &config).await)
        });
    }
    let mut outcomes = vec![Outcome::Silent; jobs.len()];
    while let Some(done) = tasks.join_next().await {
        let (index, outcome) = done.expect("a probing task panicked");
        outcomes[index] = outcome;
    }
    outcomes
}

/// Identifies one port's service: its plan walked in the clear and, when the answers show TLS,
/// walked again through TLS.
pub async fn probe_port(db: &ProbeDb, job: PortJob, config: &ProberConfig) -> Outcome {
    let clear = walk(db, job, config, false).await;
    if !clear.is_tls() {
        return clear;
    }
    let Some(tls) = first_handshake(job, config).await else { return clear };
    walk(db, job, config, true).await.through_tls(tls)
}

/// The session's terms and certificate, from a handshake that offers ALPN.
async fn first_handshake(job: PortJob, config: &ProberConfig) -> Option<TlsDetail> {
    let limit = connect_limit(config, job.rtt);
    let stream = tokio::time::timeout(limit, TcpStream::connect(job.addr)).await.ok()?.ok()?;
    let session = tokio::time::timeout(limit, tls::handshake(stream, job.addr, true)).await.ok()?.ok()?;
    Some(tls::describe(&session))
}

/// How long a connection, and a TLS handshake on it, may take.
fn connect_limit(config: &ProberConfig, rtt: Option<Duration>) -> Duration {
    config.min_wait * 4 + rtt.unwrap_or_default() * WAIT_ROUND_TRIPS
}

/// Walks one port's plan, in the clear or through TLS, until a hard match, the plan's end, or
/// (in the clear) an answer that shows TLS.
async fn walk(db: &ProbeDb, job: PortJob, config: &ProberConfig, tunnelled: bool) -> Outcome {
    let mut plan = Plan::new(job.protocol, job.addr.port(), config.intensity, tunnelled);
    let mut walk = Walk { job, config, tunnelled, soft: None, fingerprint: Fingerprint::new(job), rtt: job.rtt };
    let mut idle_connection = None;
    while let Some(probe) = plan.next(db) {
        let answer = match job.protocol {
            Protocol::Tcp => walk.over_tcp(probe, &mut idle_connection).await,
            _ => walk.over_udp(probe).await,
        };
        let response = match answer {
            Answer::Data(response) => response,
            Answer::Nothing => continue,
            Answer::Wrapped => return Outcome::TcpWrapped,
            Answer::Unreachable if walk.fingerprint.is_empty() && walk.soft.is_none() => return Outcome::Unreachable,
            Answer::Unreachable => break,
        };
        walk.fingerprint.add(&probe.name, &response);
        match identify(db, probe, &response) {
            Some(found) if found.service == TLS_SERVICE && !tunnelled => return Outcome::Identified(Box::new(found)),
            Some(found) if !found.soft => return Outcome::Identified(Box::new(found)),
            Some(found) => {
                plan.soft_matched(&found.service);
                walk.soft.get_or_insert(found);
            }
            None => {}
        }
    }
    match (walk.soft, walk.fingerprint.is_empty()) {
        (Some(soft), _) => Outcome::Identified(Box::new(soft)),
        (None, false) => Outcome::Unrecognized(walk.fingerprint),
        (None, true) => Outcome::Silent,
    }
}

/// What one probe drew.
enum Answer {
    Data(Vec<u8>),
    Nothing,
    /// The NULL probe's connection closed at once, empty.
    Wrapped,
    /// The port refuses connections now, or cannot be reached.
    Unreachable,
}

/// A connection to the port, in the clear or through TLS.
trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// One port's walk in progress.
struct Walk<'a> {
    job: PortJob,
    config: &'a ProberConfig,
    /// Every probe goes through TLS.
    tunnelled: bool,
    soft: Option<Identified>,
    fingerprint: Fingerprint,
    /// The round trip: the port scan's, then the connections' own.
    rtt: Option<Duration>,
}

impl Walk<'_> {
    /// How long to wait for a first byte to `probe`.
    fn wait(&self, probe: &Probe) -> Duration {
        let travel = self.rtt.unwrap_or_default() * WAIT_ROUND_TRIPS;
        (travel + self.config.min_wait).min(probe.total_wait)
    }

    /// How long to wait for more, once some of a response came: a few round trips.
    fn more_wait(&self) -> Duration {
        (self.rtt.unwrap_or_default() * 2 + Duration::from_millis(20)).min(self.config.min_wait)
    }

    /// Sends `probe` over TCP: on the NULL probe's connection when it stayed silent (as Nmap
    /// does), else on a new one.
    async fn over_tcp(&mut self, probe: &Probe, idle: &mut Option<Box<dyn Connection>>) -> Answer {
        let mut stream = match idle.take() {
            Some(stream) => stream,
            None => match self.connect().await {
                Some(stream) => stream,
                None => return Answer::Unreachable,
            },
        };
        let sent = Instant::now();
        if !probe.payload.is_empty() && stream.write_all(&probe.payload).await.is_err() {
            return Answer::Nothing;
        }
        self.trace(probe, "sent");
        let (response, closed) = self.read_response(&mut stream, probe).await;
        self.trace_response(probe, &response);
        if response.is_empty() {
            if closed && probe.is_null() && sent.elapsed() < probe.tcpwrapped_wait {
                return Answer::Wrapped;
            }
            if !closed && probe.is_null() {
                *idle = Some(stream);
            }
            return Answer::Nothing;
        }
        Answer::Data(response)
    }

    async fn connect(&mut self) -> Option<Box<dyn Connection>> {
        let started = Instant::now();
        let timeout = connect_limit(self.config, self.rtt);
        let stream = tokio::time::timeout(timeout, TcpStream::connect(self.job.addr)).await.ok()?.ok()?;
        // The handshake is one round trip: a fresher estimate than the port scan's.
        self.rtt = Some(started.elapsed());
        if !self.tunnelled {
            return Some(Box::new(stream));
        }
        let session = tokio::time::timeout(timeout, tls::handshake(stream, self.job.addr, false)).await.ok()?.ok()?;
        Some(Box::new(session))
    }

    /// Reads until a first byte's wait passes, the answer pauses, the peer closes, the response
    /// is as long as any rule needs, or the probe's whole wait is spent (a server dripping a
    /// byte at a time). Also says whether the peer closed.
    async fn read_response(&self, stream: &mut Box<dyn Connection>, probe: &Probe) -> (Vec<u8>, bool) {
        let deadline = tokio::time::Instant::now() + probe.total_wait;
        let mut response = Vec::new();
        let mut buffer = vec![0; 4096];
        let mut wait = self.wait(probe);
        while response.len() < MAX_RESPONSE {
            let until = (tokio::time::Instant::now() + wait).min(deadline);
            match tokio::time::timeout_at(until, stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return (response, true),
                Ok(Ok(read)) => {
                    let room = MAX_RESPONSE - response.len();
                    response.extend_from_slice(&buffer[..read.min(room)]);
                    wait = self.more_wait();
                }
                Err(_) => break,
            }
        }
        (response, false)
    }

    /// Sends `probe` from a UDP socket of its own and waits for one datagram back.
    async fn over_udp(&mut self, probe: &Probe) -> Answer {
        let local: SocketAddr = match self.job.addr {
            SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let Ok(socket) = UdpSocket::bind(local).await else { return Answer::Unreachable };
        if socket.connect(self.job.addr).await.is_err() || socket.send(&probe.payload).await.is_err() {
            return Answer::Unreachable;
        }
        self.trace(probe, "sent");
        let mut buffer = vec![0; MAX_RESPONSE];
        match tokio::time::timeout(self.wait(probe), socket.recv(&mut buffer)).await {
            Ok(Ok(read)) => {
                buffer.truncate(read);
                self.trace_response(probe, &buffer);
                Answer::Data(buffer)
            }
            // A port unreachable: the port is closed after all.
            Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionRefused => Answer::Unreachable,
            Ok(Err(_)) | Err(_) => Answer::Nothing,
        }
    }

    fn trace(&self, probe: &Probe, what: &str) {
        if let Some(trace) = &self.config.trace {
            trace(format!("Service scan: {} probe {} {what} to {}", probe.protocol, probe.name, self.job.addr));
        }
    }

    fn trace_response(&self, probe: &Probe, response: &[u8]) {
        if let Some(trace) = &self.config.trace {
            let text = crate::fingerprint::escape(response);
            trace(format!(
                "Service scan: {} answered {} bytes to {}: \"{text}\"",
                self.job.addr,
                response.len(),
                probe.name
            ));
        }
    }
}
