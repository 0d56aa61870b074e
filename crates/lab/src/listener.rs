//! TCP listeners living inside the target namespace.
//!
//! A helper thread enters the namespace (setns affects only the calling thread), binds the
//! listeners there, and accepts and closes connections until told to stop. Sockets stay in the
//! namespace they were created in, whatever thread uses them.

use std::io;
use std::net::{Ipv6Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sched::{setns, CloneFlags};

/// Listeners that run until dropped.
pub struct Listeners {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const POLL: Duration = Duration::from_millis(20);

impl Listeners {
    pub fn start(namespace: &str, ports: &[u16]) -> io::Result<Listeners> {
        let namespace_file = std::fs::File::open(format!("/var/run/netns/{namespace}"))?;
        let ports = ports.to_vec();
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let stop_flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let bound = setns(&namespace_file, CloneFlags::CLONE_NEWNET)
                .map_err(io::Error::from)
                .and_then(|()| bind_all(&ports));
            match bound {
                Ok(listeners) => {
                    let _ = ready_tx.send(Ok(()));
                    accept_until_stopped(&listeners, &stop_flag);
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

fn accept_until_stopped(listeners: &[TcpListener], stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let mut accepted = false;
        for listener in listeners {
            while let Ok((connection, _)) = listener.accept() {
                drop(connection);
                accepted = true;
            }
        }
        if !accepted {
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
