//! Drives a [`ProbeEngine`] over raw sockets: this thread transmits, two threads receive (TCP
//! and ICMP), and the engine sits between them behind a lock.

use std::io;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use model::{HostResult, Protocol, Target};
use netio::{RawReceiver, RawSender, RawSocketError};
use probes::{parse_response, TcpTechnique};
use wire::ipv4::{PROTO_ICMP, PROTO_TCP};
use wire::tcp::{emit_probe_v4, PROBE_LEN};

use super::{ProbeEngine, RawConfig};
use crate::connect::ScanObserver;
use crate::CookieKey;

#[derive(Debug, thiserror::Error)]
pub enum RawScanError {
    #[error(transparent)]
    Socket(#[from] RawSocketError),
    #[error("no route to {addr}: {source}")]
    NoRoute { addr: Ipv4Addr, source: io::Error },
    #[error("sending to {addr} failed: {source}")]
    Send { addr: Ipv4Addr, source: io::Error },
    #[error("receiving failed: {0}")]
    Receive(io::Error),
    #[error("raw-packet scans of IPv6 targets ({0}) are not supported yet; use -sT")]
    Ipv6(std::net::Ipv6Addr),
}

/// How long a receive thread blocks before checking whether the scan is over.
const RECEIVE_POLL: Duration = Duration::from_millis(10);
/// Probes taken from the engine per lock.
const BATCH: usize = 64;
/// The longest the transmitter sleeps when it has nothing to send.
const IDLE_SLEEP: Duration = Duration::from_millis(1);

/// Scans `ports` of every target (all IPv4) and returns their results in target order.
pub fn run<T: TcpTechnique + 'static>(
    technique: T,
    config: RawConfig,
    targets: Vec<Target>,
    ports: Vec<u16>,
    observer: &(dyn ScanObserver + 'static),
) -> Result<Vec<HostResult>, RawScanError> {
    let mut addrs = targets.iter().map(|t| match t.addr {
        std::net::IpAddr::V4(addr) => Ok(addr),
        std::net::IpAddr::V6(addr) => Err(RawScanError::Ipv6(addr)),
    });
    let Some(first) = addrs.next().transpose()? else { return Ok(Vec::new()) };
    addrs.try_for_each(|addr| addr.map(drop))?;
    let source = match netio::source_for(first.into()) {
        Ok(std::net::IpAddr::V4(source)) => source,
        Ok(_) => unreachable!("an IPv4 route has an IPv4 source"),
        Err(source) => return Err(RawScanError::NoRoute { addr: first, source }),
    };
    let sender = RawSender::open()?;
    let receivers = [RawReceiver::open(PROTO_TCP, RECEIVE_POLL)?, RawReceiver::open(PROTO_ICMP, RECEIVE_POLL)?];
    let engine =
        Mutex::new(ProbeEngine::new(technique, config, CookieKey::random(), source, targets, ports, Instant::now()));
    let done = AtomicBool::new(false);

    std::thread::scope(|scope| {
        let receiving: Vec<_> =
            receivers.iter().map(|rx| scope.spawn(|| receive(rx, &engine, &done, observer))).collect();
        let sent = transmit(&sender, &engine);
        done.store(true, Ordering::Relaxed);
        for handle in receiving {
            handle.join().expect("receive thread panicked")?;
        }
        sent
    })?;
    Ok(engine.into_inner().expect("engine lock").into_results())
}

fn transmit<T: TcpTechnique>(sender: &RawSender, engine: &Mutex<ProbeEngine<T>>) -> Result<(), RawScanError> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut packet = [0u8; PROBE_LEN];
    loop {
        let now = Instant::now();
        let wakeup = {
            let mut engine = engine.lock().expect("engine lock");
            if engine.is_finished() {
                return Ok(());
            }
            batch.extend(std::iter::from_fn(|| engine.poll_transmit(now)).take(BATCH));
            engine.next_wakeup(now)
        };
        for probe in batch.drain(..) {
            let len = emit_probe_v4(probe.src, probe.dst, probe.ip_id, &probe.tcp, &mut packet)
                .expect("a probe fits its buffer");
            send_retrying(sender, &packet[..len], probe.dst)?;
        }
        let idle = wakeup.map_or(IDLE_SLEEP, |at| at.saturating_duration_since(Instant::now()).min(IDLE_SLEEP));
        if !idle.is_zero() {
            std::thread::sleep(idle);
        }
    }
}

/// Sends, waiting briefly while the kernel's queue is full rather than losing the probe.
fn send_retrying(sender: &RawSender, packet: &[u8], dst: Ipv4Addr) -> Result<(), RawScanError> {
    const NO_BUFFER_SPACE: i32 = 105;
    loop {
        match sender.send(packet, dst) {
            Ok(()) => return Ok(()),
            Err(error)
                if error.raw_os_error() == Some(NO_BUFFER_SPACE) || error.kind() == io::ErrorKind::WouldBlock =>
            {
                std::thread::sleep(Duration::from_micros(100));
            }
            Err(source) => return Err(RawScanError::Send { addr: dst, source }),
        }
    }
}

fn receive<T: TcpTechnique>(
    receiver: &RawReceiver,
    engine: &Mutex<ProbeEngine<T>>,
    done: &AtomicBool,
    observer: &dyn ScanObserver,
) -> Result<(), RawScanError> {
    let mut buf = [0u8; 2048];
    while !done.load(Ordering::Relaxed) {
        let Some(len) = receiver.recv(&mut buf).map_err(RawScanError::Receive)? else { continue };
        let Some(response) = parse_response(&buf[..len]) else { continue };
        let settled = engine.lock().expect("engine lock").handle(&response, Instant::now());
        if let Some(settled) = settled.filter(|s| s.state == model::PortState::Open) {
            observer.open_port_found(settled.addr.into(), Protocol::Tcp, settled.port);
        }
    }
    Ok(())
}
