//! Wires a parsed command line to the scan: services table, ports, targets, engine and output.

use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use engine::drivers::connect::{ConnectConfig, ConnectScanner};
use engine::drivers::ScanObserver;
use engine::{Timing, TimingTemplate};
use futures::stream::{self, StreamExt};
use model::{HostResult, HostStatus, Protocol, ScanSummary, Target};
use output::{
    Fanout, GrepableSink, JsonLayout, JsonSink, NormalOptions, NormalSink, ScanInfo, ScanStart, Sink, XmlSink,
};
use services::{DataDirs, ServicesTable, TableSource};
use targets::{
    parse_target_list, select_ports, ExcludeList, Family, PortSelection, PortSpec, RandomTargets, SystemResolver,
    TargetSpec, TargetWalk,
};

use crate::args::{OutputFormat, Ping, ScanOptions, Stylesheet, TcpScan, TimingOptions};
use crate::discover::{with_discovery, Discovery};
use crate::names::NameFinder;
use crate::payloads::udp_payloads;
use crate::progress::Progress;
use crate::raw_scan::{raw_scan, raw_technique};

pub enum RunError {
    /// Bad input: exit code 2.
    Usage(String),
    /// The scan could not run: exit code 1.
    Failed(String),
}

/// Descriptors kept free for stdout, data files and the runtime.
const RESERVED_DESCRIPTORS: u64 = 64;
/// The descriptor limit assumed when it cannot be read or raised.
const FALLBACK_NOFILE: u64 = 1024;
/// Hosts scanned at once unless `--max-hostgroup` says otherwise.
const DEFAULT_HOSTGROUP: usize = 256;

pub fn run(options: ScanOptions) -> Result<(), RunError> {
    let started = Instant::now();
    check_minimums(&options.timing)?;
    let technique = choose_technique(&options)?;
    check_udp(&options, technique)?;
    let discovery = Discovery::choose(&options, technique)?;
    if options.verbosity > 0 && options.pings.contains(&Ping::Arp) {
        eprintln!("Note: -PR asks for nothing more: ARP already finds targets on our own Ethernet links");
    }
    let services = load_services(&options)?;
    let ports = if options.hosts_only {
        Ports { tcp: Vec::new(), udp: Vec::new() }
    } else {
        scan_ports(&options, &services, technique.is_some())?
    };
    let specs = target_specs(&options)?;
    let exclude = exclusions(&options)?;
    let stop = stop_on_signal()?;
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| RunError::Failed(format!("cannot start the runtime: {e}")))?;
    let names = {
        let _inside = runtime.enter();
        NameFinder::new(&options)
    };

    let saved_document = SharedBuffer::default();
    let mut sink = sinks(&options)?;
    if options.save {
        sink.0.push(Box::new(JsonSink::new(saved_document.clone(), normal_options(&options), JsonLayout::Document)));
    }
    let start = ScanStart {
        version: env!("CARGO_PKG_VERSION").to_string(),
        command_line: command_line(),
        started: jiff::Zoned::now(),
        scans: scan_infos(technique, &ports),
        portless: if options.list_only { Some("list") } else { options.hosts_only.then_some("ping") },
        verbosity: options.verbosity,
    };
    sink.start(&start).map_err(write_failed)?;
    announce(&options, &services, technique);

    let family = if options.ipv6 { Family::V6 } else { Family::V4 };
    let resolver = SystemResolver;
    let walk = TargetWalk::new(specs, family, exclude, &resolver);
    let targets = walk.filter_map(|item| item.map_err(|problem| eprintln!("{problem}")).ok());
    let progress = Progress::new();
    // The bar would be drawn over -v's lines as they come, so it shows without -v only.
    let reporter = progress.report(options.stats_every, !terminal_output(&options), options.verbosity == 0);
    let observer =
        Discoveries { verbose: options.verbosity > 0 && terminal_output(&options), progress: progress.clone() };
    let (mut scanned, mut up) = (0u64, 0u64);
    let mut report = |host: HostResult| {
        let host = name_services(host, &services);
        scanned += 1;
        up += u64::from(host.is_up());
        progress.host_done(host.is_up());
        progress.while_hidden(|| sink.host(&host)).map_err(write_failed)
    };
    let run = ScanRun {
        ports: &ports,
        discovery: &discovery,
        names: names.as_ref(),
        runtime: &runtime,
        observer: &observer,
        report: &mut report,
        stop: &stop,
    };
    let finished = if options.list_only {
        list_targets(targets, run)?
    } else if technique == Some(TcpScan::Connect) || matches!(discovery, Discovery::Connect) {
        connect_scan(&options, targets, run)?
    } else {
        raw_scan(&options, technique, targets, run)?
    };
    progress.finish();
    if let Some(reporter) = reporter {
        reporter.join().expect("the progress display panicked");
    }
    if scanned == 0 && finished == Finished::All {
        eprintln!("WARNING: No targets were specified, so 0 hosts scanned.");
    }
    let interrupted = finished == Finished::Interrupted;
    let summary = ScanSummary { hosts_scanned: scanned, hosts_up: up, elapsed: started.elapsed(), interrupted };
    sink.finish(&summary).map_err(write_failed)?;
    if interrupted {
        let hosts = if scanned == 1 { "host" } else { "hosts" };
        return Err(RunError::Failed(format!("interrupted: the output holds the {scanned} {hosts} completed")));
    }
    if options.save {
        let id = crate::history::save(&saved_document.text()).map_err(RunError::Failed)?;
        if terminal_output(&options) {
            println!("Saved as scan {id} (see 'portolan history', 'portolan diff')");
        }
    }
    Ok(())
}

