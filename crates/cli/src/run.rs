//! Wires a parsed command line to the scan: services table, ports, targets, engine and output.

use std::sync::atomic::Ordering;
use std::time::Instant;

use model::{HostResult, HostStatus, ScanSummary, Target};
use output::{Fanout, JsonLayout, JsonSink, Sink};
use services::{ServicesTable, TableSource};

use crate::args::{Ping, ScanOptions, SctpScanType, TcpScan};
use crate::checks::{check_ip_protocols_and_sctp, check_minimums, check_udp, choose_technique};
use crate::connect_scan::connect_scan;
use crate::discover::Discovery;
use crate::error::{write_failed, RunError};
use crate::inputs::{load_services, name_services, scan_ports, target_walk};
use crate::names::NameFinder;
use crate::os_scan::OsScan;
use crate::outputs::{normal_options, scan_start, sinks, terminal_output, SharedBuffer};
use crate::payloads::udp_payloads;
use crate::progress::Progress;
use crate::raw_scan::{raw_scan, raw_technique};
use crate::resume;
use crate::session::{rate_caps, stop_on_signal, Discoveries, Finished, ScanRun};
use crate::stealth_plan;
use crate::traceroute::Traceroute;
use crate::version_scan::VersionScan;

pub fn run(mut options: ScanOptions) -> Result<(), RunError> {
    let started = Instant::now();
    options.privileged = options.privileged.or_else(privilege_from_environment);
    check_minimums(&options.timing)?;
    let technique = choose_technique(&options)?;
    check_udp(&options, technique)?;
    check_ip_protocols_and_sctp(&options)?;
    crate::decoys::check(&options, technique)?;
    crate::spoof_mac::apply(&mut options, technique)?;
    crate::notes::fragments_split_headers(options.ipv6, technique.is_some(), options.shaping.fragment_size);
    if options.shard.is_some() && options.random_targets.is_some() && options.seed.is_none() {
        return Err(RunError::Usage(
            "--shards with -iR needs --seed, so that every shard draws the same targets".into(),
        ));
    }
    let services = load_services(&options)?;
    let ports = scan_ports(&options, &services, technique.is_some())?;
    let schedule = stealth_plan::schedule(&mut options, technique, &ports)?;
    if let (Some(schedule), true) = (&schedule, options.stealth.dry_run) {
        print!("{schedule}");
        return Ok(());
    }
    let discovery = Discovery::choose(&options, technique)?;
    if options.aggressive {
        eprintln!(
            "Note: -A runs OS and version detection and traceroute (-O -sV --traceroute): scripts are not built yet"
        );
    }
    if !options.os.enabled && (options.os.guess || options.os.limit) {
        eprintln!("Note: --osscan-guess and --osscan-limit act only with -O");
    }
    if options.verbosity > 0 && options.pings.contains(&Ping::Arp) {
        eprintln!("Note: -PR asks for nothing more: ARP already finds targets on our own Ethernet links");
    }
    let walk = target_walk(&options)?;
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
    sink.start(&scan_start(&options, technique, &ports)).map_err(write_failed)?;
    announce(&options, &services, technique);
    if let Some(schedule) = &schedule {
        tell(&options, schedule);
    }

    // A target that cannot be resolved is told and skipped, as Nmap does.
    let targets = walk.filter_map(|item| item.map_err(|problem| eprintln!("{problem}")).ok());
    let completed = options.resumed.as_ref().map_or(0, |resumed| resumed.completed);
    let targets = targets.skip(usize::try_from(completed).unwrap_or(usize::MAX));
    let progress = Progress::new();
    // The bar would be drawn over -v's lines as they come, so it shows without -v only.
    let reporter = progress.report(options.stats_every, !terminal_output(&options), options.verbosity == 0);
    let verbose = options.verbosity > 0 && terminal_output(&options);
    let capped = rate_caps(&options.timing) != (None, None);
    let trace = crate::notes::PacketTrace::asked(&options);
    let observer = Discoveries { verbose, report_peaks: verbose && capped, progress: progress.clone(), trace };
    let (mut scanned, mut up) = (0u64, 0u64);
    let version_scan = options.versions.as_ref().map(|settings| VersionScan::load(&options, settings)).transpose()?;
    let os_scan = options.os.enabled.then(|| OsScan::load(&options)).transpose()?;
    let traceroute = options.traceroute.then(|| Traceroute::new(&options)).transpose()?;
    let mut report = |mut hosts: Vec<HostResult>| {
        if let Some(version_scan) = &version_scan {
            progress.while_hidden(|| version_scan.detect(&runtime, &mut hosts, &stop));
        }
        if let Some(os_scan) = &os_scan {
            progress.while_hidden(|| os_scan.detect(&mut hosts, &observer, &stop));
        }
        if let Some(traceroute) = &traceroute {
            progress.while_hidden(|| traceroute.trace(&mut hosts, &observer, &stop));
        }
        let write_all = |sink: &mut Fanout| {
            for host in hosts {
                let host = name_services(host, &services);
                scanned += 1;
                up += u64::from(host.is_up());
                progress.host_done(host.is_up());
                sink.host(&host)?;
            }
            sink.flush()
        };
        progress.while_hidden(|| write_all(&mut sink)).map_err(write_failed)
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
    // A signal during the last batch's version scan stops it, though every host was scanned.
    let interrupted = finished == Finished::Interrupted || stop.load(Ordering::Relaxed);
    let summary = ScanSummary { hosts_scanned: scanned, hosts_up: up, elapsed: started.elapsed(), interrupted };
    sink.finish(&summary).map_err(write_failed)?;
    drop(sink);
    if let Some(resumed) = &options.resumed {
        resume::join_documents(resumed)?;
    }
    if interrupted {
        let hosts = if scanned == 1 { "host" } else { "hosts" };
        let resume = (options.outputs.iter())
            .find(|(_, path)| path != std::path::Path::new("-"))
            .map(|(_, path)| format!("; 'portolan --resume {}' goes on from there", path.display()))
            .unwrap_or_default();
        return Err(RunError::Failed(format!("interrupted: the output holds the {scanned} {hosts} completed{resume}")));
    }
    if options.save {
        save_to_history(&options, &saved_document)?;
    }
    Ok(())
}

/// `--save`: the scan's JSON document goes into the history database.
fn save_to_history(options: &ScanOptions, document: &SharedBuffer) -> Result<(), RunError> {
    let id = crate::history::save(&document.text()).map_err(RunError::Failed)?;
    if terminal_output(options) {
        println!("Saved as scan {id} (see 'portolan history', 'portolan diff')");
    }
    Ok(())
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
        report(listed)?;
    }
}

