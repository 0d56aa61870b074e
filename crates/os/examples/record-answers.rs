//! Records one round of OS-detection answers from a real host, in the text form the
//! fingerprint's fixtures use (crates/os/tests/fixtures). Run as root inside a lab's scanner
//! namespace, e.g.:
//!
//!   ip netns exec SCANNER cargo run -p os --example record-answers -- 198.18.0.1 198.18.0.2 22 23 40000

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use engine::drivers::{exchange, ScanObserver};
use os::probe::{HostProbes, PORTS_PER_ROUND};
use os::{Round, RoundConfig};

struct Quiet;

impl ScanObserver for Quiet {
    fn open_port_found(&self, _: std::net::IpAddr, _: model::Protocol, _: u16) {}
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, dst, open, closed, udp] = &args[..] else {
        eprintln!("usage: record-answers SRC DST OPEN_TCP CLOSED_TCP CLOSED_UDP");
        std::process::exit(2);
    };
    let parse_port = |text: &str| text.parse::<u16>().unwrap_or_else(|_| panic!("not a port: {text}"));
    let port_base = 40_000;
    let probes = HostProbes {
        src: src.parse().expect("SRC is an IPv4 address"),
        dst: dst.parse().expect("DST is an IPv4 address"),
        open_tcp: Some(parse_port(open)),
        closed_tcp: Some(parse_port(closed)),
        closed_udp: Some(parse_port(udp)),
        port_base,
        seq_base: 0x1234_5678,
        ack: 0x8765_4321,
        echo_id: 0x4242,
    };
    let mut round = Round::new(vec![probes], RoundConfig::default(), Instant::now());
    let ports = port_base..=port_base + PORTS_PER_ROUND - 1;
    exchange::run(&mut round, None, ports, &Quiet, &AtomicBool::new(false)).expect("the round runs");
    print!("{}", round.into_answers().remove(0).to_text());
}
