//! A batch of frames leaves in as few system calls as the batch limit allows, each frame
//! once (needs root: it builds a lab whose sink counts what it is handed).

use netio::FrameSender;

/// Frames the lab's sink has been handed, as the calling thread's namespace counts them.
fn frames_into_sink() -> u64 {
    let table = std::fs::read_to_string("/proc/thread-self/net/dev").expect("net/dev");
    lab::frames_into_sink(&table).expect("the sink's count")
}

#[test]
fn send_many_sends_a_batch_a_call_and_says_how_many() {
    if !lab::available() {
        return;
    }
    let lab = lab::Lab::new().expect("build lab");
    lab.route_to_sink("198.19.0.0/16").expect("a route into the sink");
    let namespace = std::fs::File::open(format!("/run/netns/{}", lab.scanner_namespace())).expect("namespace");
    // setns moves only this thread, which then does the sending and the counting.
    nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET).expect("enter the scanner namespace");
    let interface = nix::net::if_::if_nametoindex(lab::SINK_DEVICE).expect("the sink");
    let sender = FrameSender::open(interface).expect("link-layer socket");
    let mut frame = [0u8; 60];
    wire::ethernet::emit_header(lab::NOWHERE_MAC, [2, 0, 0, 0, 0, 1], wire::ethernet::IPV4, &mut frame).unwrap();
    let frames = vec![&frame[..]; FrameSender::MOST_AT_ONCE + 36];

    let before = frames_into_sink();
    let first = sender.send_many(&frames).expect("the first batch");
    assert_eq!(first, FrameSender::MOST_AT_ONCE, "a call sends at most a batch");
    assert_eq!(sender.send_many(&frames[first..]).expect("the rest"), 36);
    assert_eq!(frames_into_sink() - before, frames.len() as u64, "every frame once");
}