/// An in-memory writer that a sink can own while the caller keeps a handle to the text.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn text(&self) -> String {
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

/// What both scan paths are given besides their targets.
pub(crate) struct ScanRun<'a> {
    pub ports: &'a Ports,
    pub discovery: &'a Discovery,
    /// Reverse DNS, unless `-n`.
    pub names: Option<&'a NameFinder>,
    pub runtime: &'a tokio::runtime::Runtime,
    pub observer: &'a Discoveries,
    /// Takes each host's result, in target order.
    pub report: &'a mut dyn FnMut(HostResult) -> Result<(), RunError>,
    pub stop: &'a AtomicBool,
}

/// Whether a scan ran to its end or was stopped by a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finished {
    All,
    Interrupted,
}

/// A flag raised by Ctrl-C or SIGTERM: the scan stops at the next host (or drops the raw group
/// it was in) and the output files are closed properly.
fn stop_on_signal() -> Result<Arc<AtomicBool>, RunError> {
    let stop = Arc::new(AtomicBool::new(false));
    let raised = stop.clone();
    ctrlc::set_handler(move || raised.store(true, Ordering::Relaxed))
        .map_err(|e| RunError::Failed(format!("cannot handle signals: {e}")))?;
    Ok(stop)
}

/// Resolves once `stop` is raised.
async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(STOP_POLL).await;
    }
}

/// How often a running scan looks at the stop flag.
const STOP_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// A minimum above its maximum cannot be honoured: refused before anything runs.
fn check_minimums(timing: &TimingOptions) -> Result<(), RunError> {
    let pairs = [
        ("--min-parallelism", timing.min_parallelism, "--max-parallelism", timing.max_parallelism),
        ("--min-hostgroup", timing.min_hostgroup, "--max-hostgroup", timing.max_hostgroup),
    ];
    for (min_name, min, max_name, max) in pairs {
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                return Err(RunError::Usage(format!("{min_name} ({min}) must not exceed {max_name} ({max})")));
            }
        }
    }
    Ok(())
}

/// Hosts a scan holds at once: the default or `--max-hostgroup`, raised to `--min-hostgroup`.
fn hostgroup(timing: &TimingOptions, default: usize) -> usize {
    timing.max_hostgroup.unwrap_or(default).max(timing.min_hostgroup.unwrap_or(1))
}

