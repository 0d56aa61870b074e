//! Nmap's command-line grammar: single-dash long options (`-iL`, `-oX`), values attached or
//! separate (`-p22`, `-p 22`), clustered flags (`-nF`), `--name=value`, and `-T` by number or
//! name. Every option either works or is refused with "not supported yet": none is ignored.

use std::path::PathBuf;
use std::time::Duration;

use engine::TimingTemplate;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Scan(Box<ScanOptions>),
    Help,
    Version,
    /// `--iflist`: list interfaces and routes.
    InterfaceList,
}

/// A file output format (`-oN`, `-oX`, `-oG`, `-oJ`, `--ndjson`; `-oA` asks for the first four).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Normal,
    Xml,
    Grepable,
    /// One JSON document for the scan.
    Json,
    /// One JSON object per line, as results come.
    JsonLines,
}

impl OutputFormat {
    /// The file name ending `-oA` gives each format, as Nmap does.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Normal => "nmap",
            OutputFormat::Xml => "xml",
            OutputFormat::Grepable => "gnmap",
            OutputFormat::Json => "json",
            OutputFormat::JsonLines => "ndjson",
        }
    }
}

/// The XSL stylesheet the XML output names (`--stylesheet`, `--webxml`, `--no-stylesheet`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Stylesheet {
    /// Nmap's installed nmap.xsl, when there is one.
    #[default]
    Installed,
    Href(String),
    Omitted,
}

/// Where `--webxml` points, per Nmap's manual.
const NMAP_ORG_XSL: &str = "https://nmap.org/svn/docs/nmap.xsl";

/// The TCP scan technique asked for with `-s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpScan {
    Connect,
    Syn,
    Fin,
    Null,
    Xmas,
    Maimon,
    Ack,
    Window,
    /// `-sI`: through an idle zombie (see [`ScanOptions::zombie`]).
    Idle,
}

impl TcpScan {
    /// The option that asks for it.
    pub fn flag(self) -> &'static str {
        match self {
            TcpScan::Connect => "-sT",
            TcpScan::Syn => "-sS",
            TcpScan::Fin => "-sF",
            TcpScan::Null => "-sN",
            TcpScan::Xmas => "-sX",
            TcpScan::Maimon => "-sM",
            TcpScan::Ack => "-sA",
            TcpScan::Window => "-sW",
            TcpScan::Idle => "-sI",
        }
    }
}

/// The SCTP scan types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SctpScanType {
    /// `-sY`
    Init,
    /// `-sZ`
    CookieEcho,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanOptions {
    /// `None`: Nmap's default, SYN when raw sockets are permitted, else connect.
    pub technique: Option<TcpScan>,
    /// `--scanflags`: the probe's TCP flags, replies read by the technique's table.
    pub scan_flags: Option<u8>,
    /// `-sU`
    pub udp: bool,
    /// `-sO`: the IP protocol scan.
    pub ip_protocols: bool,
    /// `-sY` or `-sZ`: an SCTP scan.
    pub sctp: Option<SctpScanType>,
    /// `-sn`: find the hosts that are up, scan no ports.
    pub hosts_only: bool,
    /// `-sL`: list the targets, probe nothing.
    pub list_only: bool,
    /// `-PE`, `-PP`, `-PM`, `-PS`, `-PA`, `-PU`: the discovery probes; empty for the default.
    pub pings: Vec<Ping>,
    /// `-n` (never) and `-R` (every target): reverse DNS; by default, hosts found up.
    pub reverse_dns: ReverseDns,
    /// `--dns-servers`: ask these instead of the system's name servers.
    pub dns_servers: Vec<std::net::IpAddr>,
    /// `--system-dns`: ask the C library's resolver, one address at a time.
    pub system_dns: bool,
    /// `--send-ip`, `--disable-arp-ping`: no ARP discovery, even on our own Ethernet link.
    pub no_arp: bool,
    /// `--stats-every`: print Nmap's "Stats:" lines this often.
    pub stats_every: Option<Duration>,
    /// `--data`, `--data-string`, `--data-length`: one payload for every UDP probe.
    pub payload: Option<Payload>,
    pub targets: Vec<String>,
    pub input_list: Option<PathBuf>,
    pub random_targets: Option<u64>,
    /// `--seed`: the same random choices each run (-iR's targets, the probe order).
    pub seed: Option<u64>,
    /// `--shards I/N`: scan slice I of N of the targets (beyond Nmap).
    pub shard: Option<targets::Shard>,
    /// `--resolve-all`: scan every address a name resolves to, of both families.
    pub resolve_all: bool,
    /// `-d`, `-dd`, `-d<level>`: how much of the engine's decisions to tell.
    pub debug: u8,
    /// `--packet-trace`: print every packet raw scans send and receive.
    pub packet_trace: bool,
    /// `--randomize-hosts`: shuffle each group of 16384 targets (by `--seed` when given).
    pub randomize_hosts: bool,
    /// `--ipv6-prefix-limit`: the most addresses an IPv6 prefix may hold (beyond Nmap); `None`
    /// for [`targets::DEFAULT_IPV6_PREFIX_LIMIT`].
    pub ipv6_prefix_limit: Option<u128>,
    pub exclude: Vec<String>,
    pub exclude_file: Option<PathBuf>,
    pub ports: Option<String>,
    pub top_ports: Option<usize>,
    pub fast: bool,
    pub sequential_ports: bool,
    pub assume_up: bool,
    pub ipv6: bool,
    pub open_only: bool,
    pub reason: bool,
    pub verbosity: u8,
    pub datadir: Option<PathBuf>,
    /// `-S`, `-e`, `-g`/`--source-port`
    pub source: engine::Source,
    /// `--ttl`, `--badsum`, `-f`, `--mtu`: how raw probes are changed once built.
    pub shaping: engine::Shaping,
    /// `--ip-options`: the IPv4 options every raw probe carries.
    pub ip_options: Option<Vec<u8>>,
    /// `--spoof-mac`: as written (0, a prefix, a whole address or a vendor's name); the
    /// address is drawn when the scan starts, from the vendors table.
    pub spoof_mac: Option<String>,
    /// `-D`: the decoys as written; random ones are drawn when the scan starts.
    pub decoys: Option<Vec<Decoy>>,
    /// `-sI <zombie>[:<port>]`: the idle scan's zombie as written, and the port it is asked on.
    pub zombie: Option<(String, u16)>,
    /// `-oN`, `-oX`, `-oG`, `-oA`: each format with its file (`-` for standard output).
    pub outputs: Vec<(OutputFormat, PathBuf)>,
    /// `--append-output`: add to output files instead of replacing them.
    pub append_output: bool,
    /// `--save`: keep the scan in the history database.
    pub save: bool,
    pub stylesheet: Stylesheet,
    pub timing: TimingOptions,
    /// `-sV` (or `-A`) and its settings; `None` without version detection.
    pub versions: Option<VersionOptions>,
    /// `-O` (or `-A`) and its settings.
    pub os: OsOptions,
    /// `--traceroute` (or `-A`)
    pub traceroute: bool,
    /// `-A`: of Nmap's "-O -sV -sC --traceroute", all but scripts exist so far.
    pub aggressive: bool,
    /// `--evade-detectors`, `--detector-budgets`, `--dry-run` (beyond Nmap).
    pub stealth: StealthOptions,
    /// Set by `--resume`: where the interrupted scan stopped.
    pub resumed: Option<Resumed>,
    /// `--privileged` (true) or `--unprivileged` (false), else Nmap's NMAP_PRIVILEGED and
    /// NMAP_UNPRIVILEGED: whether to assume raw-socket privileges instead of asking the system.
    pub privileged: Option<bool>,
}

impl ScanOptions {
    /// Whether raw sockets may be used: as the user says, else as the system allows.
    pub fn raw_sockets(&self) -> bool {
        self.privileged.unwrap_or_else(netio::has_cap_net_raw)
    }
}

/// An interrupted scan going on (`--resume`): the targets it completed, skipped now, and
/// its XML and JSON documents as they were, joined with this run's at its end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resumed {
    pub completed: u64,
    pub documents: Vec<(PathBuf, String)>,
}

