//! tcpdump in a lab namespace: what really arrived there, as tcpdump prints it, to check on
//! the wire what a scan sent.

use std::io::{self, BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;

/// A running capture of the packets arriving in a namespace.
pub struct Capture {
    tcpdump: Child,
    reader: Option<JoinHandle<Vec<String>>>,
}

impl Capture {
    /// Starts capturing what arrives on every interface of `namespace` and passes `filter`
    /// (tcpdump's syntax), printed with `flags` (e.g. `-v` for TTLs, checksums and fragments)
    /// and the kernel's timestamps; returns once tcpdump listens.
    ///
    /// By default packets wait in tcpdump's ring for a block to fill or time out, and what is
    /// still there when the capture stops is lost: a capture of a scan over in milliseconds
    /// needs `--immediate-mode` among the flags (which in turn drops packets of large bursts).
    pub fn start(namespace: &str, filter: &str, flags: &[&str]) -> io::Result<Capture> {
        let mut tcpdump = Command::new("ip")
            .args(["netns", "exec", namespace, "tcpdump", "-i", "any", "-Q", "in", "-n", "-tt", "-l"])
            .args(flags)
            .arg(filter)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut errors = BufReader::new(tcpdump.stderr.take().expect("piped"));
        let mut line = String::new();
        while !line.contains("listening on") {
            line.clear();
            if errors.read_line(&mut line)? == 0 {
                return Err(io::Error::other("tcpdump ended before it listened"));
            }
        }
        let output = BufReader::new(tcpdump.stdout.take().expect("piped"));
        let reader = std::thread::spawn(move || output.lines().map_while(Result::ok).collect());
        Ok(Capture { tcpdump, reader: Some(reader) })
    }

    /// Stops the capture and returns tcpdump's lines, once it has had time to print what
    /// already arrived.
    pub fn stop(mut self) -> Vec<String> {
        std::thread::sleep(std::time::Duration::from_millis(200));
        self.interrupt();
        self.reader.take().map(|reader| reader.join().unwrap_or_default()).unwrap_or_default()
    }

    fn interrupt(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.tcpdump.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let _ = self.tcpdump.wait();
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.reader.is_some() {
            self.interrupt();
        }
    }
}
