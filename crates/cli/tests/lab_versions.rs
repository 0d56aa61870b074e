//! End-to-end: version detection (-sV) of real Debian daemons in the lab's target namespace,
//! on their usual ports and on unexpected ones. The daemons start once, for one test that asks
//! every question of them: the truth is the installed packages' versions, and Nmap's own -sV
//! is the oracle for what its database says.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use common::*;
use lab::{Daemon, Daemons, Lab, UdpService, MAIL_NAME, TARGET_V4, TLS_NAME, TLS_PORT};

/// Every daemon's ports, as `-p` takes them.
fn daemon_ports() -> String {
    let ports: Vec<String> = Daemon::ALL.iter().flat_map(|d| d.ports()).map(u16::to_string).collect();
    ports.join(",")
}

/// (service, product, version) per port, from a -oX file (ours or Nmap's); the service as the
/// normal output names it ("ssl/http").
fn services_in_xml(xml: &str) -> BTreeMap<u16, (String, String, String)> {
    let attribute = |element: &str, name: &str| {
        let key = format!(" {name}=\"");
        element.find(&key).map_or(String::new(), |at| {
            let value = &element[at + key.len()..];
            value[..value.find('"').unwrap_or(value.len())].to_string()
        })
    };
    let mut services = BTreeMap::new();
    for port in xml.split("<port ").skip(1) {
        let number = attribute(port, "portid").parse().expect("portid");
        let service = port.split("<service").nth(1).unwrap_or_default();
        let service = &service[..service.find('>').unwrap_or(service.len())];
        let name = match attribute(service, "tunnel") {
            tunnel if tunnel.is_empty() => attribute(service, "name"),
            tunnel => format!("{tunnel}/{}", attribute(service, "name")),
        };
        services.insert(number, (name, attribute(service, "product"), attribute(service, "version")));
    }
    services
}

/// python-libnmap reads our services as users' tools read Nmap's, and ndiff compares our scan
/// with Nmap's (it exits 2 on a file it cannot read). ndiff runs verbose: the ndiff of Nmap 7.93
/// fails on any port whose script results differ while the rest of its row does not (it
/// compares a list with 0), which our TLS script against Nmap's scan without it is.
fn assert_read_by_nmaps_tools(ours: &Path, nmap: &Path) {
    if python_module_present("libnmap") {
        let script = "import sys\nfrom libnmap.parser import NmapParser\n\
            h = NmapParser.parse_fromfile(sys.argv[1]).hosts[0]\n\
            print(*(f'{s.port} {s.service} {s.banner}' for s in h.services if s.port == 22))";
        let parsed = std::process::Command::new("python3").args(["-c", script]).arg(ours).output().unwrap();
        assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
        let line = String::from_utf8_lossy(&parsed.stdout);
        assert!(line.starts_with("22 ssh product: OpenSSH version: "), "{line}");
    }
    if has("ndiff") {
        let diff = std::process::Command::new("ndiff").arg("-v").arg(nmap).arg(ours).output().unwrap();
        assert_ne!(diff.status.code(), Some(2), "{}", String::from_utf8_lossy(&diff.stderr));
    }
}

/// The TLS lines printed under a port's row.
fn tls_lines_under(report: &str, port: u16) -> Vec<String> {
    let row = format!("{port}/tcp ");
    let lines = report.lines().skip_while(|line| !line.starts_with(&row)).skip(1);
    lines.take_while(|line| line.starts_with('|')).map(str::to_string).collect()
}

#[test]
fn version_detection_names_real_daemons_as_their_packages_and_nmap_do() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().expect("build lab");
    let scratch = scratch_dir("versions");
    let _daemons = Daemons::start(lab.target_namespace(), TARGET_V4, &scratch).expect("start the daemons");
    let ports = daemon_ports();
    let target = TARGET_V4.to_string();

    with_our_database_alone(&lab, &scratch, &ports, &target);
    after_a_connect_scan(&lab, &target);
    with_nmaps_database_as_nmap_says(&lab, &scratch, &ports, &target);
}