/// The detectors a scan is to stay under, and whether to print the schedule only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StealthOptions {
    /// Preset detectors by name (`all` for every one).
    pub detectors: Vec<String>,
    /// A file of budgets in the presets' format.
    pub budget_file: Option<PathBuf>,
    pub dry_run: bool,
}

impl StealthOptions {
    pub fn wanted(&self) -> bool {
        !self.detectors.is_empty() || self.budget_file.is_some()
    }
}

/// `-O`'s settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsOptions {
    /// `-O`
    pub enabled: bool,
    /// `--osscan-limit`: only hosts with an open and a closed TCP port.
    pub limit: bool,
    /// `--osscan-guess`, `--fuzzy`: print guesses when nothing matches exactly.
    pub guess: bool,
    /// `--max-os-tries`: rounds of probes at most for a host without a perfect match.
    pub max_tries: usize,
}

impl Default for OsOptions {
    fn default() -> Self {
        OsOptions { enabled: false, limit: false, guess: false, max_tries: 5 }
    }
}

/// `-sV`'s settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionOptions {
    /// `--version-intensity`, `--version-light` (2), `--version-all` (9).
    pub intensity: u8,
    /// `--version-trace`
    pub trace: bool,
    /// `--versiondb`: Nmap's database from this file rather than the installed one.
    pub database: Option<PathBuf>,
}

impl Default for VersionOptions {
    fn default() -> Self {
        VersionOptions { intensity: versions::DEFAULT_INTENSITY, trace: false, database: None }
    }
}

/// Which targets get a reverse DNS lookup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReverseDns {
    /// `-n`
    Never,
    /// Nmap's default: the hosts found up.
    #[default]
    HostsUp,
    /// `-R`
    Always,
}

/// A host discovery probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ping {
    /// `-PR`: ARP, for targets on our own Ethernet link (the default there).
    Arp,
    Echo,
    Timestamp,
    AddressMask,
    Syn(Vec<u16>),
    Ack(Vec<u16>),
    Udp(Vec<u16>),
    /// `-PY`: SCTP INIT to these ports.
    SctpInit(Vec<u16>),
}

impl Ping {
    /// The option that asks for it, as Nmap spells it.
    pub fn flag(&self) -> &'static str {
        match self {
            Ping::Arp => "-PR",
            Ping::Echo => "-PE",
            Ping::Timestamp => "-PP",
            Ping::AddressMask => "-PM",
            Ping::Syn(_) => "-PS",
            Ping::Ack(_) => "-PA",
            Ping::Udp(_) => "-PU",
            Ping::SctpInit(_) => "-PY",
        }
    }

    /// Whether IPv6 has the probe: ICMPv6 has no timestamp or address mask request (and
    /// SCTP probes are IPv4's so far).
    pub fn over_ipv6(&self) -> bool {
        !matches!(self, Ping::Timestamp | Ping::AddressMask | Ping::SctpInit(_))
    }
}

/// Nmap's ports for `-PS`, `-PA` and `-PU` given without a list.
const DEFAULT_SYN_PING_PORT: u16 = 80;
const DEFAULT_ACK_PING_PORT: u16 = 80;
const DEFAULT_UDP_PING_PORT: u16 = 40125;
const DEFAULT_SCTP_PING_PORT: u16 = 80;

/// A payload the user gave for every probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Bytes(Vec<u8>),
    /// `--data-length`: this many random bytes.
    Random(usize),
}

/// Nmap's limit on `--data-length`, and portolan's on every payload.
const MAX_DATA_LENGTH: usize = probes::MAX_PAYLOAD;

/// `-T` and the fine-grained timing options layered over it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimingOptions {
    pub template: Option<TimingTemplate>,
    pub max_retries: Option<u32>,
    /// Zero means "no timeout", which overrides `-T5`'s 15 minutes.
    pub host_timeout: Option<Duration>,
    pub scan_delay: Option<Duration>,
    pub max_scan_delay: Option<Duration>,
    pub initial_rtt_timeout: Option<Duration>,
    pub min_rtt_timeout: Option<Duration>,
    pub max_rtt_timeout: Option<Duration>,
    pub max_parallelism: Option<usize>,
    pub max_rate: Option<f64>,
    /// `--max-host-rate`: probes per second to any one host (beyond Nmap).
    pub max_host_rate: Option<f64>,
    /// `--max-sweep-rate`: new hosts per second on any one port (beyond Nmap).
    pub max_sweep_rate: Option<f64>,
    /// Probes per second from any one source address: set by the stealth schedule.
    pub max_source_rate: Option<f64>,
    pub min_rate: Option<f64>,
    pub max_hostgroup: Option<usize>,
    pub min_parallelism: Option<usize>,
    pub min_hostgroup: Option<usize>,
}

/// A usage error: one line naming the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// Nmap options that a later portolan release will build; refused clearly until then.
const NOT_YET_LONG: &[&str] = &[
    "script",
    "script-args",
    "exclude-ports",
    "port-ratio",
    "defeat-rst-ratelimit",
    "defeat-icmp-ratelimit",
    "noninteractive",
    "discovery-ignore-rst",
    "allports",
    "oS",
    "adler32",
    "debug",
    "deprecated-xml-osclass",
    "log-errors",
    "nogcc",
    "nsock-engine",
    "oH",
    "proxy",
    "rH",
    "release-memory",
    "route-dst",
    "script-args-file",
    "script-help",
    "script-timeout",
    "script-trace",
    "script-updatedb",
    "servicedb",
    "thc",
    "unique",
];

/// The short options and scan types the parser takes, as typed (for the completions and the
/// man page: the parser itself reads them letter by letter).
pub(crate) const SHORT_OPTIONS: &[&str] = &[
    "-sS", "-sT", "-sU", "-sY", "-sZ", "-sO", "-sI", "-sA", "-sW", "-sM", "-sN", "-sF", "-sX", "-sn", "-sL", "-sV",
    "-Pn", "-PE", "-PP", "-PM", "-PS", "-PA", "-PU", "-PY", "-PR", "-p", "-F", "-r", "-T", "-A", "-O", "-6", "-4",
    "-n", "-R", "-v", "-d", "-S", "-e", "-g", "-D", "-f", "-h", "-V",
];

/// Every long option, with a value or without.
pub(crate) fn long_options() -> impl Iterator<Item = &'static str> {
    LONG_WITH_VALUE.iter().chain(LONG_FLAGS).copied()
}

/// Single-dash spellings that are long options in Nmap (`-iL`, `-oX`, …) are handled by the
/// short-option parser, which reads the letter after `i`, `o` or `s`.
const LONG_WITH_VALUE: &[&str] = &[
    "stats-every",
    "dns-servers",
    "data",
    "data-string",
    "data-length",
    "top-ports",
    "exclude",
    "excludefile",
    "datadir",
    "max-retries",
    "host-timeout",
    "scan-delay",
    "initial-rtt-timeout",
    "min-rtt-timeout",
    "max-rtt-timeout",
    "max-parallelism",
    "max-rate",
    "max-host-rate",
    "max-sweep-rate",
    "seed",
    "shards",
    "ipv6-prefix-limit",
    "ttl",
    "mtu",
    "spoof-mac",
    "ip-options",
    "mimic",
    "proxies",
    "evade-detectors",
    "resume",
    "detector-budgets",
    "min-rate",
    "max-hostgroup",
    "scanflags",
    "source-port",
    "min-parallelism",
    "min-hostgroup",
    "max-scan-delay",
    "iL",
    "iR",
    "timing",
    "oN",
    "oM",
    "oX",
    "oG",
    "oA",
    "oJ",
    "ndjson",
    "stylesheet",
    "version-intensity",
    "versiondb",
    "max-os-tries",
];
const LONG_FLAGS: &[&str] = &[
    "open",
    "iflist",
    "packet-trace",
    "randomize-hosts",
    "badsum",
    "resolve-all",
    "reason",
    "version",
    "help",
    "webxml",
    "no-stylesheet",
    "append-output",
    "save",
    "system-dns",
    "send-ip",
    "send-eth",
    "disable-arp-ping",
    "version-light",
    "version-all",
    "version-trace",
    "osscan-limit",
    "osscan-guess",
    "fuzzy",
    "traceroute",
    "dry-run",
    "privileged",
    "unprivileged",
    "verbose",
    "vv",
];

struct Tokens<I: Iterator<Item = String>> {
    args: std::iter::Peekable<I>,
}

