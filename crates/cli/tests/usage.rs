//! The binary's contract with the shell: exit codes, one-line errors naming the bad token, and
//! a real scan of loopback without privileges or a lab.

use std::net::TcpListener;
use std::process::{Command, Output};

fn portolan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portolan")).args(args).output().expect("run portolan")
}

/// Usage errors exit 2 with one line naming the token and one pointing at the help.
fn assert_usage_error(args: &[&str], first_line: &str) {
    let output = portolan(args);
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines, [first_line, "See 'portolan -h' for a summary of options."], "{args:?}");
    assert!(output.stdout.is_empty(), "{args:?}: nothing on stdout");
}

#[test]
fn bad_options_and_specs_exit_2_naming_the_token() {
    assert_usage_error(&["--bogus", "127.0.0.1"], "portolan: unrecognized option '--bogus'");
    assert_usage_error(
        &["-p", "22,7x", "127.0.0.1"],
        "portolan: invalid port specification \"7x\": \"7x\" is not a port number",
    );
    assert_usage_error(
        &["127.0.0.300"],
        "portolan: invalid target specification \"127.0.0.300\": octets are numbers from 0 to 255",
    );
    assert_usage_error(
        &["-F", "-p", "22", "127.0.0.1"],
        "portolan: You cannot use -F (fast scan) with -p (explicit port selection) but see --top-ports",
    );
    assert_usage_error(
        &["-sC", "127.0.0.1"],
        "portolan: scan type '-sC' is not supported yet (the TCP scan types, -sI, -sU, -sY, -sZ, -sO, -sV, -sn and -sL work so far)",
    );
    assert_usage_error(&["-sO", "-6", "::1"], "portolan: -sO scans IPv4 hosts only so far");
    assert_usage_error(&["-sY", "-6", "::1"], "portolan: -sY scans IPv4 hosts only so far");
    assert_usage_error(&["-sI", "::1", "-6", "::1"], "portolan: -sI scans IPv4 hosts only so far");
    assert_usage_error(&["-sT", "-sO", "127.0.0.1"], "portolan: -sO with -sT is not supported yet; use -sS -sO");
    assert_usage_error(
        &["-sn", "-sO", "127.0.0.1"],
        "portolan: -sn scans no ports: it cannot go with a port scan type",
    );
    assert_usage_error(&["-sn", "-p", "80", "127.0.0.1"], "portolan: -sn scans no ports: it cannot go with -p");
    assert_usage_error(&["-sn", "-sV", "127.0.0.1"], "portolan: -sn scans no ports: it cannot go with -sV");
    assert_usage_error(&["-sL", "-PE", "127.0.0.1"], "portolan: -sL probes no host: it cannot go with -P options");
    assert_usage_error(&["-Pn", "-PS22", "127.0.0.1"], "portolan: -Pn skips host discovery; it cannot go with -PS");
    assert_usage_error(
        &["--dns-servers", "ns.example", "127.0.0.1"],
        "portolan: invalid value 'ns.example' for --dns-servers: name servers are given by address",
    );
    assert_usage_error(
        &["-sT", "--data", "00", "127.0.0.1"],
        "portolan: --data, --data-string and --data-length go into raw probes: use -sS, not -sT",
    );
    assert_usage_error(
        &["-sS", "-sT", "127.0.0.1"],
        "portolan: You specified more than one type of TCP scan. Please choose only one of -sT, -sS, -sF, -sN, -sX, -sM, -sA, -sW and -sI",
    );
    assert_usage_error(&["-p", "U:53", "127.0.0.1"], "portolan: the port specification names no TCP ports to scan");
    assert_usage_error(
        &["-sn", "-PS22,80-79", "127.0.0.1"],
        "portolan: -PS22,80-79: invalid port specification \"80-79\": range 80-79 runs backwards",
    );
}