/// An empty `--versiondb` leaves portolan's own database alone to name everything, the
/// service behind TLS and its certificate too.
fn with_our_database_alone(lab: &Lab, scratch: &Path, ports: &str, target: &str) {
    let empty = scratch.join("empty-service-probes");
    std::fs::write(&empty, "").unwrap();
    let json = scratch.join("ours.json");
    let (empty, json_path) = (empty.to_str().unwrap(), json.to_str().unwrap());
    let started = Instant::now();
    let args =
        ["-sV", "-v", "--version-trace", "-n", "-Pn", "--versiondb", empty, "-oJ", json_path, "-p", ports, target];
    let output = portolan(lab, &args);
    let took = started.elapsed();
    let report = stdout(&output);
    assert_matches_json_schema(&json, false);
    let count = ports.split(',').count();
    assert!(report.contains("\nInitiating Service scan at "), "{report}");
    assert!(report.contains(&format!("\nScanning {count} services on 1 hosts\n")), "{report}");
    assert!(report.contains(&format!("s elapsed ({count} services on 1 hosts)\n")), "{report}");
    let trace = String::from_utf8_lossy(&output.stderr);
    assert!(trace.contains(&format!("Service scan: tcp probe NULL sent to {target}:22\n")), "{trace}");
    assert!(trace.contains(&format!("Service scan: {target}:22 answered ")), "{trace}");
    let found = lab::service_columns(&report);
    for daemon in Daemon::ALL {
        for &port in daemon.ports() {
            let (service, version) = daemon.truth(port).expect("the test script installs the daemons");
            assert_eq!(found.get(&port), Some(&(service.to_string(), version)), "port {port}:\n{report}");
        }
    }
    assert!(
        report.contains(&format!("\nService Info: Host: {MAIL_NAME}; OS: Linux; CPE: cpe:/o:linux:linux_kernel\n")),
        "{report}"
    );
    let tls_block = tls_lines_under(&report, TLS_PORT);
    assert_eq!(tls_block[0], "| tls: Session: TLSv1.3, TLS13_AES_256_GCM_SHA384, ALPN h2", "{report}");
    assert_eq!(
        tls_block[1..5],
        [
            format!("| Subject: CN={TLS_NAME}"),
            format!("| Subject Alternative Name: DNS:{TLS_NAME}"),
            format!("| Issuer: CN={TLS_NAME}"),
            "| Public Key: rsa 2048 bits".to_string(),
        ]
    );
    assert!(tls_block[6].starts_with("|_Not valid after: "), "{report}");
    eprintln!("portolan -sV, its own database: {:.2} s for {} ports", took.as_secs_f64(), found.len());
}

/// Without privileges the port scan is a connect scan: version detection follows it the same.
fn after_a_connect_scan(lab: &Lab, target: &str) {
    let report = stdout(&portolan(lab, &["-sT", "-sV", "-n", "-Pn", "-p", "22,8443", target]));
    let found = lab::service_columns(&report);
    for (daemon, port) in [(Daemon::Ssh, 22), (Daemon::Nginx, TLS_PORT)] {
        let (service, version) = daemon.truth(port).expect("installed daemons");
        assert_eq!(found.get(&port), Some(&(service.to_string(), version)), "port {port}:\n{report}");
    }
}

/// Ports where our database's answer, tried before Nmap's, is more exact than Nmap's (their
/// truth is checked with our database alone): PostgreSQL's range of versions ("14 - 17" where
/// Nmap says "9.6.0 or later"), and MariaDB named as itself (Nmap: "MySQL
/// 5.5.5-10.11.19-MariaDB-0+deb12u1", the version string MariaDB sends old clients).
const MORE_EXACT_THAN_NMAP: [u16; 2] = [5432, 3306];