impl<I: Iterator<Item = String>> Tokens<I> {
    /// The value of `option`: the attached text if any, else the next argument.
    fn value(&mut self, option: &str, attached: Option<String>) -> Result<String, UsageError> {
        match attached {
            Some(value) if !value.is_empty() => Ok(value),
            _ => self.args.next().ok_or_else(|| usage(format!("option '{option}' needs a value"))),
        }
    }
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, UsageError> {
    let mut tokens = Tokens { args: args.into_iter().peekable() };
    let mut options = ScanOptions::default();
    while let Some(arg) = tokens.args.next() {
        if let Some(command) = parse_one(arg, &mut tokens, &mut options)? {
            return Ok(command);
        }
    }
    interface_from_zones(&mut options)?;
    Ok(Command::Scan(Box::new(options)))
}

/// A target written with a zone (`fe80::1%eth0`, a link-local address on that link) names
/// the interface the scan goes out of, as `-e` does: every zone and `-e` must agree, since
/// the scan leaves through one interface.
fn interface_from_zones(options: &mut ScanOptions) -> Result<(), UsageError> {
    for target in &options.targets {
        let Some(zone) = targets::zone(target) else { continue };
        match options.source.device.as_deref() {
            Some(device) if device != zone => {
                return Err(usage(format!("{target}: a scan goes out of one interface, and {device} was named before")))
            }
            Some(_) => {}
            None => options.source.device = Some(zone.to_string()),
        }
    }
    let link_local =
        |target: &String| target.parse::<std::net::Ipv6Addr>().is_ok_and(|addr| addr.is_unicast_link_local());
    match options.targets.iter().find(|target| link_local(target)) {
        Some(target) if options.source.device.is_none() => {
            Err(usage(format!("{target} is link-local: name its interface, as {target}%eth0 or with -e")))
        }
        _ => Ok(()),
    }
}

/// Handles one argument; returns a command when the argument ends parsing (`-h`, `-V`).
fn parse_one<I: Iterator<Item = String>>(
    arg: String,
    tokens: &mut Tokens<I>,
    options: &mut ScanOptions,
) -> Result<Option<Command>, UsageError> {
    if let Some(long) = arg.strip_prefix("--") {
        return parse_long(long, &arg, tokens, options);
    }
    let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) else {
        options.targets.push(arg);
        return Ok(None);
    };
    let name = short.split('=').next().unwrap_or(short);
    if LONG_WITH_VALUE.contains(&name) || LONG_FLAGS.contains(&name) {
        return parse_long(short, &arg, tokens, options);
    }
    parse_short_cluster(short, &arg, tokens, options)
}

fn parse_long<I: Iterator<Item = String>>(
    long: &str,
    arg: &str,
    tokens: &mut Tokens<I>,
    options: &mut ScanOptions,
) -> Result<Option<Command>, UsageError> {
    let (name, attached) = match long.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (long, None),
    };
    if LONG_FLAGS.contains(&name) {
        if attached.is_some() {
            return Err(usage(format!("option '--{name}' takes no value: '{arg}'")));
        }
        match name {
            "open" => options.open_only = true,
            "resolve-all" => options.resolve_all = true,
            "randomize-hosts" => options.randomize_hosts = true,
            "reason" => options.reason = true,
            "webxml" => options.stylesheet = Stylesheet::Href(NMAP_ORG_XSL.into()),
            "no-stylesheet" => options.stylesheet = Stylesheet::Omitted,
            "append-output" => options.append_output = true,
            "badsum" => options.shaping.bad_checksum = true,
            "packet-trace" => options.packet_trace = true,
            "save" => options.save = true,
            "system-dns" => options.system_dns = true,
            "send-ip" => {
                options.no_arp = true;
                options.source.via = engine::SendVia::Ip;
            }
            "send-eth" => options.source.via = engine::SendVia::Ethernet,
            "disable-arp-ping" => options.no_arp = true,
            "version-light" => version_options(options).intensity = 2,
            "version-all" => version_options(options).intensity = versions::ALL_INTENSITY,
            "version-trace" => version_options(options).trace = true,
            "osscan-limit" => options.os.limit = true,
            "osscan-guess" | "fuzzy" => options.os.guess = true,
            "traceroute" => options.traceroute = true,
            "dry-run" => options.stealth.dry_run = true,
            "privileged" => options.privileged = Some(true),
            "unprivileged" => options.privileged = Some(false),
            "verbose" => options.verbosity = options.verbosity.saturating_add(1),
            "vv" => options.verbosity = options.verbosity.saturating_add(2),
            "version" => return Ok(Some(Command::Version)),
            "iflist" => return Ok(Some(Command::InterfaceList)),
            _ => return Ok(Some(Command::Help)),
        }
        return Ok(None);
    }
    if !LONG_WITH_VALUE.contains(&name) {
        return Err(unknown_option(arg, name));
    }
    // Named as the user wrote it: `-oX` and `--oX` are the same option.
    let dashes = if arg.starts_with("--") { "--" } else { "-" };
    let option = format!("{dashes}{name}");
    let value = tokens.value(&option, attached)?;
    let timing = &mut options.timing;
    match name {
        "top-ports" => options.top_ports = Some(positive(&option, &value)?),
        "exclude" => options.exclude.extend(value.split(',').map(str::to_string)),
        "excludefile" => options.exclude_file = Some(PathBuf::from(value)),
        "datadir" => options.datadir = Some(PathBuf::from(value)),
        "max-retries" => timing.max_retries = Some(number(&option, &value)?),
        "host-timeout" => timing.host_timeout = Some(time_value(&option, &value)?),
        "scan-delay" => timing.scan_delay = Some(time_value(&option, &value)?),
        "max-scan-delay" => timing.max_scan_delay = Some(time_value(&option, &value)?),
        "stats-every" => options.stats_every = Some(nonzero_time(&option, &value)?),
        "oN" => options.outputs.push((OutputFormat::Normal, PathBuf::from(value))),
        "oX" => options.outputs.push((OutputFormat::Xml, PathBuf::from(value))),
        // -oM is Nmap's old name for grepable output.
        "oG" | "oM" => options.outputs.push((OutputFormat::Grepable, PathBuf::from(value))),
        "iL" => options.input_list = Some(PathBuf::from(value)),
        "iR" => options.random_targets = Some(number(&option, &value)?),
        "seed" => options.seed = Some(number(&option, &value)?),
        "ipv6-prefix-limit" => options.ipv6_prefix_limit = Some(positive(&option, &value)? as u128),
        "ttl" => options.shaping.ttl = Some(number(&option, &value)?),
        "spoof-mac" => options.spoof_mac = Some(value),
        "proxies" => {
            let chain = value.split(',').map(|url| {
                engine::drivers::connect::Proxy::parse(url).ok_or_else(|| {
                    usage(format!(
                        "invalid proxy '{url}' for --proxies: socks4://, socks5:// or http:// and an address:port"
                    ))
                })
            });
            options.source.proxies = chain.collect::<Result<_, _>>()?;
        }
        "mimic" => {
            options.shaping.mimic = Some(match value.to_lowercase().as_str() {
                "linux" => engine::Stack::Linux,
                "windows" => engine::Stack::Windows,
                "macos" => engine::Stack::MacOs,
                _ => return Err(usage(format!("invalid value '{value}' for --mimic: linux, windows or macos"))),
            })
        }
        "ip-options" => {
            let bytes = crate::ip_options::parse(&value).ok_or_else(|| {
                usage(format!("invalid value '{value}' for --ip-options: R, T, U, L or S with addresses, or \\x bytes"))
            })?;
            options.ip_options = Some(bytes);
        }
        "mtu" => match positive(&option, &value)? {
            size if size.is_multiple_of(8) => options.shaping.fragment_size = Some(size),
            _ => return Err(usage(format!("invalid value '{value}' for {option}: a multiple of 8"))),
        },
        "resume" => return Err(usage("--resume takes no other options: portolan --resume FILE")),
        "evade-detectors" => options.stealth.detectors.extend(value.split(',').map(String::from)),
        "detector-budgets" => options.stealth.budget_file = Some(PathBuf::from(value)),
        "shards" => {
            options.shard = Some(targets::Shard::parse(&value).map_err(|e| usage(format!("{e} for --shards")))?)
        }
        "timing" => options.timing.template = Some(timing_template(&value)?),
        // Streaming to standard output, JSON comes a line per result.
        "oJ" if value == "-" => options.outputs.push((OutputFormat::JsonLines, PathBuf::from(value))),
        "oJ" => options.outputs.push((OutputFormat::Json, PathBuf::from(value))),
        "ndjson" => options.outputs.push((OutputFormat::JsonLines, PathBuf::from(value))),
        "stylesheet" => options.stylesheet = Stylesheet::Href(value),
        "version-intensity" => {
            let intensity = number(&option, &value).ok().filter(|level| *level <= versions::ALL_INTENSITY);
            let intensity =
                intensity.ok_or_else(|| usage(format!("invalid value '{value}' for {option}: a level from 0 to 9")))?;
            version_options(options).intensity = intensity;
        }
        "versiondb" => version_options(options).database = Some(PathBuf::from(value)),
        "max-os-tries" => options.os.max_tries = positive(&option, &value)?,
        "oA" => {
            for format in [OutputFormat::Normal, OutputFormat::Xml, OutputFormat::Grepable, OutputFormat::Json] {
                options.outputs.push((format, PathBuf::from(format!("{value}.{}", format.extension()))));
            }
        }
        "initial-rtt-timeout" => timing.initial_rtt_timeout = Some(nonzero_time(&option, &value)?),
        "min-rtt-timeout" => timing.min_rtt_timeout = Some(nonzero_time(&option, &value)?),
        "max-rtt-timeout" => timing.max_rtt_timeout = Some(nonzero_time(&option, &value)?),
        "max-parallelism" => timing.max_parallelism = Some(positive(&option, &value)?),
        "max-hostgroup" => timing.max_hostgroup = Some(positive(&option, &value)?),
        "max-rate" => timing.max_rate = Some(rate(&option, &value)?),
        "max-host-rate" => timing.max_host_rate = Some(rate(&option, &value)?),
        "max-sweep-rate" => timing.max_sweep_rate = Some(rate(&option, &value)?),
        "min-rate" => timing.min_rate = Some(rate(&option, &value)?),
        "source-port" => options.source.port = Some(number(&option, &value)?),
        "min-parallelism" => options.timing.min_parallelism = Some(positive(&option, &value)?),
        "min-hostgroup" => options.timing.min_hostgroup = Some(positive(&option, &value)?),
        "dns-servers" => {
            let servers = value.split(',').map(|server| {
                server.parse().map_err(|_| {
                    usage(format!("invalid value '{server}' for {option}: name servers are given by address"))
                })
            });
            options.dns_servers = servers.collect::<Result<_, _>>()?;
        }
        "data" | "data-string" | "data-length" => {
            if options.payload.is_some() {
                return Err(usage(format!(
                    "{option}: only one of --data, --data-string and --data-length may be given"
                )));
            }
            let payload = match name {
                "data" => Payload::Bytes(hex_data(&option, &value)?),
                "data-string" => Payload::Bytes(value.into_bytes()),
                _ => Payload::Random(data_length(&option, &value)?),
            };
            if let Payload::Bytes(bytes) = &payload {
                if bytes.len() > MAX_DATA_LENGTH {
                    let length = bytes.len();
                    return Err(usage(format!("{option}: a payload of {length} bytes: at most {MAX_DATA_LENGTH}")));
                }
            }
            options.payload = Some(payload);
        }
        "scanflags" => {
            let flags = probes::CustomFlags::parse_flags(&value).ok_or_else(|| {
                usage(format!(
                    "invalid value '{value}' for --scanflags: use flag names (e.g. SYNFIN, URGACKPSHRSTSYNFIN) or a number"
                ))
            })?;
            options.scan_flags = Some(flags);
        }
        _ => unreachable!("every LONG_WITH_VALUE name is handled"),
    }
    Ok(None)
}