/// The TCP technique, if TCP is scanned. Nmap's choice: SYN when raw sockets are permitted,
/// connect otherwise, none when only `-sU` is asked for; and refusals, before anything is
/// printed, for combinations that cannot run.
fn choose_technique(options: &ScanOptions) -> Result<Option<TcpScan>, RunError> {
    if options.hosts_only || options.list_only {
        return check_hosts_only(options).map(|()| None);
    }
    let privileged = netio::has_cap_net_raw();
    let technique = match options.technique {
        Some(chosen) => chosen,
        None if options.scan_flags.is_some() => TcpScan::Syn,
        None if options.udp => return Ok(None),
        None if privileged && !options.ipv6 => TcpScan::Syn,
        None => TcpScan::Connect,
    };
    if technique == TcpScan::Connect {
        if options.udp {
            return Err(RunError::Usage("-sU with -sT is not supported yet; use -sS -sU".into()));
        }
        if options.source.port.is_some() {
            return Err(RunError::Usage("-g/--source-port works with raw-packet scans (e.g. -sS) only".into()));
        }
        if options.timing.max_scan_delay.is_some() {
            return Err(RunError::Usage("--max-scan-delay works with raw-packet scans (e.g. -sS) only so far".into()));
        }
        if options.timing.min_rate.is_some() {
            return Err(RunError::Usage("--min-rate works with raw-packet scans (e.g. -sS) only so far".into()));
        }
        if options.scan_flags.is_some() {
            return Err(RunError::Usage(
                "--scanflags needs a raw-packet scan type (e.g. -sS, -sF, -sA), not -sT".into(),
            ));
        }
        return Ok(Some(technique));
    }
    if !privileged {
        return Err(not_permitted(technique.flag()));
    }
    if options.ipv6 {
        return Err(RunError::Usage(format!("{} does not scan IPv6 yet; use -sT with -6", technique.flag())));
    }
    Ok(Some(technique))
}

/// `-sn` finds hosts and `-sL` lists them; neither scans ports, so options about ports have
/// nothing to act on, nor, for a listing, options about finding hosts.
fn check_hosts_only(options: &ScanOptions) -> Result<(), RunError> {
    let (flag, what) = if options.list_only { ("-sL", "probes no host") } else { ("-sn", "scans no ports") };
    let conflict = if options.list_only && options.hosts_only {
        Some("-sn")
    } else if options.list_only && (!options.pings.is_empty() || options.assume_up) {
        Some("-P options")
    } else if options.technique.is_some() || options.udp || options.scan_flags.is_some() {
        Some("a port scan type")
    } else if options.ports.is_some() {
        Some("-p")
    } else if options.top_ports.is_some() || options.fast {
        Some("--top-ports and -F")
    } else {
        None
    };
    match conflict {
        Some(option) => Err(RunError::Usage(format!("{flag} {what}: it cannot go with {option}"))),
        None => Ok(()),
    }
}

/// Refusals for the UDP scan and the payload options, before anything is printed.
fn check_udp(options: &ScanOptions, tcp: Option<TcpScan>) -> Result<(), RunError> {
    let udp_probes = options.udp || options.pings.iter().any(|ping| matches!(ping, Ping::Udp(_)));
    if options.payload.is_some() && (!udp_probes || tcp.is_some()) {
        return Err(RunError::Usage(
            "--data, --data-string and --data-length apply to UDP probes only so far (-sU or -PU, without a TCP scan)"
                .into(),
        ));
    }
    if !options.udp {
        return Ok(());
    }
    if !netio::has_cap_net_raw() {
        return Err(not_permitted("-sU"));
    }
    if options.ipv6 {
        return Err(RunError::Usage("-sU does not scan IPv6 yet".into()));
    }
    Ok(())
}

pub(crate) fn not_permitted(flag: &str) -> RunError {
    let instead = if flag == "-sU" { "" } else { ", or use -sT" };
    RunError::Failed(format!("{flag} needs CAP_NET_RAW (run as root{instead})"))
}

