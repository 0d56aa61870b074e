//! Silence and rationed ICMP errors in every technique: a host that has just spent its errors
//! (on another scan, say) answers a rejected port with nothing, and the engine must not take
//! that silence for the port's own.

use model::{HostStatus, PortState, Reason};
use probes::{AckScan, StealthScan, SynScan, TcpTechnique, UdpPayloads, UdpScan};

use super::sim::{config, ErrorBucket, Port, Sim, HOST, MS, ROUTER};
use super::*;

/// A host with listening, closed, dropped and rejected ports, limiting its errors as Linux
/// does, its bucket `bucket` when the scan starts.
fn firewalled<T: Technique>(technique: T, bucket: ErrorBucket) -> Sim<T> {
    let ports: Vec<u16> = (1..=200).chain([3306, 5432]).collect();
    let mut sim = Sim::new(technique, RawConfig { assume_up: true, ..config() }, &[HOST], &ports, 11);
    sim.error_limit = Some(ErrorBucket::LINUX);
    sim.set_bucket(HOST, bucket);
    sim.set(HOST, 22, Port::Listening).set(HOST, 80, Port::Listening);
    sim.set(HOST, 25, Port::Dropped).set(HOST, 3306, Port::Dropped);
    sim.set(HOST, 110, Port::Rejected(13)).set(HOST, 5432, Port::Rejected(13));
    sim
}

/// Nmap's table for a TCP technique over what Linux answers.
fn truth(technique: &dyn TcpTechnique, port: Port) -> (PortState, Reason) {
    let answered = |flags| technique.classify_tcp(&probes::TcpReply { flags, ..linux_reply() });
    let rst = answered(wire::tcp::flags::RST);
    match (port, technique.probe_flags() & wire::tcp::flags::ACK != 0) {
        (Port::Rejected(_), _) => (PortState::Filtered, Reason::AdminProhibited),
        (Port::Dropped, _) => technique.on_timeout(),
        // Linux answers any segment with ACK with a RST; a listener answers a SYN with a
        // SYN/ACK and drops a segment without SYN, RST or ACK.
        (_, true) | (Port::Closed, false) => rst.expect("a RST means something"),
        (Port::Listening, false) if technique.probe_flags() == wire::tcp::flags::SYN => {
            answered(wire::tcp::flags::SYN | wire::tcp::flags::ACK).expect("open")
        }
        (Port::Listening, false) => technique.on_timeout(),
        (other, _) => unreachable!("no such port here: {other:?}"),
    }
}

fn linux_reply() -> probes::TcpReply {
    probes::TcpReply {
        src: HOST,
        src_port: 1,
        dst: super::sim::SCANNER,
        dst_port: 40000,
        seq: 0,
        ack: 0,
        flags: 0,
        window: 0,
        ttl: 64,
    }
}

#[test]
fn rejected_ports_of_a_host_that_just_spent_its_errors_come_out_prohibited_in_every_technique() {
    // Regression: scanned right after another scan had spent the host's errors, its two
    // rejected ports came out filtered (no-response) with -sS and -sA, open|filtered with -sF,
    // in nearly every run. Their silence is now believed only once the host is shown to have
    // had an error to spare; the two errors come at the host's pace, one a second.
    let techniques: [&dyn TcpTechnique; 6] =
        [&SynScan, &StealthScan::FIN, &StealthScan::NULL, &StealthScan::XMAS, &StealthScan::MAIMON, &AckScan];
    for technique in techniques {
        let mut sim = firewalled(technique, ErrorBucket::LINUX_SPENT);
        let took = sim.run(Duration::from_secs(600));
        assert!(took < Duration::from_secs(4), "{}: took {took:?}", technique.name());
        assert_eq!(sim.wrong_verdicts(|port| truth(technique, port)), [], "{}", technique.name());
    }
}

#[test]
fn a_host_with_errors_to_spare_is_scanned_without_waiting_for_them() {
    // The rejected ports' errors come at once, and the dropped ports' silence is proven by a
    // canary (a rejected port probed again right after them) within a few round trips.
    let mut sim = firewalled(SynScan, ErrorBucket::LINUX);
    let took = sim.run(Duration::from_secs(600));
    assert!(took < MS(300), "took {took:?}");
    assert_eq!(sim.wrong_verdicts(|port| truth(&SynScan, port)), []);
}