/// With Nmap's nmap-service-probes installed, the product and version of each port are Nmap's
/// (or, where Nmap finds no version, a version Nmap's own rules gave us through a better probe).
fn with_nmaps_database_as_nmap_says(lab: &Lab, scratch: &Path, ports: &str, target: &str) {
    if !Path::new("/usr/share/nmap/nmap-service-probes").exists() || !has("nmap") {
        return;
    }
    let ours_xml = scratch.join("ours.xml");
    let started = Instant::now();
    stdout(&portolan(lab, &["-sV", "-n", "-Pn", "-oX", ours_xml.to_str().unwrap(), "-p", ports, target]));
    let our_time = started.elapsed();
    assert_valid_against_nmap_dtd(&ours_xml);

    let nmap_xml = scratch.join("nmap.xml");
    let started = Instant::now();
    let nmap_args = ["-sV", "-n", "-Pn", "-oX", nmap_xml.to_str().unwrap(), "-p", ports, target];
    assert!(lab.in_scanner("nmap").args(nmap_args).output().expect("run nmap").status.success());
    let nmap_time = started.elapsed();

    let ours = services_in_xml(&std::fs::read_to_string(&ours_xml).unwrap());
    let theirs = services_in_xml(&std::fs::read_to_string(&nmap_xml).unwrap());
    assert_read_by_nmaps_tools(&ours_xml, &nmap_xml);
    eprintln!("port   portolan                                  nmap");
    for (port, (name, product, version)) in &theirs {
        let (our_name, our_product, our_version) = &ours[port];
        eprintln!("{port:<6} {our_name} {our_product} {our_version:<30} {name} {product} {version}");
        // Where Nmap named no product its guess is the services table's; ours must be as good.
        if product.is_empty() {
            continue;
        }
        if MORE_EXACT_THAN_NMAP.contains(port) {
            continue;
        }
        assert_eq!((our_name, our_product), (name, product), "port {port}");
        assert!(version.is_empty() || our_version == version, "port {port}: {our_version:?} vs nmap's {version:?}");
    }
    assert_eq!(ours.len(), theirs.len());
    eprintln!("-sV: portolan {:.2} s, nmap {:.2} s", our_time.as_secs_f64(), nmap_time.as_secs_f64());
}

/// The lab's UDP fixtures answer DNS, NTP and SNMP requests as the protocols say; -sV names
/// each from its answer to our database's probe.
#[test]
fn udp_services_are_named_from_their_answers() {
    if !lab::available() {
        return;
    }
    let lab = Lab::new().expect("build lab");
    let services = [(53, UdpService::Dns), (123, UdpService::Ntp), (161, UdpService::Snmp)];
    let _fixtures = lab.serve_udp(&services).expect("start UDP services");
    let target = TARGET_V4.to_string();
    let report = stdout(&portolan(&lab, &["-sU", "-sV", "-n", "-Pn", "-p", "53,123,161", &target]));
    let rows: Vec<&str> = report.lines().filter(|line| line.contains("/udp ")).collect();
    assert_eq!(
        rows,
        ["53/udp  open  domain", "123/udp open  ntp     NTP", "161/udp open  snmp    SNMPv1 server (public)"],
        "{report}"
    );
}

/// Ctrl-C during the version scan ends it at once: the scan reports itself interrupted rather
/// than waiting out probes to a service that never answers (on loopback: no lab needed).
#[test]
fn an_interrupt_during_the_version_scan_ends_it_at_once() {
    use std::io::BufRead;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    // Accepts and says nothing: every probe waits its whole wait.
    std::thread::spawn(move || listener.incoming().flatten().for_each(std::mem::forget));
    let empty = scratch_dir("interrupt-versions").join("empty-service-probes");
    std::fs::write(&empty, "").unwrap();
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portolan"))
        .args([
            "-sV",
            "-v",
            "--version-all",
            "-n",
            "-Pn",
            "--versiondb",
            empty.to_str().unwrap(),
            "-p",
            &port,
            "127.0.0.1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    stdout.by_ref().map(Result::unwrap).find(|line| line.starts_with("Initiating Service scan"));
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    // The rest of standard output is read, or portolan would end at its next line (see
    // usage.rs, a_closed_standard_output_ends_the_scan_quietly).
    let _rest: Vec<String> = stdout.map(Result::unwrap).collect();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    // Every probe of our database, each waiting 300 ms, would take several seconds.
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "took {:?}", started.elapsed());
}