fn listed(target: Target) -> HostResult {
    HostResult { target, status: HostStatus::Listed, round_trip: None, ports: Vec::new(), os: None, trace: None }
}

/// Nmap's NMAP_PRIVILEGED and NMAP_UNPRIVILEGED, set to anything: as `--privileged` and
/// `--unprivileged` (which win over them); NMAP_PRIVILEGED first, as in Nmap.
fn privilege_from_environment() -> Option<bool> {
    if std::env::var_os("NMAP_PRIVILEGED").is_some() {
        return Some(true);
    }
    std::env::var_os("NMAP_UNPRIVILEGED").map(|_| false)
}

/// Text for the user before the scan: on standard output with the report, or on standard
/// error when standard output carries a file format.
fn tell(options: &ScanOptions, text: &str) {
    if terminal_output(options) {
        print!("{text}");
    } else {
        eprint!("{text}");
    }
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
    match options.sctp {
        Some(SctpScanType::Init) => println!("Scan technique: SCTP INIT Scan (-sY)"),
        Some(SctpScanType::CookieEcho) => println!("Scan technique: SCTP COOKIE-ECHO Scan (-sZ)"),
        None => {}
    }
    if options.ip_protocols {
        println!("Scan technique: IPProto Scan (-sO)");
    }
    match technique {
        None => {}
        Some(TcpScan::Connect) => println!("Scan technique: TCP connect scan (-sT)"),
        Some(TcpScan::Idle) => {
            let (zombie, port) = options.zombie.as_ref().expect("-sI names its zombie");
            println!("Scan technique: Idle Scan (-sI) through the zombie {zombie}, asked on port {port}");
        }
        Some(raw) => {
            let name = raw_technique(raw, options.scan_flags).name();
            match options.scan_flags {
                Some(flags) => println!("Scan technique: {name} ({}) with TCP flags 0x{flags:02x}", raw.flag()),
                None => println!("Scan technique: {name} ({})", raw.flag()),
            }
        }
    }
}