#[test]
fn a_host_that_only_drops_is_proven_silent_by_a_udp_canary() {
    // No port of the scan draws an error from a firewall that only drops; a datagram to a
    // closed UDP port does, from the same bucket. One follows each dropped port's last try.
    let mut sim = firewalled(SynScan, ErrorBucket::LINUX);
    sim.set(HOST, 110, Port::Dropped).set(HOST, 5432, Port::Dropped);
    let took = sim.run(Duration::from_secs(600));
    assert!(took < MS(300), "took {took:?}");
    let canaries = sim.probes_to(HOST, CANARY_UDP_PORT).len();
    assert!((1..=usize::from(EARLY_CANARIES)).contains(&canaries), "{canaries} canaries");
    assert_eq!(sim.wrong_verdicts(|port| truth(&SynScan, port)), []);
}

#[test]
fn a_host_that_drops_udp_too_is_believed_after_a_quiet_period() {
    let mut sim = firewalled(SynScan, ErrorBucket::LINUX);
    sim.set(HOST, 110, Port::Dropped).set(HOST, 5432, Port::Dropped).set(HOST, CANARY_UDP_PORT, Port::Dropped);
    let took = sim.run(Duration::from_secs(600));
    assert!(took < MS(2000), "took {took:?}");
    assert_eq!(sim.wrong_verdicts(|port| truth(&SynScan, port)), []);
}

#[test]
fn a_host_rejecting_every_port_is_scanned_in_bounded_time() {
    // iptables' default REJECT answers every TCP port with a port unreachable, rationed to one
    // a second: proving every silence would take an hour for 3,000 ports. After a few sweeps
    // without proof, the host's silences are believed, as Nmap believes them.
    let ports: Vec<u16> = (1..=3000).collect();
    let mut sim = Sim::new(SynScan, RawConfig { assume_up: true, ..config() }, &[HOST], &ports, 12);
    sim.error_limit = Some(ErrorBucket::LINUX);
    sim.default_port = Port::Rejected(3);
    sim.set(HOST, 22, Port::Listening);
    let took = sim.run(Duration::from_secs(3600));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let results = sim.results();
    assert!(results[0].ports.iter().filter(|p| p.port != 22).all(|p| p.state == PortState::Filtered));
}

#[test]
fn a_port_unreachable_from_a_router_means_filtered_and_says_nothing_of_the_host() {
    // Regression: a router rejecting UDP for the target with port unreachable made every port
    // closed and the host up. Only the target itself says a port is closed (as Nmap reads it).
    let technique = UdpScan::new(UdpPayloads::embedded());
    let mut sim = Sim::new(technique, config(), &[HOST], &[53, 161, 500], 13);
    sim.error_limit = Some(ErrorBucket::LINUX);
    sim.default_port = Port::RouterRejects(3);
    sim.run(Duration::from_secs(600));
    let results = sim.results();
    let verdicts: Vec<_> = results[0].ports.iter().map(|p| (p.state, p.reason, p.reason_ip)).collect();
    let by_router = (PortState::Filtered, Reason::PortUnreach, Some(ROUTER));
    assert_eq!(verdicts, [by_router; 3]);
    assert_eq!(results[0].status, HostStatus::SILENT);
}

#[test]
fn a_paced_scan_of_a_firewalled_host_finishes() {
    // Regression: with --scan-delay 10ms the canary never left in the same batch as the held
    // try it was to prove, every canary's error put off the quiet period, and the scan of a
    // host with a dropped and a rejected port never ended.
    let config = RawConfig { timing: Timing { scan_delay: MS(10), ..Timing::default() }, assume_up: true, ..config() };
    let ports: Vec<u16> = (20..=30).chain([110]).collect();
    let mut sim = Sim::new(SynScan, config, &[HOST], &ports, 14);
    sim.set(HOST, 25, Port::Dropped).set(HOST, 110, Port::Rejected(13));
    let took = sim.run(Duration::from_secs(600));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(sim.wrong_verdicts(|port| truth(&SynScan, port)), []);
}

#[test]
fn a_dropped_ports_last_try_is_proven_silent_by_the_canary_sent_with_it() {
    // Regression: a dropped port's last try, silent on a host that answers, was held and
    // sent again with a canary a round later, so every firewalled host's scan ended three
    // timeouts after its last new probe. The canary now follows the last try itself.
    let mut sim = firewalled(SynScan, ErrorBucket::LINUX);
    sim.run(Duration::from_secs(600));
    for dropped in [25, 3306] {
        assert_eq!(sim.probes_to(HOST, dropped).len(), 2, "port {dropped}: a try and one retry");
    }
    assert_eq!(sim.wrong_verdicts(|port| truth(&SynScan, port)), []);
}
