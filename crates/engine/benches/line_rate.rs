//! The engine alone at line rate: how many probes a second one core can have the raw engine
//! decide and build, with no socket in the way. A SYN scan of 16 ports on 65536 hosts
//! (1,048,576 probes, one try each, `--min-rate` far above what any sender reaches), driven
//! with a virtual clock that advances as a sender at 1 GbE line rate would (1.49 M probes a
//! second), in three ways:
//!   silent      no probe is answered (every port filtered): the probe's path alone
//!   built       the same, each probe also written out as the IP packet the sender sends
//!   answered    every probe answered at once with a RST: the reply's path too
//!
//! Run: cargo bench -p engine --bench line_rate [-- silent|built|answered]
//!
//! The sender itself is measured apart (`cargo bench -p netio --bench tx`); the two together
//! by peer-bench's l1 scenario, on the wire.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use engine::{CookieKey, ProbeEngine, RawConfig, ScanGroup, Timing, TimingTemplate};
use model::Target;
use probes::{Response, SynScan, TcpReply, Transport};
use wire::tcp::flags;

/// As the `portolan` binary allocates.
#[global_allocator]
static ALLOCATOR: netio::HugePageAlloc = netio::HugePageAlloc;

const HOSTS: u32 = 1 << 16;
const PORTS: u16 = 16;
/// The virtual time between two probes: 1 GbE at minimum frame size.
const LINE_RATE_GAP: Duration = Duration::from_nanos(671);
const ROUNDS: usize = 5;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Silent,
    Built,
    Answered,
}

fn main() {
    let chosen: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    println!("engine alone, one core, {HOSTS} hosts x {PORTS} ports, best of {ROUNDS} rounds:");
    let modes = [(Mode::Silent, "silent"), (Mode::Built, "built"), (Mode::Answered, "answered")];
    for (mode, label) in modes.into_iter().filter(|(_, label)| chosen.is_empty() || chosen.iter().any(|c| c == label)) {
        let best = (0..ROUNDS).map(|_| probes_per_second(mode)).fold(0.0, f64::max);
        println!("  {label:<10} {best:>12.0} probes/s  ({:.0} ns a probe)", 1e9 / best);
    }
}

fn scan() -> ProbeEngine<SynScan> {
    let source = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
    let targets = (0..HOSTS).map(|n| Target::from_addr(IpAddr::V4(Ipv4Addr::from(0xc613_0000 + n)))).collect();
    let timing = Timing { max_retries: 0, ..Timing::template(TimingTemplate::Aggressive) };
    let config = RawConfig { timing, min_rate: Some(1e9), assume_up: true, ..RawConfig::default() };
    let group = ScanGroup { sources: vec![source], targets, ports: (1..=PORTS).collect() };
    ProbeEngine::new(SynScan, config, group, CookieKey::new(1, 2), &mut rand::rng(), Instant::now())
}

/// Runs one whole scan and returns the probes sent per second of real time.
fn probes_per_second(mode: Mode) -> f64 {
    let mut engine = scan();
    let mut now = Instant::now();
    let mut packet = [0u8; 128];
    let mut sent = 0u64;
    let started = Instant::now();
    while !engine.is_finished() {
        match engine.poll_transmit(now) {
            Some(probe) => {
                sent += 1;
                if mode != Mode::Silent {
                    let len = probe.transport.emit(probe.src, probe.dst, probe.ip_id, &mut packet).expect("emit");
                    std::hint::black_box(&packet[..len]);
                }
                if mode == Mode::Answered {
                    engine.handle(&reset_for(&probe), now);
                }
                now += LINE_RATE_GAP;
            }
            None => now = engine.next_wakeup(now).unwrap_or(now + LINE_RATE_GAP).max(now + LINE_RATE_GAP),
        }
    }
    assert_eq!(sent, u64::from(HOSTS) * u64::from(PORTS), "one try a port");
    sent as f64 / started.elapsed().as_secs_f64()
}

/// The RST a closed port answers `probe` with.
fn reset_for(probe: &engine::core::probe_engine::Probe) -> Response {
    let Transport::Tcp(tcp) = &probe.transport else { unreachable!("a SYN scan sends TCP") };
    Response::Tcp(TcpReply {
        src: probe.dst,
        src_port: tcp.dst_port,
        dst: probe.src,
        dst_port: tcp.src_port,
        seq: 0,
        ack: tcp.seq.wrapping_add(1),
        flags: flags::RST | flags::ACK,
        window: 0,
        ttl: 64,
    })
}
