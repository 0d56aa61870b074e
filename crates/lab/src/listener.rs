//! Servers living inside the target namespace: TCP listeners and UDP fixture services.
//!
//! A helper thread enters the namespace (setns affects only the calling thread), binds the
//! sockets there, and serves them until told to stop. Sockets stay in the namespace they were
//! created in, whatever thread uses them.

use std::io;
use std::net::{Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sched::{setns, CloneFlags};

use crate::UdpService;

/// Servers that run until dropped.
pub struct Listeners {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const POLL: Duration = Duration::from_millis(20);

impl Listeners {
    /// Accepts and closes connections on these TCP ports.
    pub fn tcp(namespace: &str, ports: &[u16]) -> io::Result<Listeners> {
        let ports = ports.to_vec();
        Listeners::start(namespace, move || bind_all(&ports), |listeners| accept_all(listeners))
    }

    /// Runs a proxy of each kind on its port (see [`crate::ProxyKind`]).
    pub fn proxies(namespace: &str, proxies: &[(u16, crate::ProxyKind)]) -> io::Result<Listeners> {
        let proxies = proxies.to_vec();
        Listeners::start(
            namespace,
            move || crate::proxy::bind(&proxies),
            |listeners| crate::proxy::accept_all(listeners),
        )
    }

    /// Answers datagrams on each port as its service does.
    pub fn udp(namespace: &str, services: &[(u16, UdpService)]) -> io::Result<Listeners> {
        let services = services.to_vec();
        Listeners::start(namespace, move || bind_udp(&services), |sockets| answer_all(sockets))
    }

    /// Answers as each personality would, on its own address (see [`Lab::personalities`]):
    /// raw sockets see every TCP, UDP and ICMP packet to the namespace's addresses, and the
    /// answers leave marked, so that the firewall can drop the kernel's own.
    ///
    /// [`Lab::personalities`]: crate::Lab::personalities
    /// The SCTP host (see [`crate::SctpHost`]) answering in `namespace`.
    pub fn sctp(namespace: &str, host: crate::SctpHost) -> io::Result<Listeners> {
        let host = std::sync::Mutex::new([host]);
        Listeners::start(
            namespace,
            || crate::raw::open_raw_for(&[i32::from(wire::sctp::PROTO_SCTP)]),
            move |sockets| crate::raw::answer_all(sockets, &mut *host.lock().expect("SCTP host lock")),
        )
    }

    /// A user-space TCP host (see [`crate::TcpHost`]) answering in `namespace`.
    pub fn tcp_host(namespace: &str, host: crate::TcpHost) -> io::Result<Listeners> {
        let host = std::sync::Mutex::new([host]);
        Listeners::start(namespace, crate::raw::open_raw, move |sockets| {
            crate::raw::answer_all(sockets, &mut *host.lock().expect("TCP host lock"))
        })
    }

    pub fn personalities(namespace: &str, personalities: Vec<crate::Personality>) -> io::Result<Listeners> {
        let personalities = std::sync::Mutex::new(personalities);
        Listeners::start(namespace, crate::raw::open_raw, move |sockets| {
            crate::raw::answer_all(sockets, &mut personalities.lock().expect("personalities lock"))
        })
    }

    /// Binds with `bind` inside `namespace`, then calls `serve` (which says whether it had
    /// anything to do) until stopped.
    fn start<S: 'static>(
        namespace: &str,
        bind: impl FnOnce() -> io::Result<S> + Send + 'static,
        serve: impl Fn(&S) -> bool + Send + 'static,
    ) -> io::Result<Listeners> {
        let namespace_file = std::fs::File::open(format!("/var/run/netns/{namespace}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let stop_flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let bound = setns(&namespace_file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from).and_then(|()| bind());
            match bound {
                Ok(sockets) => {
                    let _ = ready_tx.send(Ok(()));
                    while !stop_flag.load(Ordering::Relaxed) {
                        if !serve(&sockets) {
                            std::thread::sleep(POLL);
                        }
                    }
                }
                Err(error) => {
                    let _ = ready_tx.send(Err(error));
                }
            }
        });
        ready_rx.recv().map_err(|_| io::Error::other("listener thread died"))??;
        Ok(Listeners { stop, thread: Some(thread) })
    }
}

/// One dual-stack listener per port, so IPv4 and IPv6 scans see the same ports.
fn bind_all(ports: &[u16]) -> io::Result<Vec<TcpListener>> {
    ports
        .iter()
        .map(|&port| {
            let listener = TcpListener::bind(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port))?;
            listener.set_nonblocking(true)?;
            Ok(listener)
        })
        .collect()
}

fn accept_all(listeners: &[TcpListener]) -> bool {
    let mut accepted = false;
    for listener in listeners {
        while let Ok((connection, _)) = listener.accept() {
            drop(connection);
            accepted = true;
        }
    }
    accepted
}

fn bind_udp(services: &[(u16, UdpService)]) -> io::Result<Vec<(UdpSocket, UdpService)>> {
    services
        .iter()
        .map(|&(port, service)| {
            let socket = UdpSocket::bind(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port))?;
            socket.set_nonblocking(true)?;
            Ok((socket, service))
        })
        .collect()
}

fn answer_all(sockets: &[(UdpSocket, UdpService)]) -> bool {
    let mut received = false;
    let mut buf = [0u8; 2048];
    for (socket, service) in sockets {
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            received = true;
            if let Some(reply) = service.reply(&buf[..len]) {
                let _ = socket.send_to(&reply, from);
            }
        }
    }
    received
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
