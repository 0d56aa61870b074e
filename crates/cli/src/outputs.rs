//! Where results go: the terminal's normal output and every `-o` file, and what their headers
//! say about the scan.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use model::Protocol;
use output::{
    Fanout, GrepableSink, JsonLayout, JsonSink, NormalOptions, NormalSink, ScanInfo, ScanStart, Sink, XmlSink,
};
use services::DataDirs;

use crate::args::{OutputFormat, ScanOptions, SctpScanType, Stylesheet, TcpScan};
use crate::error::RunError;
use crate::inputs::Ports;
use crate::resume::is_document;

pub(crate) fn normal_options(options: &ScanOptions) -> NormalOptions {
    NormalOptions {
        reason: options.reason,
        open_only: options.open_only,
        verbosity: options.verbosity,
        hosts_only: options.hosts_only,
        assume_up: options.assume_up,
    }
}

/// The terminal's normal output and every `-o` file, all opened before the scan so that an
/// unwritable path stops it before any probe. A format sent to standard output (`-`) replaces
/// the terminal's output there, as in Nmap.
pub(crate) fn sinks(options: &ScanOptions) -> Result<Fanout, RunError> {
    let normal = normal_options(options);
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if terminal_output(options) {
        // Buffered, so that a batch of hosts is one write, not one per line.
        sinks.push(Box::new(NormalSink::terminal(std::io::BufWriter::new(std::io::stdout()), normal)));
    }
    for (format, path) in &options.outputs {
        let out: Box<dyn Write> = if path == Path::new("-") {
            Box::new(std::io::BufWriter::new(std::io::stdout()))
        } else {
            // A resumed scan's documents are written anew, then joined with what they held.
            let append = options.append_output && !(options.resumed.is_some() && is_document(*format));
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(path)
                .map_err(|e| RunError::Failed(format!("cannot write {}: {e}", path.display())))?;
            Box::new(std::io::BufWriter::new(file))
        };
        sinks.push(match format {
            OutputFormat::Normal => Box::new(NormalSink::file(out, normal)),
            OutputFormat::Xml => Box::new(XmlSink::new(out, normal, stylesheet(options))),
            OutputFormat::Grepable => Box::new(GrepableSink::new(out, normal)),
            OutputFormat::Json => Box::new(JsonSink::new(out, normal, JsonLayout::Document)),
            OutputFormat::JsonLines => Box::new(JsonSink::new(out, normal, JsonLayout::Lines)),
        });
    }
    Ok(Fanout(sinks))
}

/// The stylesheet the XML names: Nmap's installed nmap.xsl by default, as Nmap does (portolan
/// ships none), or the user's choice.
fn stylesheet(options: &ScanOptions) -> Option<String> {
    match &options.stylesheet {
        Stylesheet::Installed => DataDirs::from_env(options.datadir.clone())
            .find("nmap.xsl")
            .map(|path| format!("file://{}", path.display())),
        Stylesheet::Href(href) => Some(href.clone()),
        Stylesheet::Omitted => None,
    }
}

/// Whether standard output carries the terminal's normal output (and `-v` lines), rather than
/// a format sent there with `-`.
pub(crate) fn terminal_output(options: &ScanOptions) -> bool {
    !options.outputs.iter().any(|(_, path)| path == Path::new("-"))
}

/// What the outputs' headers say about the scan about to run.
pub(crate) fn scan_start(options: &ScanOptions, technique: Option<TcpScan>, ports: &Ports) -> ScanStart {
    ScanStart {
        version: env!("CARGO_PKG_VERSION").to_string(),
        command_line: command_line(),
        started: jiff::Zoned::now(),
        scans: scan_infos(technique, options.sctp, ports),
        portless: if options.list_only { Some("list") } else { options.hosts_only.then_some("ping") },
        verbosity: options.verbosity,
    }
}

/// The command line as typed, quoted where a word needs it, so that `--resume` reads it back.
fn command_line() -> String {
    let words: Vec<String> = std::iter::once("portolan".to_string()).chain(std::env::args().skip(1)).collect();
    history::join_words(&words)
}

/// One `scaninfo` per protocol scanned: TCP, UDP, SCTP, then IP protocols, as Nmap orders them.
fn scan_infos(technique: Option<TcpScan>, sctp: Option<SctpScanType>, ports: &Ports) -> Vec<ScanInfo> {
    let tcp = technique.map(|technique| ScanInfo {
        scan_type: xml_scan_type(technique),
        protocol: Protocol::Tcp,
        ports: ports.tcp.clone(),
    });
    let udp = (!ports.udp.is_empty()).then(|| ScanInfo {
        scan_type: "udp",
        protocol: Protocol::Udp,
        ports: ports.udp.clone(),
    });
    let sctp = sctp.map(|kind| ScanInfo {
        scan_type: if kind == SctpScanType::Init { "sctpinit" } else { "sctpcookieecho" },
        protocol: Protocol::Sctp,
        ports: ports.sctp.clone(),
    });
    let protocols = (!ports.protocols.is_empty()).then(|| ScanInfo {
        scan_type: "ipproto",
        protocol: Protocol::Ip,
        ports: ports.protocols.clone(),
    });
    tcp.into_iter().chain(udp).chain(sctp).chain(protocols).collect()
}

/// Nmap's name for the technique in XML's `scaninfo`.
fn xml_scan_type(technique: TcpScan) -> &'static str {
    match technique {
        TcpScan::Connect => "connect",
        TcpScan::Syn => "syn",
        TcpScan::Fin => "fin",
        TcpScan::Null => "null",
        TcpScan::Xmas => "xmas",
        TcpScan::Maimon => "maimon",
        TcpScan::Ack => "ack",
        TcpScan::Window => "window",
        TcpScan::Idle => "idle",
    }
}

/// An in-memory writer that a sink can own while the caller keeps a handle to the text.
#[derive(Clone, Default)]
pub(crate) struct SharedBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("buffer lock")).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
