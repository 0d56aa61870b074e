//! The connect runner against real sockets on loopback (no lab needed, no privileges).

use std::net::{IpAddr, TcpListener};
use std::sync::Mutex;

use engine::drivers::connect::{ConnectConfig, ConnectScanner};
use engine::drivers::ScanObserver;
use engine::{Source, Timing};
use model::{HostStatus, PortState, Protocol, Reason, Target};

#[derive(Default)]
struct Recorder(Mutex<Vec<u16>>);

impl ScanObserver for Recorder {
    fn open_port_found(&self, _addr: IpAddr, _protocol: Protocol, port: u16) {
        self.0.lock().unwrap().push(port);
    }
}

fn config(assume_up: bool) -> ConnectConfig {
    ConnectConfig {
        timing: Timing::default(),
        socket_budget: 256,
        max_rate: None,
        randomize_ports: true,
        assume_up,
        source: Source::default(),
        seed: None,
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, noted, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn listening_port_is_open_and_a_free_port_is_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().port();
    let closed = free_port();
    let recorder = Recorder::default();
    let scanner = ConnectScanner::new(config(false));
    let target = Target::from_addr("127.0.0.1".parse().unwrap());
    let host = scanner.scan_host(target, &[closed, open], &recorder).await.unwrap();

    let mut expected = vec![(open, PortState::Open, Reason::SynAck), (closed, PortState::Closed, Reason::ConnRefused)];
    expected.sort();
    let got: Vec<_> = host.ports.iter().map(|p| (p.port, p.state, p.reason)).collect();
    assert_eq!(got, expected);
    assert!(matches!(host.status, HostStatus::Up { .. }));
    assert!(host.latency().is_some());
    assert_eq!(*recorder.0.lock().unwrap(), vec![open]);
}

#[tokio::test]
async fn a_thousand_closed_ports_with_a_small_socket_budget() {
    let scanner = ConnectScanner::new(ConnectConfig { socket_budget: 8, ..config(false) });
    let target = Target::from_addr("127.0.0.1".parse().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().port();
    // Ports below 1024 on loopback: nothing of ours listens there in a test environment, and
    // none is in the ephemeral range, so none can be a self-connection.
    let mut ports: Vec<u16> = (1..1000).collect();
    ports.push(open);
    let host = scanner.scan_host(target, &ports, &Recorder::default()).await.unwrap();
    assert_eq!(host.ports.len(), 1000);
    assert!(host.ports.windows(2).all(|w| w[0].port < w[1].port), "sorted by port");
    let open_ports: Vec<u16> = host.ports.iter().filter(|p| p.state == PortState::Open).map(|p| p.port).collect();
    assert!(open_ports.contains(&open));
}

#[tokio::test]
async fn assume_up_reports_the_host_up_as_user_set() {
    let scanner = ConnectScanner::new(config(true));
    let target = Target::from_addr("127.0.0.1".parse().unwrap());
    let host = scanner.scan_host(target, &[free_port()], &Recorder::default()).await.unwrap();
    assert_eq!(host.status, HostStatus::Up { reason: Reason::UserSet });
}

#[tokio::test]
async fn host_up_reason_is_syn_ack_whichever_port_answers_first() {
    // Many closed ports and one open one, in random order: a RST usually arrives first, but
    // the report must name the strongest evidence every time.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut ports: Vec<u16> = (1..200).collect();
    ports.push(listener.local_addr().unwrap().port());
    let scanner = ConnectScanner::new(config(false));
    for _ in 0..5 {
        let target = Target::from_addr("127.0.0.1".parse().unwrap());
        let host = scanner.scan_host(target, &ports, &Recorder::default()).await.unwrap();
        assert_eq!(host.status, HostStatus::Up { reason: Reason::SynAck });
    }
    let target = Target::from_addr("127.0.0.1".parse().unwrap());
    let closed_only = scanner.scan_host(target, &[free_port()], &Recorder::default()).await.unwrap();
    assert_eq!(closed_only.status, HostStatus::Up { reason: Reason::ConnRefused });
}
