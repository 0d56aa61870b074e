//! The prober against servers on loopback that this test starts: services that speak first,
//! services that need a probe, a TCP wrapper, and hostile servers that must cost a bounded time
//! and memory, never a panic.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::Protocol;
use versions::{nmap_probes, own_db, Outcome, PortJob, ProbeDb, ProberConfig, MAX_RESPONSE};

fn config() -> ProberConfig {
    ProberConfig { intensity: 7, socket_budget: 16, min_wait: Duration::from_millis(100), trace: None }
}

/// A TCP server on loopback running `serve` for every connection, each on its own thread.
fn tcp_server(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let serve = serve.clone();
            std::thread::spawn(move || serve(stream));
        }
    });
    addr
}

fn probe(db: &ProbeDb, addr: SocketAddr, protocol: Protocol) -> (Outcome, Duration) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let started = Instant::now();
    let job = PortJob { addr, protocol, rtt: None };
    let outcome = runtime.block_on(versions::probe_port(db, job, &config()));
    (outcome, started.elapsed())
}

fn identified(outcome: Outcome) -> (String, model::ServiceDetail) {
    outcome.into_service().expect("a service was named")
}

#[test]
fn a_banner_is_named_without_waiting_out_any_timeout() {
    let addr = tcp_server(|mut stream| {
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        std::thread::sleep(Duration::from_secs(5));
    });
    let (outcome, took) = probe(&own_db::embedded(), addr, Protocol::Tcp);
    let (service, detail) = identified(outcome);
    assert_eq!(service, "ssh");
    assert_eq!(detail.version_column(), "OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)");
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn a_server_that_waits_for_a_request_is_named_by_the_probe_it_answers() {
    let addr = tcp_server(|mut stream| {
        let mut request = [0; 512];
        if let Ok(read) = stream.read(&mut request) {
            if request[..read].starts_with(b"GET / ") {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 0\r\n\r\n");
            }
        }
    });
    let (outcome, took) = probe(&own_db::embedded(), addr, Protocol::Tcp);
    let (service, detail) = identified(outcome);
    assert_eq!((service.as_str(), detail.version_column().as_str()), ("http", "nginx 1.22.1"));
    assert_eq!(detail.cpe, ["cpe:/a:igor_sysoev:nginx:1.22.1"]);
    assert!(took < Duration::from_secs(2), "the banner wait and one answer, not Nmap's 5 s: {took:?}");
}

#[test]
fn a_connection_closed_at_once_with_nothing_said_is_tcpwrapped() {
    let addr = tcp_server(drop);
    let (outcome, _) = probe(&own_db::embedded(), addr, Protocol::Tcp);
    assert_eq!(outcome, Outcome::TcpWrapped);
}

#[test]
fn answers_no_rule_knows_give_a_fingerprint() {
    let addr = tcp_server(|mut stream| {
        let _ = stream.write_all(b"WHO GOES THERE\r\n");
        std::thread::sleep(Duration::from_millis(300));
    });
    let (outcome, _) = probe(&small_db(), addr, Protocol::Tcp);
    let Outcome::Unrecognized(fingerprint) = outcome else { panic!("{outcome:?}") };
    assert!(fingerprint.text().contains(r#"%r(NULL,10,"WHO\x20GOES\x20THERE\r\n")"#), "{}", fingerprint.text());
}

/// A database of two probes, to keep the hostile servers' tests short.
fn small_db() -> ProbeDb {
    let text = "Probe TCP NULL q||\ntotalwaitms 1000\nmatch x m|^never|\n\
                Probe TCP Hello q|hello\\r\\n|\nrarity 1\ntotalwaitms 1000\nmatch y m|^never either|\n";
    nmap_probes::parse(text.as_bytes()).db
}

#[test]
fn an_endless_banner_costs_bounded_memory_and_time() {
    let addr = tcp_server(|mut stream| while stream.write_all(&[b'A'; 65536]).is_ok() {});
    let (outcome, took) = probe(&small_db(), addr, Protocol::Tcp);
    let Outcome::Unrecognized(fingerprint) = outcome else { panic!("{outcome:?}") };
    assert!(fingerprint.text().contains(&format!("%r(NULL,{MAX_RESPONSE:X},")), "cut at {MAX_RESPONSE} bytes");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_server_dripping_a_byte_at_a_time_is_left_when_the_probe_wait_is_spent() {
    let addr = tcp_server(|mut stream| {
        while stream.write_all(b"x").is_ok() {
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let (_, took) = probe(&small_db(), addr, Protocol::Tcp);
    // Two probes, each cut at its 1 s total wait.
    assert!(took < Duration::from_millis(2500), "took {took:?}");
}

#[test]
fn a_reset_in_the_middle_of_a_probe_is_survived() {
    // Closing with unread bytes makes the kernel send a reset, not a FIN.
    let addr = tcp_server(|mut stream| {
        let _ = stream.write_all(b"partial");
        let _ = stream.read(&mut [0; 1]);
    });
    let (outcome, _) = probe(&small_db(), addr, Protocol::Tcp);
    assert!(matches!(outcome, Outcome::Unrecognized(_) | Outcome::Silent), "{outcome:?}");
}

#[test]
fn a_udp_service_is_named_from_its_reply() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0; 512];
        while let Ok((_, from)) = socket.recv_from(&mut buffer) {
            let _ = socket.send_to(b"VERSION 9.9\r\n", from);
        }
    });
    let text = "Probe UDP Version q|version\\r\\n|\nrarity 1\nmatch demo m|^VERSION ([\\d.]+)| p/Demo/ v/$1/\n";
    let (outcome, _) = probe(&nmap_probes::parse(text.as_bytes()).db, addr, Protocol::Udp);
    assert_eq!(identified(outcome).1.version_column(), "Demo 9.9");
}

#[test]
fn a_server_that_looks_like_tls_but_is_not_is_named_ssl_in_bounded_time() {
    // A TLS handshake record header, then bytes that are no handshake at all.
    let addr = tcp_server(|mut stream| {
        let _ = stream.write_all(b"\x16\x03\x01\x00\x05garbage and more garbage");
        std::thread::sleep(Duration::from_millis(300));
    });
    let (outcome, took) = probe(&own_db::embedded(), addr, Protocol::Tcp);
    let (service, detail) = identified(outcome);
    assert_eq!(service, "ssl");
    assert_eq!(detail.tls, None, "no session was made");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn a_server_short_of_connection_slots_is_named_on_every_port_it_serves() {
    // Like nginx past its worker_connections: beyond 4 at once, connections are closed unanswered.
    let active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let addr = tcp_server(move |mut stream| {
        use std::sync::atomic::Ordering::SeqCst;
        if active.fetch_add(1, SeqCst) < 4 {
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
            // The slot is free again when the client hangs up.
            let _ = stream.read(&mut [0; 64]);
        }
        active.fetch_sub(1, SeqCst);
    });
    let jobs = vec![PortJob { addr, protocol: Protocol::Tcp, rtt: None }; 40];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let config = ProberConfig { socket_budget: 64, ..config() };
    let outcomes = runtime.block_on(versions::probe_all(Arc::new(own_db::embedded()), jobs, config));
    let named = outcomes.into_iter().filter_map(Outcome::into_service).filter(|(service, _)| service == "ssh").count();
    assert_eq!(named, 40);
}