/// The version detection settings, turning it on: `--version-*` options imply `-sV`, as in Nmap.
fn version_options(options: &mut ScanOptions) -> &mut VersionOptions {
    options.versions.get_or_insert_with(VersionOptions::default)
}

/// `--data`'s hex string, as Nmap takes it: "deadbeef", "0xdeadbeef" or "\xde\xad\xbe\xef".
fn hex_data(option: &str, value: &str) -> Result<Vec<u8>, UsageError> {
    let bad = || usage(format!("invalid value '{value}' for {option}: expected hex digits, e.g. 0xdeadbeef"));
    let digits = value.strip_prefix("0x").unwrap_or(value).replace("\\x", "");
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| bad())).collect()
}

fn data_length(option: &str, value: &str) -> Result<usize, UsageError> {
    let length: usize = number(option, value)?;
    if length > MAX_DATA_LENGTH {
        return Err(usage(format!("invalid value '{value}' for {option}: at most {MAX_DATA_LENGTH} bytes")));
    }
    Ok(length)
}

fn unknown_option(arg: &str, name: &str) -> UsageError {
    if NOT_YET_LONG.contains(&name) {
        usage(format!("option '{arg}' is not supported yet"))
    } else {
        usage(format!("unrecognized option '{arg}'"))
    }
}

/// Short options, possibly clustered (`-nF`, `-vv`); an option that takes a value takes the
/// rest of the cluster, or the next argument.
fn parse_short_cluster<I: Iterator<Item = String>>(
    cluster: &str,
    arg: &str,
    tokens: &mut Tokens<I>,
    options: &mut ScanOptions,
) -> Result<Option<Command>, UsageError> {
    for (at, letter) in cluster.char_indices() {
        let rest = &cluster[at + letter.len_utf8()..];
        let attached = Some(rest.to_string());
        match letter {
            'h' | '?' => return Ok(Some(Command::Help)),
            'V' => return Ok(Some(Command::Version)),
            'F' => options.fast = true,
            'r' => options.sequential_ports = true,
            'n' => options.reverse_dns = ReverseDns::Never,
            'R' => options.reverse_dns = ReverseDns::Always,
            '6' => options.ipv6 = true,
            // IPv4, the default.
            '4' => options.ipv6 = false,
            'v' => {
                options.verbosity = verbosity(options.verbosity, rest, arg)?;
                return Ok(None);
            }
            'd' => {
                let level = level(options.debug, 'd', rest);
                options.debug = level.ok_or_else(|| usage(format!("invalid debugging level '{arg}'")))?;
                return Ok(None);
            }
            'p' => {
                options.ports = Some(tokens.value("-p", attached)?);
                return Ok(None);
            }
            'T' => {
                let value = tokens.value("-T", attached)?;
                options.timing.template = Some(timing_template(&value)?);
                return Ok(None);
            }
            's' if rest == "I" => {
                let value = tokens.value("-sI", None)?;
                options.zombie = Some(zombie(&value)?);
                return scan_types(rest, arg, options).map(|()| None);
            }
            's' => return scan_types(rest, arg, options).map(|()| None),
            'P' => return ping_types(rest, arg, options).map(|()| None),
            'i' => return input_option(rest, arg, tokens, options).map(|()| None),
            'S' => {
                let value = tokens.value("-S", attached)?;
                source_addresses(&value, &mut options.source)?;
                return Ok(None);
            }
            'e' => {
                options.source.device = Some(tokens.value("-e", attached)?);
                return Ok(None);
            }
            'D' => {
                let value = tokens.value("-D", attached)?;
                options.decoys = Some(decoy_list(&value)?);
                return Ok(None);
            }
            'g' => {
                let value = tokens.value("-g", attached)?;
                options.source.port = Some(number("-g", &value)?);
                return Ok(None);
            }
            // -A is Nmap's "-O -sV -sC --traceroute"; all but scripts exist so far.
            'A' => {
                options.aggressive = true;
                options.os.enabled = true;
                options.traceroute = true;
                version_options(options);
            }
            'O' => options.os.enabled = true,
            // -f fragments probes into 8-byte pieces; twice (-ff), 16.
            'f' => {
                let size = options.shaping.fragment_size.map_or(8, |_| 16);
                options.shaping.fragment_size = Some(size);
            }
            'b' | 'M' | 'Y' | 'I' | 'q' | 'm' => {
                return Err(usage(format!("option '{arg}' is not supported yet")));
            }
            'o' => return Err(usage(format!("option '{arg}' is not supported yet (-oN, -oX, -oG, -oJ and -oA work)"))),
            _ => return Err(usage(format!("unrecognized option '{arg}'"))),
        }
    }
    Ok(None)
}