fn connect_scan(
    options: &ScanOptions,
    targets: impl Iterator<Item = Target>,
    run: ScanRun,
) -> Result<Finished, RunError> {
    let ScanRun { ports, discovery, names, runtime, observer, report, stop } = run;
    let ports = &ports.tcp[..];
    observer.progress.begin_phase("Connect Scan", 0);
    let scanner = ConnectScanner::new(connect_config(options));
    if options.verbosity > 0 && terminal_output(options) {
        println!("Connect scan: up to {} sockets in flight", scanner.max_in_flight());
    }
    let hostgroup = hostgroup(&options.timing, DEFAULT_HOSTGROUP);
    runtime.block_on(async {
        let scan = |target: Target| async {
            let found = discovery.find_by_connecting(&scanner, target.clone()).await?;
            let mut host = if !found.is_up() || options.hosts_only {
                found
            } else {
                let host =
                    scanner.scan_host(target, ports, observer).await.map_err(|e| RunError::Failed(e.to_string()))?;
                with_discovery(host, &found)
            };
            if let Some(names) = names {
                names.name_all(std::slice::from_mut(&mut host)).await;
            }
            Ok::<_, RunError>(host)
        };
        let mut hosts = stream::iter(targets).map(scan).buffered(hostgroup);
        loop {
            tokio::select! {
                host = hosts.next() => match host {
                    Some(host) => report(host?)?,
                    None => return Ok(Finished::All),
                },
                () = stopped(stop) => return Ok(Finished::Interrupted),
            }
        }
    })
}

/// Hosts listed per reverse DNS round of a listing.
const LIST_GROUP: usize = 4096;

/// `-sL`: every target reported, none probed, named by reverse DNS unless `-n`.
fn list_targets(mut targets: impl Iterator<Item = Target>, run: ScanRun) -> Result<Finished, RunError> {
    let ScanRun { names, runtime, report, stop, .. } = run;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Finished::Interrupted);
        }
        let mut listed: Vec<HostResult> = targets.by_ref().take(LIST_GROUP).map(listed).collect();
        if listed.is_empty() {
            return Ok(Finished::All);
        }
        if let Some(names) = names {
            runtime.block_on(names.name_all(&mut listed));
        }
        listed.into_iter().try_for_each(&mut *report)?;
    }
}

fn listed(target: Target) -> HostResult {
    HostResult { target, status: HostStatus::Listed, round_trip: None, ports: Vec::new() }
}