#[test]
fn values_that_reached_a_panic_are_refused_before_any_probe() {
    // Regression: each of these panicked once the scan began (an Instant or a Duration
    // overflowing, a payload larger than a packet, more pings than a port number indexes).
    let huge = "4000000000000000h";
    assert_usage_error(
        &["--host-timeout", huge, "127.0.0.1"],
        &format!("portolan: invalid time '{huge}' for --host-timeout: at most 100 days"),
    );
    assert_usage_error(
        &["--scan-delay", huge, "127.0.0.1"],
        &format!("portolan: invalid time '{huge}' for --scan-delay: at most 100 days"),
    );
    assert_usage_error(
        &["--max-rate", "1e-300", "127.0.0.1"],
        "portolan: invalid value '1e-300' for --max-rate: at least one probe per 100 days",
    );
    let big = "a".repeat(65_508);
    assert_usage_error(
        &["-sU", "--data-string", &big, "127.0.0.1"],
        "portolan: --data-string: a payload of 65508 bytes: at most 65400",
    );
    assert_usage_error(
        &["-sn", "-PS0-65535", "-PA80", "127.0.0.1"],
        "portolan: 65537 discovery probes per host: at most 65536",
    );
}

#[test]
fn help_and_version_exit_0() {
    let help = portolan(&["-h"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8(help.stdout).unwrap().starts_with("portolan: a network port scanner"));
    let version = portolan(&["--version"]);
    assert_eq!(String::from_utf8(version.stdout).unwrap(), format!("portolan version {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn an_unreadable_target_list_exits_1() {
    let output = portolan(&["-iL", "/nonexistent/targets.txt"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("portolan: cannot read /nonexistent/targets.txt: "), "{stderr}");
}

#[test]
fn a_missing_or_hostile_version_database_is_one_clear_error() {
    let output = portolan(&["-sV", "--versiondb", "/nonexistent/service-probes", "127.0.0.1"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "portolan: --versiondb: no such file: /nonexistent/service-probes\n"
    );
    // A file of garbage loads nothing, and the scan still runs on portolan's own database.
    let garbage = std::env::temp_dir().join(format!("portolan-garbage-probes-{}", std::process::id()));
    std::fs::write(&garbage, b"Probe TCP\x00 q|\xff\nmatch ( m|(|\nrarity 99\n\xfe\xfe").unwrap();
    let output = portolan(&["-sV", "-n", "-Pn", "--versiondb", garbage.to_str().unwrap(), "-p", "1", "127.0.0.1"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    std::fs::remove_file(garbage).unwrap();
    assert_usage_error(
        &["--version-intensity", "high", "127.0.0.1"],
        "portolan: invalid value 'high' for --version-intensity: a level from 0 to 9",
    );
}

#[test]
fn scans_loopback_without_privileges_or_a_lab() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let output = portolan(&["-n", "-p", &port, "127.0.0.1"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("portolan scan report for 127.0.0.1\nHost is up ("), "{stdout}");
    assert!(stdout.contains(&format!("{port}/tcp open")), "{stdout}");
    assert!(stdout.contains("portolan done: 1 IP address (1 host up)"), "{stdout}");
}

/// Reading only the start of the output (`portolan … | head -1`) ends portolan by SIGPIPE, as
/// any filter, where it once panicked with "failed printing to stdout: Broken pipe".
#[test]
fn a_closed_standard_output_ends_the_scan_quietly() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portolan"))
        // Half a second of scanning after the first line: the pipe is closed by then.
        .args(["-n", "-Pn", "-p", "1-500", "--max-rate", "1000", "127.0.0.1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let first = std::io::BufReader::new(child.stdout.take().unwrap()).lines().next();
    assert!(first.is_some_and(|line| line.unwrap().starts_with("Starting portolan")));
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.signal(), Some(SIGPIPE), "{:?}", output.status);
}

/// SIGPIPE's number on Linux.
const SIGPIPE: i32 = 13;

#[test]
fn resume_comes_alone_and_needs_a_file_that_records_a_scan() {
    assert_usage_error(
        &["--resume", "scan.nmap", "-v"],
        "portolan: --resume takes no other options: portolan --resume FILE",
    );
    assert_usage_error(
        &["-v", "--resume", "scan.nmap"],
        "portolan: --resume takes no other options: portolan --resume FILE",
    );
    let dir = std::env::temp_dir().join(format!("portolan-resume-usage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unfinished = dir.join("cut.nmap");
    std::fs::write(
        &unfinished,
        "# portolan 0.1.0 scan initiated Thu Dec  3 10:00:00 2026 as: portolan -sT 127.0.0.1\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_portolan")).arg("--resume").arg(&unfinished).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "portolan: cannot resume from {}: malformed scan: no end line and no host: nothing to go on from\n",
            unfinished.display()
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn shards_of_random_targets_need_a_seed() {
    assert_usage_error(
        &["--shards", "0/2", "-iR", "10"],
        "portolan: --shards with -iR needs --seed, so that every shard draws the same targets",
    );
    assert_usage_error(
        &["--shards", "2/2", "127.0.0.1"],
        "portolan: invalid shard '2/2': expected I/N with 0 <= I < N (e.g. 0/4) for --shards",
    );
}

#[test]
fn the_stealth_schedule_refuses_what_it_cannot_cap() {
    assert_usage_error(
        &["-sT", "--evade-detectors", "zeek", "127.0.0.1"],
        "portolan: --evade-detectors needs a raw-packet scan (e.g. -sS): the connect scan cannot cap its rates per host yet",
    );
    assert_usage_error(
        &["--evade-detectors", "snort", "127.0.0.1"],
        "portolan: --evade-detectors: unknown detector 'snort': known are psad, zeek, sfportscan-low, sfportscan-medium, sfportscan-high, et",
    );
    assert_usage_error(
        &["--dry-run", "127.0.0.1"],
        "portolan: --dry-run prints a stealth schedule: name --evade-detectors",
    );
}

#[test]
fn unprivileged_as_an_option_or_from_nmaps_variable_keeps_to_connections() {
    let needs_raw = "portolan: -sS needs CAP_NET_RAW";
    let refused = |command: &mut Command| {
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(stderr.starts_with(needs_raw), "{stderr}");
    };
    let portolan = || Command::new(env!("CARGO_BIN_EXE_portolan"));
    refused(portolan().args(["--unprivileged", "-sS", "-p", "1", "127.0.0.1"]));
    refused(portolan().args(["-sS", "-p", "1", "127.0.0.1"]).env("NMAP_UNPRIVILEGED", "1"));
    // Without a technique, the connect scan, as for a user without privileges.
    let output = portolan().args(["--unprivileged", "-v", "-n", "-p", "1", "127.0.0.1"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Scan technique: TCP connect scan (-sT)"), "{stdout}");
}

#[test]
fn a_bad_budget_file_is_one_error_naming_its_line() {
    let dir = std::env::temp_dir().join(format!("portolan-budgets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let budgets = dir.join("budgets");
    std::fs::write(&budgets, "# mine\nids  ports-per-host  5  60\nids  portz  3  60\n").unwrap();
    let path = budgets.to_str().unwrap();
    assert_usage_error(
        &["--detector-budgets", path, "--dry-run", "127.0.0.1"],
        &format!("portolan: {path}: line 3: unknown rule 'portz'"),
    );
    let missing = dir.join("missing");
    let output = Command::new(env!("CARGO_BIN_EXE_portolan"))
        .args(["--detector-budgets", missing.to_str().unwrap(), "--dry-run", "127.0.0.1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(&format!("portolan: cannot read {}: ", missing.display())), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_ipv6_prefix_too_large_to_walk_is_refused_with_the_ways_around_it() {
    assert_usage_error(
        &["-6", "-sL", "2001:2::/64"],
        "portolan: \"2001:2::/64\": its 18446744073709551616 IPv6 addresses are more than the 65536 a prefix \
         may hold; scan a longer prefix (a /112 holds 65536), list the hosts with -iL, or raise \
         --ipv6-prefix-limit",
    );
    let raised = portolan(&["-6", "-sL", "-n", "--ipv6-prefix-limit", "131072", "2001:2::/111"]);
    assert!(raised.status.success(), "{}", String::from_utf8_lossy(&raised.stderr));
    assert_eq!(String::from_utf8_lossy(&raised.stdout).matches("scan report for").count(), 1 << 17);
    assert_usage_error(
        &["-6", "--ipv6-prefix-limit", "0", "::1"],
        "portolan: invalid value '0' for --ipv6-prefix-limit: must be at least 1",
    );
}

#[test]
fn a_link_local_target_needs_its_interface_and_zones_name_one() {
    assert_usage_error(
        &["-6", "fe80::1"],
        "portolan: fe80::1 is link-local: name its interface, as fe80::1%eth0 or with -e",
    );
    assert_usage_error(
        &["-6", "-e", "lo", "fe80::1%eth9"],
        "portolan: fe80::1%eth9: a scan goes out of one interface, and lo was named before",
    );
    assert_usage_error(
        &["-6", "--privileged", "-PP", "2001:2::1"],
        "portolan: -PP has no ICMPv6 counterpart; use -PE with -6",
    );
    assert_usage_error(
        &["-6", "fe80::1%"],
        "portolan: invalid target specification \"fe80::1%\": empty interface name after '%'",
    );
}

#[test]
fn evasion_values_and_the_connect_scan_are_refused_clearly() {
    assert_usage_error(&["--mtu", "12", "127.0.0.1"], "portolan: invalid value '12' for --mtu: a multiple of 8");
    assert_usage_error(
        &["--mimic", "plan9", "127.0.0.1"],
        "portolan: invalid value 'plan9' for --mimic: linux, windows or macos",
    );
    assert_usage_error(
        &["--ip-options", "L 198.18.0.300", "127.0.0.1"],
        "portolan: invalid value 'L 198.18.0.300' for --ip-options: R, T, U, L or S with addresses, or \\x bytes",
    );
    assert_usage_error(
        &["-6", "--privileged", "--ip-options", "R", "::1"],
        "portolan: --ip-options are IPv4 header options: IPv6 has none of them",
    );
    assert_usage_error(
        &["--ttl", "300", "127.0.0.1"],
        "portolan: invalid value '300' for --ttl: expected a whole number",
    );
    assert_usage_error(
        &["-D", "198.18.0.5,decoy.lab", "127.0.0.1"],
        "portolan: invalid decoy 'decoy.lab' for -D: an address, ME, RND or RND:<count>",
    );
    assert_usage_error(&["-D", "ME,ME", "127.0.0.1"], "portolan: -D ME,ME: ME appears more than once");
    assert_usage_error(
        &["-D", "RND:1000000", "127.0.0.1"],
        "portolan: -D RND:1000000: 1000000 decoys, more than the 128 Nmap allows",
    );
    assert_usage_error(&["-6", "-D", "RND:3", "::1"], "portolan: -D RND: random decoys are IPv4 addresses");
    assert_usage_error(
        &["-sT", "-f", "127.0.0.1"],
        "portolan: --mimic, --ttl, --badsum, -f, --mtu and --ip-options change raw probes: use -sS, not -sT",
    );
}

#[test]
fn randomize_hosts_lists_every_target_in_a_shuffled_order_a_seed_repeats() {
    let listed = |seed: &str| -> Vec<String> {
        let output = portolan(&["-sL", "-n", "--randomize-hosts", "--seed", seed, "198.18.0.0/26"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).unwrap();
        text.lines().filter_map(|line| line.strip_prefix("portolan scan report for ")).map(String::from).collect()
    };
    let (first, again, other) = (listed("1"), listed("1"), listed("2"));
    let mut sorted: Vec<String> = first.clone();
    sorted.sort_by_key(|addr| addr.parse::<std::net::Ipv4Addr>().unwrap());
    assert_eq!(sorted, (0..64).map(|i| format!("198.18.0.{i}")).collect::<Vec<_>>());
    assert_ne!(first, sorted, "shuffled");
    assert_eq!(first, again, "the seed repeats the order");
    assert_ne!(first, other);
}

#[test]
fn a_spoof_mac_nobody_makes_is_refused_naming_it() {
    assert_usage_error(
        &["--privileged", "--spoof-mac", "No Such Maker", "127.0.0.1"],
        "portolan: invalid value 'No Such Maker' for --spoof-mac: 0, a MAC address or prefix, or a vendor's name",
    );
    assert_usage_error(
        &["--privileged", "--spoof-mac", "0", "--send-ip", "127.0.0.1"],
        "portolan: --spoof-mac sends Ethernet frames: it cannot go with --send-ip",
    );
}

#[test]
fn proxies_are_given_by_address_and_relay_the_connect_scan_only() {
    assert_usage_error(
        &["-sT", "--proxies", "socks5://proxy.lab:1080", "127.0.0.1"],
        "portolan: invalid proxy 'socks5://proxy.lab:1080' for --proxies: socks4://, socks5:// or http:// and an address:port",
    );
    assert_usage_error(
        &["--privileged", "-sS", "--proxies", "socks5://127.0.0.1:1080", "127.0.0.1"],
        "portolan: --proxies relays connections: use -sT",
    );
    assert_usage_error(
        &["-sT", "-sV", "--proxies", "http://127.0.0.1:3128", "127.0.0.1"],
        "portolan: -sV does not go through --proxies yet",
    );
}

/// Runs portolan with its config home in `home`.
fn portolan_configured(home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portolan")).env("XDG_CONFIG_HOME", home).args(args).output().expect("run portolan")
}

#[test]
fn a_config_file_gives_defaults_the_command_line_overrides_and_says_where_they_come_from() {
    let home = std::env::temp_dir().join(format!("portolan-config-{}", std::process::id()));
    let scans = home.join("scans");
    std::fs::create_dir_all(home.join("portolan")).unwrap();
    std::fs::create_dir_all(&scans).unwrap();
    let file = home.join("portolan/config.toml");
    std::fs::write(&file, format!("output_dir = \"{}\"\ntiming = 4\n", scans.display())).unwrap();
    let shown = portolan_configured(&home, &["config", "show"]);
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(shown.contains("timing     = 4 (-T4)") && shown.contains(&format!("({})", file.display())), "{shown}");
    assert!(shown.lines().any(|line| line.starts_with("save ") && line.ends_with("(default)")), "{shown}");
    // A relative output file lands in the configured directory.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let scan = portolan_configured(&home, &["-sT", "-p", &port, "-oX", "scan.xml", "127.0.0.1"]);
    assert!(scan.status.success(), "{}", String::from_utf8_lossy(&scan.stderr));
    assert!(scans.join("scan.xml").exists(), "the XML went to output_dir");
    // A bad file is one error naming its line.
    std::fs::write(&file, "save = true\ntimng = 4\n").unwrap();
    let bad = portolan_configured(&home, &["-sT", "127.0.0.1"]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8(bad.stderr).unwrap();
    assert!(stderr.starts_with(&format!("portolan: {}: line 2: unknown field `timng`", file.display())), "{stderr}");
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn the_man_page_renders_and_the_completions_load() {
    let page = portolan(&["manpage"]);
    assert!(page.status.success());
    let dir = std::env::temp_dir().join(format!("portolan-docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("portolan.1");
    std::fs::write(&file, &page.stdout).unwrap();
    let present = Command::new("groff").arg("--version").output().is_ok();
    assert!(present || std::env::var_os("CI").is_none(), "the test script installs groff under CI");
    if present {
        let rendered = Command::new("groff").args(["-man", "-Tutf8", "-ww"]).arg(&file).output().unwrap();
        assert!(rendered.status.success());
        assert_eq!(String::from_utf8_lossy(&rendered.stderr), "", "groff warns");
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(text.contains("show every packet raw scans send and receive"), "{text}");
    }
    let bash = portolan(&["completions", "bash"]);
    let script = dir.join("portolan.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let checked = Command::new("bash").arg("-n").arg(&script).output().unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    for shell in ["zsh", "fish"] {
        let script = String::from_utf8(portolan(&["completions", shell]).stdout).unwrap();
        assert!(script.contains("portolan") && script.contains("packet-trace"), "{shell}: {script}");
    }
    assert_usage_error(
        &["completions", "tcsh"],
        "portolan: portolan completions bash|zsh|fish: a completion script for that shell",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