/// `-v`, `-vv`, `-vvv` or `-v3`.
fn verbosity(current: u8, rest: &str, arg: &str) -> Result<u8, UsageError> {
    level(current, 'v', rest).ok_or_else(|| usage(format!("invalid verbosity '{arg}'")))
}

/// A level given by repeating `letter` (`-vvv`, `-dd`) or by a number after it (`-v3`,
/// `-d2`): `rest` is what follows the first letter.
fn level(current: u8, letter: char, rest: &str) -> Option<u8> {
    if rest.chars().all(|c| c == letter) {
        let count = u8::try_from(rest.len() + 1).unwrap_or(u8::MAX);
        return Some(current.saturating_add(count));
    }
    rest.parse::<u8>().ok()
}

/// The TCP techniques (`-sT`, `-sS`, `-sF`, `-sN`, `-sX`, `-sM`, `-sA`, `-sW`) and UDP (`-sU`);
/// the other scan types are still to come. Like Nmap, at most one TCP technique per scan.
fn scan_types(letters: &str, arg: &str, options: &mut ScanOptions) -> Result<(), UsageError> {
    if letters.is_empty() {
        return Err(usage(format!("option '{arg}' needs a scan type letter, e.g. -sT")));
    }
    for letter in letters.chars() {
        let technique = match letter {
            'T' => TcpScan::Connect,
            'S' => TcpScan::Syn,
            'F' => TcpScan::Fin,
            'N' => TcpScan::Null,
            'X' => TcpScan::Xmas,
            'M' => TcpScan::Maimon,
            'A' => TcpScan::Ack,
            'W' => TcpScan::Window,
            'I' if options.zombie.is_some() => TcpScan::Idle,
            'U' => {
                options.udp = true;
                continue;
            }
            'O' => {
                options.ip_protocols = true;
                continue;
            }
            'Y' | 'Z' => {
                let kind = if letter == 'Y' { SctpScanType::Init } else { SctpScanType::CookieEcho };
                if options.sctp.is_some_and(|chosen| chosen != kind) {
                    return Err(usage(
                        "You specified more than one type of SCTP scan. Please choose only one of -sY and -sZ",
                    ));
                }
                options.sctp = Some(kind);
                continue;
            }
            // -sP is Nmap's old name for -sn.
            'n' | 'P' => {
                options.hosts_only = true;
                continue;
            }
            'L' => {
                options.list_only = true;
                continue;
            }
            'V' => {
                version_options(options);
                continue;
            }
            'I' => return Err(usage("-sI takes its zombie alone: -sI <zombie>[:<port>]")),
            'C' | 'R' => {
                return Err(usage(format!(
                    "scan type '-s{letter}' is not supported yet (the TCP scan types, -sI, -sU, -sY, -sZ, -sO, -sV, -sn and -sL work so far)"
                )));
            }
            _ => return Err(usage(format!("unrecognized scan type '-s{letter}' in '{arg}'"))),
        };
        if options.technique.is_some_and(|chosen| chosen != technique) {
            return Err(usage(
                "You specified more than one type of TCP scan. Please choose only one of -sT, -sS, -sF, -sN, -sX, -sM, -sA, -sW and -sI",
            ));
        }
        options.technique = Some(technique);
    }
    Ok(())
}

/// `-sI`'s zombie: a host, and the port it is asked on (Nmap's default, 80) after a colon.
fn zombie(value: &str) -> Result<(String, u16), UsageError> {
    let (host, port) = match value.rsplit_once(':') {
        Some((host, port)) => (host, number("-sI", port)?),
        None => (value, 80),
    };
    if host.is_empty() {
        return Err(usage(format!("invalid zombie '{value}' for -sI: name a host, e.g. -sI 198.18.0.10:80")));
    }
    Ok((host.to_string(), port))
}

/// `-Pn` (and its old spelling `-P0`) skips host discovery; `-PE`, `-PP`, `-PM`, and `-PS`,
/// `-PA`, `-PU` with an optional port list, choose its probes.
fn ping_types(letters: &str, arg: &str, options: &mut ScanOptions) -> Result<(), UsageError> {
    let Some(kind) = letters.chars().next() else {
        return Err(usage(format!("option '{arg}' needs a probe type, e.g. -Pn")));
    };
    let ports = &letters[kind.len_utf8()..];
    let ping = match kind {
        'n' | '0' if ports.is_empty() => {
            options.assume_up = true;
            return Ok(());
        }
        'E' | 'P' | 'M' | 'R' if !ports.is_empty() => return Err(usage(format!("option '{arg}' takes no port list"))),
        'R' => Ping::Arp,
        'E' => Ping::Echo,
        'P' => Ping::Timestamp,
        'M' => Ping::AddressMask,
        'S' => Ping::Syn(ping_ports(arg, ports, DEFAULT_SYN_PING_PORT)?),
        'A' => Ping::Ack(ping_ports(arg, ports, DEFAULT_ACK_PING_PORT)?),
        'U' => Ping::Udp(ping_ports(arg, ports, DEFAULT_UDP_PING_PORT)?),
        'Y' => Ping::SctpInit(ping_ports(arg, ports, DEFAULT_SCTP_PING_PORT)?),
        'O' => return Err(usage(format!("option '{arg}' is not supported yet"))),
        _ => return Err(usage(format!("unrecognized option '{arg}'"))),
    };
    options.pings.push(ping);
    Ok(())
}

/// A discovery probe's ports: "22,80,8000-8010", or the default when none are given.
fn ping_ports(arg: &str, list: &str, default: u16) -> Result<Vec<u16>, UsageError> {
    if list.is_empty() {
        return Ok(vec![default]);
    }
    targets::parse_port_list(list).map_err(|error| usage(format!("{arg}: {error}")))
}

/// A timing template by number or name (`-T4`, `-T aggressive`, `--timing 4`).
pub(crate) fn timing_template(value: &str) -> Result<TimingTemplate, UsageError> {
    TimingTemplate::parse(value).ok_or_else(|| {
        usage(format!(
            "invalid timing template '-T{value}' (use 0-5 or paranoid|sneaky|polite|normal|aggressive|insane)"
        ))
    })
}

/// `-iL file` and `-iR count`.
fn input_option<I: Iterator<Item = String>>(
    rest: &str,
    arg: &str,
    tokens: &mut Tokens<I>,
    options: &mut ScanOptions,
) -> Result<(), UsageError> {
    match rest {
        "L" => options.input_list = Some(PathBuf::from(tokens.value("-iL", None)?)),
        "R" => options.random_targets = Some(number("-iR", &tokens.value("-iR", None)?)?),
        _ => return Err(usage(format!("unrecognized option '{arg}'"))),
    }
    Ok(())
}

/// `-S address`, or beyond Nmap `-S a,b,…`: raw port scans send from each (IPv4).
fn source_addresses(value: &str, source: &mut engine::Source) -> Result<(), UsageError> {
    let addrs: Vec<std::net::IpAddr> = value
        .split(',')
        .map(|addr| addr.parse().map_err(|_| usage(format!("invalid source address '{addr}' for -S"))))
        .collect::<Result<_, _>>()?;
    if addrs.iter().collect::<std::collections::HashSet<_>>().len() < addrs.len() {
        return Err(usage(format!("-S lists an address twice: '{value}'")));
    }
    let (first, more) = addrs.split_first().expect("split gives one item at least");
    source.addr = Some(*first);
    source.more_addrs = (more.iter())
        .map(|addr| match addr {
            std::net::IpAddr::V4(v4) => Ok(*v4),
            std::net::IpAddr::V6(v6) => Err(usage(format!("-S lists IPv4 addresses only so far: '{v6}'"))),
        })
        .collect::<Result<_, _>>()?;
    Ok(())
}

/// The most decoys `-D` may list (Nmap's limit): each sends every probe once more.
const MAX_DECOYS: usize = 128;

/// One entry of `-D`'s list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoy {
    Addr(std::net::IpAddr),
    /// `ME`: where the scanner's own probes go among the decoys'.
    Me,
    /// `RND` or `RND:n`: that many random routable IPv4 addresses.
    Random(u32),
}