fn normal_options(options: &ScanOptions) -> NormalOptions {
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
fn sinks(options: &ScanOptions) -> Result<Fanout, RunError> {
    let normal = normal_options(options);
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if terminal_output(options) {
        sinks.push(Box::new(NormalSink::terminal(std::io::stdout(), normal)));
    }
    for (format, path) in &options.outputs {
        let out: Box<dyn Write> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(options.append_output)
                .truncate(!options.append_output)
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

/// The command line as typed, for the output files' headers.
fn command_line() -> String {
    std::iter::once("portolan".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ")
}

/// One `scaninfo` per protocol scanned, TCP first.
fn scan_infos(technique: Option<TcpScan>, ports: &Ports) -> Vec<ScanInfo> {
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
    tcp.into_iter().chain(udp).collect()
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
    }
}

fn write_failed(error: std::io::Error) -> RunError {
    RunError::Failed(format!("cannot write output: {error}"))
}

/// `-v` prints each open port the moment it is found, as Nmap does.
pub(crate) struct Discoveries {
    verbose: bool,
    pub progress: Arc<Progress>,
}

impl ScanObserver for Discoveries {
    fn open_port_found(&self, addr: IpAddr, protocol: Protocol, port: u16) {
        if self.verbose {
            println!("Discovered open port {port}/{protocol} on {addr}");
        }
    }

    fn probes_settled(&self, settled: u64, total: u64) {
        self.progress.probes_settled(settled, total);
    }

    fn unreachable(&self, addr: IpAddr, error: &std::io::Error) {
        self.progress.while_hidden(|| crate::notes::unreachable(addr, error));
    }
}

fn load_services(options: &ScanOptions) -> Result<ServicesTable, RunError> {
    match services::find_nmap_services(&DataDirs::from_env(options.datadir.clone())) {
        Some(path) => ServicesTable::load_nmap_services(&path).map_err(|e| RunError::Failed(e.to_string())),
        None => Ok(ServicesTable::embedded()),
    }
}

fn name_services(mut host: HostResult, services: &ServicesTable) -> HostResult {
    for port in &mut host.ports {
        port.service = services.name(port.protocol, port.port).map(str::to_string);
    }
    host
}

/// The ports each protocol's scan probes (empty for a protocol not scanned).
pub(crate) struct Ports {
    pub tcp: Vec<u16>,
    pub udp: Vec<u16>,
}

fn scan_ports(options: &ScanOptions, services: &ServicesTable, scans_tcp: bool) -> Result<Ports, RunError> {
    let explicit = options
        .ports
        .as_deref()
        .map(|text| PortSpec::parse(text, services))
        .transpose()
        .map_err(|e| RunError::Usage(e.to_string()))?;
    let prefixed: Vec<Protocol> = explicit.as_ref().map(|spec| spec.prefixed.clone()).unwrap_or_default();
    let selection = PortSelection { explicit, top: options.top_ports, fast: options.fast };
    let spec = select_ports(&selection, services).map_err(|e| RunError::Usage(e.to_string()))?;
    let chosen = |scanned: bool, set: &targets::PortSet, name: &str| -> Result<Vec<u16>, RunError> {
        let ports: Vec<u16> = if scanned { set.iter().collect() } else { Vec::new() };
        if scanned && ports.is_empty() {
            return Err(RunError::Usage(format!("the port specification names no {name} ports to scan")));
        }
        Ok(ports)
    };
    let ports = Ports { tcp: chosen(scans_tcp, &spec.tcp, "TCP")?, udp: chosen(options.udp, &spec.udp, "UDP")? };
    if prefixed.contains(&Protocol::Udp) && !options.udp || prefixed.contains(&Protocol::Sctp) {
        eprintln!("WARNING: Your ports include \"U:\" or \"S:\" but you haven't specified a UDP or SCTP scan; those ports are ignored.");
    }
    if prefixed.contains(&Protocol::Tcp) && !scans_tcp {
        eprintln!(
            "WARNING: Your ports include \"T:\" but you haven't specified any TCP scan type; those ports are ignored."
        );
    }
    Ok(ports)
}

/// Command-line targets, then `-iL`, then `-iR`, as one lazy sequence of specs.
fn target_specs(options: &ScanOptions) -> Result<Box<dyn Iterator<Item = TargetSpec>>, RunError> {
    let usage = |e: targets::TargetSpecError| RunError::Usage(e.to_string());
    let mut specs: Vec<TargetSpec> =
        options.targets.iter().map(|t| TargetSpec::parse(t)).collect::<Result<_, _>>().map_err(usage)?;
    if let Some(path) = &options.input_list {
        specs.extend(parse_target_list(&read_list(path)?).map_err(usage)?);
    }
    let random = options.random_targets.map(|count| RandomTargets::new(count, rand::rng()));
    Ok(Box::new(specs.into_iter().chain(random.into_iter().flatten())))
}

/// Reads an `-iL` or `--excludefile` list; `-` is standard input.
fn read_list(path: &Path) -> Result<String, RunError> {
    let failed = |e: std::io::Error| RunError::Failed(format!("cannot read {}: {e}", path.display()));
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(failed)?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(failed)
}

fn exclusions(options: &ScanOptions) -> Result<ExcludeList, RunError> {
    let usage = |e: targets::TargetSpecError| RunError::Usage(e.to_string());
    let mut specs: Vec<TargetSpec> =
        options.exclude.iter().map(|t| TargetSpec::parse(t)).collect::<Result<_, _>>().map_err(usage)?;
    if let Some(path) = &options.exclude_file {
        specs.extend(parse_target_list(&read_list(path)?).map_err(usage)?);
    }
    ExcludeList::new(specs, &SystemResolver).map_err(|e| RunError::Usage(e.to_string()))
}

fn connect_config(options: &ScanOptions) -> ConnectConfig {
    let nofile = netio::raise_nofile_limit().unwrap_or(FALLBACK_NOFILE);
    let socket_budget = usize::try_from(nofile.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX);
    ConnectConfig {
        timing: timing(&options.timing),
        socket_budget,
        max_rate: options.timing.max_rate,
        randomize_ports: !options.sequential_ports,
        assume_up: options.assume_up,
        source: options.source.clone(),
    }
}

/// The template's values with each fine-grained option laid over them.
pub(crate) fn timing(options: &TimingOptions) -> Timing {
    let mut timing = Timing::template(options.template.unwrap_or(TimingTemplate::Normal));
    if let Some(retries) = options.max_retries {
        timing.max_retries = retries;
    }
    if let Some(limit) = options.host_timeout {
        timing.host_timeout = (!limit.is_zero()).then_some(limit);
    }
    if let Some(delay) = options.scan_delay {
        timing.scan_delay = delay;
    }
    if let Some(delay) = options.max_scan_delay {
        timing.max_scan_delay = delay;
    }
    if let Some(initial) = options.initial_rtt_timeout {
        timing.initial_rtt_timeout = initial;
    }
    if let Some(min) = options.min_rtt_timeout {
        timing.min_rtt_timeout = min;
    }
    if let Some(max) = options.max_rtt_timeout {
        timing.max_rtt_timeout = max;
    }
    if let Some(parallelism) = options.max_parallelism {
        timing.max_parallelism = Some(parallelism);
    }
    if let Some(parallelism) = options.min_parallelism {
        timing.min_parallelism = Some(parallelism);
    }
    timing
}

/// `-v` lines before the scan: what table names the ports, and which techniques run.
fn announce(options: &ScanOptions, services: &ServicesTable, technique: Option<TcpScan>) {
    if options.verbosity == 0 || !terminal_output(options) {
        return;
    }
    match services.source() {
        TableSource::Embedded => println!("Service names and port ranks: portolan's embedded table"),
        TableSource::NmapServices(path) => println!("Service names and port ranks: {}", path.display()),
    }
    if options.udp {
        let source = udp_payloads(options).map_or_else(|_| "unreadable".into(), |(_, source)| source);
        println!("Scan technique: UDP Scan (-sU), payloads from {source}");
    }
    match technique {
        None => {}
        Some(TcpScan::Connect) if options.technique.is_none() && options.ipv6 && netio::has_cap_net_raw() => {
            println!("Scan technique: TCP connect scan (-sT): raw-packet scans of IPv6 are not built yet")
        }
        Some(TcpScan::Connect) => println!("Scan technique: TCP connect scan (-sT)"),
        Some(raw) => {
            let name = raw_technique(raw, options.scan_flags).name();
            match options.scan_flags {
                Some(flags) => println!("Scan technique: {name} ({}) with TCP flags 0x{flags:02x}", raw.flag()),
                None => println!("Scan technique: {name} ({})", raw.flag()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_hostgroups_rise_to_the_minimum() {
        let timing = TimingOptions { min_hostgroup: Some(1000), ..TimingOptions::default() };
        assert_eq!(hostgroup(&timing, DEFAULT_HOSTGROUP), 1000);
        assert_eq!(hostgroup(&TimingOptions::default(), DEFAULT_HOSTGROUP), DEFAULT_HOSTGROUP);
    }

    #[test]
    fn minimums_above_maximums_are_refused() {
        let timing = TimingOptions { min_parallelism: Some(10), max_parallelism: Some(5), ..TimingOptions::default() };
        let Err(RunError::Usage(message)) = check_minimums(&timing) else { panic!("accepted") };
        assert_eq!(message, "--min-parallelism (10) must not exceed --max-parallelism (5)");
        let timing = TimingOptions { min_hostgroup: Some(2), max_hostgroup: Some(2), ..TimingOptions::default() };
        assert!(check_minimums(&timing).is_ok());
    }

    #[test]
    fn min_parallelism_reaches_the_engine_timing() {
        let options = TimingOptions { min_parallelism: Some(64), ..TimingOptions::default() };
        assert_eq!(timing(&options).min_parallelism, Some(64));
    }
}
