//! The sender alone: probes per second through a raw IP socket and through a link-layer
//! socket, a frame a call and a batch a call, each for a second at a time, alternating.
//! Builds its own lab (needs root) and sends only into the lab's sink, a link whose kernel
//! driver discards every frame (see `lab::Lab::route_to_sink`), so no receiving side takes a
//! share of the sender's core.
//!
//! Run: cargo bench -p netio --bench tx
//!
//! Measured: a link-layer socket sends 1.1-2x as many probes a second as a raw IP socket
//! (2x on one 2-core machine; 1.1-1.8x on a 2-core virtual machine whose veth, before the
//! sink, cost the kernel some 1.3-1.6 us a frame), and into the sink a batch of 64 frames a
//! call (sendmmsg) 1.3x as many as one a call (1.23 vs 0.93 M frames a second, one core of
//! that virtual machine). A transmit ring is discussed at `FrameSender`.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use netio::{FrameSender, RawSender};
use wire::tcp::{emit_probe_v4, flags, ProbeRepr, LINUX_SYN_WINDOW};

/// An address routed into the sink.
const NOBODY: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
const SPAN: Duration = Duration::from_secs(1);
const ROUNDS: usize = 3;

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("tx bench: needs root to build its lab");
        return;
    }
    let lab = lab::Lab::new().expect("build lab");
    lab.route_to_sink("198.19.0.0/16").expect("a route into the sink");
    let our_mac_text = lab.sink_mac().expect("sink MAC");
    let namespace = format!("/run/netns/{}", lab.scanner_namespace());
    // setns moves only this thread, which then does all the sending.
    let file = std::fs::File::open(namespace).expect("scanner namespace");
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("enter the scanner namespace");

    let mut frame = [0u8; 128];
    let repr = ProbeRepr {
        src_port: 40000,
        dst_port: 80,
        seq: 1,
        ack: 0,
        flags: flags::SYN,
        window: LINUX_SYN_WINDOW,
        timestamp: 1,
    };
    let len = emit_probe_v4(lab::SINK_V4, NOBODY, 1, &repr, &mut frame[14..]).expect("probe");
    let interface = nix::net::if_::if_nametoindex(lab::SINK_DEVICE).expect("the sink");
    let mut our_mac = [0u8; 6];
    for (byte, text) in our_mac.iter_mut().zip(our_mac_text.split(':')) {
        *byte = u8::from_str_radix(text, 16).expect("hex");
    }
    wire::ethernet::emit_header(lab::NOWHERE_MAC, our_mac, wire::ethernet::IPV4, &mut frame).unwrap();

    let ip = RawSender::open(false, None).expect("raw IP socket");
    let link = FrameSender::open(interface).expect("link-layer socket");
    let batch = [&frame[..14 + len]; FrameSender::MOST_AT_ONCE];
    let (mut ip_rates, mut link_rates, mut batch_rates) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ip_rates.push(rate(|| ip.send(&frame[14..14 + len], NOBODY.into()).map(|()| 1)));
        link_rates.push(rate(|| link.send(&frame[..14 + len]).map(|()| 1)));
        batch_rates.push(rate(|| link.send_many(&batch)));
    }
    let best = |rates: &[f64]| rates.iter().copied().fold(0.0, f64::max);
    println!("sender alone, {ROUNDS} rounds of {SPAN:?} each, alternating; best round:");
    println!("  raw IP socket (sendto)        {:>10.0} probes/s", best(&ip_rates));
    println!("  link-layer socket (send)      {:>10.0} probes/s", best(&link_rates));
    println!("  link-layer socket (sendmmsg)  {:>10.0} probes/s", best(&batch_rates));
    println!("  link-layer / raw IP           {:>10.2}x", best(&link_rates) / best(&ip_rates));
    println!("  sendmmsg / send               {:>10.2}x", best(&batch_rates) / best(&link_rates));
}

/// Probes per second `send` (which returns how many it sent) manages for `SPAN`; a full
/// queue yields and goes on, as the runner waits and retries.
fn rate(send: impl Fn() -> std::io::Result<usize>) -> f64 {
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < SPAN {
        for _ in 0..16 {
            match send() {
                Ok(count) => sent += count as u64,
                Err(error) if error.raw_os_error() == Some(libc::ENOBUFS) => std::thread::yield_now(),
                Err(error) => panic!("send failed: {error}"),
            }
        }
    }
    sent as f64 / start.elapsed().as_secs_f64()
}