/// `-D decoy1,decoy2,ME,RND:5`: addresses (names are not looked up), at most one `ME`.
fn decoy_list(value: &str) -> Result<Vec<Decoy>, UsageError> {
    let decoys = value
        .split(',')
        .map(|entry| match entry {
            "ME" => Ok(Decoy::Me),
            "RND" => Ok(Decoy::Random(1)),
            _ => match entry.strip_prefix("RND:") {
                Some(count) => {
                    positive("-D RND:", count).map(|count| Decoy::Random(count.min(u32::MAX as usize) as u32))
                }
                None => entry
                    .parse()
                    .map(Decoy::Addr)
                    .map_err(|_| usage(format!("invalid decoy '{entry}' for -D: an address, ME, RND or RND:<count>"))),
            },
        })
        .collect::<Result<Vec<_>, _>>()?;
    if decoys.iter().filter(|decoy| **decoy == Decoy::Me).count() > 1 {
        return Err(usage(format!("-D {value}: ME appears more than once")));
    }
    let count: usize = decoys
        .iter()
        .map(|decoy| match decoy {
            Decoy::Random(count) => *count as usize,
            Decoy::Addr(_) => 1,
            Decoy::Me => 0,
        })
        .sum();
    if count > MAX_DECOYS {
        return Err(usage(format!("-D {value}: {count} decoys, more than the {MAX_DECOYS} Nmap allows")));
    }
    Ok(decoys)
}

fn number<T: std::str::FromStr>(option: &str, value: &str) -> Result<T, UsageError> {
    value.parse().map_err(|_| usage(format!("invalid value '{value}' for {option}: expected a whole number")))
}

fn positive(option: &str, value: &str) -> Result<usize, UsageError> {
    match number::<usize>(option, value)? {
        0 => Err(usage(format!("invalid value '{value}' for {option}: must be at least 1"))),
        n => Ok(n),
    }
}

fn rate(option: &str, value: &str) -> Result<f64, UsageError> {
    match value.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate * LONGEST_TIME.as_secs_f64() >= 1.0 => Ok(rate),
        Ok(rate) if rate.is_finite() && rate > 0.0 => {
            Err(usage(format!("invalid value '{value}' for {option}: at least one probe per 100 days")))
        }
        _ => Err(usage(format!("invalid value '{value}' for {option}: expected probes per second above 0"))),
    }
}

/// Nmap's time values: a number with an optional unit `ms`, `s`, `m` or `h`; seconds if bare.
pub fn time_value(option: &str, value: &str) -> Result<Duration, UsageError> {
    let invalid = || usage(format!("invalid time '{value}' for {option}: use e.g. 500ms, 2s, 5m or 1h"));
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let amount: f64 = number.parse().map_err(|_| invalid())?;
    let seconds_per_unit = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(invalid()),
    };
    let time = Duration::try_from_secs_f64(amount * seconds_per_unit).map_err(|_| invalid())?;
    if time > LONGEST_TIME {
        return Err(usage(format!("invalid time '{value}' for {option}: at most 100 days")));
    }
    Ok(time)
}

/// The longest time any option takes: far beyond any scan, and far within what clocks add.
const LONGEST_TIME: Duration = Duration::from_secs(100 * 24 * 3600);

fn nonzero_time(option: &str, value: &str) -> Result<Duration, UsageError> {
    let time = time_value(option, value)?;
    if time.is_zero() {
        return Err(usage(format!("invalid time '{value}' for {option}: must be above 0")));
    }
    Ok(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(args: &[&str]) -> ScanOptions {
        match parse(args.iter().map(|s| s.to_string())) {
            Ok(Command::Scan(options)) => *options,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    fn error(args: &[&str]) -> String {
        parse(args.iter().map(|s| s.to_string())).unwrap_err().0
    }

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn port_values_attached_or_separate() {
        assert_eq!(scan(&["-p22,80", "h"]).ports.as_deref(), Some("22,80"));
        assert_eq!(scan(&["-p", "1-1024", "h"]).ports.as_deref(), Some("1-1024"));
        assert_eq!(scan(&["-p-", "h"]).ports.as_deref(), Some("-"));
        assert_eq!(scan(&["-p", "U:53,T:1-100", "h"]).ports.as_deref(), Some("U:53,T:1-100"));
        assert_eq!(scan(&["-p", "[1-1024]", "h"]).ports.as_deref(), Some("[1-1024]"));
    }

    #[test]
    fn targets_are_the_arguments_that_are_not_options() {
        let options = scan(&["-sT", "198.18.0.1", "-Pn", "198.18.0.0/24", "localhost"]);
        assert_eq!(options.targets, ["198.18.0.1", "198.18.0.0/24", "localhost"]);
        assert!(options.assume_up);
    }

    #[test]
    fn verbosity_counts_every_spelling() {
        assert_eq!(scan(&["-v"]).verbosity, 1);
        assert_eq!(scan(&["-vv"]).verbosity, 2);
        assert_eq!(scan(&["-v", "-v", "-v"]).verbosity, 3);
        assert_eq!(scan(&["-v3"]).verbosity, 3);
        assert_eq!(error(&["-vx"]), "invalid verbosity '-vx'");
    }

    #[test]
    fn clustered_flags() {
        let options = scan(&["-nFr6"]);
        assert!(options.fast && options.sequential_ports && options.ipv6);
        assert_eq!(scan(&["-nvv"]).verbosity, 2);
        assert_eq!(scan(&["-Fp80"]).ports.as_deref(), Some("80"));
    }

    #[test]
    fn timing_templates_by_number_and_name() {
        assert_eq!(scan(&["-T4"]).timing.template, Some(TimingTemplate::Aggressive));
        assert_eq!(scan(&["-T", "insane"]).timing.template, Some(TimingTemplate::Insane));
        assert!(error(&["-T9"]).starts_with("invalid timing template '-T9'"));
    }

    #[test]
    fn long_options_with_one_or_two_dashes_and_equals() {
        let options = scan(&["--top-ports", "50", "-open", "--reason", "--max-rtt-timeout=300ms", "-max-retries", "2"]);
        assert_eq!(options.top_ports, Some(50));
        assert!(options.open_only && options.reason);
        assert_eq!(options.timing.max_rtt_timeout, Some(MS(300)));
        assert_eq!(options.timing.max_retries, Some(2));
        assert_eq!(scan(&["--max-host-rate", "2.5", "h"]).timing.max_host_rate, Some(2.5));
        assert!(error(&["--max-host-rate", "0", "h"]).starts_with("invalid value '0' for --max-host-rate"));
        assert_eq!(scan(&["--max-sweep-rate", "10", "h"]).timing.max_sweep_rate, Some(10.0));
        assert_eq!(scan(&["--seed", "42", "h"]).seed, Some(42));
        assert_eq!(error(&["--seed", "-1", "h"]), "invalid value '-1' for --seed: expected a whole number");
        let stealth = scan(&["--evade-detectors", "psad,zeek", "--detector-budgets", "f", "--dry-run", "h"]).stealth;
        assert_eq!(stealth.detectors, ["psad", "zeek"]);
        assert_eq!((stealth.budget_file, stealth.dry_run), (Some(PathBuf::from("f")), true));
        assert_eq!(scan(&["--shards", "1/4", "h"]).shard, targets::Shard::parse("1/4").ok());
        assert_eq!(
            error(&["--shards", "4/4", "h"]),
            "invalid shard '4/4': expected I/N with 0 <= I < N (e.g. 0/4) for --shards"
        );
        assert!(error(&["--max-sweep-rate", "-1", "h"]).starts_with("invalid value '-1' for --max-sweep-rate"));
    }

    #[test]
    fn time_values_take_nmaps_units() {
        let options = scan(&[
            "--host-timeout",
            "30m",
            "--scan-delay",
            "1.5s",
            "--initial-rtt-timeout",
            "250ms",
            "--min-rtt-timeout",
            "2",
        ]);
        assert_eq!(options.timing.host_timeout, Some(Duration::from_secs(1800)));
        assert_eq!(options.timing.scan_delay, Some(MS(1500)));
        assert_eq!(scan(&["--max-scan-delay", "20ms"]).timing.max_scan_delay, Some(MS(20)));
        assert_eq!(options.timing.initial_rtt_timeout, Some(MS(250)));
        assert_eq!(options.timing.min_rtt_timeout, Some(Duration::from_secs(2)));
        assert_eq!(scan(&["--host-timeout", "0"]).timing.host_timeout, Some(Duration::ZERO));
        assert_eq!(time_value("--x", "1h").unwrap(), Duration::from_secs(3600));
        assert!(error(&["--scan-delay", "5x"]).starts_with("invalid time '5x' for --scan-delay"));
        assert!(error(&["--max-rtt-timeout", "0"]).contains("must be above 0"));
        assert!(error(&["--host-timeout", "-1"]).starts_with("invalid time '-1'"));
    }

    #[test]
    fn input_and_exclusion_options() {
        let options =
            scan(&["-iL", "hosts.txt", "--exclude", "198.18.0.1,198.18.0.5", "--excludefile", "skip.txt", "-iR", "5"]);
        assert_eq!(options.input_list, Some(PathBuf::from("hosts.txt")));
        assert_eq!(options.exclude, ["198.18.0.1", "198.18.0.5"]);
        assert_eq!(options.exclude_file, Some(PathBuf::from("skip.txt")));
        assert_eq!(options.random_targets, Some(5));
        assert_eq!(scan(&["-iL", "-"]).input_list, Some(PathBuf::from("-")));
    }

    #[test]
    fn one_tcp_technique_per_scan() {
        assert_eq!(scan(&["-sS", "h"]).technique, Some(TcpScan::Syn));
        assert_eq!(scan(&["-sT", "-sT", "h"]).technique, Some(TcpScan::Connect));
        assert_eq!(scan(&["h"]).technique, None);
        let refused =
            "You specified more than one type of TCP scan. Please choose only one of -sT, -sS, -sF, -sN, -sX, -sM, -sA, -sW and -sI";
        assert_eq!(error(&["-sF", "-sA"]), refused);
        let techniques = [
            ("-sF", TcpScan::Fin),
            ("-sN", TcpScan::Null),
            ("-sX", TcpScan::Xmas),
            ("-sM", TcpScan::Maimon),
            ("-sA", TcpScan::Ack),
            ("-sW", TcpScan::Window),
        ];
        for (flag, technique) in techniques {
            assert_eq!(scan(&[flag, "h"]).technique, Some(technique));
            assert_eq!(technique.flag(), flag);
        }
        assert_eq!(error(&["-sS", "-sT"]), refused);
        assert_eq!(error(&["-sST"]), refused);
    }

    #[test]
    fn min_rate_is_accepted_not_refused() {
        // Regression: the handler existed while the option list still refused it.
        assert_eq!(scan(&["--min-rate", "100", "h"]).timing.min_rate, Some(100.0));
        assert_eq!(scan(&["--min-rate=2.5", "h"]).timing.min_rate, Some(2.5));
    }

    #[test]
    fn scanflags_by_name_or_number() {
        assert_eq!(scan(&["--scanflags", "SYNFIN", "h"]).scan_flags, Some(0x03));
        assert_eq!(scan(&["--scanflags=9", "-sF", "h"]).scan_flags, Some(0x09));
        assert!(error(&["--scanflags", "SYNX"]).starts_with("invalid value 'SYNX' for --scanflags"));
    }

    #[test]
    fn source_overrides() {
        let options = scan(&["-S", "198.18.0.5", "-e", "scan0", "-g53", "h"]);
        assert_eq!(options.source.addr, Some("198.18.0.5".parse().unwrap()));
        assert_eq!(options.source.device.as_deref(), Some("scan0"));
        assert_eq!(options.source.port, Some(53));
        assert_eq!(scan(&["--source-port", "88", "h"]).source.port, Some(88));
        assert_eq!(error(&["-S", "nowhere"]), "invalid source address 'nowhere' for -S");
        let several = scan(&["-S", "198.18.0.1,198.18.0.11,198.18.0.12", "h"]).source;
        assert_eq!(several.addr, Some("198.18.0.1".parse().unwrap()));
        assert_eq!(
            several.more_addrs,
            ["198.18.0.11".parse::<std::net::Ipv4Addr>().unwrap(), "198.18.0.12".parse().unwrap()]
        );
        assert_eq!(error(&["-S", "198.18.0.1,x", "h"]), "invalid source address 'x' for -S");
        assert_eq!(error(&["-S", "198.18.0.1,198.18.0.1", "h"]), "-S lists an address twice: '198.18.0.1,198.18.0.1'");
        assert_eq!(error(&["-g", "70000"]), "invalid value '70000' for -g: expected a whole number");
    }

    #[test]
    fn output_files() {
        let options = scan(&["-oX", "scan.xml", "--oN=scan.txt", "-oA", "base", "h"]);
        let names: Vec<(OutputFormat, &str)> = options.outputs.iter().map(|(f, p)| (*f, p.to_str().unwrap())).collect();
        assert_eq!(
            names,
            [
                (OutputFormat::Xml, "scan.xml"),
                (OutputFormat::Normal, "scan.txt"),
                (OutputFormat::Normal, "base.nmap"),
                (OutputFormat::Xml, "base.xml"),
                (OutputFormat::Grepable, "base.gnmap"),
                (OutputFormat::Json, "base.json"),
            ]
        );
        let json = scan(&["-oJ", "scan.json", "-oJ", "-", "--ndjson", "events", "h"]);
        let formats: Vec<OutputFormat> = json.outputs.iter().map(|(f, _)| *f).collect();
        assert_eq!(formats, [OutputFormat::Json, OutputFormat::JsonLines, OutputFormat::JsonLines]);
        assert_eq!(error(&["-oG"]), "option '-oG' needs a value");
        assert_eq!(error(&["--top-ports"]), "option '--top-ports' needs a value");
    }

    #[test]
    fn stylesheet_and_append_options() {
        assert_eq!(scan(&["h"]).stylesheet, Stylesheet::Installed);
        assert_eq!(scan(&["--webxml", "h"]).stylesheet, Stylesheet::Href(NMAP_ORG_XSL.into()));
        assert_eq!(scan(&["--stylesheet", "/srv/my.xsl", "h"]).stylesheet, Stylesheet::Href("/srv/my.xsl".into()));
        assert_eq!(scan(&["--no-stylesheet", "h"]).stylesheet, Stylesheet::Omitted);
        assert!(scan(&["--append-output", "h"]).append_output);
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(["-h".to_string()]).unwrap(), Command::Help);
        assert_eq!(parse(["--help".to_string()]).unwrap(), Command::Help);
        assert_eq!(parse(["-V".to_string()]).unwrap(), Command::Version);
        assert_eq!(parse(["--version".to_string()]).unwrap(), Command::Version);
    }

    #[test]
    fn unknown_and_malformed_options_name_the_token() {
        assert_eq!(error(&["--bogus"]), "unrecognized option '--bogus'");
        assert_eq!(error(&["-z"]), "unrecognized option '-z'");
        assert_eq!(error(&["-sQ"]), "unrecognized scan type '-sQ' in '-sQ'");
        assert_eq!(error(&["-s"]), "option '-s' needs a scan type letter, e.g. -sT");
        assert_eq!(error(&["-p"]), "option '-p' needs a value");
        assert_eq!(error(&["--top-ports"]), "option '--top-ports' needs a value");
        assert_eq!(error(&["--top-ports", "many"]), "invalid value 'many' for --top-ports: expected a whole number");
        assert_eq!(error(&["--top-ports", "0"]), "invalid value '0' for --top-ports: must be at least 1");
        assert_eq!(
            error(&["--max-rate", "-5"]),
            "invalid value '-5' for --max-rate: expected probes per second above 0"
        );
        assert_eq!(error(&["--open=yes"]), "option '--open' takes no value: '--open=yes'");
        assert_eq!(error(&["-iX"]), "unrecognized option '-iX'");
    }

    #[test]
    fn os_detection_options_as_in_nmap() {
        let os = |args: &[&str]| scan(args).os;
        assert!(!os(&["h"]).enabled);
        assert!(os(&["-O", "h"]).enabled && os(&["-A", "h"]).enabled);
        assert!(scan(&["-A", "h"]).traceroute && scan(&["--traceroute", "h"]).traceroute);
        assert_eq!(os(&["-O", "h"]).max_tries, 5);
        let tuned = os(&["-O", "--osscan-limit", "--fuzzy", "--max-os-tries", "1", "h"]);
        assert_eq!((tuned.limit, tuned.guess, tuned.max_tries), (true, true, 1));
        assert!(os(&["--osscan-guess", "h"]).guess);
        assert_eq!(
            error(&["-O", "--max-os-tries", "0", "h"]),
            "invalid value '0' for --max-os-tries: must be at least 1"
        );
        assert_eq!(error(&["-PO"]), "option '-PO' is not supported yet");
    }

    #[test]
    fn version_detection_options_turn_it_on_as_in_nmap() {
        let versions = |args: &[&str]| scan(args).versions;
        assert_eq!(versions(&["h"]), None);
        assert_eq!(versions(&["-sV", "h"]), Some(VersionOptions::default()));
        assert_eq!(versions(&["-sSV", "h"]).unwrap().intensity, 7);
        assert_eq!(versions(&["-A", "h"]), Some(VersionOptions::default()));
        assert!(scan(&["-A", "h"]).aggressive);
        assert_eq!(versions(&["--version-light", "h"]).unwrap().intensity, 2);
        assert_eq!(versions(&["-sV", "--version-all", "h"]).unwrap().intensity, 9);
        assert_eq!(versions(&["--version-intensity", "0", "h"]).unwrap().intensity, 0);
        assert!(versions(&["--version-trace", "h"]).unwrap().trace);
        assert_eq!(versions(&["--versiondb", "db", "h"]).unwrap().database, Some(PathBuf::from("db")));
        let bad = "invalid value '10' for --version-intensity: a level from 0 to 9";
        assert_eq!(error(&["--version-intensity", "10"]), bad);
    }

    #[test]
    fn udp_joins_a_tcp_technique() {
        let options = scan(&["-sSU", "h"]);
        assert_eq!((options.technique, options.udp), (Some(TcpScan::Syn), true));
        let options = scan(&["-sU", "h"]);
        assert_eq!((options.technique, options.udp), (None, true));
        let options = scan(&["-sO", "h"]);
        assert_eq!((options.technique, options.udp, options.ip_protocols), (None, false, true));
    }

    #[test]
    fn one_payload_for_every_udp_probe() {
        let payload = |args: &[&str]| scan(args).payload;
        for hex in ["deadBEEF", "0xdeadbeef", "\\xde\\xad\\xbe\\xef"] {
            assert_eq!(payload(&["--data", hex, "h"]), Some(Payload::Bytes(vec![0xde, 0xad, 0xbe, 0xef])), "{hex}");
        }
        assert_eq!(payload(&["--data-string", "hi there", "h"]), Some(Payload::Bytes(b"hi there".to_vec())));
        assert_eq!(payload(&["--data-length", "0", "h"]), Some(Payload::Random(0)));
        assert_eq!(payload(&["--data-length=25", "h"]), Some(Payload::Random(25)));
        assert_eq!(error(&["--data", "abc"]), "invalid value 'abc' for --data: expected hex digits, e.g. 0xdeadbeef");
        assert_eq!(error(&["--data", "zz"]), "invalid value 'zz' for --data: expected hex digits, e.g. 0xdeadbeef");
        assert_eq!(error(&["--data-length", "65401"]), "invalid value '65401' for --data-length: at most 65400 bytes");
        assert_eq!(
            error(&["--data", "00", "--data-length", "3"]),
            "--data-length: only one of --data, --data-string and --data-length may be given"
        );
    }

    #[test]
    fn sctp_scans_and_ping() {
        assert_eq!(scan(&["-sY", "h"]).sctp, Some(SctpScanType::Init));
        let options = scan(&["-sSZ", "h"]);
        assert_eq!((options.technique, options.sctp), (Some(TcpScan::Syn), Some(SctpScanType::CookieEcho)));
        assert_eq!(
            error(&["-sYZ", "h"]),
            "You specified more than one type of SCTP scan. Please choose only one of -sY and -sZ"
        );
        assert_eq!(scan(&["-PY", "h"]).pings, [Ping::SctpInit(vec![80])]);
        assert_eq!(scan(&["-PY2905,3868", "h"]).pings, [Ping::SctpInit(vec![2905, 3868])]);
    }

    #[test]
    fn idle_scan_names_its_zombie_and_port() {
        let options = scan(&["-sI", "198.18.0.10:8080", "h"]);
        assert_eq!((options.technique, options.zombie), (Some(TcpScan::Idle), Some(("198.18.0.10".into(), 8080))));
        assert_eq!(scan(&["-sI", "zombie.lab", "h"]).zombie, Some(("zombie.lab".into(), 80)));
        assert_eq!(error(&["-sI", "z:http", "h"]), "invalid value 'http' for -sI: expected a whole number");
        assert_eq!(error(&["-sI", ":80", "h"]), "invalid zombie ':80' for -sI: name a host, e.g. -sI 198.18.0.10:80");
        assert_eq!(error(&["-sSI", "h"]), "-sI takes its zombie alone: -sI <zombie>[:<port>]");
        assert!(error(&["-sI", "z", "-sS", "h"]).starts_with("You specified more than one type of TCP scan"));
    }

    #[test]
    fn options_of_later_releases_are_refused_not_ignored() {
        let not_yet =
            "scan type '-sC' is not supported yet (the TCP scan types, -sI, -sU, -sY, -sZ, -sO, -sV, -sn and -sL work so far)";
        assert_eq!(error(&["-sC"]), not_yet);
        assert_eq!(error(&["-sUC"]), not_yet);
        assert_eq!(error(&["-PO"]), "option '-PO' is not supported yet");
        assert_eq!(error(&["-oS", "out"]), "option '-oS' is not supported yet (-oN, -oX, -oG, -oJ and -oA work)");
        assert_eq!(error(&["--script", "default"]), "option '--script' is not supported yet");
    }

    #[test]
    fn values_no_clock_or_packet_can_hold_are_refused() {
        // Regression: each of these reached a panic (an Instant or a Duration overflowing, a
        // payload larger than a packet) once the scan began.
        let huge = "4000000000000000h";
        for option in ["--host-timeout", "--scan-delay", "--max-scan-delay", "--stats-every", "--max-rtt-timeout"] {
            assert_eq!(error(&[option, huge]), format!("invalid time '{huge}' for {option}: at most 100 days"));
        }
        assert_eq!(scan(&["--host-timeout", "2400h"]).timing.host_timeout, Some(Duration::from_secs(8_640_000)));
        assert_eq!(
            error(&["--max-rate", "1e-300"]),
            "invalid value '1e-300' for --max-rate: at least one probe per 100 days"
        );
        let big = "a".repeat(MAX_DATA_LENGTH + 1);
        assert_eq!(error(&["--data-string", &big]), "--data-string: a payload of 65401 bytes: at most 65400");
        let big_hex = "00".repeat(MAX_DATA_LENGTH + 1);
        assert_eq!(error(&["--data", &big_hex]), "--data: a payload of 65401 bytes: at most 65400");
    }

    #[test]
    fn verbosity_saturates_instead_of_wrapping() {
        // Regression: 300 v's wrapped round to verbosity 44.
        let many = format!("-{}", "v".repeat(300));
        assert_eq!(scan(&[&many]).verbosity, u8::MAX);
    }

    #[test]
    fn every_option_of_nmap_is_known_by_name() {
        // Regression: Nmap options portolan lacks were refused as unrecognized, as if mistyped.
        assert_eq!(
            error(&["-sC"]),
            "scan type '-sC' is not supported yet (the TCP scan types, -sI, -sU, -sY, -sZ, -sO, -sV, -sn and -sL work so far)"
        );
        assert_eq!(error(&["-q"]), "option '-q' is not supported yet");
        // Other spellings of options portolan has, which Nmap takes with either dash count.
        let options =
            scan(&["--iL", "hosts", "--iR", "3", "--oM", "g", "--timing", "4", "--verbose", "--vv", "-4", "h"]);
        assert_eq!(options.input_list, Some(PathBuf::from("hosts")));
        assert_eq!(options.random_targets, Some(3));
        assert_eq!(options.outputs, [(OutputFormat::Grepable, PathBuf::from("g"))]);
        assert_eq!((options.timing.template, options.verbosity), (Some(TimingTemplate::Aggressive), 3));
        assert!(!options.ipv6);
    }
}
